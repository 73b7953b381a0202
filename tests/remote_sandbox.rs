//! The stand-in for another machine that the remote-engine tests use
//! (`scripts/remote-engine.sh`): a second dockerd on this machine, in network, mount and UTS
//! namespaces of its own, reached over SSH and TCP at 10.213.7.2. `remote()` starts it (once
//! per test process; the script is idempotent and locked, so parallel processes share one).
//! The tests here check the stand-in is honest: it answers both ways with its own data, it
//! cannot see this machine's folders, and what it publishes is on its address, not on this
//! machine's loopback.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::engine::get;

/// Where the remote engine answers: what `scripts/remote-engine.sh env` prints.
pub struct Remote {
    /// `ssh://root@10.213.7.2:2222` (the host's ssh config brings the key).
    pub ssh: String,
    /// `tcp://10.213.7.2:2375`, plain TCP.
    pub tcp: String,
    /// `unix:///run/devboot-remote/docker.sock`: this machine's own way in, for setting up
    /// and cleaning up behind devboot's back.
    pub sock: String,
    /// `10.213.7.2`: where its published ports are.
    pub addr: String,
}

/// The remote engine, started by `scripts/remote-engine.sh start` on first use.
pub fn remote() -> &'static Remote {
    static REMOTE: OnceLock<Remote> = OnceLock::new();
    REMOTE.get_or_init(start)
}

fn start() -> Remote {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/remote-engine.sh");
    let out = Command::new(&script)
        .arg("start")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} start failed ({}):\n{}\nstdout:\n{stdout}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let var = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{} start printed no {name}:\n{stdout}", script.display()))
            .to_string()
    };
    Remote {
        ssh: var("DEVBOOT_REMOTE_SSH"),
        tcp: var("DEVBOOT_REMOTE_TCP"),
        sock: var("DEVBOOT_REMOTE_SOCK"),
        addr: var("DEVBOOT_REMOTE_ADDR"),
    }
}

/// Runs `docker` against `host` (the remote engine), or against this machine's engine when
/// `host` is `None`.
fn docker(host: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new("docker");
    if let Some(host) = host {
        cmd.arg("-H").arg(host);
    }
    cmd.args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const IMAGE: &str = "devboot/python-flask:bookworm";

#[test]
fn the_remote_engine_answers_over_ssh_and_tcp_with_its_own_data_root() {
    let remote = remote();
    for host in [&remote.ssh, &remote.tcp] {
        let out = docker(Some(host), &["info", "--format", "{{.DockerRootDir}}"]);
        assert!(
            out.status.success(),
            "docker -H {host} info:\n{}",
            text(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "/var/lib/devboot-remote/docker",
            "docker -H {host} info names another engine's root dir"
        );
    }
}

#[test]
fn the_remote_engine_cannot_see_this_machines_folders() {
    let remote = remote();
    let dir = tempfile::Builder::new()
        .prefix("devboot-remote-sandbox-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::write(dir.path().join("only-on-this-machine.txt"), "here").unwrap();
    let bind = format!("{}:/w", dir.path().display());
    let args = ["run", "--rm", "-v", &bind, IMAGE, "ls", "-A", "/w"];

    // There, the folder does not exist (the engine makes an empty one) or the run fails:
    // either way, the file is not there.
    let there = docker(Some(&remote.ssh), &args);
    assert!(
        !text(&there).contains("only-on-this-machine.txt"),
        "the remote engine sees {}:\n{}",
        dir.path().display(),
        text(&there)
    );

    let here = docker(None, &args);
    assert!(
        here.status.success() && text(&here).contains("only-on-this-machine.txt"),
        "this machine's engine does not see {} (so the check above proves nothing):\n{}",
        dir.path().display(),
        text(&here)
    );
}

/// Removes a container of the remote engine (through its socket, which works even when SSH
/// does not), also when the test fails.
struct RemoteContainer<'a> {
    remote: &'a Remote,
    name: &'a str,
}

impl Drop for RemoteContainer<'_> {
    fn drop(&mut self) {
        docker(Some(&self.remote.sock), &["rm", "-f", self.name]);
    }
}

#[test]
fn what_the_remote_engine_publishes_is_on_its_address_not_on_this_machines_loopback() {
    let remote = remote();
    let port: u16 = 46307;
    let name = "devboot-remote-sandbox-publish";
    let publish = format!("{port}:8000");
    // A run killed before its guard dropped may have left the container.
    docker(Some(&remote.sock), &["rm", "-f", name]);
    let _container = RemoteContainer { remote, name };
    let out = docker(
        Some(&remote.ssh),
        &[
            "run",
            "-d",
            "--name",
            name,
            "-p",
            &publish,
            IMAGE,
            "python3",
            "-m",
            "http.server",
            "8000",
        ],
    );
    assert!(out.status.success(), "docker run:\n{}", text(&out));

    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        match get(&remote.addr, port, "/", &[]) {
            Ok(r) if r.status == 200 => break r,
            other if Instant::now() > deadline => {
                panic!(
                    "no 200 from http://{}:{port}/ within 20 s: {other:?}",
                    remote.addr
                )
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    assert!(
        response.body.contains("Directory listing"),
        "not Python's http.server: {response:?}"
    );

    let here = get("127.0.0.1", port, "/", &[]);
    assert!(
        here.is_err(),
        "127.0.0.1:{port} answers, but the port was published on the remote engine: {here:?}"
    );
}
