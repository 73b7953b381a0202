//! `up` as the start-up hook inside a real container of the stand-in image, once per place
//! devboot finds itself in: a Codespace (`CODESPACES=true`, with a recording `gh` stand-in:
//! the real one needs GitHub), a VS Code dev container (`REMOTE_CONTAINERS=true`, run by the
//! very line `init --hook` writes), and the container devboot made itself. The test's outer
//! container plays the platform's: it runs the image with a keep-alive command, the
//! workspace and the devboot binary (read-only) mounted, and publishes port 4567 on the
//! host's loopback. The image is Debian bookworm, as the host that built the binary.
//!
//! Host ports: 4567 + an offset from this file's range (44000-44490).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::engine::{Repo, assert_home_feed, engine, get_ok};
use crate::harness::{Run, Test, devboot_bin};
use crate::init::assert_feed_allows;

const IMAGE: &str = "devboot/python-flask:bookworm";

/// Where the outer containers mount the workspace.
const FOLDER: &str = "/workspaces/cruddur";

/// The Flask example as a devcontainer.json: a hook that runs once per container, one that
/// starts the backend at every start, the URLs the backend allows (CORS), a public port.
const CONFIG: &str = r#"{
  "name": "cruddur-in-place",
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "portsAttributes": { "4567": { "label": "backend", "visibility": "public" } },
  "containerEnv": { "FRONTEND_URL": "${portUrl:3000}", "BACKEND_URL": "${portUrl:4567}" },
  "onCreateCommand": "echo x >> /tmp/oncreate-count",
  "postStartCommand": "echo x >> /tmp/poststart-count; echo starting the backend; cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#;

/// A container of the stand-in image playing the platform's workspace container; removed
/// when dropped, also when the test fails.
struct Outer {
    id: String,
}

impl Outer {
    /// Starts it with `env`, the workspace at [`FOLDER`], devboot on PATH, `extra` mounts
    /// (`--mount` values), and the container's port 4567 on the host's `host_port`.
    fn start(repo: &Repo, host_port: u16, env: &[(&str, &str)], extra: &[String]) -> Outer {
        let mut args: Vec<String> = ["run", "-d", "-p"]
            .iter()
            .map(ToString::to_string)
            .collect();
        args.push(format!("127.0.0.1:{host_port}:4567"));
        let mounts = [
            format!(
                "type=bind,source={},target=/usr/local/bin/devboot,readonly",
                devboot_bin().display()
            ),
            format!("type=bind,source={},target={FOLDER}", repo.path().display()),
        ];
        for mount in mounts.iter().chain(extra) {
            args.extend(["--mount".to_string(), mount.clone()]);
        }
        for (k, v) in env {
            args.extend(["-e".to_string(), format!("{k}={v}")]);
        }
        args.extend(["-w", FOLDER, "--entrypoint", "sleep", IMAGE, "infinity"].map(String::from));
        let out = Command::new(engine()).args(&args).output().unwrap();
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && !id.is_empty(),
            "the outer container did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Outer { id }
    }

    /// Runs `argv` in it (in the workspace folder) with `env` on top of its own.
    fn exec(&self, env: &[(&str, &str)], argv: &[&str]) -> Run {
        exec_in(&self.id, env, argv)
    }

    /// What a shell command prints there.
    fn sh(&self, script: &str) -> String {
        self.exec(&[], &["sh", "-c", script]).stdout
    }
}

impl Drop for Outer {
    fn drop(&mut self) {
        let _ = Command::new(engine()).args(["rm", "-f", &self.id]).output();
    }
}

/// Runs `argv` in container `id`, in [`FOLDER`] (or the container's own workspace folder
/// when `argv` starts with `-w DIR`), colours off.
fn exec_in(id: &str, env: &[(&str, &str)], argv: &[&str]) -> Run {
    let mut cmd = Command::new(engine());
    cmd.args(["exec", "-e", "NO_COLOR=1"]);
    for (k, v) in env {
        cmd.args(["-e", &format!("{k}={v}")]);
    }
    match argv {
        ["-w", dir, rest @ ..] => cmd.args(["-w", dir, id]).args(rest),
        _ => cmd.args(["-w", FOLDER, id]).args(argv),
    };
    let out = cmd.output().unwrap();
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: FOLDER.into(),
    }
}

/// How many lines a file in container `id` has (each run of a hook appends one).
fn count(id: &str, path: &str) -> usize {
    let script = format!("cat {path} 2>/dev/null");
    let out = exec_in(id, &[], &["-w", "/", "sh", "-c", &script]);
    out.stdout.lines().count()
}

/// The backend answers inside container `id`, on its loopback.
#[track_caller]
fn answers_inside(id: &str) {
    let script = "import urllib.request as r; print(r.urlopen('http://127.0.0.1:4567/api/activities/home', timeout=10).status)";
    let out = exec_in(id, &[], &["-w", "/", "python3", "-c", script]);
    assert_eq!(out.stdout.trim(), "200", "{}", out.stderr);
}

/// What every place must get right, given how to run `up` there and the URLs of the
/// frontend and backend there: the first `up` runs the hooks and the backend answers
/// inside and (through the outer container) from the host with the frontend's URL allowed;
/// a second `up` runs no hook again; `status` and `logs` work in place; a new login shell
/// sees both URLs.
fn hook_scenario(outer: &Outer, up: &dyn Fn() -> Run, host_port: u16, urls: (&str, &str)) {
    let (frontend, backend) = urls;
    let first = up();
    first.status(0).stdout_has("workspace up in place");
    first.stdout_has(backend);
    answers_inside(&outer.id);
    // The hook got the config's containerEnv: the backend allows the frontend's URL.
    assert_feed_allows(host_port, frontend);
    let counts = || {
        (
            count(&outer.id, "/tmp/oncreate-count"),
            count(&outer.id, "/tmp/poststart-count"),
        )
    };
    assert_eq!(counts(), (1, 1));

    up().status(0).stdout_has("workspace up in place");
    assert_eq!(counts(), (1, 1), "the second up runs no hook again");

    let status = outer.exec(&[], &["devboot", "status", "--json"]);
    let json = status.status(0).json();
    assert_eq!(json["state"], "in place", "{json}");
    assert!(
        json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "postStartCommand" && t["state"] == "running"),
        "{json}"
    );
    assert_eq!(json["ports"][0]["state"], "ready", "{json}");
    outer
        .exec(&[], &["devboot", "logs", "postStartCommand"])
        .status(0)
        .stdout_has("starting the backend");

    let shell = outer.sh("bash -lc 'echo $FRONTEND_URL $BACKEND_URL'");
    assert_eq!(shell.trim(), format!("{frontend} {backend}"));
}

#[test]
fn up_in_a_codespace_runs_in_place_and_sets_visibility_with_a_recording_gh_stand_in() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", CONFIG);
    // The stand-in for GitHub's CLI: it records its arguments.
    let stand_ins = tempfile::tempdir().unwrap();
    let gh = stand_ins.path().join("gh");
    std::fs::write(&gh, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> /tmp/gh-calls\n").unwrap();
    std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let host_port = 4567 + 44000;
    let outer = Outer::start(
        &repo,
        host_port,
        &[
            ("CODESPACES", "true"),
            ("CODESPACE_NAME", "fuzzy-train-x7"),
            ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
            (
                "PATH",
                "/opt/stand-ins:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ),
        ],
        &[format!(
            "type=bind,source={},target=/opt/stand-ins,readonly",
            stand_ins.path().display()
        )],
    );
    let up = || {
        let run = outer.exec(&[], &["devboot", "up", "--wait-timeout", "60"]);
        run.stderr_has("note: running in place (inside this Codespace): no container is made");
        run
    };
    hook_scenario(
        &outer,
        &up,
        host_port,
        (
            "https://fuzzy-train-x7-3000.app.github.dev",
            "https://fuzzy-train-x7-4567.app.github.dev",
        ),
    );
    assert_eq!(
        outer.sh("cat /tmp/gh-calls"),
        "codespace ports visibility 4567:public -c fuzzy-train-x7\n",
        "once: the second up changed nothing"
    );

    // Not in a Codespace after all, and no engine in the container: the error says what
    // devboot looked at and how to run in place.
    let nowhere = outer.exec(&[("CODESPACES", "false")], &["devboot", "up"]);
    nowhere
        .status(1)
        .stderr_has("no container engine found")
        .stderr_has("CODESPACES, REMOTE_CONTAINERS, DEVPOD: none is `true`")
        .stderr_has("`devboot up --in-place`");
}

#[test]
fn the_folder_open_task_init_writes_runs_in_place_inside_a_vs_code_dev_container() {
    // The hook line exactly as `devboot init --hook` writes it.
    let init = Test::new().args(["init", "--yes", "--format", "devcontainer", "--hook"]);
    init.run().status(0);
    let text = std::fs::read_to_string(init.path().join(".vscode/tasks.json")).unwrap();
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let tasks: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hook = tasks["tasks"][0]["command"].as_str().unwrap().to_string();
    assert_eq!(tasks["tasks"][0]["runOptions"]["runOn"], "folderOpen");

    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", CONFIG);
    let host_port = 4567 + 44010;
    let outer = Outer::start(&repo, host_port, &[("REMOTE_CONTAINERS", "true")], &[]);
    // VS Code runs a shell task with the user's shell, in the workspace folder.
    let up = || {
        let run = outer.exec(&[], &["sh", "-c", &hook]);
        run.stderr_has("note: running in place (inside VS Code's dev container)");
        run
    };
    hook_scenario(
        &outer,
        &up,
        host_port,
        ("http://localhost:3000", "http://localhost:4567"),
    );
}

#[test]
fn up_inside_the_container_devboot_made_runs_in_place_and_no_hook_again() {
    let repo = Repo::example();
    // devboot itself, mounted into the container it makes.
    let mount = format!(
        "\"mounts\": [\"type=bind,source={},target=/usr/local/bin/devboot,readonly\"],\n  \"image\":",
        devboot_bin().display()
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        &CONFIG.replacen("\"image\":", &mount, 1),
    );
    let offset = 44020;
    let host_port = 4567 + offset;
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);
    let id = repo.container();
    assert_eq!(
        (
            count(&id, "/tmp/oncreate-count"),
            count(&id, "/tmp/poststart-count")
        ),
        (1, 1)
    );
    // devboot's runner writes the reference CLI's markers once a hook stage is done.
    let deadline = Instant::now() + Duration::from_secs(20);
    let markers = "test -f ~/.devcontainer/.onCreateCommandMarker && test -f ~/.devcontainer/.postStartCommandMarker && echo yes";
    while exec_in(&id, &[], &["-w", "/", "sh", "-c", markers])
        .stdout
        .trim()
        != "yes"
    {
        assert!(Instant::now() < deadline, "the runner wrote no markers");
        std::thread::sleep(Duration::from_millis(100));
    }

    let name = repo
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let folder = format!("/workspaces/{name}");
    let inside = exec_in(
        &id,
        &[],
        &["-w", &folder, "devboot", "up", "--wait-timeout", "60"],
    );
    inside
        .status(0)
        .stderr_has(
            "note: running in place (inside the container devboot made for this workspace): no container is made",
        )
        .stdout_has("workspace up in place");
    assert_eq!(
        (
            count(&id, "/tmp/oncreate-count"),
            count(&id, "/tmp/poststart-count")
        ),
        (1, 1),
        "what devboot's runner ran is not run again in place"
    );
    answers_inside(&id);
    assert_home_feed(&get_ok(
        host_port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    // The host's devboot still finds everything as it left it.
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);
    assert_eq!(
        (
            count(&id, "/tmp/oncreate-count"),
            count(&id, "/tmp/poststart-count")
        ),
        (1, 1)
    );
}
