//! A small builder that owns a temporary workspace folder, writes files into it, runs the
//! real `devboot` binary there, and checks what it printed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
