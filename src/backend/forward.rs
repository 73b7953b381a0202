//! The ports of a workspace on an SSH engine, brought to this machine: one `ssh -N` with a
//! local forward per published port (`127.0.0.1:P` here to `127.0.0.1:P` there, where the
//! engine published it). `up` starts it in the background and records it; `down` stops it;
//! `devboot ports forward` runs the same in the foreground.
//!
//! The `ssh` is the user's own (their `~/.ssh/config`, keys and agent, as the docker CLI's
//! own `ssh://` connection uses them), run with `BatchMode` so it never asks a question
//! nobody can answer, and `ExitOnForwardFailure` so a port taken here is an error, not a
//! forward that silently does nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An SSH destination, from `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssh {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Ssh {
    /// `None` unless `address` is an `ssh://` URL with a host.
    pub fn parse(address: &str) -> Option<Ssh> {
        let rest = address.strip_prefix("ssh://")?;
        let authority = rest.split('/').next()?;
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, hp)) => (Some(user.to_string()), hp),
            None => (None, authority),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => {
                (h, p.parse().ok())
            }
            _ => (host_port, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (!host.is_empty()).then(|| Ssh {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// `ssh` with the options every forward uses, up to the destination.
    fn command(&self, ports: &[u16]) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(["-N", "-T"]);
        for option in [
            "BatchMode=yes",
            "ExitOnForwardFailure=yes",
            "ServerAliveInterval=15",
            "ServerAliveCountMax=3",
            "ConnectTimeout=10",
        ] {
            cmd.args(["-o", option]);
        }
        if let Some(port) = self.port {
            cmd.args(["-p", &port.to_string()]);
        }
        if let Some(user) = &self.user {
            cmd.args(["-l", user]);
        }
        for port in ports {
            cmd.args(["-L", &format!("127.0.0.1:{port}:127.0.0.1:{port}")]);
        }
        cmd.arg(&self.host);
        cmd
    }

    /// `ssh -p 2222 root@box COMMAND`: what to try by hand.
    pub fn login(&self, command: &str) -> String {
        format!(
            "ssh {}{}{} {command}",
            self.port.map(|p| format!("-p {p} ")).unwrap_or_default(),
            self.user
                .as_deref()
                .map(|u| format!("{u}@"))
                .unwrap_or_default(),
            self.host
        )
    }

    fn shown(&self) -> String {
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{user}{}{port}", self.host)
    }
}

/// What a background forward's record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    pid: i32,
    ports: Vec<u16>,
    destination: String,
}

/// Where the forwards of workspaces are recorded.
pub fn record_path(cache_dir: &Path, devcontainer_id: &str) -> PathBuf {
    cache_dir
        .join("forwards")
        .join(format!("{devcontainer_id}.json"))
}

/// Makes sure a background forward of exactly `ports` through `ssh` runs for the workspace
/// whose record is at `record`: one already running is kept (no new connection); one for
/// other ports is replaced. Returns once every port accepts here, or with the error `ssh`
/// printed.
pub fn ensure(ssh: &Ssh, ports: &[u16], record: &Path) -> Result<()> {
    let wanted = Record {
        pid: 0,
        ports: ports.to_vec(),
        destination: ssh.shown(),
    };
    if let Some(old) = read(record) {
        if alive(old.pid) && old.ports == wanted.ports && old.destination == wanted.destination {
            return Ok(());
        }
        stop(record)?;
    }
    if ports.is_empty() {
        return Ok(());
    }
    // Taken here by another program: `ssh` would give up on it, and a connection test
    // would then reach that program instead.
    if let Some(taken) = ports
        .iter()
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", **p)).is_err())
    {
        return Err(failed(
            ssh,
            ports,
            &format!("port {taken} is in use on this machine by another program"),
        ));
    }
    let dir = record.parent().expect("a record has a folder");
    crate::dirs::private(dir)?;
    let log = record.with_extension("log");
    let log_file = std::fs::File::create(&log).map_err(|e| Error::io("create", &log, e))?;
    let mut cmd = ssh.command(ports);
    let err = log_file
        .try_clone()
        .map_err(|e| Error::io("open", &log, e))?;
    cmd.stdin(Stdio::null()).stdout(log_file).stderr(err);
    // Its own session: it outlives this `up`, and a Ctrl-C of the terminal does not stop it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| no_ssh(&e))?;
    let pid = i32::try_from(child.id()).expect("pids fit in i32");
    let record_text = serde_json::to_string(&Record { pid, ..wanted }).expect("serializes");
    std::fs::write(record, record_text).map_err(|e| Error::io("write", record, e))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let _ = std::fs::remove_file(record);
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(failed(
                ssh,
                ports,
                &format!("ssh ended ({status}): {}", said.trim()),
            ));
        }
        let open = ports
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
        if open {
            // Reaped by nobody once this process ends; `down` stops it by pid.
            std::mem::forget(child);
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = stop(record);
            return Err(failed(ssh, ports, "its ports did not open within 20 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the forward in the foreground until it ends (`devboot ports forward`): devboot
/// becomes that `ssh` (an exec), so Ctrl-C, or a signal to this process, ends the forward
/// itself. Returns only when `ssh` cannot be started.
pub fn foreground(ssh: &Ssh, ports: &[u16]) -> Error {
    let err = std::os::unix::process::CommandExt::exec(&mut ssh.command(ports));
    no_ssh(&err)
}

/// Stops the recorded background forward, if any; `true` when one was running.
pub fn stop(record: &Path) -> Result<bool> {
    let Some(old) = read(record) else {
        return Ok(false);
    };
    let was = alive(old.pid);
    if was {
        // KILL: a forward has nothing to save (and one an older devboot started has TERM
        // blocked: it inherited devboot's mask then).
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(old.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    for path in [record.to_path_buf(), record.with_extension("log")] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &path, e)),
        }
    }
    Ok(was)
}

/// Whether the recorded forward runs (the ports it forwards).
pub fn running(record: &Path) -> Option<Vec<u16>> {
    read(record).filter(|r| alive(r.pid)).map(|r| r.ports)
}

fn read(record: &Path) -> Option<Record> {
    serde_json::from_str(&std::fs::read_to_string(record).ok()?).ok()
}

/// Whether `pid` is an `ssh` still running (not a process that took its number since).
fn alive(pid: i32) -> bool {
    crate::process::runs_as(pid, |argv| {
        let argv0 = argv.first().copied().unwrap_or_default();
        argv0 == b"ssh" || argv0.ends_with(b"/ssh")
    })
}

fn no_ssh(e: &std::io::Error) -> Error {
    Error::Forward {
        message: format!("cannot forward the workspace's ports: `ssh` could not be started ({e})"),
        help: "install an OpenSSH client (`apt-get install openssh-client`)".into(),
    }
}

fn failed(ssh: &Ssh, ports: &[u16], why: &str) -> Error {
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    Error::Forward {
        message: format!(
            "cannot forward port {} from {} to this machine: {why}",
            list.join(", "),
            ssh.shown()
        ),
        help: format!(
            "check that `{}` works without a prompt and that nothing here uses those ports; `devboot ports forward` tries again in the foreground",
            ssh.login("true")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_addresses_parse_as_the_docker_cli_reads_them() {
        assert_eq!(
            Ssh::parse("ssh://root@10.0.0.2:2222"),
            Some(Ssh {
                user: Some("root".into()),
                host: "10.0.0.2".into(),
                port: Some(2222)
            })
        );
        assert_eq!(
            Ssh::parse("ssh://box/run/podman.sock").unwrap(),
            Ssh {
                user: None,
                host: "box".into(),
                port: None
            }
        );
        assert_eq!(Ssh::parse("tcp://box:2375"), None);
        assert_eq!(Ssh::parse("ssh://"), None);
    }

    #[test]
    fn each_port_is_forwarded_from_loopback_to_loopback() {
        let ssh = Ssh::parse("ssh://me@box:22").unwrap();
        let cmd = ssh.command(&[4567, 3000]);
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(
            joined.contains("-L 127.0.0.1:4567:127.0.0.1:4567 -L 127.0.0.1:3000:127.0.0.1:3000")
        );
        assert!(joined.contains("-o BatchMode=yes"));
        assert!(joined.ends_with(
            "-p 22 -l me -L 127.0.0.1:4567:127.0.0.1:4567 -L 127.0.0.1:3000:127.0.0.1:3000 box"
        ));
    }

    #[test]
    fn a_record_of_a_gone_process_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let record = record_path(dir.path(), "abc");
        std::fs::create_dir_all(record.parent().unwrap()).unwrap();
        std::fs::write(
            &record,
            r#"{"pid":999999999,"ports":[1],"destination":"box"}"#,
        )
        .unwrap();
        assert_eq!(running(&record), None);
        assert!(!stop(&record).unwrap());
        assert!(!record.exists());
    }
}
