//! `gp` in every workspace devboot runs: Gitpod's workspace CLI, for what real `.gitpod.yml`
//! files call (`sync-await`/`sync-done`, `url`, `ports`, `env`, `open`, `preview`, `tasks`,
//! `info`), as a POSIX sh script (`gp/gp.sh`) that needs nothing else from the image.
//!
//! devboot writes it into the host half of the state folder, which the container sees
//! read-only at `/.devboot` (so nothing there can change it), as `bin/gp`, with the facts it
//! answers from under `gp/`: how a port's URL is made here, the port table, the tasks and
//! the variables of `devboot env` (secrets masked). The runner puts `/.devboot/bin` first on
//! every lane's PATH. What `gp` records (`gp env NAME=V`, `gp ports expose`) goes to the
//! container's half, `/.devboot/run/gp/`, which devboot reads as untrusted input.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::ports::{Binding, Environment};
use crate::workspace::{EnvMap, Visibility};

/// The script, as it is written to `/.devboot/bin/gp`.
pub const SCRIPT: &str = include_str!("gp/gp.sh");

/// What `gp` answers from, rendered as the files it reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `(path under the host half, text)`.
    pub files: Vec<(&'static str, String)>,
}

/// The workspace as `gp` tells it.
pub struct Workspace<'a> {
    /// The id `gp info` shows (`GITPOD_WORKSPACE_ID`).
    pub id: &'a str,
    pub environment: &'a Environment,
    pub bindings: &'a [Binding],
    pub port_offset: u16,
    /// `(lane id, name)` of each task or hook that runs in the container.
    pub lanes: Vec<(String, String)>,
    /// `devboot env`'s variables; `secret` names are shown masked.
    pub env: &'a EnvMap,
    pub secret: &'a dyn Fn(&str) -> bool,
}

impl Facts {
    pub fn of(ws: &Workspace) -> Facts {
        let (prefix, suffix) = ws.environment.url_parts();
        let url = [
            format!("prefix {prefix}"),
            format!("suffix {suffix}"),
            format!("offset {}", ws.port_offset),
            format!("workspace {}", ws.environment.workspace_url()),
            format!("id {}", one_line(ws.id)),
            format!("environment {}", ws.environment.name()),
        ];
        let ports = ws.bindings.iter().map(|b| {
            let name = b.port.label.as_deref().unwrap_or("");
            let visibility = match b.port.visibility {
                Visibility::Public => "public",
                Visibility::Private => "private",
            };
            format!(
                "{} {} {} {} {}",
                b.port.port,
                b.port.end,
                b.host_port,
                visibility,
                one_line(name)
            )
        });
        let tasks = ws
            .lanes
            .iter()
            .map(|(id, name)| format!("{id} {}", one_line(name)));
        let env = ws
            .env
            .iter()
            .filter(|(_, v)| !v.contains('\n'))
            .map(|(k, v)| {
                if (ws.secret)(k) {
                    format!("{k}=********")
                } else {
                    format!("{k}={v}")
                }
            });
        Facts {
            files: vec![
                ("bin/gp", SCRIPT.to_string()),
                ("gp/url", lines(url.into_iter())),
                ("gp/ports", lines(ports)),
                ("gp/tasks", lines(tasks)),
                ("gp/env", lines(env)),
            ],
        }
    }
}

/// A `sh` script that writes `gp` and its facts under the user's `~/.devboot` in a
/// container devboot drives by `docker exec` (another tool's: no state folder of devboot's),
/// unless the same ones are there already.
pub fn install_script(facts: &Facts) -> String {
    const END: &str = "__DEVBOOT_GP_END__";
    let stamp = crate::container::hex(
        &<sha2::Sha256 as sha2::Digest>::digest(
            facts
                .files
                .iter()
                .flat_map(|(p, t)| [p.as_bytes(), t.as_bytes()].concat())
                .collect::<Vec<u8>>(),
        )[..8],
    );
    let mut script = format!(
        "set -e\nd=\"${{HOME:-/root}}/.devboot\"\n\
         [ \"$(cat \"$d/gp/stamp\" 2>/dev/null)\" = {stamp} ] && exit 0\n\
         mkdir -p \"$d/bin\" \"$d/gp\" \"$d/run-gp\"\n"
    );
    for (rel, text) in &facts.files {
        let text = if text.is_empty() || text.ends_with('\n') {
            text.clone()
        } else {
            format!("{text}\n")
        };
        let _ = write!(
            script,
            "cat > \"$d/{rel}.tmp\" <<'{END}'\n{text}{END}\nchmod 755 \"$d/{rel}.tmp\"\nmv \"$d/{rel}.tmp\" \"$d/{rel}\"\n"
        );
    }
    let _ = writeln!(script, "printf '%s' {stamp} > \"$d/gp/stamp\"");
    script
}

/// Each variable's last change by `gp env`: a value, or `None` to unset it.
pub type EnvChanges = BTreeMap<String, Option<String>>;

/// The values `gp env` set (what it unset is left out): what a new container gets.
pub fn set_values(text: &str) -> EnvMap {
    env_changes(text)
        .0
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}

/// What `gp env` recorded in the container (`NAME=VALUE` to set, `-NAME` to unset, in
/// order), folded: each name's last change (`None`: unset). Untrusted text: a line whose
/// name is not a variable name is left out and returned as rejected.
pub fn env_changes(text: &str) -> (EnvChanges, Vec<String>) {
    let mut changes = BTreeMap::new();
    let mut rejected = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (name, value) = match line.strip_prefix('-') {
            Some(name) => (name, None),
            None => match line.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => ("", None),
            },
        };
        if crate::env::valid_name(name) {
            changes.insert(name.to_string(), value);
        } else {
            rejected.push(line.chars().take(80).collect());
        }
    }
    (changes, rejected)
}

/// What `gp ports expose` / `gp ports visibility` asked for one port in the container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortAsked {
    /// `expose`, or any `visibility` (which Gitpod applies to an exposed port).
    pub expose: bool,
    /// The last `visibility` asked.
    pub visibility: Option<Visibility>,
}

/// The port requests `gp` recorded (`expose N`, `visibility N:public|private`), folded per
/// port; untrusted text: what is not such a line is returned as rejected.
pub fn port_requests(text: &str) -> (BTreeMap<u16, PortAsked>, Vec<String>) {
    let mut asked: BTreeMap<u16, PortAsked> = BTreeMap::new();
    let mut rejected = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let parsed = match line.split_once(' ') {
            Some(("expose", port)) => crate::workspace::Port::number(port).map(|p| (p, None)),
            Some(("visibility", value)) => value.split_once(':').and_then(|(port, vis)| {
                let vis = match vis {
                    "public" => Visibility::Public,
                    "private" => Visibility::Private,
                    _ => return None,
                };
                crate::workspace::Port::number(port).map(|p| (p, Some(vis)))
            }),
            _ => None,
        };
        match parsed {
            Some((port, visibility)) => {
                let entry = asked.entry(port).or_default();
                entry.expose = true;
                if visibility.is_some() {
                    entry.visibility = visibility;
                }
            }
            None => rejected.push(line.chars().take(80).collect()),
        }
    }
    (asked, rejected)
}

fn lines(items: impl Iterator<Item = String>) -> String {
    items.map(|l| l + "\n").collect()
}

/// A value on one line of a facts file.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Port;

    fn port(port: u16, name: &str) -> Binding {
        Binding {
            port: Port {
                label: Some(name.into()),
                visibility: Visibility::Public,
                ..Port::plain(port)
            },
            host_ip: "0.0.0.0".into(),
            host_port: port + 100,
        }
    }

    #[test]
    fn env_changes_keep_each_names_last_and_reject_what_is_not_a_name() {
        let (changes, rejected) = env_changes("A=1\nB=x=y\n-A\nC=\n1X=2\n$(boom)\n-B\nB=3\n");
        let want: BTreeMap<String, Option<String>> = [
            ("A".to_string(), None),
            ("B".into(), Some("3".into())),
            ("C".into(), Some(String::new())),
        ]
        .into_iter()
        .collect();
        assert_eq!(changes, want);
        assert_eq!(rejected, ["1X=2", "$(boom)"]);
    }

    #[test]
    fn port_requests_fold_per_port_and_reject_the_rest() {
        let (asked, rejected) = port_requests(
            "expose 5000\nvisibility 4567:public\nvisibility 4567:private\nvisibility 5000:public\nexpose 0\nvisibility 80:open\nrm -rf /\n",
        );
        assert_eq!(
            asked[&4567],
            PortAsked {
                expose: true,
                visibility: Some(Visibility::Private)
            }
        );
        assert_eq!(
            asked[&5000],
            PortAsked {
                expose: true,
                visibility: Some(Visibility::Public)
            }
        );
        assert_eq!(asked.len(), 2);
        assert_eq!(rejected, ["expose 0", "visibility 80:open", "rm -rf /"]);
    }

    #[test]
    fn the_facts_say_how_urls_are_made_and_mask_secrets() {
        let env: EnvMap = [
            ("A".to_string(), "1".to_string()),
            ("TOKEN".into(), "s".into()),
        ]
        .into_iter()
        .collect();
        let bindings = [port(4567, "back\nend")];
        let facts = Facts::of(&Workspace {
            id: "ws-1",
            environment: &Environment::Local,
            bindings: &bindings,
            port_offset: 100,
            lanes: vec![("tasks-backend".into(), "backend".into())],
            env: &env,
            secret: &|k| k == "TOKEN",
        });
        let file = |p: &str| {
            facts
                .files
                .iter()
                .find(|(path, _)| *path == p)
                .map(|(_, t)| t.clone())
                .unwrap()
        };
        assert!(file("gp/url").starts_with("prefix http://localhost:\nsuffix \noffset 100\n"));
        assert!(file("gp/url").contains("workspace http://localhost\n"));
        assert_eq!(file("gp/ports"), "4567 4567 4667 public back end\n");
        assert_eq!(file("gp/tasks"), "tasks-backend backend\n");
        assert_eq!(file("gp/env"), "A=1\nTOKEN=********\n");
        assert!(file("bin/gp").starts_with("#!/bin/sh"));
    }
}
