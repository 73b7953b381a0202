//! What happens around a published port once the workspace is up: its visibility in a
//! hosted environment (`gp ports visibility` in Gitpod, `gh codespace ports visibility` in
//! Codespaces) and its `onOpen` / `onAutoForward` action when it becomes ready.
//!
//! Both are best effort: a hosted CLI that fails is a warning, never a failed `up`; a
//! browser is only ever opened for a person at a terminal, never from a start-up hook.

use std::process::{Command, Stdio};

use crate::ports::{Binding, Environment};
use crate::ui;
use crate::workspace::{EnvMap, OnOpen, Visibility};

/// Applies configured visibilities in Gitpod or Codespaces. Returns what was done, for
/// the report.
pub fn apply_visibility(
    environment: &Environment,
    bindings: &[Binding],
    host_env: &EnvMap,
) -> Vec<String> {
    let mut done = Vec::new();
    // A range lists ports that may come and go; the hosted proxy applies its own default
    // to those, and setting each port of a large range one call at a time is no help.
    for binding in bindings.iter().filter(|b| !b.port.is_range()) {
        let visibility = match binding.port.visibility {
            Visibility::Public => "public",
            Visibility::Private => "private",
        };
        let spec = format!("{}:{visibility}", binding.host_port);
        let (program, args): (&str, Vec<String>) = match environment {
            Environment::Gitpod { .. } => ("gp", vec!["ports".into(), "visibility".into(), spec]),
            Environment::Codespaces { name, .. } => (
                "gh",
                vec![
                    "codespace".into(),
                    "ports".into(),
                    "visibility".into(),
                    spec,
                    "-c".into(),
                    name.clone(),
                ],
            ),
            Environment::Local | Environment::Remote { .. } => return done,
        };
        let shown = format!("{program} {}", args.join(" "));
        let result = Command::new(program)
            .args(&args)
            .env_clear()
            .envs(host_env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match result {
            Ok(out) if out.status.success() => done.push(shown),
            Ok(out) => ui::warning(&format!(
                "`{shown}` failed (exit code {}): {}; port {} keeps its current visibility",
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).trim(),
                binding.host_port
            )),
            Err(e) => ui::warning(&format!(
                "cannot run `{shown}` ({e}); port {} keeps its current visibility",
                binding.host_port
            )),
        }
    }
    done
}

/// Says (or shows) that a port is ready, as its `onOpen` asks. `first` is true when the
/// port became ready during this `up` rather than being ready already; `created` when the
/// container was made by this `up` (for `openBrowserOnce`).
pub fn announce(binding: &Binding, url: &str, first: bool, created: bool, host_env: &EnvMap) {
    let port = &binding.port;
    let label = port
        .label
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let ready = format!("port {}{label} ready: {url}", port.port);
    let open = match port.on_open {
        OnOpen::Silent | OnOpen::Ignore => return,
        OnOpen::Notify => false,
        OnOpen::OpenBrowser | OnOpen::OpenPreview => first,
        OnOpen::OpenBrowserOnce => first && created,
    };
    if open && ui::stderr_is_terminal() && open_browser(url, host_env) {
        ui::line(&format!("{ready} (opened in the browser)"));
    } else {
        ui::line(&ready);
    }
}

/// Runs `$BROWSER` or `xdg-open` with the URL, detached. False when there is neither.
fn open_browser(url: &str, host_env: &EnvMap) -> bool {
    let program = host_env
        .get("BROWSER")
        .filter(|b| !b.is_empty())
        .cloned()
        .or_else(|| {
            which::which("xdg-open")
                .ok()
                .map(|p| p.display().to_string())
        });
    let Some(program) = program else { return false };
    // Its own process group: the browser outlives devboot and the terminal it ran in
    // (the terminal's hang-up goes to its foreground group only).
    std::os::unix::process::CommandExt::process_group(&mut Command::new(program), 0)
        .arg(url)
        .env_clear()
        .envs(host_env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok()
}
