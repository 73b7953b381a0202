//! Docker Compose configs: `validate` reads the compose files (and a compose file given on
//! its own) and points at hard-coded URLs in their `environment`; on the real engine, the
//! ports a compose file publishes are the workspace's (`ports`, `status`, `env`,
//! `${portUrl:N}`), a `forwardPorts` entry Compose publishes is not published twice, a
//! taken host port is named before anything is made, and a failed `compose up` leaves
//! the container as it was. Each e2e test has its own `--port-offset` (41400-41430), and
//! its compose file publishes on host ports shifted by the same offset.

use std::process::Command;
use std::time::Duration;

use crate::engine::{Repo, assert_home_feed, get_ok};
use crate::harness::Test;

const DEVCONTAINER: &str = r#"{
  "name": "compose-ports",
  "dockerComposeFile": "docker-compose.yml",
  "service": "app",
  "workspaceFolder": "/workspaces/cruddur",
  "forwardPorts": [4567],
  "portsAttributes": { "4567": { "label": "backend" } },
  "containerEnv": {
    "BACKEND_URL": "${portUrl:4567}",
    "FRONTEND_URL": "${portUrl:3000}"
  },
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#;

/// The service publishes the backend (which devcontainer.json forwards too) and port 3000
/// (which it does not), both at the test's offset.
fn compose_file(offset: u16) -> String {
    format!(
        r#"services:
  app:
    image: devboot/python-flask:bookworm
    init: true
    volumes:
      - ..:/workspaces/cruddur:cached
    command: sleep infinity
    ports:
      - "{}:4567"
      - "{}:3000"
    environment:
      GREETING: "hello ${{WHO:-world}}"
"#,
        4567 + offset,
        3000 + offset
    )
}

/// Whether a Compose CLI is here (Debian's `docker-compose`, or the `compose` plugin).
pub fn has_compose(test: &str) -> bool {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let found = works("docker-compose", &["version"]) || works("docker", &["compose", "version"]);
    if !found {
        eprintln!("SKIPPED {test}: no Compose CLI (apt-get install -y docker-compose)");
    }
    found
}

fn compose_repo(offset: u16) -> Repo {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", DEVCONTAINER);
    repo.write(".devcontainer/docker-compose.yml", &compose_file(offset));
    repo
}

/// A compose file whose service gets Gitpod's URL formula and a `localhost` URL.
const CRUDDUR_COMPOSE: &str = r#"version: "3.8"
services:
  backend-flask:
    environment:
      FRONTEND_URL: "https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}"
      BACKEND_URL: "http://localhost:4567"
    build: ./backend-flask
    ports:
      - "4567:4567"
  frontend-react-js:
    environment:
      REACT_APP_BACKEND_URL: "https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}"
    build: ./frontend-react-js
    ports:
      - "3000:3000"
"#;

#[test]
fn validate_reads_the_compose_files_a_devcontainer_uses() {
    let t = Test::new()
        .file("docker-compose.yml", CRUDDUR_COMPOSE)
        .file(
            ".devcontainer/devcontainer.json",
            r#"{"dockerComposeFile": "../docker-compose.yml", "service": "backend-flask", "workspaceFolder": "/app"}"#,
        )
        .args(["validate"]);
    let run = t.run();
    run.status(0)
        .stderr_has(".devcontainer/devcontainer.json: ok")
        .stderr_has(
            "warning: `https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}` in `FRONTEND_URL` of service `backend-flask` hard-codes the Gitpod URL of port 3000\n --> docker-compose.yml:5:22",
        )
        .stderr_has(
            "help: set `\"FRONTEND_URL\": \"${portUrl:3000}\"` in devcontainer.json's `containerEnv` instead",
        )
        .stderr_has(
            "warning: `http://localhost:4567` in `BACKEND_URL` of service `backend-flask` is the URL of port 4567 on this machine only\n --> docker-compose.yml:6:21",
        )
        .stderr_has("in `REACT_APP_BACKEND_URL` of service `frontend-react-js` hard-codes the Gitpod URL of port 4567\n  --> docker-compose.yml:12:31")
        .stderr_has("help: `containerEnv` reaches service `backend-flask` only: for service `frontend-react-js`")
        .stderr_has("0 error(s), 3 warning(s)");

    // containerEnv wins over the compose file's value: nothing to say about that one.
    let t = Test::new()
        .file("docker-compose.yml", CRUDDUR_COMPOSE)
        .file(
            ".devcontainer/devcontainer.json",
            r#"{"dockerComposeFile": "../docker-compose.yml", "service": "backend-flask", "workspaceFolder": "/app", "containerEnv": {"FRONTEND_URL": "${portUrl:3000}"}}"#,
        )
        .args(["validate"]);
    t.run().status(0).stderr_has("0 error(s), 2 warning(s)");

    // A service the compose files do not have is what `up` would fail on.
    let t = Test::new()
        .file("docker-compose.yml", CRUDDUR_COMPOSE)
        .file(
            ".devcontainer/devcontainer.json",
            r#"{"dockerComposeFile": "../docker-compose.yml", "service": "backend", "workspaceFolder": "/app"}"#,
        )
        .args(["validate"]);
    t.run()
        .status(2)
        .stderr_has("error: service `backend` is not in the compose files of `dockerComposeFile`")
        .stderr_has("help: name one of their services: `backend-flask`, `frontend-react-js`");
}

/// `validate docker-compose.yml` checks it as a compose file, not against `.gitpod.yml`'s
/// schema; so does a compose file named otherwise.
#[test]
fn validate_recognises_a_compose_file_on_the_command_line() {
    let t = Test::new()
        .file("docker-compose.yml", CRUDDUR_COMPOSE)
        .file("stack.yaml", CRUDDUR_COMPOSE)
        .args(["validate", "docker-compose.yml", "stack.yaml"]);
    let run = t.run();
    run.status(0)
        .stderr_has("--> docker-compose.yml:5:22")
        .stderr_has("--> stack.yaml:6:21")
        .stderr_has("in the `containerEnv` of the devcontainer.json that uses this file")
        .stderr_has("0 error(s), 6 warning(s)");
    assert!(!run.stderr.contains("unknown field"), "{}", run.stderr);

    let t = Test::new()
        .file("compose.yaml", "services:\n  app:\n    image: x\n")
        .args(["validate", "compose.yaml"]);
    t.run().status(0).stderr_has("compose.yaml: ok");
}

/// The ports a compose file publishes are the workspace's: `forwardPorts` 4567, which
/// Compose publishes, is not published again (`up` used to fail with "address already in
/// use"); `${portUrl:N}` follows Compose's host ports; `ports`, `status` and `env` show
/// them, and the compose file's `environment`.
#[test]
fn compose_published_ports_are_the_workspaces() {
    if !has_compose("compose_published_ports_are_the_workspaces") {
        return;
    }
    let offset = 41400;
    let (backend, frontend) = (4567 + offset, 3000 + offset);
    let repo = compose_repo(offset);
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0).stderr_has(&format!(
        "note: port 4567 of `forwardPorts` is published by {}/.devcontainer/docker-compose.yml:9:9 (service `app`, host port {backend}): devboot does not publish it again",
        repo.path().display()
    ));
    let origin = format!("http://localhost:{frontend}");
    let response = get_ok(
        backend,
        "/api/activities/home",
        &[("Origin", &origin)],
        Duration::from_secs(10),
    );
    assert_home_feed(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some(origin.as_str()),
        "${{portUrl:3000}} is the URL of Compose's host port for 3000"
    );

    let ports = repo.devboot(["ports"]);
    ports.status(0);
    let rows: Vec<Vec<&str>> = ports
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let backend_url = format!("http://localhost:{backend}");
    let frontend_url = format!("http://localhost:{frontend}");
    let (backend_host, frontend_host) =
        (format!("0.0.0.0:{backend}"), format!("0.0.0.0:{frontend}"));
    assert_eq!(
        rows,
        [
            vec![
                "4567",
                "backend",
                "public",
                &backend_host,
                "ready",
                &backend_url
            ],
            vec![
                "3000",
                "-",
                "public",
                &frontend_host,
                "not",
                "served",
                &frontend_url
            ],
        ],
        "{}",
        ports.stdout
    );

    let status_line =
        |port: &str, state: &str, url: &str| format!("port {port:<24} {state:<10} {url}\n");
    repo.devboot(["status"])
        .status(0)
        .stdout_has(&status_line("4567", "ready", &backend_url))
        .stdout_has(&status_line("3000", "not served", &frontend_url));

    repo.devboot(["env"])
        .status(0)
        .stdout_has(&format!("export BACKEND_URL='{backend_url}'\n"))
        .stdout_has(&format!("export FRONTEND_URL='{frontend_url}'\n"))
        .stdout_has("export GREETING='hello world'\n");

    // Warm: still reused (the ports Compose publishes are not in devboot's hash twice).
    let run = repo.devboot(["up", "--json", "--port-offset", &offset.to_string()]);
    run.status(0);
    assert_eq!(run.json()["action"], "reused", "{}", run.stderr);
}

/// Keeps a container that holds a host port for the length of a test.
struct Holder(String);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = Command::new(crate::engine::engine())
            .args(["rm", "-f", &self.0])
            .output();
    }
}

/// A host port the compose file publishes that something else holds: the port-in-use
/// error, at the line of the compose file, naming the container that holds it; nothing is
/// made. Compose's own words were all `up` used to show.
#[test]
fn a_taken_compose_port_is_named_before_anything_is_made() {
    if !has_compose("a_taken_compose_port_is_named_before_anything_is_made") {
        return;
    }
    let offset = 41410;
    let (backend, frontend) = (4567 + offset, 3000 + offset);
    let repo = compose_repo(offset);

    let listener = std::net::TcpListener::bind(("0.0.0.0", backend)).unwrap();
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(1)
        .stderr_has(&format!("error: host port {backend} is already in use\n"))
        .stderr_has(".devcontainer/docker-compose.yml:9:9")
        .stderr_has("service `app` publishes its port 4567 there")
        .stderr_has("help: stop what uses it, or give port 4567 another host port here");
    assert!(repo.compose_containers().is_empty(), "nothing was made");
    drop(listener);

    let name = format!("devboot-e2e-holder-{frontend}");
    let _holder = Holder(name.clone());
    let held = Command::new(crate::engine::engine())
        .args(["run", "-d", "--name", &name, "-p"])
        .arg(format!("{frontend}:8000"))
        .args(["devboot/python-flask:bookworm", "sleep", "120"])
        .output()
        .unwrap();
    assert!(held.status.success(), "{held:?}");
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(1)
        .stderr_has(&format!(
            "error: host port {frontend} is already in use by container {name}\n"
        ))
        .stderr_has("service `app` publishes its port 3000 there");
    assert!(repo.compose_containers().is_empty(), "nothing was made");
}

/// A `compose up` that fails after Compose stopped and renamed the old container (its new
/// one cannot start): the old one is back, under its name and running, and the next `up`
/// with the fixed file reuses it and serves again.
#[test]
fn a_failed_compose_up_leaves_the_container_as_it_was() {
    if !has_compose("a_failed_compose_up_leaves_the_container_as_it_was") {
        return;
    }
    let offset = 41420;
    let repo = compose_repo(offset);
    let up = || repo.devboot(["up", "--json", "--port-offset", &offset.to_string()]);
    up().status(0);
    let id = repo.container();
    let name_of = |id: &str| {
        repo.engine_cmd(&["inspect", "-f", "{{.Name}} {{.State.Running}}", id])
            .trim()
            .to_string()
    };
    let before = name_of(&id);

    let good = compose_file(offset);
    repo.write(
        ".devcontainer/docker-compose.yml",
        &good.replace(
            "command: sleep infinity",
            "command: sleep infinity\n    user: nosuchuser",
        ),
    );
    up().status(1)
        .stderr_has("nosuchuser")
        .stderr_has("is back as it was before this `up`");
    assert_eq!(
        repo.containers(),
        std::slice::from_ref(&id),
        "only the old container"
    );
    assert_eq!(name_of(&id), before, "its name, and running");

    repo.write(".devcontainer/docker-compose.yml", &good);
    let run = up();
    run.status(0);
    assert_eq!(run.json()["action"], "reused", "{}", run.stderr);
    assert_home_feed(&get_ok(
        4567 + offset,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
}
