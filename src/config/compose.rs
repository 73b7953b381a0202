//! A Docker Compose file as devboot reads it: which host ports each service publishes, what
//! its `environment` says (with each value's place in the file, for `validate`), and
//! Compose's own `${VAR}` interpolation of them.
//!
//! The border: Compose makes the project (`up/compose.rs` runs it). Here only the files are
//! read, through the YAML layer (`yaml.rs`, for spans), and only the two things devboot must
//! know itself: where the workspace's service is served, and the URLs it is given.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::source::{Document, Location, pointer_push};
use crate::diagnostic::Diagnostics;
use crate::workspace::{EnvMap, ImageSource, Workspace};

/// Whether a file is a compose file by its name, as Compose names them:
/// `compose.yaml`, `docker-compose.yml`, `docker-compose.override.yml`, `compose.dev.yaml`...
pub fn is_compose_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    let Some(stem) = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
    else {
        return false;
    };
    ["compose", "docker-compose"]
        .iter()
        .any(|base| stem == *base || stem.starts_with(&format!("{base}.")))
}

/// Whether a parsed YAML file is a compose file by its content: a top-level `services`
/// mapping, which no `.gitpod.yml` has.
pub fn is_compose_document(doc: &Document) -> bool {
    doc.value.get("services").is_some_and(Value::is_object)
}

/// Reads and parses a compose file; `None` (with the problem in `diagnostics`) when it
/// cannot be read as YAML.
pub fn read(path: &Path, diagnostics: &mut Diagnostics) -> Option<Document> {
    match crate::config::read_source(path) {
        Ok(file) => crate::config::yaml::parse(&file, diagnostics),
        Err(d) => {
            diagnostics.push(d);
            None
        }
    }
}

/// The compose files of a workspace, parsed; those that cannot be read are left out (`up`
/// lets Compose say what is wrong with them, `validate` says it itself).
pub fn read_all(files: &[PathBuf]) -> Vec<Document> {
    files
        .iter()
        .filter_map(|f| read(f, &mut Diagnostics::default()))
        .collect()
}

/// A port a service publishes on the host (TCP; Compose's UDP ports serve no URL).
#[derive(Debug, Clone)]
pub struct Published {
    pub service: String,
    /// Container port, or the first of a range.
    pub container: u16,
    /// Last container port of a range; equal to `container` for one port.
    pub end: u16,
    /// Host port (the first of a range); `None` when the engine picks one.
    pub host: Option<u16>,
    /// Host address when the file names one.
    pub host_ip: Option<String>,
    /// Where it is written.
    pub at: Location,
}

impl Published {
    /// The host port of container port `port` when this entry publishes it on a fixed one.
    pub fn host_port_of(&self, port: u16) -> Option<u16> {
        let offset = port
            .checked_sub(self.container)
            .filter(|_| port <= self.end)?;
        self.host?.checked_add(offset)
    }
}

/// Every TCP port the services of `doc` publish, interpolated with `vars`.
pub fn published(doc: &Document, vars: &EnvMap) -> Vec<Published> {
    let mut out = Vec::new();
    for (service, fields) in services(doc) {
        let Some(ports) = fields.get("ports").and_then(Value::as_array) else {
            continue;
        };
        let base = pointer_push(&pointer_push("/services", service), "ports");
        for (i, entry) in ports.iter().enumerate() {
            let parsed = match entry {
                Value::String(text) => short_syntax(&interpolate(text, vars)),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .map(|p| (p, p, None, None)),
                Value::Object(long) => long_syntax(long, vars),
                _ => None,
            };
            if let Some((container, end, host, host_ip)) = parsed {
                out.push(Published {
                    service: service.clone(),
                    container,
                    end,
                    host,
                    host_ip,
                    at: doc.value_location(&pointer_push(&base, &i.to_string())),
                });
            }
        }
    }
    out
}

type PortParts = (u16, u16, Option<u16>, Option<String>);

/// `[[IP:]HOST:]CONTAINER[/PROTOCOL]`, each port maybe a range `A-B`.
fn short_syntax(text: &str) -> Option<PortParts> {
    let (text, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    if !protocol.eq_ignore_ascii_case("tcp") {
        return None;
    }
    let (rest, container) = match text.rsplit_once(':') {
        Some((rest, container)) => (Some(rest), container),
        None => (None, text),
    };
    let (container, end) = range(container)?;
    let Some(rest) = rest else {
        return Some((container, end, None, None));
    };
    let (ip, host) = match rest.rsplit_once(':') {
        Some((ip, host)) => (Some(ip.trim_matches(|c| c == '[' || c == ']')), host),
        None => (None, rest),
    };
    let host = if host.is_empty() {
        None
    } else {
        Some(range(host)?.0)
    };
    let ip = ip.filter(|ip| !ip.is_empty()).map(String::from);
    Some((container, end, host, ip))
}

/// `{target, published, host_ip, protocol}`.
fn long_syntax(long: &serde_json::Map<String, Value>, vars: &EnvMap) -> Option<PortParts> {
    let text = |key: &str| -> Option<String> {
        match long.get(key)? {
            Value::String(s) => Some(interpolate(s, vars)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    if text("protocol").is_some_and(|p| !p.eq_ignore_ascii_case("tcp")) {
        return None;
    }
    let (container, end) = range(&text("target")?)?;
    let host = match text("published") {
        Some(p) if !p.is_empty() => Some(range(&p)?.0),
        _ => None,
    };
    let ip = text("host_ip").filter(|ip| !ip.is_empty());
    Some((container, end, host, ip))
}

/// `4567` or `3000-3005`, as devcontainer.json writes them.
fn range(text: &str) -> Option<(u16, u16)> {
    crate::config::devcontainer::port_range(text.trim())
}

/// One variable of a service's `environment`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub service: String,
    pub name: String,
    /// `None` for a bare `NAME` in the list form: the value comes from the shell.
    pub value: Option<String>,
    /// Where the value is written (a JSON pointer into the file).
    pub pointer: String,
}

/// Every variable of every service's `environment` (mapping or `NAME=VALUE` list), in the
/// file's order.
pub fn environment(doc: &Document) -> Vec<EnvEntry> {
    let mut out = Vec::new();
    for (service, fields) in services(doc) {
        let base = pointer_push(&pointer_push("/services", service), "environment");
        let entry = |name: &str, value: Option<String>, pointer: String| EnvEntry {
            service: service.clone(),
            name: name.to_string(),
            value,
            pointer,
        };
        match fields.get("environment") {
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    let value = match value {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    out.push(entry(name, value, pointer_push(&base, name)));
                }
            }
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(text) = item.as_str() else { continue };
                    let (name, value) = match text.split_once('=') {
                        Some((n, v)) => (n, Some(v.to_string())),
                        None => (text, None),
                    };
                    out.push(entry(name, value, pointer_push(&base, &i.to_string())));
                }
            }
            _ => {}
        }
    }
    out
}

/// The services of `doc`: name and fields.
pub fn services(
    doc: &Document,
) -> impl Iterator<Item = (&String, &serde_json::Map<String, Value>)> {
    doc.value
        .get("services")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, fields)| Some((name, fields.as_object()?)))
}

/// What Compose interpolates `${VAR}` with: the `.env` file beside the first compose file
/// (the project folder), overridden by the environment Compose runs in.
pub fn variables(files: &[PathBuf], host_env: &EnvMap) -> EnvMap {
    let mut vars = files
        .first()
        .and_then(|f| f.parent())
        .and_then(|dir| std::fs::read_to_string(dir.join(".env")).ok())
        .map(|text| dotenv(&text))
        .unwrap_or_default();
    vars.extend(host_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars
}

/// `NAME=VALUE` lines of a `.env` file (comments, `export ` and quotes as Compose reads them).
fn dotenv(text: &str) -> EnvMap {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| v.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(v);
            (k.trim().to_string(), unquoted.to_string())
        })
        .collect()
}

/// Compose's interpolation: `$$` is `$`; `${NAME}`, `$NAME`, `${NAME:-default}`,
/// `${NAME-default}`, `${NAME:+other}`, `${NAME+other}`, `${NAME:?error}` (an unset
/// variable is empty).
pub fn interpolate(text: &str, vars: &EnvMap) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{')
            && let Some(close) = inner.find('}')
        {
            out.push_str(&expand(&inner[..close], vars));
            rest = &inner[close + 1..];
        } else {
            let name_len = after
                .char_indices()
                .find(|(i, c)| {
                    !(c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
                })
                .map_or(after.len(), |(i, _)| i);
            if name_len == 0 {
                out.push('$');
            } else {
                out.push_str(vars.get(&after[..name_len]).map_or("", String::as_str));
            }
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    out
}

/// The inside of one `${...}`.
fn expand(inner: &str, vars: &EnvMap) -> String {
    let split = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, op) = inner.split_at(split);
    let value = vars.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    let given = |rest: &str| interpolate(rest, vars);
    match op {
        "" => value.cloned().unwrap_or_default(),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                value.cloned().unwrap_or_default()
            } else {
                given(&op[2..])
            }
        }
        _ if op.starts_with(":+") => {
            if set_nonempty {
                given(&op[2..])
            } else {
                String::new()
            }
        }
        _ if op.starts_with('-') => value.cloned().unwrap_or_else(|| given(&op[1..])),
        _ if op.starts_with('+') => value.map(|_| given(&op[1..])).unwrap_or_default(),
        _ => value.cloned().unwrap_or_default(),
    }
}

/// The variables the compose files give a Compose workspace's service (`environment`,
/// later files winning): the container's values when there is one (`container_env`), else
/// the values Compose would give now. Nothing for other workspaces.
pub fn service_env(ws: &Workspace, host_env: &EnvMap, container_env: Option<&EnvMap>) -> EnvMap {
    let ImageSource::Compose { files, service, .. } = &ws.image else {
        return EnvMap::new();
    };
    let vars = variables(files, host_env);
    let mut env = EnvMap::new();
    for doc in read_all(files) {
        for entry in environment(&doc)
            .into_iter()
            .filter(|e| &e.service == service)
        {
            let now = match (container_env, &entry.value) {
                (Some(container), _) => container.get(&entry.name).cloned(),
                (None, Some(value)) => Some(interpolate(value, &vars)),
                (None, None) => host_env.get(&entry.name).cloned(),
            };
            match now {
                Some(value) => env.insert(entry.name, value),
                None => env.remove(&entry.name),
            };
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::SourceFile;

    fn doc(text: &str) -> Document {
        let file = SourceFile::new("/w/docker-compose.yml", text);
        crate::config::yaml::parse(&file, &mut Diagnostics::default()).unwrap()
    }

    #[test]
    fn compose_files_are_known_by_name() {
        for name in [
            "docker-compose.yml",
            "compose.yaml",
            "docker-compose.override.yml",
            "compose.dev.yml",
            "Docker-Compose.YML",
        ] {
            assert!(is_compose_name(Path::new(name)), "{name}");
        }
        for name in [
            ".gitpod.yml",
            "composer.yml",
            "docker-compose.json",
            "my-compose.yml",
        ] {
            assert!(!is_compose_name(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn published_ports_in_every_syntax() {
        let d = doc(r#"
services:
  app:
    ports:
      - "45967:4567"
      - 127.0.0.1:3000:3000
      - "8000"
      - 9229
      - "6000-6001:7000-7001"
      - "5353:53/udp"
      - "${HOST_PORT:-8080}:80"
      - target: 5000
        published: "5001"
        host_ip: 0.0.0.0
      - "[::1]:9000:9000"
  db:
    image: postgres
"#);
        let all = published(&d, &EnvMap::new());
        let ports: Vec<(u16, u16, Option<u16>, Option<&str>)> = all
            .iter()
            .map(|p| (p.container, p.end, p.host, p.host_ip.as_deref()))
            .collect();
        assert_eq!(
            ports,
            [
                (4567, 4567, Some(45967), None),
                (3000, 3000, Some(3000), Some("127.0.0.1")),
                (8000, 8000, None, None),
                (9229, 9229, None, None),
                (7000, 7001, Some(6000), None),
                (80, 80, Some(8080), None),
                (5000, 5000, Some(5001), Some("0.0.0.0")),
                (9000, 9000, Some(9000), Some("::1")),
            ]
        );
        assert_eq!(all[0].at.to_string(), "/w/docker-compose.yml:5:9");
    }

    #[test]
    fn environment_as_mapping_or_list() {
        let d = doc(
            "services:\n  app:\n    environment:\n      A: x\n      B:\n      C: 3\n  web:\n    environment:\n      - D=y=z\n      - E\n",
        );
        let entries: Vec<(String, String, Option<String>, String)> = environment(&d)
            .into_iter()
            .map(|e| (e.service, e.name, e.value, e.pointer))
            .collect();
        let s = String::from;
        assert_eq!(
            entries,
            [
                (
                    s("app"),
                    s("A"),
                    Some(s("x")),
                    s("/services/app/environment/A")
                ),
                (s("app"), s("B"), None, s("/services/app/environment/B")),
                (
                    s("app"),
                    s("C"),
                    Some(s("3")),
                    s("/services/app/environment/C")
                ),
                (
                    s("web"),
                    s("D"),
                    Some(s("y=z")),
                    s("/services/web/environment/0")
                ),
                (s("web"), s("E"), None, s("/services/web/environment/1")),
            ]
        );
    }

    #[test]
    fn interpolation_as_compose_does_it() {
        let vars: EnvMap = [("A", "1"), ("EMPTY", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let cases = [
            (
                "https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}",
                "https://3000-.",
            ),
            ("$A-${A}", "1-1"),
            ("${NOPE:-d}/${EMPTY:-e}/${EMPTY-f}/${NOPE-g}", "d/e//g"),
            ("${A:+yes}${NOPE:+no}${A+set}", "yesset"),
            ("$$A costs $5", "$A costs $5"),
            ("${NOPE:?must be set}", ""),
        ];
        for (text, want) in cases {
            assert_eq!(interpolate(text, &vars), want, "{text}");
        }
    }

    #[test]
    fn dotenv_lines() {
        let env = dotenv("# c\nA=1\nexport B=\"two words\"\nC='x'\n\nbad line\n");
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("x"));
        assert_eq!(env.len(), 3);
    }
}
