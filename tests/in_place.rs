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
        let config = format!(
            r#"{{
  "image": "devboot/python-flask:bookworm",
  "containerEnv": {{ "GREETING": "hello from the workspace" }},
  "onCreateCommand": "echo created >> \"$HOME/created.txt\"",
  "postStartCommand": "echo started >> \"$HOME/started.txt\"; cd {app} && python3 -m flask run --host=127.0.0.1 --port={port} & echo $! > \"$HOME/server.pid\"",
  "forwardPorts": [{port}]
}}"#,
            app = app.display()
        );
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
