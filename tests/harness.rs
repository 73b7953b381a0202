//! A small builder that owns a temporary workspace folder, writes files into it, runs the
//! real `devboot` binary there, and checks what it printed.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn devboot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_devboot"))
}

/// The shared corpus and references, read-only: `$DEVBOOT_SHARED`, else `shared/` beside
/// the repository, else the workplace's `/work/shared` (a clone made elsewhere).
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DEVBOOT_SHARED") {
        return PathBuf::from(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared")
}

#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
}

impl Test {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating folders) relative to the workspace folder.
    pub fn file(self, rel: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs devboot with the workspace folder as current directory.
    pub fn run(&self) -> Run {
        let mut cmd = Command::new(devboot_bin());
        cmd.current_dir(self.dir.path())
            .args(&self.args)
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().unwrap();
        Run {
            status: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            dir: self.dir.path().to_path_buf(),
        }
    }
}

impl Run {
    /// What a finished devboot printed, and how it exited; `dir` is its workspace folder.
    pub fn of(out: &Output, dir: &Path) -> Run {
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: dir.to_path_buf(),
        }
    }

    #[track_caller]
    pub fn status(&self, code: i32) -> &Self {
        assert_eq!(
            self.status, code,
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A program running in a real terminal (a pseudo-terminal the test drives): what it
/// prints is collected byte for byte, keys can be typed.
pub struct Terminal {
    child: std::process::Child,
    writer: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
    seen: usize,
}

impl Terminal {
    /// Starts `cmd` with its stdin, stdout and stderr on a new 120x40 terminal
    /// (`TERM=xterm-256color` unless `cmd` sets another).
    pub fn spawn(mut cmd: Command) -> Terminal {
        let winsize = nix::pty::Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&winsize, None).unwrap();
        let slave = std::fs::File::from(pty.slave);
        if !cmd.get_envs().any(|(k, _)| k == "TERM") {
            cmd.env("TERM", "xterm-256color");
        }
        let child = cmd
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let writer = master.try_clone().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut master = master;
            let mut buf = [0u8; 4096];
            // The read fails (EIO) once the child has exited and closed the terminal.
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            child,
            writer,
            output,
            seen: 0,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until `text` is printed (after what earlier waits consumed).
    #[track_caller]
    pub fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let output = self.text();
                if let Some(at) = output[self.seen..].find(text) {
                    self.seen += at + text.len();
                    return;
                }
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("no {text:?} on the terminal; it shows:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits (at most `limit`) for the program to end; its exit code and everything the
    /// terminal received (invalid UTF-8 as `\u{fffd}`).
    #[track_caller]
    pub fn wait(mut self, limit: Duration) -> (i32, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "still running after {limit:?}; the terminal shows:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread drains what is left.
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.text())
    }
}
