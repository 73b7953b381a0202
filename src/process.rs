//! Child processes: every one devboot starts runs in its own process group and is known
//! until it ends, so that a signal to devboot stops it together with everything it started
//! (`signals.rs`), and a child that takes longer than its time limit is ended the same way.
//! Their output is handed over whole, or line by line as it comes (a build's, a task's).
//!
//! The border: how long an engine command may take is the engine's business
//! (`engine/timeout.rs`); here a limit is just a duration.

pub mod signals;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Why a child did not end on its own.
#[derive(Debug, thiserror::Error)]
pub enum Ended {
    #[error("cannot start it: {0}")]
    Spawn(#[from] std::io::Error),
    /// It was still running when its time was up: it and its group were killed.
    #[error("it did not finish within {} s", .0.as_secs())]
    TimedOut(Duration),
    /// devboot got a signal: the child was stopped (or never started).
    #[error("devboot got {0}")]
    Signalled(Signal),
}

impl From<Ended> for std::io::Error {
    fn from(ended: Ended) -> std::io::Error {
        match ended {
            Ended::Spawn(err) => err,
            Ended::TimedOut(_) => std::io::Error::new(std::io::ErrorKind::TimedOut, ended),
            Ended::Signalled(_) => std::io::Error::new(std::io::ErrorKind::Interrupted, ended),
        }
    }
}

/// The children that are running: the leader's pid (the group's id) and what it is.
static RUNNING: Mutex<Vec<(Pid, String)>> = Mutex::new(Vec::new());

/// A running child, known to [`RUNNING`] until this is dropped (after it was waited for).
struct Group {
    pid: Pid,
}

impl Group {
    /// Starts `cmd` as the leader of a new process group. Refuses once devboot got a
    /// signal: nothing new starts while devboot is stopping.
    fn spawn(cmd: &mut Command) -> Result<(Child, Group), Ended> {
        if let Some(signal) = signals::received() {
            return Err(Ended::Signalled(signal));
        }
        let child = cmd.process_group(0).spawn()?;
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in an i32"));
        RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((pid, describe(cmd)));
        // A signal between the check above and the registration found no such child.
        if signals::received().is_some() {
            let _ = killpg(pid, Signal::SIGTERM);
        }
        Ok((child, Group { pid }))
    }

    fn kill(&self) {
        let _ = killpg(self.pid, Signal::SIGKILL);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(pid, _)| *pid != self.pid);
    }
}

/// Sends `signal` to every running child's group; returns what they are (`docker build`).
fn signal_all(signal: Signal) -> Vec<String> {
    let running = RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (pid, _) in running.iter() {
        let _ = killpg(*pid, signal);
    }
    running.iter().map(|(_, what)| what.clone()).collect()
}

/// Starts `cmd` (a clean-up, such as removing a container devboot no longer needs) in a
/// process group of its own and lets it finish on its own: devboot goes on and may exit
/// first. It starts even while devboot is stopping on a signal, and is not stopped by one:
/// what it cleans up would be left behind otherwise.
pub fn detach(mut cmd: Command) {
    // Not waited for: the child is reaped once devboot exits.
    let _ = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

/// Whether a child is still running.
fn any_running() -> bool {
    !RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_empty()
}

/// Whether `pid` is a running process (not a zombie) whose command line `is` recognises: a
/// recorded background process of devboot's, not one that took its number since.
pub fn runs_as(pid: i32, is: impl Fn(&[&[u8]]) -> bool) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
    });
    is(&argv) && !zombie
}

/// `docker build`, `docker compose`: the program and the words before its first option.
pub(crate) fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program());
    std::iter::once(program)
        .chain(
            cmd.get_args()
                .take(2)
                .take_while(|a| !a.to_string_lossy().starts_with('-')),
        )
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` with stdin closed and returns what it printed. When it runs longer than
/// `limit`, it and everything it started are killed.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Result<Output, Ended> {
    output_with_input_within(cmd, None, limit)
}

/// As [`output_within`], with `input` written to its stdin (closed after it) when given:
/// an archive for `docker cp -`.
pub fn output_with_input_within(
    cmd: &mut Command,
    input: Option<Vec<u8>>,
    limit: Duration,
) -> Result<Output, Ended> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let (mut child, group) = Group::spawn(cmd)?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // Its own thread: a child that stops reading must not keep devboot from waiting.
        std::thread::spawn(move || {
            use std::io::Write as _;
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    // Not scoped: a child that ignores the kill must not keep devboot waiting.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(limit) {
        Ok(output) => output?,
        Err(RecvTimeoutError::Timeout) => {
            group.kill();
            // Reaped here, so no zombie outlives devboot; a child that ignores even the kill
            // (stuck in the kernel) is left behind rather than waited for.
            let _ = rx.recv_timeout(Duration::from_secs(1));
            return Err(Ended::TimedOut(limit));
        }
        Err(RecvTimeoutError::Disconnected) => unreachable!("the waiter always sends"),
    };
    match signals::received() {
        Some(signal) => Err(Ended::Signalled(signal)),
        None => Ok(output),
    }
}

/// Runs `cmd` with stdin closed, calls `on_line` with each line it prints (stdout and
/// stderr interleaved as they arrive), and returns how it ended.
pub fn stream_lines(cmd: &mut Command, on_line: impl FnMut(String)) -> std::io::Result<ExitStatus> {
    stream_lines_within(cmd, None, on_line).map_err(std::io::Error::from)
}

/// As [`stream_lines`]; when `limit` passes first, `cmd` and everything it started are
/// killed.
pub fn stream_lines_within(
    cmd: &mut Command,
    limit: Option<Duration>,
    mut on_line: impl FnMut(String),
) -> Result<ExitStatus, Ended> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (mut child, group) = Group::spawn(cmd)?;
    let readers: Vec<Box<dyn Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout is piped")),
        Box::new(child.stderr.take().expect("stderr is piped")),
    ];
    let deadline = limit.map(|l| Instant::now() + l);
    let (tx, rx) = mpsc::channel::<String>();
    let mut timed_out = false;
    std::thread::scope(|scope| {
        for reader in readers {
            let tx = tx.clone();
            scope.spawn(move || {
                // Bytes, not `lines()`: a line that is not UTF-8 (a task may print
                // anything) must not end the reading, which would leave the child
                // writing into a closed pipe.
                let mut reader = BufReader::new(reader);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let text = line.strip_suffix(b"\n").unwrap_or(&line);
                    let text = text.strip_suffix(b"\r").unwrap_or(text);
                    if tx.send(String::from_utf8_lossy(text).into_owned()).is_err() {
                        break;
                    }
                    line.clear();
                }
            });
        }
        drop(tx);
        loop {
            let next = match deadline {
                Some(deadline) if !timed_out => {
                    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                _ => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match next {
                Ok(line) => on_line(line),
                Err(RecvTimeoutError::Timeout) => {
                    // Killing the group closes the pipes, which ends the readers.
                    timed_out = true;
                    group.kill();
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    let status = child.wait()?;
    drop(group);
    if let Some(signal) = signals::received() {
        return Err(Ended::Signalled(signal));
    }
    match limit {
        Some(limit) if timed_out => Err(Ended::TimedOut(limit)),
        _ => Ok(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_over_its_limit_is_killed_with_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // A grandchild in the same group, as `docker compose` runs its plugins.
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        let ended = output_within(&mut cmd, Duration::from_millis(300));
        assert!(matches!(ended, Err(Ended::TimedOut(_))), "{ended:?}");
        let grandchild: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Gone, or a zombie its reaper has not collected yet.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat"));
            if state.map_or(true, |s| s.contains(") Z ")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the grandchild {grandchild} still runs");
    }

    #[test]
    fn a_stream_over_its_limit_ends_with_the_lines_it_printed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; sleep 30"]);
        let mut lines = Vec::new();
        let ended = stream_lines_within(&mut cmd, Some(Duration::from_millis(500)), |l| {
            lines.push(l);
        });
        assert!(matches!(ended, Err(Ended::TimedOut(_))), "{ended:?}");
        lines.sort();
        assert_eq!(lines, ["one", "two"]);
    }

    #[test]
    fn children_are_described_by_their_command_words() {
        let mut cmd = Command::new("/usr/bin/docker");
        cmd.args(["build", "-t", "x", "."]);
        assert_eq!(describe(&cmd), "docker build");
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-p", "x", "up"]);
        assert_eq!(describe(&cmd), "docker compose");
        let mut cmd = Command::new("docker");
        cmd.args(["container", "inspect", "x"]);
        assert_eq!(describe(&cmd), "docker container inspect");
    }

    #[test]
    fn a_line_that_is_not_utf8_does_not_end_the_output() {
        let mut lines = Vec::new();
        let status = stream_lines(
            Command::new("sh").args(["-c", r"printf 'a\377b\r\nafter\nlast'"]),
            |line| lines.push(line),
        )
        .unwrap();
        assert!(status.success());
        assert_eq!(lines, ["a\u{fffd}b", "after", "last"]);
    }
}
