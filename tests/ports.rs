//! Ports end to end: publishing by visibility, URLs in each environment reaching the example
//! backend's CORS check, hosted visibility through recording stand-ins for `gp` and `gh`
//! (the hosted services cannot be reached from a test), taken host ports, readiness and its
//! timeout, `ports` states and `ports await`, and `validate`'s advice on hard-coded URLs.
//!
//! Every test that publishes ports uses its own `--port-offset` (a multiple of 10 in
//! 30000..=30999; the container ports used differ in their last digit or by more than the
//! offsets' spread), so tests running in parallel never want the same host port:
//! 30000 local CORS, 30010 Gitpod, 30020 Codespaces, 30030 failing `gp`, 30040 public vs
//! private, 30050/30060 taken by a listener, 30070 taken by a container, 30090 timeout,
//! 30100 loopback-only server, 30110 `--no-wait` and states, 30120 open-browser, 30130 devcontainer
//! ports (`env.rs` uses 30200 and up).

use std::collections::BTreeSet;
use std::net::{IpAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::engine::{Repo, assert_home_feed, engine, get, get_ok};
use crate::harness::{Run, Test};

/// The example with two ports: a static "frontend" (private, the default) and the flask
/// backend (public). The backend allows CORS from `FRONTEND_URL` (top-level env) and
/// `BACKEND_URL` (the task's env), both from `${portUrl:N}`.
const TWO_PORTS: &str = r#"image: devboot/python-flask:bookworm
env:
  FRONTEND_URL: "${portUrl:3000}"
tasks:
  - name: frontend
    command: python3 -m http.server 3000 --bind 0.0.0.0 --directory /tmp
  - name: backend
    env:
      BACKEND_URL: "${portUrl:4567}"
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
ports:
  - port: 3000
    name: frontend
  - port: 4567
    name: backend
    visibility: public
"#;

/// `up --port-offset N` plus more arguments.
fn up_args(offset: u16, more: &[&str]) -> Vec<String> {
    let mut args = vec!["up".to_string(), "--port-offset".into(), offset.to_string()];
    args.extend(more.iter().map(|s| (*s).to_string()));
    args
}

/// The entry of `port` in a JSON list of ports (`up --json`'s `ports`, `ports --json`).
#[track_caller]
fn port_entry(ports: &Value, port: u16) -> &Value {
    ports
        .as_array()
        .unwrap_or_else(|| panic!("not a list of ports: {ports}"))
        .iter()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("no port {port} in {ports}"))
}

/// A recording stand-in for a hosted service's CLI (`gp`, `gh`): a script that appends its
/// arguments to a file and exits with `code`, writing `stderr` first. Returns the folder to
/// put first on PATH and the file the calls go to.
fn recording_stand_in(repo: &Repo, program: &str, code: i32, stderr: &str) -> (PathBuf, PathBuf) {
    let bin = repo.path().join(".test-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = repo.path().join(format!(".test-{program}-calls"));
    let script = bin.join(program);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# Recording stand-in for `{program}` (the hosted service cannot be reached from a test).\nprintf '%s\\n' \"$*\" >> '{}'\nprintf '%s' '{stderr}' >&2\nexit {code}\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, calls)
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn recorded(calls: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(calls)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Brings `TWO_PORTS` up in an environment and checks that every way of asking for a URL
/// agrees, and that the URLs reached flask: a request from either origin gets it back in
/// `Access-Control-Allow-Origin`.
fn cors_scenario(repo: &Repo, offset: u16, env: &[(&str, &str)], frontend: &str, backend: &str) {
    repo.write(".gitpod.yml", TWO_PORTS);
    // A container, even where the environment says devboot runs inside the workspace
    // (`CODESPACES=true`): these are the URLs of a workspace devboot made.
    let run = repo.devboot_env(up_args(offset, &["--json", "--no-in-place"]), env);
    run.status(0);
    let report = run.json();
    assert_eq!(report["outcome"], "success", "{report}");
    let back = port_entry(&report["ports"], 4567);
    assert_eq!(back["url"], backend, "{report}");
    assert_eq!(back["hostPort"], 4567 + offset);
    assert_eq!(back["hostIp"], "0.0.0.0");
    assert_eq!(back["state"], "ready");
    let front = port_entry(&report["ports"], 3000);
    assert_eq!(front["url"], frontend, "{report}");
    assert_eq!(front["hostPort"], 3000 + offset);
    assert_eq!(front["hostIp"], "127.0.0.1");
    assert_eq!(front["state"], "ready");

    // `notify` (the default) says where each port is, on stderr.
    run.stderr_has(&format!("port 4567 (backend) ready: {backend}\n"))
        .stderr_has(&format!("port 3000 (frontend) ready: {frontend}\n"));

    // The backend got both URLs: each origin is allowed, exactly as written.
    for origin in [frontend, backend] {
        let response = get(
            "127.0.0.1",
            4567 + offset,
            "/api/activities/home",
            &[("Origin", origin)],
        )
        .unwrap();
        assert_home_feed(&response);
        assert_eq!(
            response.header("Access-Control-Allow-Origin"),
            Some(origin),
            "{response:?}"
        );
    }
    // Any other origin is not.
    let other = get(
        "127.0.0.1",
        4567 + offset,
        "/api/activities/home",
        &[("Origin", "https://elsewhere.example")],
    )
    .unwrap();
    assert_eq!(other.header("Access-Control-Allow-Origin"), None);

    // `url` follows the container's offset without being told.
    let url = |port: &str| repo.devboot_env(["url", port], env);
    assert_eq!(url("4567").status(0).stdout.trim(), backend);
    assert_eq!(url("3000").status(0).stdout.trim(), frontend);

    // `env` shows what the container and the task got.
    let vars = repo
        .devboot_env(["env", "--format", "json", "--task", "backend"], env)
        .status(0)
        .json();
    assert_eq!(vars["FRONTEND_URL"], frontend, "{vars}");
    assert_eq!(vars["BACKEND_URL"], backend, "{vars}");
    let workspace_vars = repo
        .devboot_env(["env", "--format", "json"], env)
        .status(0)
        .json();
    assert_eq!(workspace_vars["FRONTEND_URL"], frontend);
    assert!(
        workspace_vars.get("BACKEND_URL").is_none(),
        "a task's env is that task's only: {workspace_vars}"
    );

    // `ports --json` agrees, and both answer.
    let ports = repo.devboot_env(["ports", "--json"], env).status(0).json();
    assert_eq!(port_entry(&ports, 4567)["url"], backend);
    assert_eq!(port_entry(&ports, 3000)["url"], frontend);
    assert_eq!(port_entry(&ports, 4567)["state"], "ready", "{ports}");
    assert_eq!(port_entry(&ports, 3000)["state"], "ready", "{ports}");
}

#[test]
fn port_urls_reach_flask_cors_on_localhost() {
    let repo = Repo::example();
    cors_scenario(
        &repo,
        30000,
        &[],
        "http://localhost:33000",
        "http://localhost:34567",
    );
}

#[test]
fn gitpod_urls_and_visibility_via_recording_gp_stand_in() {
    let repo = Repo::example();
    let (bin, calls) = recording_stand_in(&repo, "gp", 0, "");
    let path = path_with(&bin);
    let env = [
        ("GITPOD_WORKSPACE_ID", "me-cruddur-8tcok2iab13"),
        ("GITPOD_WORKSPACE_CLUSTER_HOST", "ws-eu11.gitpod.io"),
        ("PATH", path.as_str()),
    ];
    cors_scenario(
        &repo,
        30010,
        &env,
        "https://33010-me-cruddur-8tcok2iab13.ws-eu11.gitpod.io",
        "https://34577-me-cruddur-8tcok2iab13.ws-eu11.gitpod.io",
    );
    // Each published port got its configured visibility, by its host port (the one
    // Gitpod's proxy sees).
    assert_eq!(
        recorded(&calls),
        BTreeSet::from([
            "ports visibility 33010:private".to_string(),
            "ports visibility 34577:public".to_string(),
        ])
    );
    // Inside, the workspace sees Gitpod's own variables, as tasks expect.
    assert_eq!(
        repo.sh("printenv GITPOD_WORKSPACE_ID").trim(),
        "me-cruddur-8tcok2iab13"
    );
}

#[test]
fn codespaces_urls_and_visibility_via_recording_gh_stand_in() {
    let repo = Repo::example();
    let (bin, calls) = recording_stand_in(&repo, "gh", 0, "");
    let path = path_with(&bin);
    let env = [
        ("CODESPACES", "true"),
        ("CODESPACE_NAME", "octocat-literate-space-parakeet-mld5"),
        ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
        ("PATH", path.as_str()),
    ];
    cors_scenario(
        &repo,
        30020,
        &env,
        "https://octocat-literate-space-parakeet-mld5-33020.app.github.dev",
        "https://octocat-literate-space-parakeet-mld5-34587.app.github.dev",
    );
    assert_eq!(
        recorded(&calls),
        BTreeSet::from([
            "codespace ports visibility 33020:private -c octocat-literate-space-parakeet-mld5"
                .to_string(),
            "codespace ports visibility 34587:public -c octocat-literate-space-parakeet-mld5"
                .to_string(),
        ])
    );
}

#[test]
fn failing_visibility_is_a_warning_via_failing_gp_stand_in() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        r"image: devboot/python-flask:bookworm
tasks:
  - command: python3 -m http.server 3000 --bind 0.0.0.0 --directory /tmp
ports:
  - port: 3000
    visibility: public
",
    );
    let (bin, calls) = recording_stand_in(&repo, "gp", 1, "not logged in");
    let path = path_with(&bin);
    let env = [
        ("GITPOD_WORKSPACE_ID", "me-x-abc"),
        ("GITPOD_WORKSPACE_CLUSTER_HOST", "ws-us1.gitpod.io"),
        ("PATH", path.as_str()),
    ];
    let run = repo.devboot_env(up_args(30030, &[]), &env);
    run.status(0).stderr_has(
        "warning: `gp ports visibility 33030:public` failed (exit code 1): not logged in; port 33030 keeps its current visibility",
    );
    assert_eq!(
        recorded(&calls),
        BTreeSet::from(["ports visibility 33030:public".to_string()])
    );
    // Unnamed, so ready when it accepts connections; `notify` (the default) says so.
    run.stderr_has("port 3000 ready: https://33030-me-x-abc.ws-us1.gitpod.io");
}

#[test]
fn open_browser_runs_the_browser_only_on_a_terminal_via_recording_browser_stand_in() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        r"image: devboot/python-flask:bookworm
tasks:
  - command: python3 -m http.server 3000 --bind 0.0.0.0 --directory /tmp
  - command: python3 -m http.server 8000 --bind 0.0.0.0 --directory /tmp
ports:
  - port: 3000
    onOpen: open-browser
  - port: 8000
    onOpen: ignore
",
    );
    let (bin, calls) = recording_stand_in(&repo, "browser", 0, "");
    let browser = bin.join("browser");
    let env = [("BROWSER", browser.to_str().unwrap())];

    // Not on a terminal (a pipe, as in CI): the URL is printed, no browser is started;
    // `ignore` prints nothing.
    let run = repo.devboot_env(up_args(30120, &[]), &env);
    run.status(0)
        .stderr_has("port 3000 ready: http://localhost:33120\n");
    assert!(!run.stderr.contains("port 8000"), "{}", run.stderr);
    assert!(recorded(&calls).is_empty(), "no browser without a terminal");

    // On a terminal (a pseudo-terminal from util-linux `script`), a fresh container opens
    // the browser on the port's URL.
    if which_script().is_none() {
        eprintln!("SKIPPED the terminal half: `script` (util-linux) is not installed");
        return;
    }
    repo.devboot(["down", "--remove"]).status(0);
    let command = format!(
        "{} up --port-offset 30120 --workspace-folder {}",
        crate::harness::devboot_bin().display(),
        repo.path().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("BROWSER", &browser)
        .env("NO_COLOR", "1")
        .env("DEVBOOT_ENGINE", engine())
        .env("XDG_CACHE_HOME", repo.path().join(".test-cache"))
        .env("XDG_CONFIG_HOME", repo.path().join(".test-config"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("port 3000 ready: http://localhost:33120 (opened in the browser)"),
        "{shown}"
    );
    // The browser is started detached: wait for its record.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while recorded(&calls).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        recorded(&calls),
        BTreeSet::from(["http://localhost:33120".to_string()])
    );
}

fn which_script() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("script"))
            .find(|p| p.is_file())
    })
}

/// An address of this host other than loopback: the gateway of the container's network,
/// which is the host's side of docker's bridge.
fn non_loopback_host_address(container: &str) -> IpAddr {
    let out = Command::new(engine())
        .args([
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}",
            container,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|a| a.parse::<IpAddr>().ok().filter(IpAddr::is_ipv4))
        .unwrap_or_else(|| {
            panic!(
                "the container's network has an IPv4 gateway: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
}

/// The addresses the host listens on for `port`, from its socket table.
fn host_listening(port: u16) -> Vec<IpAddr> {
    let text = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect::<String>();
    devboot::ports::listening_addresses(&text, port)
}

#[test]
fn private_port_is_bound_to_loopback_and_public_port_to_every_address() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", TWO_PORTS);
    let offset = 30040;
    let (private, public) = (3000 + offset, 4567 + offset);
    repo.devboot(up_args(offset, &[])).status(0);
    let id = repo.container();

    // What docker was asked for.
    let published = repo.engine_cmd(&["port", &id]);
    assert!(
        published.contains(&format!("3000/tcp -> 127.0.0.1:{private}")),
        "{published}"
    );
    assert!(
        published.contains(&format!("4567/tcp -> 0.0.0.0:{public}")),
        "{published}"
    );
    assert!(
        !published.contains(&format!("0.0.0.0:{private}")),
        "{published}"
    );

    // What the host listens on (docker's proxy), where the host's socket table shows it.
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let private_listeners = host_listening(private);
    if !private_listeners.is_empty() {
        assert_eq!(private_listeners, vec![loopback]);
        assert!(
            host_listening(public)
                .iter()
                .all(|a| a.is_unspecified() && !a.is_loopback()),
            "{:?}",
            host_listening(public)
        );
    }

    // What answers: both on loopback; only the public one on another address of the host.
    assert_eq!(
        get("127.0.0.1", private, "/", &[]).unwrap().status,
        200,
        "the private port answers on 127.0.0.1"
    );
    assert_home_feed(&get_ok(
        public,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    let other = non_loopback_host_address(&id);
    assert!(!other.is_loopback());
    assert_home_feed(
        &get(&other.to_string(), public, "/api/activities/home", &[]).unwrap_or_else(|e| {
            panic!("the public port answers on {other}: {e}");
        }),
    );
    let refused = TcpStream::connect_timeout(&(other, private).into(), Duration::from_secs(5));
    assert!(
        refused.is_err(),
        "the private port must not be reachable on {other}:{private}"
    );
}

/// devcontainer.json's three sources of ports, merged: `appPort` with an address (public)
/// and with a host port of its own, `forwardPorts`, a `portsAttributes` range, and a port
/// whose `onAutoForward` is `ignore` (known, never published).
const DEVCONTAINER_PORTS: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "appPort": ["0.0.0.0:4567:4567", "8080:80"],
  "forwardPorts": [3000, 6000],
  "portsAttributes": {
    "4567": { "label": "backend" },
    "5000-5002": { "label": "workers" },
    "6000": { "onAutoForward": "ignore" }
  },
  "containerEnv": { "FRONTEND_URL": "${portUrl:3000}", "WEB_URL": "${portUrl:80}" },
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#;

#[test]
fn devcontainer_ports_are_published_as_configured() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", DEVCONTAINER_PORTS);
    let offset = 30130;
    // Only what is published matters here: nothing serves 80, 3000 or the range.
    let run = repo.devboot(up_args(offset, &["--no-wait", "--json"]));
    run.status(0);
    let ports = run.json()["ports"].clone();
    let published: Vec<u64> = ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert_eq!(published, vec![3000, 4567, 80, 5000], "{ports}");
    assert_eq!(port_entry(&ports, 4567)["hostIp"], "0.0.0.0");
    assert_eq!(port_entry(&ports, 4567)["visibility"], "public");
    assert_eq!(port_entry(&ports, 3000)["hostIp"], "127.0.0.1");
    assert_eq!(port_entry(&ports, 80)["hostPort"], 8080 + offset);
    assert_eq!(port_entry(&ports, 80)["url"], "http://localhost:38210");
    assert_eq!(port_entry(&ports, 5000)["end"], 5002);
    assert_eq!(port_entry(&ports, 5000)["hostPort"], 5000 + offset);

    let docker_port = repo.engine_cmd(&["port", &repo.container()]);
    for expected in [
        "4567/tcp -> 0.0.0.0:34697",
        "3000/tcp -> 127.0.0.1:33130",
        "80/tcp -> 127.0.0.1:38210",
        "5000/tcp -> 127.0.0.1:35130",
        "5001/tcp -> 127.0.0.1:35131",
        "5002/tcp -> 127.0.0.1:35132",
    ] {
        assert!(
            docker_port.contains(expected),
            "{expected} in:\n{docker_port}"
        );
    }
    assert!(!docker_port.contains("6000/tcp"), "{docker_port}");

    // `${portUrl:N}` follows a host port of its own too.
    assert_eq!(repo.sh("printenv WEB_URL").trim(), "http://localhost:38210");
    assert_eq!(
        repo.devboot(["url", "5001"]).status(0).stdout.trim(),
        "http://localhost:35131"
    );
    let response = get_ok(
        4567 + offset,
        "/api/activities/home",
        &[("Origin", "http://localhost:33130")],
        Duration::from_secs(10),
    );
    assert_home_feed(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some("http://localhost:33130")
    );
}

/// One private port, served by flask.
const ONE_PORT: &str = r"image: devboot/python-flask:bookworm
tasks:
  - name: backend
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
ports:
  - port: 4567
    name: backend
";

#[track_caller]
fn assert_nothing_made(repo: &Repo, run: &Run) {
    assert!(
        repo.containers().is_empty(),
        "no container may be made: {:?}\n{}",
        repo.containers(),
        run.stderr
    );
}

#[test]
fn host_port_taken_by_a_listener_fails_before_anything_is_made() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", ONE_PORT);
    let taken = 4567 + 30050;
    let _listener = TcpListener::bind(("127.0.0.1", taken)).unwrap();

    let run = repo.devboot(up_args(30050, &[]));
    run.status(1)
        .stderr_has(&format!("error: host port {taken} is already in use\n"))
        .stderr_has("--port-offset");
    assert_nothing_made(&repo, &run);

    let run = repo.devboot(up_args(30050, &["--json"]));
    run.status(1);
    assert_eq!(run.json()["outcome"], "error");
    assert!(
        run.json()["message"]
            .as_str()
            .unwrap()
            .contains(&taken.to_string())
    );
    assert_nothing_made(&repo, &run);

    // As the help says: shifted, everything works on the new ports.
    let run = repo.devboot(up_args(30060, &["--json"]));
    run.status(0);
    let entry = port_entry(&run.json()["ports"], 4567).clone();
    assert_eq!(entry["hostPort"], 4567 + 30060);
    assert_eq!(entry["url"], "http://localhost:34627");
    assert_home_feed(&get_ok(
        4567 + 30060,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
}

/// A container made behind devboot's back, removed when dropped.
struct Squatter(String);

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = Command::new(engine()).args(["rm", "-f", &self.0]).output();
    }
}

#[test]
fn host_port_taken_by_another_container_names_it() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", ONE_PORT);
    let taken = 4567 + 30070;
    let name = format!("devboot-test-squatter-{}", std::process::id());
    let squatter = Squatter(name.clone());
    let out = Command::new(engine())
        .args(["run", "-d", "--name", &name, "-p"])
        .arg(format!("127.0.0.1:{taken}:80"))
        .args(["devboot/python-flask:bookworm", "sleep", "300"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = repo.devboot(up_args(30070, &[]));
    run.status(1).stderr_has(&format!(
        "error: host port {taken} is already in use by container {name}"
    ));
    assert_nothing_made(&repo, &run);

    // Once that container is gone, the same command works.
    drop(squatter);
    repo.devboot(up_args(30070, &[])).status(0);
    assert_home_feed(&get_ok(
        taken,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));

    // A port taken while the container is stopped: `up` says so before starting it.
    repo.devboot(["down"]).status(0);
    let squatter = Squatter(format!("{name}-2"));
    let out = Command::new(engine())
        .args(["run", "-d", "--name", &squatter.0, "-p"])
        .arg(format!("127.0.0.1:{taken}:80"))
        .args(["devboot/python-flask:bookworm", "sleep", "300"])
        .output()
        .unwrap();
    assert!(out.status.success());
    repo.devboot(up_args(30070, &[]))
        .status(1)
        .stderr_has(&format!(
            "error: host port {taken} is already in use by container {}",
            squatter.0
        ));
}

#[test]
fn readiness_timeout_names_the_port_its_label_and_the_task_tail() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        r"image: devboot/python-flask:bookworm
tasks:
  - name: backend
    command: |
      echo compiling the assets
      echo the backend will listen on 4567 one day
      sleep 600
ports:
  - port: 4567
    name: backend
",
    );
    let run = repo.devboot(up_args(30090, &["--wait-timeout", "2"]));
    run.status(1)
        .stderr_has("error: port 4567 (backend) did not answer within 2 s")
        .stderr_has("caused by: nothing listens on port 4567 in the container")
        .stderr_has("last lines of `backend`:\n  | compiling the assets")
        .stderr_has("  | the backend will listen on 4567 one day")
        .stderr_has("`devboot logs backend` shows its output");

    // --no-wait returns without looking; nothing is announced as ready.
    let run = repo.devboot(up_args(
        30090,
        &["--no-wait", "--wait-timeout", "1", "--json"],
    ));
    run.status(0);
    assert_eq!(
        port_entry(&run.json()["ports"], 4567)["state"],
        "not checked"
    );
    assert!(!run.stderr.contains("ready:"), "{}", run.stderr);
}

#[test]
fn a_server_on_the_container_loopback_is_named_as_the_reason() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        r"image: devboot/python-flask:bookworm
tasks:
  - name: web
    command: python3 -m http.server 8000 --bind 127.0.0.1 --directory /tmp
ports:
  - port: 8000
",
    );
    // The server may need a moment to listen: `ports await`-style polling of the socket
    // table would be a timing assumption, so the timeout is generous and only its message
    // is checked.
    let run = repo.devboot(up_args(30100, &["--wait-timeout", "5"]));
    run.status(1)
        .stderr_has("error: port 8000 did not answer within 5 s")
        .stderr_has("in the container it listens on 127.0.0.1:8000 only, which the host cannot reach: make it listen on 0.0.0.0");
}

/// A server gated on a file (so it is deterministically not served until the test says),
/// a named port served by a raw TCP listener that never speaks HTTP, and an unnamed port
/// nothing serves.
const STATES: &str = r#"image: devboot/python-flask:bookworm
tasks:
  - name: backend
    command: |
      while [ ! -f /tmp/go ]; do sleep 0.1; done
      cd backend-flask && exec python3 -m flask run --host=0.0.0.0 --port=4567
  - name: raw
    command: |
      python3 - <<'PY'
      import socket
      server = socket.socket()
      server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      server.bind(("0.0.0.0", 5000))
      server.listen(16)
      held = []
      while True:
          connection, _ = server.accept()
          held.append(connection)
      PY
ports:
  - port: 4567
    name: backend
  - port: 5000
    name: raw
  - port: 6001
"#;

fn states(repo: &Repo) -> Vec<(u64, String)> {
    let ports = repo.devboot(["ports", "--json"]).status(0).json();
    ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_u64().unwrap(),
                p["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn no_wait_then_ports_states_and_ports_await() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", STATES);
    let offset = 30110;
    let run = repo.devboot(up_args(offset, &["--no-wait", "--json"]));
    run.status(0);
    let report = run.json();
    for port in [4567, 5000, 6001] {
        assert_eq!(port_entry(&report["ports"], port)["state"], "not checked");
    }

    // The raw listener comes up on its own; await it like `gp ports await`.
    repo.devboot(["ports", "await", "5000", "--timeout", "30"])
        .status(0)
        .stdout_has("port 5000 is served: http://localhost:35110");
    let not_served = "not served".to_string();
    assert_eq!(
        states(&repo),
        vec![
            (4567, not_served.clone()),
            (5000, "served".to_string()),
            (6001, not_served.clone()),
        ],
        "a named port that accepts connections but does not speak HTTP is served, not ready"
    );

    // Not served yet: await gives up, naming it.
    repo.devboot(["ports", "await", "4567", "--timeout", "1"])
        .status(1)
        .stderr_has("error: port 4567 (backend) did not answer within 1 s");
    // A port the workspace does not publish is a usage error.
    repo.devboot(["ports", "await", "4999"])
        .status(2)
        .stderr_has("error: port 4999 is not published by this workspace")
        .stderr_has("published ports: 4567, 5000, 6001");

    repo.sh("touch /tmp/go");
    repo.devboot(["ports", "await", "4567", "--timeout", "30"])
        .status(0)
        .stdout_has("port 4567 is served: http://localhost:34677");
    assert_home_feed(&get_ok(
        4567 + offset,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
    assert_eq!(states(&repo)[0], (4567, "ready".to_string()));

    // The table says the same, with where each port is bound.
    let table = repo.devboot(["ports"]).status(0).stdout.clone();
    let line = |port: &str| {
        table
            .lines()
            .find(|l| l.starts_with(port))
            .unwrap_or_else(|| panic!("no line for {port}:\n{table}"))
            .to_string()
    };
    assert!(line("4567").contains("backend"), "{table}");
    assert!(line("4567").contains("127.0.0.1:34677"), "{table}");
    assert!(line("4567").contains(" ready "), "{table}");
    assert!(line("5000").contains(" served "), "{table}");
    assert!(line("6001").contains("not served"), "{table}");

    // Waiting for the named raw port: it is served, but never answers HTTP, and the
    // error says exactly that.
    repo.devboot(up_args(offset, &["--wait-timeout", "2"]))
        .status(1)
        .stderr_has("error: port 5000 (raw) did not answer within 2 s")
        .stderr_has(
            "caused by: it accepts connections on 127.0.0.1:35110 but does not answer HTTP there",
        );

    // Stopped: nothing is served, and the URLs still follow the offset.
    repo.devboot(["down"]).status(0);
    let ports = repo.devboot(["ports", "--json"]).status(0).json();
    assert_eq!(port_entry(&ports, 4567)["state"], "not served");
    assert_eq!(port_entry(&ports, 4567)["url"], "http://localhost:34677");
    assert_eq!(
        repo.devboot(["url", "4567"]).status(0).stdout.trim(),
        "http://localhost:34677"
    );
}

// ---- validate: hard-coded port URLs ----

#[test]
fn validate_warns_about_hard_coded_gitpod_and_codespaces_port_urls() {
    let run = Test::new()
        .file(
            ".gitpod.yml",
            r#"env:
  BACKEND_URL: "https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}"
  DOCS: https://www.gitpod.io/docs/configure/workspaces/ports
tasks:
  - env:
      FRONTEND_URL: https://${CODESPACE_NAME}-3000.${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}
    command: curl -s https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip -o /tmp/aws.zip
"#,
        )
        .args(["validate"])
        .run();
    run.status(0);
    assert_eq!(
        run.stderr,
        r#"warning: `https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}` hard-codes the Gitpod URL of port 4567
 --> .gitpod.yml:2:17
  |
2 |   BACKEND_URL: "https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}"
  |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ right only inside Gitpod
  |
help: write `${portUrl:4567}` instead: devboot puts the URL of port 4567 there wherever the workspace runs (Gitpod, Codespaces or http://localhost)
warning: `https://${CODESPACE_NAME}-3000.${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}` hard-codes the Codespaces URL of port 3000
 --> .gitpod.yml:6:21
  |
6 |       FRONTEND_URL: https://${CODESPACE_NAME}-3000.${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}
  |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ right only inside Codespaces
  |
help: write `${portUrl:3000}` instead: devboot puts the URL of port 3000 there wherever the workspace runs (Gitpod, Codespaces or http://localhost)
0 error(s), 2 warning(s)
"#
    );
}

#[test]
fn validate_suggests_a_variable_for_a_port_url_in_a_devcontainer_command() {
    let run = Test::new()
        .file(
            ".devcontainer/devcontainer.json",
            r#"{
  "image": "devboot/python-flask:bookworm",
  "containerEnv": {
    "BACKEND_URL": "https://${localEnv:CODESPACE_NAME}-4567.${localEnv:GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}"
  },
  "postStartCommand": "echo REACT_APP_BACKEND_URL=https://4567-$GITPOD_WORKSPACE_ID.$GITPOD_WORKSPACE_CLUSTER_HOST/api > .env"
}
"#,
        )
        .args(["validate"])
        .run();
    run.status(0)
        .stderr_has("hard-codes the Codespaces URL of port 4567\n --> .devcontainer/devcontainer.json:4:21")
        .stderr_has("help: write `${portUrl:4567}` instead")
        .stderr_has("`https://4567-$GITPOD_WORKSPACE_ID.$GITPOD_WORKSPACE_CLUSTER_HOST` hard-codes the Gitpod URL of port 4567\n --> .devcontainer/devcontainer.json:6:51")
        .stderr_has("help: set a variable to `${portUrl:4567}` in `containerEnv` or `remoteEnv`");
}

/// Hard-coded port URLs in the shared corpus: none in the 60 cruddur `.gitpod.yml` files
/// (their URLs are in docker-compose.yml, which devboot does not read), and in the
/// devcontainer corpus exactly one, a real one (a literal Codespaces URL in `containerEnv`).
#[test]
fn corpus_hard_coded_port_urls() {
    use devboot::config::{self, lint};
    use devboot::workspace::Format;

    let count = |path: &Path, format: Format| -> Vec<String> {
        let file = config::read_source(path).expect("corpus files read");
        let mut diagnostics = devboot::diagnostic::Diagnostics::default();
        let Some(doc) = config::parse(&file, format, &mut diagnostics) else {
            return Vec::new();
        };
        lint::hard_coded_port_urls(&doc, format)
            .0
            .iter()
            .map(|d| format!("{}: {}", d.position().unwrap_or_default(), d.message))
            .collect()
    };
    let corpus = crate::harness::shared_dir().join("corpus");
    let manifest =
        std::fs::read_to_string(corpus.join("gitpod-wild/MANIFEST.tsv")).expect("the manifest");
    let cruddur: Vec<PathBuf> = manifest
        .lines()
        .filter(|l| l.ends_with("\tcruddur"))
        .map(|l| {
            corpus
                .join("gitpod-wild")
                .join(l.split('\t').next().unwrap())
        })
        .collect();
    assert_eq!(cruddur.len(), 60);
    let found: Vec<String> = cruddur
        .iter()
        .flat_map(|p| count(p, Format::Gitpod))
        .collect();
    assert_eq!(found, Vec::<String>::new());

    let mut devcontainers: Vec<PathBuf> = std::fs::read_dir(corpus.join("devcontainer-wild"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    devcontainers.sort();
    assert!(devcontainers.len() >= 150);
    let found: Vec<String> = devcontainers
        .iter()
        .flat_map(|p| count(p, Format::Devcontainer))
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("01bap__DistributedSystems.json:14:33")
            && found[0].contains("hard-codes the Codespaces URL of port 8080"),
        "{found:#?}"
    );
}
