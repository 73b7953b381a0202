//! `devboot up` end to end: the real binary, the real engine, real HTTP requests to the
//! published port. Each test publishes its ports shifted by its own `--port-offset`, so
//! tests running in parallel never collide.

use std::time::Duration;

use crate::engine::{Repo, assert_home_feed, configs_dir, get, get_ok};

const GITPOD: &str = r#"image: devboot/python-flask:bookworm
tasks:
  - name: backend
    env:
      FRONTEND_URL: "${portUrl:3000}"
      BACKEND_URL: "${portUrl:4567}"
    before: echo before >> /tmp/before-count
    init: echo init >> /tmp/init-count && python3 -m compileall -q backend-flask
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
ports:
  - port: 4567
    name: backend
    visibility: public
"#;

/// `devboot up --json` with the test's port offset.
fn up_json(repo: &Repo, offset: u16) -> crate::harness::Run {
    repo.devboot(["up", "--json", "--port-offset", &offset.to_string()])
}

/// The lifecycle every config variant must get right: first up, warm up, a killed server,
/// down and up, a config edit.
/// Where the backend runs: in a task/hook devboot started, or as the image's own command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Task,
    ImageCommand,
}

fn lifecycle_scenario(
    repo: &Repo,
    offset: u16,
    server: Server,
    once_counter: &str,
    start_counter: &str,
    edit: &dyn Fn(&Repo),
) {
    let port = 4567 + offset;
    let frontend = format!("http://localhost:{}", 3000 + offset);

    // First up: JSON on stdout only, the backend answers, and it got its env.
    let run = up_json(repo, offset);
    run.status(0);
    let report = run.json();
    assert_eq!(report["outcome"], "success", "{}", run.stdout);
    assert_eq!(report["action"], "created");
    assert_eq!(
        run.stdout.trim().lines().count(),
        1,
        "stdout holds one JSON object only"
    );
    let response = get(
        "127.0.0.1",
        port,
        "/api/activities/home",
        &[("Origin", &frontend)],
    )
    .unwrap();
    assert_home_feed(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some(frontend.as_str()),
        "FRONTEND_URL reached flask"
    );
    let id = repo.container();
    assert_eq!(report["containerId"], id.as_str());
    assert_eq!(
        (repo.count(once_counter), repo.count(start_counter)),
        (1, 1)
    );

    // Warm up: same container, nothing run again.
    let run = up_json(repo, offset);
    run.status(0);
    assert_eq!(run.json()["action"], "reused");
    assert_eq!(repo.container(), id);
    assert_eq!(
        (repo.count(once_counter), repo.count(start_counter)),
        (1, 1)
    );

    // The server dies: the next up restarts it (and says so), without the run-once work.
    repo.sh("pkill -f '^python3 -m flask'; sleep 0.5");
    let down = get("127.0.0.1", port, "/api/activities/home", &[]);
    assert!(
        down.as_ref().map_or(true, |r| r.status != 200),
        "flask is down: {down:?}"
    );
    let status = repo.devboot(["status", "--json"]).json();
    if server == Server::Task {
        // What a hook left running is watched from inside, a few times a second.
        let stopped = |status: &serde_json::Value| {
            status["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["state"] == "stopped")
        };
        let mut status = status;
        for _ in 0..50 {
            if stopped(&status) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            status = repo.devboot(["status", "--json"]).json();
        }
        assert!(stopped(&status), "status shows the dead server: {status}");
    } else {
        // The server was the container's own command: the container ends with it (the
        // engine may take a moment to notice).
        let mut status = status;
        for _ in 0..100 {
            if status["state"] == "exited" {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            status = repo.devboot(["status", "--json"]).json();
        }
        assert_eq!(status["state"], "exited", "{status}");
    }
    let run = up_json(repo, offset);
    run.status(0);
    if server == Server::Task {
        run.stderr_has("restarting");
    } else {
        assert_eq!(run.json()["action"], "started");
    }
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    assert_eq!(repo.count(once_counter), 1);
    let status = repo.devboot(["status", "--json"]).json();
    assert_eq!(status["state"], "running");
    if server == Server::Task {
        assert!(
            status["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["state"] == "running"),
            "{status}"
        );
    }
    assert_eq!(status["ports"][0]["state"], "ready", "{status}");

    // down, then up: the same container starts again; per-start work runs, run-once not.
    let starts = repo.count(start_counter);
    repo.devboot(["down"])
        .status(0)
        .stdout_has("stopped container");
    assert_eq!(repo.devboot(["status", "--json"]).json()["state"], "exited");
    let run = up_json(repo, offset);
    run.status(0);
    assert_eq!(run.json()["action"], "started");
    assert_eq!(repo.container(), id);
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    assert_eq!(repo.count(once_counter), 1);
    assert_eq!(repo.count(start_counter), starts + 1);

    // A config edit makes a new container, and says what changed.
    edit(repo);
    let run = up_json(repo, offset);
    run.status(0).stderr_has("recreating");
    assert_eq!(run.json()["action"], "recreated");
    let new_id = repo.container();
    assert_ne!(new_id, id);
    assert_eq!(
        repo.count(once_counter),
        1,
        "run-once work runs once in the new container"
    );
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));

    repo.devboot(["down", "--remove"]).status(0);
    assert!(repo.containers().is_empty());
    let state = repo.path().join(".test-cache/devboot/state");
    assert!(walk(&state).is_empty(), "its state folder went with it");

    // A first `up` again (no state folder: its lookup runs beside `docker run`).
    let run = up_json(repo, offset);
    run.status(0);
    assert_eq!(run.json()["action"], "created");
    assert_eq!(repo.containers().len(), 1);
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    assert_eq!(
        (repo.count(once_counter), repo.count(start_counter)),
        (1, 1)
    );
}

#[test]
fn gitpod_config_lifecycle() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    lifecycle_scenario(
        &repo,
        20000,
        Server::Task,
        "/tmp/init-count",
        "/tmp/before-count",
        &|repo| {
            repo.write(
                ".gitpod.yml",
                &GITPOD.replace("image:", "env:\n  GREETING: hello\nimage:"),
            );
        },
    );
}

const DEVCONTAINER_IMAGE: &str = r#"{
  // The backend started by a hook, in the background: devboot tracks what it left running.
  "name": "cruddur-image",
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "portsAttributes": { "4567": { "label": "backend" } },
  "containerEnv": { "FRONTEND_URL": "${portUrl:3000}", "BACKEND_URL": "${portUrl:4567}" },
  "onCreateCommand": "echo x >> /tmp/oncreate-count",
  "postStartCommand": "echo x >> /tmp/poststart-count; cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#;

const DEVCONTAINER_BUILD: &str = r#"{
  // The backend is the image's own command (overrideCommand: false).
  "name": "cruddur-build",
  "build": { "dockerfile": "../backend-flask/Dockerfile", "context": "../backend-flask" },
  "overrideCommand": false,
  "forwardPorts": [4567],
  "portsAttributes": { "4567": { "label": "backend" } },
  "containerEnv": { "FRONTEND_URL": "${portUrl:3000}", "BACKEND_URL": "${portUrl:4567}" },
  "onCreateCommand": ["sh", "-c", "echo x >> /tmp/oncreate-count"],
  "waitFor": "postStartCommand",
  "postStartCommand": { "count": "echo x >> /tmp/poststart-count", "hello": ["echo", "hello"] }
}
"#;

#[test]
fn devcontainer_image_lifecycle() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", DEVCONTAINER_IMAGE);
    lifecycle_scenario(
        &repo,
        20100,
        Server::Task,
        "/tmp/oncreate-count",
        "/tmp/poststart-count",
        &|repo| {
            repo.write(
                ".devcontainer/devcontainer.json",
                &DEVCONTAINER_IMAGE.replace(
                    "\"containerEnv\": {",
                    "\"containerEnv\": { \"GREETING\": \"hi\",",
                ),
            );
        },
    );
}

#[test]
fn devcontainer_build_lifecycle() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", DEVCONTAINER_BUILD);
    lifecycle_scenario(
        &repo,
        20200,
        Server::ImageCommand,
        "/tmp/oncreate-count",
        "/tmp/poststart-count",
        &|repo| {
            // A Dockerfile edit is a config edit too: a new image, so a new container.
            let path = repo.path().join("backend-flask/Dockerfile");
            let text = std::fs::read_to_string(&path).unwrap();
            repo.write(
                "backend-flask/Dockerfile",
                &format!("{text}\nLABEL edited=yes\n"),
            );
        },
    );
    // Both builds (before and after the edit) say whose they are, so they can be found
    // and removed (the harness does, when the test ends).
    assert_eq!(repo.images().len(), 2, "{:?}", repo.images());
}

#[test]
fn a_failing_init_fails_up_and_is_retried() {
    let repo = Repo::example();
    let failing = GITPOD.replace(
        "echo init >> /tmp/init-count",
        "echo init >> /tmp/init-count && test -f /tmp/fixed",
    );
    repo.write(".gitpod.yml", &failing);
    let run = repo.devboot(["up", "--port-offset", "20010", "--wait-timeout", "5"]);
    run.status(1)
        .stderr_has("task `backend` failed in `init` with exit code 1");
    assert_eq!(
        repo.containers().len(),
        1,
        "the container stays for the retry"
    );
    repo.sh("touch /tmp/fixed");
    let run = repo.devboot(["up", "--port-offset", "20010"]);
    run.status(0).stderr_has("running again");
    assert_eq!(
        repo.count("/tmp/init-count"),
        2,
        "init ran again after its failure"
    );
    assert_home_feed(&get_ok(
        4567 + 20010,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
}

/// A Docker Compose based devcontainer.json, with Debian's docker-compose 1.29: devboot
/// gives the service its labels, env and published port through an override file, Compose
/// makes the project (a sidecar too), and the hooks run the exec way with the reference
/// CLI's markers. Warm up reuses, an edit of the compose file recreates, `down --remove`
/// takes the whole project away.
#[test]
fn devcontainer_compose_lifecycle() {
    if !compose_cli_here() {
        eprintln!(
            "SKIPPED devcontainer_compose_lifecycle: no Compose CLI (apt-get install -y docker-compose)"
        );
        return;
    }
    let repo = Repo::example();
    let example = configs_dir().join("devcontainer-compose/.devcontainer");
    let compose = std::fs::read_to_string(example.join("docker-compose.yml")).unwrap();
    repo.write(".devcontainer/docker-compose.yml", &compose);
    repo.write(
        ".devcontainer/devcontainer.json",
        &std::fs::read_to_string(example.join("devcontainer.json")).unwrap(),
    );
    let offset = 20800;
    let port = 4567 + offset;
    let frontend = format!("http://localhost:{}", 3000 + offset);
    let run = up_json(&repo, offset);
    run.status(0).stderr_has("compose | ");
    assert_eq!(run.json()["action"], "created");
    let response = get_ok(
        port,
        "/api/activities/home",
        &[("Origin", &frontend)],
        Duration::from_secs(10),
    );
    assert_home_feed(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some(frontend.as_str()),
        "containerEnv reached the service"
    );
    assert_eq!(repo.compose_containers().len(), 2, "the sidecar runs too");
    assert!(
        repo.sh("ls /srv/backend").contains("app.py"),
        "the config's `mounts` reach the service"
    );
    let id = repo.container();
    assert_eq!(
        repo.sh("cat ~/.devcontainer/.onCreateCommandMarker").trim(),
        repo.engine_cmd(&["inspect", "-f", "{{.Created}}", &id])
            .trim(),
        "the reference CLI's marker"
    );

    let run = up_json(&repo, offset);
    run.status(0);
    assert_eq!(run.json()["action"], "reused");
    assert_eq!(repo.container(), id);
    assert_eq!(repo.count("/tmp/oncreate-count"), 1);

    repo.write(
        ".devcontainer/docker-compose.yml",
        &compose.replace("sleep infinity", "sleep 100000"),
    );
    let run = up_json(&repo, offset);
    run.status(0).stderr_has("the config changed");
    assert_eq!(run.json()["action"], "recreated");
    assert_ne!(repo.container(), id);
    assert_eq!(
        repo.count("/tmp/oncreate-count"),
        1,
        "once in the new container"
    );
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));

    repo.devboot(["down", "--remove"])
        .status(0)
        .stdout_has("removed Docker Compose project");
    assert!(
        repo.compose_containers().is_empty(),
        "the whole project went"
    );
}

/// Whether a Compose CLI (the plugin, or Debian's `docker-compose`) is installed.
pub fn compose_cli_here() -> bool {
    let plugin = std::process::Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let standalone = std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    plugin || standalone
}

/// A task whose runner process is killed (not the task's own command) cannot record an
/// exit code: `up` says so and fails, instead of waiting on a lane that cannot report.
#[test]
fn a_task_whose_runner_is_killed_fails_up() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: victim\n    before: kill -9 $PPID; sleep 20\n    command: sleep 1000\n",
    );
    let run = repo.devboot(["up"]);
    run.status(1)
        .stderr_has("task `victim` failed in `before` with exit code 137")
        .stderr_has("without an exit code (killed?)");
}

/// The whole lane killed at once (its runner and the server, as an out-of-memory kill or a
/// `kill -9` of everything might): no exit code was written, so the state folder still says
/// it runs. The backend does not answer, so a warm `up` asks the container and restarts it.
#[test]
fn a_warm_up_restarts_a_task_killed_with_its_runner() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    let port = 4567 + 20700;
    repo.devboot(["up", "--port-offset", "20700"]).status(0);
    let id = repo.container();
    repo.sh("pkill -9 -f '[d]evboot-lane'; pkill -9 -f '^python3 -m flask'; sleep 0.3");
    assert!(
        get("127.0.0.1", port, "/api/activities/home", &[]).map_or(true, |r| r.status != 200),
        "the backend is down"
    );
    let run = repo.devboot(["up", "--json", "--port-offset", "20700"]);
    run.status(0).stderr_has("restarting");
    assert_eq!(repo.container(), id, "the same container");
    assert_eq!(repo.count("/tmp/init-count"), 1, "init did not run again");
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
}

#[test]
fn json_error_goes_to_stdout_and_logs_to_stderr() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", "image: devboot/does-not-exist:never\n");
    let run = repo.devboot(["up", "--json"]);
    run.status(1);
    let value = run.json();
    assert_eq!(value["outcome"], "error");
    assert!(
        value["message"]
            .as_str()
            .unwrap()
            .contains("devboot/does-not-exist:never"),
        "{value}"
    );
    run.stderr_has("error: image devboot/does-not-exist:never is not available");
    assert!(repo.containers().is_empty(), "nothing was made");
}

/// Why podman cannot run the smoke test here, if it cannot.
pub fn podman_unavailable() -> Option<String> {
    let info = std::process::Command::new("podman").arg("info").output();
    match info {
        Err(e) => {
            return Some(format!(
                "podman is not installed ({e}); scripts/podman.sh installs it"
            ));
        }
        Ok(out) if !out.status.success() => {
            return Some(format!(
                "`podman info` fails: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(_) => {}
    }
    let image = std::process::Command::new("podman")
        .args(["image", "exists", "devboot/python-flask:bookworm"])
        .status();
    if !image.is_ok_and(|s| s.success()) {
        return Some(
            "podman has no devboot/python-flask:bookworm image; scripts/podman.sh imports it"
                .into(),
        );
    }
    None
}

/// `devboot up --json` (through `engine` when given) succeeds and the backend answers.
pub fn up_serves(repo: &Repo, engine: Option<&str>, offset: u16) -> crate::harness::Run {
    let offset_arg = offset.to_string();
    let mut args = vec!["up", "--json", "--port-offset", &offset_arg];
    if let Some(engine) = engine {
        args.extend(["--engine", engine]);
    }
    let run = repo.devboot(args);
    run.status(0);
    assert_home_feed(&get_ok(
        4567 + offset,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    run
}

#[test]
fn podman_smoke() {
    if let Some(reason) = podman_unavailable() {
        eprintln!("SKIPPED podman_smoke: {reason}");
        return;
    }
    let repo = Repo::example_on("podman");
    repo.write(".gitpod.yml", GITPOD);
    let run = up_serves(&repo, Some("podman"), 20300);
    assert_eq!(run.json()["action"], "created");
    let warm = up_serves(&repo, Some("podman"), 20300);
    assert_eq!(warm.json()["action"], "reused");
    assert_eq!(repo.count("/tmp/init-count"), 1);
    repo.devboot(["down", "--engine", "podman", "--remove"])
        .status(0);
    assert!(repo.containers().is_empty());
}

#[test]
fn gitpod_task_hook_applies_visibility_via_recording_gp_stand_in() {
    // `gp` cannot exist here (it talks to Gitpod's supervisor): a stand-in records its argv.
    let test = crate::harness::Test::new().file(
        ".gitpod.yml",
        "tasks:\n  - name: hook\n    command: devboot up\nports:\n  - port: 4567\n    visibility: public\n",
    );
    let bin = test.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = test.path().join("gp.log");
    let gp = bin.join("gp");
    std::fs::write(
        &gp,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&gp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let root = test.path().display().to_string();
    let test = test
        .args(["up"])
        .env("PATH", &path)
        .env("GITPOD_WORKSPACE_ID", "me-cruddur-abc123")
        .env("GITPOD_WORKSPACE_CLUSTER_HOST", "ws-eu.gitpod.example")
        .env("GITPOD_REPO_ROOT", &root)
        .env("XDG_CACHE_HOME", &format!("{root}/.cache"));
    let run = test.run();
    run.status(0)
        .stderr_has("starts no nested workspace")
        .stdout_has("https://4567-me-cruddur-abc123.ws-eu.gitpod.example");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "ports visibility 4567:public\n"
    );
}

#[test]
fn exec_and_logs_run_in_the_workspace() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    repo.devboot(["up", "--port-offset", "20400"]).status(0);
    let run = repo.devboot([
        "exec",
        "--",
        "sh",
        "-c",
        "pwd; echo \"$GITPOD_REPO_ROOT\"; exit 3",
    ]);
    assert_eq!(
        run.status, 3,
        "exec exits with the command's code: {}",
        run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0], lines[1],
        "runs in the workspace folder: {}",
        run.stdout
    );
    let logs = repo.devboot(["logs", "backend", "--tail", "50"]);
    logs.status(0).stdout_has("Running on");
    repo.devboot(["logs", "nope"])
        .status(2)
        .stderr_has("no task named `nope`");
}

#[test]
fn two_ups_at_once_make_one_container() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    let runs: Vec<_> = std::thread::scope(|scope| {
        let a = scope.spawn(|| repo.devboot(["up", "--port-offset", "20500"]));
        let b = scope.spawn(|| repo.devboot(["up", "--port-offset", "20500"]));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    for run in &runs {
        run.status(0);
    }
    assert_eq!(repo.containers().len(), 1);
    assert_eq!(repo.count("/tmp/init-count"), 1);
}

#[test]
fn a_failing_build_keeps_its_log_and_makes_nothing() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/Dockerfile",
        "FROM devboot/python-flask:bookworm\nRUN echo broken-step && false\n",
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "build": { "dockerfile": "Dockerfile" } }"#,
    );
    let run = repo.devboot(["up"]);
    run.status(1)
        .stderr_has("build | broken-step")
        .stderr_has("the whole build output is in ");
    let log = run
        .stderr
        .split("the whole build output is in ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim();
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("broken-step")
    );
    assert!(repo.containers().is_empty(), "no half-made container");
    let leftovers = repo.engine_cmd(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        "status=exited",
        "--filter",
        "ancestor=devboot/python-flask:bookworm",
    ]);
    let broken: Vec<&str> = leftovers
        .lines()
        .filter(|id| {
            repo.engine_cmd(&["inspect", "-f", "{{json .Config.Cmd}}", id])
                .contains("broken-step")
        })
        .collect();
    assert!(
        broken.is_empty(),
        "the failed build step's container is gone: {broken:?}"
    );
}

#[test]
fn no_engine_answering_is_a_clear_error() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    let run = repo.devboot_env(
        ["up"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    run.status(1)
        .stderr_has("does not answer")
        .stderr_has("dockerd");
    let run = repo.devboot_env(["up"], &[("PATH", "/nonexistent")]);
    run.status(1)
        .stderr_has("no container engine found (tried: docker)");
}

#[test]
fn zero_config_runs_the_example_with_the_built_in_template() {
    let repo = Repo::example();
    let image = [("DEVBOOT_IMAGE", "devboot/python-flask:bookworm")];
    let run = repo.devboot_env(["up", "--json", "--port-offset", "20600"], &image);
    run.status(0)
        .stderr_has("using devboot's built-in flask-backend template")
        .stderr_has("`devboot init` writes it out");
    assert_eq!(run.json()["action"], "created");
    let frontend = format!("http://localhost:{}", 3000 + 20600);
    let response = get_ok(
        4567 + 20600,
        "/api/activities/home",
        &[("Origin", &frontend)],
        Duration::from_secs(10),
    );
    assert_home_feed(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some(frontend.as_str())
    );
    assert!(
        !repo.path().join(".gitpod.yml").exists(),
        "nothing was written"
    );
    let warm = repo.devboot_env(["up", "--json", "--port-offset", "20600"], &image);
    assert_eq!(warm.json()["action"], "reused");
}

#[test]
fn zero_config_on_an_empty_folder_suggests_init() {
    let empty = crate::harness::Test::new();
    let run = empty.args(["up"]).run();
    run.status(2)
        .stderr_has("no devcontainer.json or .gitpod.yml found in")
        .stderr_has("devboot init");
}

/// A container made by another tool (VS Code, the reference CLI): same labels, no devboot
/// state folder. devboot reuses it, honours the reference CLI's markers, and writes them.
#[test]
fn a_container_made_by_another_tool_is_reused_with_its_markers() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "image": "devboot/python-flask:bookworm",
  "onCreateCommand": "echo x >> /tmp/oncreate-count",
  "postStartCommand": "echo x >> /tmp/poststart-count"
}"#,
    );
    let id = repo.run_as_the_reference_cli_would();
    let id = id.as_str();
    let created = repo.engine_cmd(&["inspect", "-f", "{{.Created}}", id]);
    // The reference CLI already ran onCreateCommand in it: its marker holds `Created`.
    repo.sh(&format!(
        "mkdir -p ~/.devcontainer && printf %s '{}' > ~/.devcontainer/.onCreateCommandMarker",
        created.trim()
    ));

    // No state folder: this first `up` runs `docker run` beside its lookup, finds the
    // container, and takes its own away before it ran anything.
    let run = repo.devboot(["up", "--json"]);
    run.status(0).stderr_has("made by another tool");
    assert_eq!(run.json()["containerId"], id);
    assert_eq!(
        repo.containers(),
        vec![id.to_string()],
        "no second container"
    );
    let plans = repo.path().join(".test-cache/devboot/state");
    let started: Vec<_> = walk(&plans)
        .into_iter()
        .filter(|p| p.ends_with("plans/next.started"))
        .collect();
    assert!(
        started.is_empty(),
        "the new container ran its plan: {started:?}"
    );
    assert_eq!(
        repo.count("/tmp/oncreate-count"),
        0,
        "its marker says onCreate ran"
    );
    assert_eq!(repo.count("/tmp/poststart-count"), 1);
    let started = repo.engine_cmd(&["inspect", "-f", "{{.State.StartedAt}}", id]);
    assert_eq!(
        repo.sh("cat ~/.devcontainer/.postStartCommandMarker"),
        started.trim(),
        "the reference CLI's marker"
    );

    repo.devboot(["up"]).status(0);
    assert_eq!(
        repo.count("/tmp/poststart-count"),
        1,
        "not again in the same start"
    );
    let status = repo.devboot(["status", "--json"]).json();
    assert!(
        status["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "done"),
        "{status}"
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
