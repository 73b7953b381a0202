//! What `up` sees of the lanes while it waits for their ports, and after: a server that
//! ends is reported when it ends, a dead server on any kind of port is restarted, and a
//! port nobody named is read from the container's socket table rather than waited on.

use std::fmt::Write as _;

use crate::engine::{Repo, assert_serves_feed, get};

/// A Gitpod task whose server listens on a port nobody named (no HTTP check: only the
/// socket table tells whether it is served).
const UNNAMED: &str = "\
image: devboot/python-flask:bookworm
tasks:
  - name: backend
    init: echo init >> /tmp/init-count
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
ports:
  - port: 4567
";

#[test]
fn a_server_that_crashes_at_once_fails_up_with_its_exit_code_without_waiting() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: web\n    command: echo starting; echo boom >&2; exit 5\n  - name: helper\n    command: sleep infinity\nports:\n  - port: 4567\n    name: web\n",
    );
    // A wait of 10 minutes: only seeing the lane end makes this test end.
    let run = repo.devboot(["up", "--port-offset", "42100", "--wait-timeout", "600"]);
    run.status(1)
        .stderr_has("task `web` failed in `command` with exit code 5")
        .stderr_has("last lines of `web`:\n  | starting\n  | boom")
        .stderr_has("workspace not up")
        .stderr_has("task helper");
    assert!(
        !run.stderr.contains("caused by: boom"),
        "the task's output is not a cause: {}",
        run.stderr
    );
    let json = repo.devboot([
        "up",
        "--json",
        "--port-offset",
        "42100",
        "--wait-timeout",
        "600",
    ]);
    json.status(1);
    let value = json.json();
    assert_eq!(value["outcome"], "error", "{value}");
    let tasks = value["tasks"].as_array().expect("the tasks are reported");
    let web = tasks.iter().find(|t| t["name"] == "web").unwrap();
    assert_eq!(web["state"], "failed", "{value}");
    assert_eq!(web["exitCode"], 5, "{value}");
}

#[test]
fn a_server_on_an_unnamed_port_killed_with_its_runner_is_restarted() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", UNNAMED);
    let port = 4567 + 42110;
    repo.devboot(["up", "--port-offset", "42110"]).status(0);
    assert_serves_feed(port);
    let id = repo.container();
    repo.sh("pkill -9 -f '[d]evboot-lane'; pkill -9 -f '^python3 -m flask'; sleep 0.3");
    assert!(
        get("127.0.0.1", port, "/api/activities/home", &[]).map_or(true, |r| r.status != 200),
        "the backend is down"
    );
    let run = repo.devboot(["up", "--json", "--port-offset", "42110"]);
    run.status(0).stderr_has("restarting");
    assert_eq!(repo.container(), id, "the same container");
    assert_eq!(repo.count("/tmp/init-count"), 1, "init did not run again");
    assert_serves_feed(port);
}

#[test]
fn a_warm_up_with_many_unnamed_ports_reads_them_with_two_engine_calls() {
    let repo = Repo::example();
    let mut config = String::from(
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: backend\n    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567\n",
    );
    // Ports 4567 and 5000-5038: one served by Flask, the rest by one small server.
    config.push_str(
        "  - name: many\n    command: |\n      python3 - <<'EOF'\n      import socket, time\n      socks = []\n      for port in range(5000, 5039):\n          s = socket.socket()\n          s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n          s.bind(('0.0.0.0', port))\n          s.listen()\n          socks.append(s)\n      time.sleep(10**6)\n      EOF\nports:\n  - port: 4567\n",
    );
    for p in 5000..5039 {
        let _ = writeln!(config, "  - port: {p}");
    }
    repo.write(".gitpod.yml", &config);
    repo.devboot(["up", "--port-offset", "42200"]).status(0);
    let warm = repo.devboot(["up", "--json", "--port-offset", "42200"]);
    warm.status(0);
    let report = warm.json();
    assert_eq!(report["action"], "reused", "{report}");
    assert_eq!(report["engineCalls"], 2, "{report}");
    let ports = report["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 40);
    assert!(ports.iter().all(|p| p["state"] == "ready"), "{report}");
}

/// The one state folder devboot keeps for the repository's workspace.
fn state_folder(repo: &Repo) -> std::path::PathBuf {
    let root = repo.path().join(".test-cache/devboot/state");
    std::fs::read_dir(root)
        .unwrap()
        .next()
        .expect("a state folder")
        .unwrap()
        .path()
}

/// How many Flask servers run in the container.
fn servers(repo: &Repo) -> usize {
    repo.sh("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^python3 -m flask run'")
        .trim()
        .parse()
        .unwrap_or(0)
}

/// devboot's state of what ran is a cache: lost (its lanes, or the whole folder) while the
/// container runs, a warm `up` neither runs `init` again nor starts a second server.
#[test]
fn init_runs_once_and_no_server_twice_when_the_state_folder_is_lost() {
    for (offset, lost) in [(42300, "run/lanes"), (42310, "")] {
        let repo = Repo::example();
        repo.write(".gitpod.yml", UNNAMED);
        let port = 4567 + offset;
        let off = offset.to_string();
        repo.devboot(["up", "--port-offset", &off]).status(0);
        assert_eq!(servers(&repo), 1);
        let gone = state_folder(&repo).join(lost);
        std::fs::remove_dir_all(&gone).unwrap();
        for _ in 0..2 {
            let run = repo.devboot(["up", "--port-offset", &off]);
            run.status(0);
            assert_eq!(
                repo.count("/tmp/init-count"),
                1,
                "init ran again ({lost:?} lost)"
            );
            assert_eq!(
                servers(&repo),
                1,
                "a second server ({lost:?} lost): {}",
                run.stderr
            );
            assert_serves_feed(port);
        }
    }
}

/// A container the reference CLI made publishes none of the config's `forwardPorts` (the
/// IDE forwards them): `up` says so at once, with the way out, instead of waiting for a
/// port nothing on the host can reach; `ports` shows the truth.
#[test]
fn a_port_another_tools_container_does_not_publish_is_said_at_once() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "portsAttributes": { "4567": { "label": "backend" } },
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}"#,
    );
    repo.run_as_the_reference_cli_would();
    // Ten minutes of waiting: only saying it at once makes this test end.
    let run = repo.devboot([
        "up",
        "--json",
        "--port-offset",
        "42400",
        "--wait-timeout",
        "600",
    ]);
    run.status(0)
        .stderr_has("port 4567 is not published by container")
        .stderr_has("`devboot up --recreate`");
    assert_eq!(
        run.json()["ports"][0]["state"],
        "not published",
        "{}",
        run.stdout
    );
    let ports = repo.devboot(["ports", "--json"]);
    ports.status(0);
    assert!(
        ports.stdout.contains("not published"),
        "ports shows the truth: {}",
        ports.stdout
    );
}

/// After a hook stage failed: the entry that succeeded shows done (not pending), each entry
/// is named with its stage, and the logs of a hook that never ran say so plainly.
#[test]
fn status_after_a_failed_hook_stage_tells_each_entry_apart() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "image": "devboot/python-flask:bookworm",
  "onCreateCommand": { "backend": "echo setting up; exit 3", "frontend": "echo fine" },
  "postStartCommand": { "backend": "echo started" }
}"#,
    );
    repo.devboot(["up", "--port-offset", "42500"])
        .status(1)
        .stderr_has("failed with exit code 3");
    let status = repo.devboot(["status"]);
    status
        .status(0)
        .stdout_has("task onCreateCommand: backend")
        .stdout_has("task onCreateCommand: frontend")
        .stdout_has("task postStartCommand: backend");
    let line = |name: &str| {
        status
            .stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("onCreateCommand: backend").contains("failed (exit code 3)"),
        "{}",
        status.stdout
    );
    assert!(
        line("onCreateCommand: frontend").contains("done"),
        "{}",
        status.stdout
    );
    assert!(
        line("postStartCommand: backend").contains("pending"),
        "{}",
        status.stdout
    );
    let logs = repo.devboot(["logs", "postStartCommand"]);
    logs.status(0).stderr_has("has no output yet");
    assert!(!logs.stderr.contains("tail:"), "{}", logs.stderr);
}
