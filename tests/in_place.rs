//! `up` inside the workspace its config describes (`--in-place`, or a platform's variable):
//! no container, the hooks run on this machine with the same run-once rules, the example
//! Flask app serves on loopback, `status` and `logs` read the lanes here. Real processes,
//! no engine; HOME and the XDG folders are inside the test's temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::engine::{assert_serves_feed, example_dir};
use crate::harness::{Run, Test, devboot_bin};

/// The ports of the Flask app, one per test (from this file's range, 43100-43190).
const PORT: u16 = 43110;
const PORT_VSCODE: u16 = 43120;
/// A port nothing serves (4567 + an offset of the range 44000-44490).
const PORT_SILENT: u16 = 4567 + 44030;
/// The Flask app's port in tests where its hooks must not run (they would serve it).
const PORT_UNSTARTED: u16 = 4567 + 44040;

/// Ends the server the workspace started (its pid is in a file), whatever the test did.
struct Server(PathBuf, u16);

impl Server {
    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(&self.0)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// Stops it and waits until the port is free.
    fn kill(&self) {
        if let Some(pid) = self.pid() {
            let _ = std::process::Command::new("kill").arg(&pid).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.1)).is_ok() {
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = std::process::Command::new("kill").arg(&pid).status();
        }
    }
}

/// A temporary workspace with the example app's hooks, HOME and XDG folders inside it.
struct Workspace {
    test: Test,
    env: Vec<(String, String)>,
}

impl Workspace {
    fn new(port: u16) -> Workspace {
        let app = example_dir().join("backend-flask");
        Workspace::with_config(&format!(
            r#"{{
  "image": "devboot/python-flask:bookworm",
  "containerEnv": {{ "GREETING": "hello from the workspace" }},
  "onCreateCommand": "echo created >> \"$HOME/created.txt\"",
  "postStartCommand": "echo started >> \"$HOME/started.txt\"; cd {app} && python3 -m flask run --host=127.0.0.1 --port={port} & echo $! > \"$HOME/server.pid\"",
  "forwardPorts": [{port}]
}}"#,
            app = app.display()
        ))
    }

    fn with_config(config: &str) -> Workspace {
        let test = Test::new().file(".devcontainer/devcontainer.json", config);
        let root = test.path().to_path_buf();
        std::fs::create_dir_all(root.join("home")).unwrap();
        let mut env: Vec<(String, String)> = [
            ("HOME", "home"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("DEVBOOT_PROFILE_DIR", "profile.d"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), root.join(v).display().to_string()))
        .collect();
        for name in ["CODESPACES", "REMOTE_CONTAINERS", "DEVPOD"] {
            env.push((name.into(), String::new()));
        }
        // In place needs no engine: one that is asked finds no daemon and makes nothing.
        let nowhere = format!("unix://{}", root.join("no-engine.sock").display());
        env.push(("DOCKER_HOST".into(), nowhere.clone()));
        env.push(("CONTAINER_HOST".into(), nowhere));
        Workspace { test, env }
    }

    fn home(&self) -> PathBuf {
        self.test.path().join("home")
    }

    /// Runs devboot in the workspace with `args`, and `extra` on top of its env.
    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(devboot_bin());
        cmd.current_dir(self.test.path())
            .args(args)
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied());
        let out = cmd.output().unwrap();
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.test.path().to_path_buf(),
        }
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

#[test]
fn up_in_place_runs_the_hooks_here_once_and_restarts_a_dead_server() {
    let ws = Workspace::new(PORT);
    let home = ws.home();
    let server = Server(home.join("server.pid"), PORT);
    let up = || ws.run(&["up", "--in-place", "--wait-timeout", "30"], &[]);

    up().status(0)
        .stderr_has("running in place (as --in-place asks): no container is made")
        .stdout_has("workspace up in place");
    assert_serves_feed(PORT);
    assert_eq!(lines(&home.join("created.txt")), 1);
    assert_eq!(lines(&home.join("started.txt")), 1);

    // Warm: nothing runs again, the server is left alone.
    let pid = server.pid();
    up().status(0).stdout_has("running");
    assert_eq!(lines(&home.join("created.txt")), 1);
    assert_eq!(lines(&home.join("started.txt")), 1);
    assert_eq!(server.pid(), pid);

    // The env reaches new shells through one sourced line, never repeated.
    let rc = std::fs::read_to_string(home.join(".bashrc")).unwrap();
    assert_eq!(rc.matches("workspace-env.sh").count(), 2, "{rc}");
    assert_eq!(rc.lines().count(), 1, "{rc}");
    let profile = std::fs::read_to_string(home.join(".devboot/workspace-env.sh")).unwrap();
    assert!(
        profile.contains("GREETING='hello from the workspace'"),
        "{profile}"
    );

    // A dead server is started again by the next up; what ran once stays done.
    server.kill();
    up().status(0)
        .stderr_has("restarting: its long-running command had stopped");
    assert_serves_feed(PORT);
    assert_eq!(lines(&home.join("created.txt")), 1);
    assert_eq!(lines(&home.join("started.txt")), 2);
}

#[test]
fn a_platform_variable_means_in_place_for_up_status_and_logs() {
    let ws = Workspace::new(PORT_VSCODE);
    let _server = Server(ws.home().join("server.pid"), PORT_VSCODE);
    let vscode = [("REMOTE_CONTAINERS", "true")];
    let workspace_run = |args: &[&str]| ws.run(args, &vscode);

    let up = workspace_run(&["up", "--wait-timeout", "30"]);
    up.status(0).stderr_has(
        "note: running in place (inside VS Code's dev container): no container is made",
    );
    assert_serves_feed(PORT_VSCODE);

    let status = workspace_run(&["status", "--json"]);
    let json = status.status(0).json();
    assert_eq!(json["state"], "in place", "{json}");
    let tasks = json["tasks"].as_array().unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t["name"] == "postStartCommand" && t["state"] == "running"),
        "{json}"
    );
    assert_eq!(json["ports"][0]["state"], "ready", "{json}");

    let logs = workspace_run(&["logs", "postStartCommand"]);
    logs.status(0)
        .stdout_has(&format!("127.0.0.1:{PORT_VSCODE}"));

    // --no-in-place makes a container (here no engine answers): not in place.
    let nested = workspace_run(&["up", "--no-in-place", "--no-wait"]);
    assert!(!nested.stderr.contains("in place"), "{}", nested.stderr);
    assert_ne!(nested.status, 0, "{}", nested.stderr);
}

#[test]
fn an_in_place_port_that_never_answers_shows_its_task_and_log() {
    let ws = Workspace::with_config(&format!(
        r#"{{
  "image": "devboot/python-flask:bookworm",
  "postStartCommand": "echo starting the server on port {PORT_SILENT}; echo 'ModuleNotFoundError: no module named flask_missing' >&2",
  "forwardPorts": [{PORT_SILENT}]
}}"#
    ));
    let up = ws.run(&["up", "--in-place", "--wait-timeout", "2"], &[]);
    let log = ws.home().join(".devboot/lanes/poststartcommand/log");
    up.status(1)
        .stderr_has(&format!("port {PORT_SILENT} did not answer within 2 s"))
        .stderr_has(&format!(
            "caused by: nothing listens on port {PORT_SILENT} on this machine"
        ))
        .stderr_has(&format!(
            "last lines of `postStartCommand` (all of it: {}):",
            log.display()
        ))
        .stderr_has("  | ModuleNotFoundError: no module named flask_missing")
        .stderr_has("`devboot logs postStartCommand`");
    assert!(log.is_file());
}

#[test]
fn without_an_engine_or_a_workspace_around_it_up_says_what_it_looked_for() {
    let ws = Workspace::new(PORT_UNSTARTED);
    let _server = Server(ws.home().join("server.pid"), PORT_UNSTARTED);
    // A PATH with neither docker nor podman (the binary is run by its full path).
    let empty = ws.test.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let path = empty.display().to_string();
    let up = ws.run(&["up", "--no-wait"], &[("PATH", &path)]);
    up.status(1)
        .stderr_has(
            "error: no container engine found (tried: docker, podman) to make this workspace's container",
        )
        .stderr_has("`devboot up --in-place`")
        .stderr_has(&format!("  | docker, podman on PATH ({path}): not found"))
        .stderr_has("  | DOCKER_HOST=unix://")
        .stderr_has("  | CODESPACES, REMOTE_CONTAINERS, DEVPOD: none is `true`")
        .stderr_has("  | /.devboot/workspace: absent");
    assert!(!ws.home().join("created.txt").exists());
}

#[test]
fn up_run_by_a_hook_devboot_started_does_nothing() {
    let ws = Workspace::new(PORT_UNSTARTED);
    let _server = Server(ws.home().join("server.pid"), PORT_UNSTARTED);
    let lane = ws.test.path().join("lane");
    let lane = lane.display().to_string();
    let up = ws.run(
        &["up", "--in-place", "--wait-timeout", "2"],
        &[("DEVBOOT_LANE_DIR", &lane)],
    );
    up.status(0)
        .stderr_has("running as a task of the devboot that brings this workspace up");
    assert!(!ws.home().join("created.txt").exists(), "no hook ran");
}

#[test]
fn hooks_the_platform_ran_are_not_run_again_and_visibility_is_set_once_with_a_gh_stand_in() {
    let ws = Workspace::new(PORT_UNSTARTED);
    let home = ws.home();
    let _server = Server(home.join("server.pid"), PORT_UNSTARTED);
    // The markers the platform's CLI wrote in this start, with the engine's timestamps.
    let markers = home.join(".devcontainer");
    std::fs::create_dir_all(&markers).unwrap();
    std::fs::write(
        markers.join(".onCreateCommandMarker"),
        "2024-05-01T10:00:00.123Z\n",
    )
    .unwrap();
    std::fs::write(
        markers.join(".postStartCommandMarker"),
        "2024-05-01T10:00:05.456Z\n",
    )
    .unwrap();
    // A stand-in for GitHub's CLI that records its arguments.
    let bin = ws.test.path().join("stand-ins");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = ws.test.path().join("gh-calls");
    std::fs::write(
        bin.join("gh"),
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("gh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let codespace = [
        ("CODESPACES", "true"),
        ("CODESPACE_NAME", "fuzzy-train-x7"),
        ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
        ("PATH", path.as_str()),
    ];
    for _ in 0..2 {
        ws.run(&["up", "--no-wait"], &codespace)
            .status(0)
            .stderr_has("running in place (inside this Codespace)");
    }
    assert!(
        !home.join("created.txt").exists(),
        "onCreateCommand ran again"
    );
    assert!(
        !home.join("started.txt").exists(),
        "postStartCommand ran again"
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        format!("codespace ports visibility {PORT_UNSTARTED}:private -c fuzzy-train-x7\n"),
        "set once, by the first up of this start"
    );
}
