//! git's credential requests from a workspace, answered by this machine's git (whatever
//! credential helper the user set up here: a keychain, `store`, `cache`, a manager), when
//! the user lends them (`up --forward-git-credentials`, `[credentials] git-credentials`).
//!
//! In the container, `credential.helper` is devboot's script (through `GIT_CONFIG_*`
//! variables in the exec environment: nothing is written into the user's git config). For
//! `get` it leaves git's request in the state folder's container half; a small server of
//! devboot's on the host (started by `up`, stopped by `down`) reads it through the boundary
//! (a small file, only `protocol`, `host`, `path` and `username` kept, each checked), runs
//! `git credential fill` here with prompts off, and writes the answer into the host half,
//! which the container can read but not change. Answers are removed after a minute.
//!
//! Only where the state folder is shared (devboot's own containers on this machine's
//! engine).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::state::StateDir;
use crate::workspace::EnvMap;

/// Where the helper is in the container (the host half of the state folder).
pub const HELPER: &str = "/.devboot/bin/git-credential-devboot";
/// The helper, as written there.
pub const SCRIPT: &str = include_str!("git-credential-devboot.sh");
/// Requests, in the container's half.
const REQUESTS: &str = "credentials";
/// Answers, in the host half.
const ANSWERS: &str = "credentials";
/// How long an answer stays readable.
const KEEP: Duration = Duration::from_secs(60);

/// The variables that make git in the container use the helper.
pub fn env(remote_env: &mut EnvMap) {
    remote_env.insert("GIT_CONFIG_COUNT".into(), "1".into());
    remote_env.insert("GIT_CONFIG_KEY_0".into(), "credential.helper".into());
    remote_env.insert("GIT_CONFIG_VALUE_0".into(), HELPER.into());
}

/// The request git gave, as passed on: only the attributes that name what is asked for,
/// each a plain value; `None` when it names no host.
fn sanitize(request: &str) -> Option<String> {
    let mut out = String::new();
    let mut host = false;
    for line in request.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if value.is_empty() || value.chars().any(char::is_control) {
            continue;
        }
        let allowed = match key {
            "protocol" => matches!(value, "https" | "http"),
            "host" => {
                host = true;
                true
            }
            "path" | "username" => true,
            _ => false,
        };
        if allowed {
            let _ = writeln!(out, "{key}={value}");
        }
    }
    host.then_some(out)
}

/// What this machine's git answers for `request` (empty when it has nothing, or asks).
fn fill(request: &str, host_env: &EnvMap) -> String {
    let Some(request) = sanitize(request) else {
        return String::new();
    };
    let child = Command::new("git")
        .args(["credential", "fill"])
        .env_clear()
        .envs(host_env)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("SSH_ASKPASS", "/bin/false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return String::new();
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        let _ = stdin.write_all(format!("{request}\n").as_bytes());
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => String::new(),
    }
}

/// Answers every request waiting (at most 16 a pass) and removes old answers.
pub fn answer_waiting(state: &StateDir, host_env: &EnvMap) {
    for (id, request) in state.requests(REQUESTS, 16) {
        let valid = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit());
        let answer = if valid {
            fill(&request, host_env)
        } else {
            String::new()
        };
        if valid {
            let _ = state.write_host_files(&[(&format!("{ANSWERS}/{id}"), answer)]);
        }
        state.drop_request(REQUESTS, &id);
    }
    forget_old(&state.host_path(ANSWERS));
}

fn forget_old(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > KEEP);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The server's loop: writes the helper, then answers until the state folder goes (a new
/// container, `down --remove`).
pub fn serve(state: &StateDir, host_env: &EnvMap) -> Result<()> {
    state.write_host_files(&[("bin/git-credential-devboot", SCRIPT.to_string())])?;
    while state.path.exists() {
        answer_waiting(state, host_env);
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Where a workspace's server is recorded (its pid).
fn record(cache_dir: &Path, devcontainer_id: &str) -> PathBuf {
    cache_dir
        .join("git-credentials")
        .join(format!("{devcontainer_id}.pid"))
}

/// Starts the workspace's server unless it runs (`devboot` itself, in the background).
pub fn ensure_server(state: &StateDir, cache_dir: &Path, devcontainer_id: &str) -> Result<()> {
    let record = record(cache_dir, devcontainer_id);
    if running(&record).is_some() {
        // Its helper may be gone with a reset state folder: written again.
        return state.write_host_files(&[("bin/git-credential-devboot", SCRIPT.to_string())]);
    }
    let dir = record.parent().expect("a record has a folder");
    crate::dirs::private(dir)?;
    let exe = std::env::current_exe().map_err(|e| Error::io("find", "the devboot binary", e))?;
    let mut cmd = Command::new(exe);
    cmd.args(["serve-git-credentials", "--state-dir"])
        .arg(&state.path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .map_err(|e| Error::io("start", "devboot's git credential server", e))?;
    std::fs::write(&record, child.id().to_string()).map_err(|e| Error::io("write", &record, e))?;
    // The helper is there before `up` returns (the server writes it first).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !state.host_path("bin/git-credential-devboot").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::mem::forget(child);
    Ok(())
}

/// Stops the workspace's server; `true` when one ran.
pub fn stop_server(cache_dir: &Path, devcontainer_id: &str) -> bool {
    let record = record(cache_dir, devcontainer_id);
    let was = running(&record).inspect(|pid| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    });
    let _ = std::fs::remove_file(&record);
    was.is_some()
}

/// The recorded server's pid, when it is a devboot still running.
fn running(record: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(record).ok()?.trim().parse().ok()?;
    crate::process::runs_as(pid, |argv| argv.contains(&&b"serve-git-credentials"[..]))
        .then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_names_the_credential_is_passed_on() {
        assert_eq!(
            sanitize(
                "protocol=https\nhost=git.example.com\npath=a/b.git\nusername=al\npassword=x\nurl=https://evil\nwwwauth[]=Basic\n"
            ),
            Some("protocol=https\nhost=git.example.com\npath=a/b.git\nusername=al\n".into())
        );
        assert_eq!(
            sanitize("protocol=file\nhost=h\n"),
            Some("host=h\n".into()),
            "only web protocols"
        );
        assert_eq!(sanitize("protocol=https\n"), None, "no host, no request");
        assert_eq!(
            sanitize("host=a\u{1b}[2J\n"),
            None,
            "a host with control characters"
        );
    }
}
