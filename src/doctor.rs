//! `devboot doctor`: what devboot needs on this machine, checked one by one, each problem
//! with what to do. Nothing is changed.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::Serialize;

use crate::engine::{Engine, EngineKind};
use crate::workspace::EnvMap;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Ok,
    /// Works, but something may bite (said in `fix`).
    Note,
    Problem,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn bad(name: &'static str, outcome: Outcome, detail: impl Into<String>, fix: &str) -> Check {
        Check {
            name,
            outcome,
            detail: detail.into(),
            fix: Some(fix.to_string()),
        }
    }
}

/// How to start an engine, said wherever one is missing or silent.
const START_ENGINE: &str = "start the engine: `scripts/engine.sh` in devboot's checkout (installs docker.io and starts dockerd), or `sudo systemctl start docker`";

/// Every check, in order. `engine` is what `--engine`/`DEVBOOT_ENGINE` chose (`None`:
/// docker, else podman); `timeout` bounds each engine call.
pub fn run(
    host_env: &EnvMap,
    choice: Option<EngineKind>,
    timeout: std::time::Duration,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let path = host_env.get("PATH").map(std::ffi::OsStr::new);
    let engine = match Engine::detect(choice, path) {
        Ok(engine) => engine.with_timeout(timeout),
        Err(err) => {
            checks.push(Check::bad(
                "engine CLI",
                Outcome::Problem,
                err.one_line(),
                "install one: `apt-get install -y docker.io` (or podman), or put it on PATH",
            ));
            checks.extend(files(host_env));
            return checks;
        }
    };
    checks.push(Check::ok(
        "engine CLI",
        format!("{} at {}", engine.kind.program(), engine.program.display()),
    ));
    let answers = match engine.call(["version", "--format", "{{.Server.Version}}"]) {
        Ok(version) => {
            let location = crate::engine::location::Location::of(engine.kind, host_env);
            let detail = format!("server {}, {}", version.trim(), location.describe());
            checks.push(if location.is_remote() {
                Check::bad(
                    "engine answers",
                    Outcome::Problem,
                    detail,
                    "`devboot up` needs an engine on this machine (it mounts this machine's folders): unset DOCKER_HOST / `docker context use default`",
                )
            } else {
                Check::ok("engine answers", detail)
            });
            true
        }
        Err(err) => {
            checks.push(Check::bad(
                "engine answers",
                Outcome::Problem,
                err.one_line(),
                START_ENGINE,
            ));
            false
        }
    };
    checks.push(compose(&engine));
    if answers {
        checks.push(image(&engine, host_env));
    }
    checks.extend(files(host_env));
    checks
}

/// Docker Compose (standalone or plugin), for devcontainer.json files that use it.
fn compose(engine: &Engine) -> Check {
    let out = engine
        .compose(["version"])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            Check::ok("compose", text.lines().next().unwrap_or("found").trim())
        }
        _ => Check::bad(
            "compose",
            Outcome::Note,
            "no Compose CLI: configs with dockerComposeFile cannot come up",
            "`apt-get install -y docker-compose`, or the compose plugin",
        ),
    }
}

/// The image devboot's built-in config runs (a folder without a config).
fn image(engine: &Engine, host_env: &EnvMap) -> Check {
    let image = host_env
        .get("DEVBOOT_IMAGE")
        .map_or(crate::template::DEFAULT_IMAGE, String::as_str);
    match engine.image_config(image) {
        Ok(Some(_)) => Check::ok("default image", format!("{image} is here")),
        _ => Check::bad(
            "default image",
            Outcome::Note,
            format!(
                "{image} (the built-in config's) is not here: the first `up` without a config pulls it"
            ),
            "offline, name one that is here: `DEVBOOT_IMAGE=<image>` or `image = \"<image>\"` in your settings file, or `devboot init --image <image>`",
        ),
    }
}

/// The settings file (it parses), the trust store and devboot's folders (private).
fn files(host_env: &EnvMap) -> Vec<Check> {
    let mut checks = Vec::new();
    let settings_path = crate::settings::path(host_env);
    checks.push(
        match crate::settings::load(host_env, &crate::settings::Flags::default()) {
            Ok(_) if settings_path.exists() => {
                Check::ok("settings", format!("{} reads", settings_path.display()))
            }
            Ok(_) => Check::ok(
                "settings",
                format!("none yet ({})", settings_path.display()),
            ),
            Err(err) => Check::bad(
                "settings",
                Outcome::Problem,
                first_line(&err),
                "fix the file (`devboot config --settings` shows where), or move it away",
            ),
        },
    );
    let config_dir = crate::dirs::config_dir(host_env);
    let trust_file = config_dir.join("trust.json");
    checks.push(match crate::trust::Store::load(&config_dir) {
        Ok(_) if trust_file.exists() => {
            Check::ok("trust store", format!("{} reads", trust_file.display()))
        }
        Ok(_) => Check::ok(
            "trust store",
            format!("none yet ({})", trust_file.display()),
        ),
        Err(err) => Check::bad(
            "trust store",
            Outcome::Problem,
            first_line(&err),
            "remove it (devboot writes it itself) and trust again: `devboot trust`",
        ),
    });
    for (name, dir) in [
        ("config folder", config_dir),
        ("cache folder", crate::dirs::cache_dir(host_env)),
    ] {
        checks.push(private_folder(name, &dir));
    }
    checks
}

fn first_line(err: &crate::error::Error) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A folder of devboot's must be its owner's alone (it holds secrets and trust).
fn private_folder(name: &'static str, dir: &Path) -> Check {
    match std::fs::metadata(dir) {
        Err(_) => Check::ok(name, format!("{} (made when needed)", dir.display())),
        Ok(meta) if others_bits(meta.permissions().mode()) == 0 => {
            Check::ok(name, format!("{} is private", dir.display()))
        }
        Ok(meta) => Check::bad(
            name,
            Outcome::Problem,
            format!(
                "{} is open to others (mode {:o})",
                dir.display(),
                meta.permissions().mode() & 0o777
            ),
            &format!("chmod 700 {}", dir.display()),
        ),
    }
}

/// The permission bits of a mode that let the group or others in.
fn others_bits(mode: u32) -> u32 {
    mode & 0o077
}

/// The report for people: one line per check, what to do under each problem.
pub fn describe(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let mark = match c.outcome {
            Outcome::Ok => "✔",
            Outcome::Note => "!",
            Outcome::Problem => "✘",
        };
        let _ = writeln!(out, "{mark} {:<15} {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "  {:<15} fix: {fix}", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_folder_is_a_problem_with_its_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let c = private_folder("cache folder", dir.path());
        assert_eq!(c.outcome, Outcome::Problem);
        assert!(c.fix.unwrap().starts_with("chmod 700 "));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(private_folder("x", dir.path()).outcome, Outcome::Ok);
    }

    #[test]
    fn the_report_marks_each_check_and_says_the_fix() {
        let text = describe(&[
            Check::ok("engine CLI", "docker at /usr/bin/docker"),
            Check::bad("compose", Outcome::Note, "none", "install it"),
        ]);
        assert_eq!(
            text,
            "✔ engine CLI      docker at /usr/bin/docker\n! compose         none\n                  fix: install it\n"
        );
    }
}
