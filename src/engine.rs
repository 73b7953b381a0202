//! The container engine: the `docker` or `podman` CLI, and nothing else talks to it.
//!
//! devboot shells out (as the reference CLI and `DevPod` do) so that contexts, `DOCKER_HOST`,
//! credential helpers and podman work unchanged. Every call goes through [`Engine::call`],
//! which counts calls (`-v` prints the count), ends a call the daemon does not answer in time
//! (`timeout.rs`) and turns "cannot reach the daemon" into one clear error. `inspect` output
//! is parsed with serde (see `inspect.rs`), never scraped.
//!
//! A secret variable reaches the engine by name only (`-e NAME`), its value in the engine
//! process's own environment: argument lists are public (`ps` shows them to every local
//! user), a process's environment is its owner's (see [`pass_env`]).

mod inspect;
pub mod location;
pub mod timeout;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub use inspect::{ContainerInfo, ContainerState, ImageConfig};

use crate::process::Ended;
use crate::workspace::EnvMap;

/// Which CLI devboot drives. Podman takes the same arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

impl EngineKind {
    pub fn program(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Neither CLI is installed (or the chosen one is not).
    #[error("no container engine found (tried: {})", tried.join(", "))]
    NotFound { tried: Vec<String> },
    /// The CLI is there but its daemon does not answer.
    #[error("the {program} engine does not answer")]
    NotRunning { program: String, stderr: String },
    /// An engine command failed.
    #[error("`{command}` failed (exit code {code})")]
    Failed {
        command: String,
        code: i32,
        stderr: String,
    },
    /// The engine printed something devboot cannot read.
    #[error("cannot read the output of `{command}`")]
    BadOutput { command: String, detail: String },
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The daemon did not answer in time: the command was killed with all it started.
    #[error("the {program} engine did not answer within {seconds} s (`{command}` was stopped)")]
    TimedOut {
        program: String,
        command: String,
        seconds: u64,
    },
    /// The daemon stopped answering while a command ran (a build).
    #[error("the {program} engine stopped answering during `{command}`")]
    Died {
        program: String,
        command: String,
        stderr: String,
    },
    /// devboot got a signal: the command was stopped, or not started.
    #[error("`{command}` was stopped: devboot got {signal}")]
    Interrupted { command: String, signal: String },
}

impl EngineError {
    /// The engine's own words, for `caused by:`.
    pub fn detail(&self) -> Option<&str> {
        match self {
            EngineError::NotRunning { stderr, .. }
            | EngineError::Failed { stderr, .. }
            | EngineError::Died { stderr, .. } => Some(stderr.trim()),
            EngineError::BadOutput { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The message and the engine's last words on one line, for a place that has only one
    /// line to say why (a task's last lines).
    pub fn one_line(&self) -> String {
        let last = self
            .detail()
            .and_then(|d| d.lines().rev().find(|l| !l.trim().is_empty()));
        match last {
            Some(words) => format!("{self}: {}", words.trim()),
            None => self.to_string(),
        }
    }

    /// Whether the daemon is not there, or does not answer.
    pub fn daemon_is_gone(&self) -> bool {
        matches!(
            self,
            EngineError::NotRunning { .. }
                | EngineError::TimedOut { .. }
                | EngineError::Died { .. }
        )
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// A container engine CLI.
#[derive(Debug)]
pub struct Engine {
    pub kind: EngineKind,
    pub program: PathBuf,
    calls: AtomicUsize,
    /// The base time limit of a call (see `timeout.rs`).
    timeout: Duration,
    /// Set for every engine command (see `backend::mux`, `--engine-host`).
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// Removed from every engine command's environment (`--context` over `DOCKER_HOST`).
    unset: Vec<std::ffi::OsString>,
}

impl Engine {
    /// Finds the engine: `choice` (from `--engine` or `DEVBOOT_ENGINE`), else docker, else
    /// podman. Only looks at `PATH`; the daemon is not contacted until the first real call,
    /// so a warm `up` spends no call on a ping.
    pub fn detect(choice: Option<EngineKind>, path_env: Option<&OsStr>) -> Result<Engine> {
        let candidates = match choice {
            Some(kind) => vec![kind],
            None => vec![EngineKind::Docker, EngineKind::Podman],
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        for kind in &candidates {
            let found = match path_env {
                Some(path) => which::which_in(kind.program(), Some(path), &cwd),
                None => which::which(kind.program()),
            };
            if let Ok(program) = found {
                return Ok(Engine {
                    kind: *kind,
                    program,
                    calls: AtomicUsize::new(0),
                    timeout: timeout::DEFAULT,
                    env: Vec::new(),
                    unset: Vec::new(),
                });
            }
        }
        Err(EngineError::NotFound {
            tried: candidates.iter().map(|k| k.program().to_string()).collect(),
        })
    }

    /// The same engine, with `base` as the time limit of a quick call (`timeout.rs`).
    #[must_use]
    pub fn with_timeout(self, base: Duration) -> Engine {
        Engine {
            timeout: base,
            ..self
        }
    }

    /// The same engine, its commands run with `name=value` too.
    #[must_use]
    pub fn with_env(mut self, name: std::ffi::OsString, value: std::ffi::OsString) -> Engine {
        self.env.push((name, value));
        self
    }

    /// The same engine, its commands run without the variable `name`.
    #[must_use]
    pub fn without_env(mut self, name: &str) -> Engine {
        self.env.retain(|(k, _)| k != name);
        self.unset.push(name.into());
        self
    }

    /// How many engine commands devboot has run so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// A command for this engine, counted as one call. For calls whose output is streamed.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut cmd = Command::new(&self.program);
        cmd.args(args);
        for name in &self.unset {
            cmd.env_remove(name);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// A Compose command for this engine, counted as one call: the standalone CLI beside it
    /// (`docker-compose`, which Debian packages, or `podman-compose`) when it is on `PATH`,
    /// else the engine's own `compose` plugin.
    pub fn compose<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let standalone = format!("{}-compose", self.kind.program());
        let dir = self.program.parent().map(std::path::Path::to_path_buf);
        let found = dir
            .map(|d| d.join(&standalone))
            .filter(|p| p.is_file())
            .or_else(|| which::which(&standalone).ok());
        let mut cmd = if let Some(program) = found {
            Command::new(program)
        } else {
            let mut cmd = Command::new(&self.program);
            cmd.arg("compose");
            cmd
        };
        cmd.args(args);
        cmd
    }

    /// Runs an engine command to completion and returns its stdout; a non-zero exit is an
    /// error carrying the engine's stderr.
    pub fn call<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self.output(args)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs an engine command like [`Engine::call`], its process given `env` on top of
    /// devboot's own environment (the values of variables passed by name, see [`pass_env`]).
    pub fn call_with_env(&self, args: &[String], env: &ChildEnv) -> Result<String> {
        let output = self.output_with_env(args, env)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs an engine command like [`Engine::call`] and returns its stdout as it is (an
    /// archive from `cp … -`).
    pub fn call_bytes<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Vec<u8>> {
        self.output_with_env(args, &ChildEnv::new())
            .map(|o| o.stdout)
    }

    /// Runs an engine command like [`Engine::call`] with `input` on its stdin (`cp -`).
    pub fn call_with_input<S: AsRef<OsStr>>(&self, args: &[S], input: Vec<u8>) -> Result<String> {
        let mut cmd = self.command(args);
        let limit = timeout::limit(self.timeout, args);
        let output = crate::process::output_with_input_within(&mut cmd, Some(input), limit)
            .map_err(|ended| self.ended(ended, &self.short(args)))?;
        self.checked(args, output)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn output<I, S>(&self, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        self.output_with_env(&args, &ChildEnv::new())
    }

    fn output_with_env<S: AsRef<OsStr>>(&self, args: &[S], env: &ChildEnv) -> Result<Output> {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let limit = timeout::limit(self.timeout, args);
        let output = crate::process::output_within(&mut cmd, limit)
            .map_err(|ended| self.ended(ended, &self.short(args)))?;
        self.checked(args, output)
    }

    /// A command's output, or the error its exit and stderr say.
    fn checked<S: AsRef<OsStr>>(&self, args: &[S], output: Output) -> Result<Output> {
        if output.status.success() {
            return Ok(output);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if is_daemon_down(&stderr) {
            return Err(EngineError::NotRunning {
                program: self.program_name(),
                stderr,
            });
        }
        Err(EngineError::Failed {
            command: self.short(args),
            code: output.status.code().unwrap_or(-1),
            stderr,
        })
    }

    /// Runs a build or `compose up` (made with [`Engine::command`] or [`Engine::compose`]),
    /// handing over its output line by line, within the long time limit.
    pub fn stream(&self, cmd: &mut Command, on_line: impl FnMut(String)) -> Result<ExitStatus> {
        let limit = self.timeout.saturating_mul(timeout::LONG);
        crate::process::stream_lines_within(cmd, Some(limit), on_line)
            .map_err(|ended| self.ended(ended, &crate::process::describe(cmd)))
    }

    /// Why `command` did not end on its own, as an engine error.
    fn ended(&self, ended: Ended, command: &str) -> EngineError {
        match ended {
            Ended::Spawn(source) => EngineError::Spawn {
                program: self.program_name(),
                source,
            },
            Ended::TimedOut(limit) => EngineError::TimedOut {
                program: self.program_name(),
                command: command.to_string(),
                seconds: limit.as_secs(),
            },
            Ended::Signalled(signal) => EngineError::Interrupted {
                command: command.to_string(),
                signal: signal.to_string(),
            },
        }
    }

    pub fn program_name(&self) -> String {
        self.kind.program().to_string()
    }

    /// `docker run`, `podman container inspect`: the program and its subcommand words, for
    /// error messages (the whole command line is long and may hold secrets).
    pub fn short<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let mut words = vec![self.program_name()];
        for arg in args.iter().map(|a| a.as_ref().to_string_lossy()).take(2) {
            if arg.starts_with('-') {
                break;
            }
            words.push(arg.into_owned());
        }
        words.join(" ")
    }

    /// `docker a b c` as shown in messages, with `-e NAME=value` values hidden.
    pub fn describe<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let mut words = vec![self.program_name()];
        let mut hide_next = false;
        for arg in args {
            let arg = arg.as_ref().to_string_lossy();
            if hide_next {
                words.push(match arg.split_once('=') {
                    Some((name, _)) => format!("{name}=…"),
                    None => arg.into_owned(),
                });
                hide_next = false;
                continue;
            }
            hide_next = arg == "-e" || arg == "--env";
            words.push(arg.into_owned());
        }
        shell_words::join(words)
    }

    /// Inspects a container by id or name; `None` when there is no such container.
    pub fn inspect_container(&self, id: &str) -> Result<Option<ContainerInfo>> {
        let args = ["container", "inspect", id];
        match self.output(args) {
            Ok(output) => {
                let list: Vec<ContainerInfo> =
                    serde_json::from_slice(&output.stdout).map_err(|e| EngineError::BadOutput {
                        command: self.describe(&args),
                        detail: e.to_string(),
                    })?;
                Ok(list.into_iter().next())
            }
            Err(EngineError::Failed { stderr, .. }) if is_no_such(&stderr) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Ids of all containers (running or not) carrying every one of `labels`.
    pub fn find_by_labels(&self, labels: &[(String, String)]) -> Result<Vec<String>> {
        let mut args = vec![
            "ps".to_string(),
            "-a".into(),
            "-q".into(),
            "--no-trunc".into(),
        ];
        for (key, value) in labels {
            args.push("--filter".into());
            let filter = format!("label={key}={value}");
            // podman reads a `--filter` value as a CSV list: quoted, a folder with a `,`
            // stays one filter (docker takes the value whole).
            args.push(match self.kind {
                EngineKind::Docker => filter,
                EngineKind::Podman => {
                    crate::mount::csv_field(&filter).map_err(|e| EngineError::Failed {
                        command: "podman ps --filter".into(),
                        code: -1,
                        stderr: format!("{e}: podman cannot look it up; {}", e.help()),
                    })?
                }
            });
        }
        Ok(self
            .call(&args)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// The image's own entrypoint and command; `None` when the image is not here.
    pub fn image_config(&self, image: &str) -> Result<Option<ImageConfig>> {
        let args = ["image", "inspect", image];
        match self.output(args) {
            Ok(output) => {
                let list: Vec<inspect::ImageInfo> = serde_json::from_slice(&output.stdout)
                    .map_err(|e| EngineError::BadOutput {
                        command: self.describe(&args),
                        detail: e.to_string(),
                    })?;
                // `[""]` is how an image says "no entrypoint" once one was set (a
                // committed container's): docker runs the command alone.
                Ok(list.into_iter().next().map(|mut i| {
                    if i.config.entrypoint.iter().all(String::is_empty) {
                        i.config.entrypoint.clear();
                    }
                    i.config
                }))
            }
            Err(EngineError::Failed { stderr, .. }) if is_no_such(&stderr) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Ids of containers (running ones) that publish `host_port` on the host, with names.
    pub fn containers_publishing(&self, host_port: u16) -> Result<Vec<String>> {
        let out = self.call([
            "ps",
            "--filter",
            &format!("publish={host_port}"),
            "--format",
            "{{.Names}}",
        ])?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    pub fn start(&self, id: &str) -> Result<()> {
        self.call(["start", id]).map(drop)
    }

    pub fn stop(&self, id: &str) -> Result<()> {
        self.call(["stop", "--time", "5", id]).map(drop)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        self.call(Self::removal(id)).map(drop)
    }

    /// Removes a container devboot no longer needs without waiting for it
    /// (`process::detach`): devboot goes on, and may exit first.
    pub fn remove_later(&self, id: &str) {
        crate::process::detach(self.command(Self::removal(id)));
    }

    fn removal(id: &str) -> [&str; 4] {
        ["rm", "-f", "-v", id]
    }

    /// Runs a command in a container and captures its output (for small bookkeeping
    /// scripts, not user tasks).
    pub fn exec_capture(
        &self,
        id: &str,
        user: Option<&str>,
        env: &EnvMap,
        argv: &[&str],
    ) -> Result<String> {
        let mut args: Vec<String> = vec!["exec".into()];
        if let Some(user) = user {
            args.push("-u".into());
            args.push(user.into());
        }
        let child_env = pass_env(&mut args, env, &[]);
        args.push(id.into());
        args.extend(argv.iter().map(|s| (*s).to_string()));
        self.call_with_env(&args, &child_env)
    }
}

/// Variables an engine process gets on top of devboot's own environment.
pub type ChildEnv = Vec<(String, String)>;

/// Adds the `-e` arguments that give `env` to a container (`run`) or to a command in one
/// (`exec`), and returns what the engine process must have in its environment for them.
///
/// A secret goes as `-e NAME`: docker and podman then take its value from their own
/// environment (`Command::env` on that one child), so it is in no argument list. Secret
/// ones are: names in `secret_names`, names that look secret (`*TOKEN*`...), and any variable
/// whose value holds one of their values. Other variables stay `-e NAME=value`: by name
/// they would change the engine CLI's own environment too (`PATH`, `HOME`, `DOCKER_HOST`,
/// `XDG_RUNTIME_DIR` steer docker and podman themselves).
pub fn pass_env(args: &mut Vec<String>, env: &EnvMap, secret_names: &[String]) -> ChildEnv {
    let secret_name = |name: &str| {
        crate::env::looks_secret(name) || secret_names.iter().any(|s| s.as_str() == name)
    };
    let secret_values: Vec<&String> = env
        .iter()
        .filter(|(k, v)| secret_name(k) && !v.is_empty())
        .map(|(_, v)| v)
        .collect();
    let mut child = ChildEnv::new();
    for (name, value) in env {
        args.push("-e".into());
        if secret_name(name) || secret_values.iter().any(|s| value.contains(s.as_str())) {
            args.push(name.clone());
            child.push((name.clone(), value.clone()));
        } else {
            args.push(format!("{name}={value}"));
        }
    }
    child
}

/// The engine CLI's way of saying its daemon is not there.
fn is_daemon_down(stderr: &str) -> bool {
    stderr.contains("Cannot connect to the Docker daemon")
        || stderr.contains("Is the docker daemon running")
        || stderr.contains("error during connect")
        || stderr.contains("unable to connect to Podman")
        || stderr.contains("connect: no such file or directory")
}

fn is_no_such(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    // podman says "image not known" where docker says "No such image".
    s.contains("no such")
        || s.contains("not found")
        || s.contains("does not exist")
        || s.contains("not known")
}
