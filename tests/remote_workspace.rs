//! A workspace on a remote engine (`scripts/remote-engine.sh`: a second dockerd in its own
//! network and mount namespaces, reached over SSH or TCP at 10.213.7.2, which cannot see
//! this machine's folders): `up` copies the folder into a volume there, runs the hooks
//! there, and brings the port home (SSH: a forward to 127.0.0.1; TCP: the remote host's
//! address); `sync` sends an edit the running Flask reloads; a warm `up`; `down --remove`
//! leaves no container, volume or forward; an unreachable engine is a clear error.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::engine::{Repo, assert_home_feed, get};
use crate::remote_sandbox::{Remote, remote};

/// The Cruddur backend, with Flask's reloader so a synced edit is served.
fn config(port: u16) -> String {
    format!(
        r#"{{
  "image": "devboot/python-flask:bookworm",
  "appPort": ["127.0.0.1:{port}:4567"],
  "containerEnv": {{
    "FRONTEND_URL": "http://localhost:3000",
    "BACKEND_URL": "http://localhost:{port}"
  }},
  "postStartCommand": "cd backend-flask && nohup python3 -m flask --debug run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}}"#
    )
}

/// The remote engine's CLI.
fn remote_docker(remote: &Remote, args: &[&str]) -> String {
    let out = Command::new("docker")
        .arg("-H")
        .arg(&remote.sock)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes what a test left on the remote engine and here (a port forward), whatever
/// happened: `down --remove` first, then any container it missed.
struct Cleanup<'a> {
    remote: &'a Remote,
    repo: &'a Repo,
    docker_host: &'a str,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.repo
            .devboot_env(["down", "--remove"], &[("DOCKER_HOST", self.docker_host)]);
        let filter = format!(
            "label=devcontainer.local_folder={}",
            self.repo.path().display()
        );
        let ids = remote_docker(self.remote, &["ps", "-aq", "--filter", &filter]);
        for id in ids.split_whitespace() {
            remote_docker(self.remote, &["rm", "-f", "-v", id]);
        }
    }
}

/// GETs `host:port` until the body has `needle` (a reload takes a moment); the last body
/// when it never does.
fn get_until(
    host: &str,
    port: u16,
    path: &str,
    needle: &str,
    limit: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let body = get(host, port, path, &[]).map_or_else(|e| e.to_string(), |r| r.body);
        if body.contains(needle) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{host}:{port}{path} never said {needle:?}; last: {body}"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn up_over_ssh_copies_the_folder_serves_here_syncs_edits_and_cleans_up() {
    let remote = remote();
    let port = 46341;
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", &config(port));
    let _cleanup = Cleanup {
        remote,
        repo: &repo,
        docker_host: &remote.ssh,
    };
    let env = [("DOCKER_HOST", remote.ssh.as_str())];
    // What the copy must keep (a mode, a link) and leave out (ignored files).
    repo.write("tools/run.sh", "#!/bin/sh\necho ran\n");
    std::fs::set_permissions(
        repo.path().join("tools/run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("tools/run.sh", repo.path().join("run")).unwrap();
    repo.write(".gitignore", "*.log\n");
    repo.write(".devbootignore", "big/\n");
    repo.write("debug.log", "ignored by git");
    repo.write("big/blob.bin", "ignored by devboot");

    let up = repo.devboot_env(["up"], &env);
    up.status(0)
        .stdout_has(&format!(
            "engine docker, remote ({}, from DOCKER_HOST)",
            remote.ssh
        ))
        .stdout_has(&format!("http://localhost:{port}"));
    // Served on this machine's loopback, with the CORS the backend's env asks for.
    let origin = "http://localhost:3000";
    let response = get(
        "127.0.0.1",
        port,
        "/api/activities/home",
        &[("Origin", origin)],
    )
    .unwrap();
    assert_home_feed(&response);
    assert_eq!(response.header("Access-Control-Allow-Origin"), Some(origin));
    // The container runs there, from a copy in a volume: this machine has no such container.
    assert!(
        repo.containers().is_empty(),
        "nothing on this machine's engine"
    );
    let filter = format!("label=devcontainer.local_folder={}", repo.path().display());
    let id = remote_docker(remote, &["ps", "-q", "--filter", &filter]);
    let id = id.trim();
    assert!(!id.is_empty(), "the container runs on the remote engine");
    let mounts = remote_docker(
        remote,
        &[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}}:{{.Name}} {{end}}",
            id,
        ],
    );
    assert!(mounts.contains("volume:devboot-src-"), "{mounts}");
    let kept = remote_docker(
        remote,
        &[
            "exec",
            id,
            "sh",
            "-c",
            "cd /workspaces/*/ && ./run && test -L run && test ! -e debug.log && test ! -e big && echo kept",
        ],
    );
    assert_eq!(
        kept, "ran\nkept\n",
        "modes and links kept, ignored files left out"
    );

    // An edit here, synced, is what the running Flask serves (its reloader sees it).
    let feed = repo.path().join("backend-flask/app.py");
    let text = std::fs::read_to_string(&feed).unwrap();
    let said = "Booted my whole dev workspace with one command!";
    assert!(text.contains(said), "the example's feed says {said:?}");
    std::fs::write(&feed, text.replace(said, "Synced Over SSH")).unwrap();
    std::fs::write(repo.path().join("scratch.txt"), "x").unwrap();
    let sync = repo.devboot_env(["sync", "--json"], &env);
    sync.status(0);
    assert_eq!(
        sync.json()["sent"],
        2,
        "the edit and the new file: {}",
        sync.stdout
    );
    let reloaded = get_until(
        "127.0.0.1",
        port,
        "/api/activities/home",
        "Synced Over SSH",
        Duration::from_secs(30),
    );
    if let Err(why) = reloaded {
        let look =
            "tail -20 /tmp/flask.log; ls -la --time-style=full-iso /workspaces/*/backend-flask";
        let there = remote_docker(remote, &["exec", id, "sh", "-c", look]);
        panic!("{why}\nin the container:\n{there}");
    }
    // A deletion here is one there; an unchanged folder sends nothing.
    std::fs::remove_file(repo.path().join("scratch.txt")).unwrap();
    let sync = repo.devboot_env(["sync", "--json"], &env);
    assert_eq!(sync.json()["deleted"], 1, "{}", sync.stdout);
    let left = remote_docker(remote, &["exec", id, "ls", "/workspaces"]);
    let folder = left.trim();
    let listing = remote_docker(
        remote,
        &["exec", id, "ls", &format!("/workspaces/{folder}")],
    );
    assert!(!listing.contains("scratch.txt"), "{listing}");
    assert!(listing.contains("backend-flask"), "{listing}");
    assert_eq!(repo.devboot_env(["sync", "--json"], &env).json()["sent"], 0);

    // What the container made comes back on request: files and folders, never a link.
    let made = format!(
        "mkdir -p /workspaces/{folder}/out && echo made > /workspaces/{folder}/out/r.txt && ln -s /etc/shadow /workspaces/{folder}/out/l"
    );
    remote_docker(remote, &["exec", id, "sh", "-c", &made]);
    repo.devboot_env(["sync", "--pull", "out"], &env)
        .status(0)
        .stdout_has("copied out from container")
        .stderr_has("out/l was left in the container");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("out/r.txt")).unwrap(),
        "made\n"
    );
    assert!(repo.path().join("out/l").symlink_metadata().is_err());

    // Warm: the same container, the port still forwarded.
    let warm = repo.devboot_env(["up", "--json"], &env);
    warm.status(0);
    assert_eq!(warm.json()["action"], "reused");
    get_until(
        "127.0.0.1",
        port,
        "/api/activities/home",
        "Synced Over SSH",
        Duration::from_secs(5),
    )
    .unwrap();

    repo.devboot_env(["status"], &env)
        .status(0)
        .stdout_has(&format!("ports {port} forwarded here over SSH"));

    // Gone without a trace: container, volume, forward.
    let down = repo.devboot_env(["down", "--remove"], &env);
    down.status(0)
        .stdout_has("the port forward")
        .stdout_has("volume devboot-src-");
    assert!(
        remote_docker(remote, &["ps", "-aq", "--filter", &filter])
            .trim()
            .is_empty()
    );
    let volumes = remote_docker(remote, &["volume", "ls", "-q"]);
    assert!(
        !volumes.contains(&mounts.trim().trim_start_matches("volume:").to_string()),
        "{volumes}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the forward is stopped"
    );
}

#[test]
fn up_over_tcp_serves_on_the_remote_hosts_address_and_a_warm_up_syncs_first() {
    let remote = remote();
    let port = 46342;
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        &config(port).replace("127.0.0.1:", ""),
    );
    let _cleanup = Cleanup {
        remote,
        repo: &repo,
        docker_host: &remote.tcp,
    };
    let env = [("DOCKER_HOST", remote.tcp.as_str())];
    // Named by the flag, as by the variable.
    let up = repo.devboot(["--engine-host", remote.tcp.as_str(), "up"]);
    up.status(0)
        .stdout_has(&format!("http://{}:{port}", remote.addr));
    let response = get(&remote.addr, port, "/api/activities/home", &[]).unwrap();
    assert_home_feed(&response);
    // A warm `up` sends an edit before anything else (no `sync` needed), and reuses.
    let feed = repo.path().join("backend-flask/app.py");
    let text = std::fs::read_to_string(&feed).unwrap();
    let said = "Port 4567 is open. Today is a good day to deploy.";
    assert!(text.contains(said), "the example's feed says {said:?}");
    std::fs::write(&feed, text.replace(said, "Synced Over TCP")).unwrap();
    let warm = repo.devboot_env(["up", "--json"], &env);
    warm.status(0);
    assert_eq!(warm.json()["action"], "reused");
    get_until(
        &remote.addr,
        port,
        "/api/activities/home",
        "Synced Over TCP",
        Duration::from_secs(30),
    )
    .unwrap();
    repo.devboot_env(["down", "--remove"], &env)
        .status(0)
        .stdout_has("volume devboot-src-");
}

#[test]
fn an_unreachable_remote_engine_is_a_clear_error() {
    let remote = remote();
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", &config(46343));
    // Nothing listens on that port of the remote machine.
    let address = format!("ssh://root@{}:2299", remote.addr);
    let up = repo.devboot_env(
        ["--engine-timeout", "10", "up"],
        &[("DOCKER_HOST", address.as_str())],
    );
    up.status(1)
        .stderr_has(&format!(
            "the engine is on another machine ({address}, from DOCKER_HOST)"
        ))
        .stderr_has(&format!("ssh -p 2299 root@{} docker info", remote.addr));
}

#[test]
fn ports_forward_takes_over_from_ups_forward_in_the_foreground() {
    let remote = remote();
    let port = 46344;
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", &config(port));
    let _cleanup = Cleanup {
        remote,
        repo: &repo,
        docker_host: &remote.ssh,
    };
    let env = [("DOCKER_HOST", remote.ssh.as_str())];
    repo.devboot_env(["up"], &env).status(0);
    // In the foreground, in place of the one `up` left running.
    let mut child = Foreground(
        repo.command(["ports", "forward"], &env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // It stops `up`'s first (the record goes), then serves in its place.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !repo
        .devboot_env(["status"], &env)
        .stdout
        .contains("ports not forwarded here")
    {
        assert!(Instant::now() < deadline, "`up`'s forward was not stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    let served = get_until(
        "127.0.0.1",
        port,
        "/api/activities/home",
        "andrewbrown",
        Duration::from_secs(20),
    );
    child.stop();
    served.unwrap();
    // Gone with it: nothing here answers, until the next `up` forwards again.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    repo.devboot_env(["up"], &env).status(0);
    get_until(
        "127.0.0.1",
        port,
        "/api/activities/home",
        "andrewbrown",
        Duration::from_secs(5),
    )
    .unwrap();
}

/// `devboot ports forward` (by then `ssh` itself), ended whatever happens to the test.
struct Foreground(std::process::Child);

impl Foreground {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        self.stop();
    }
}
