//! devboot's errors and exit codes, decided in one place.
//!
//! Errors carry what they are about (file, port, task, container) as fields; [`Error::to_diagnostics`]
//! turns them into [`Diagnostic`]s, which `diagnostic::render` prints. Exit codes:
//! 0 ok, 1 runtime failure, 2 usage or config error, 128 + N stopped by signal N (130 for
//! Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::engine::EngineError;
use crate::lifecycle::LaneFailure;
use crate::trust::Refusal;

/// Process exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    /// Something failed at run time: the engine, a task, a port that never got ready.
    pub const FAILURE: u8 = 1;
    /// The command line or a config file is wrong; nothing was run.
    pub const USAGE: u8 = 2;
    /// Interrupted by Ctrl-C (128 + SIGINT); SIGTERM and SIGHUP give 128 + theirs.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong in a way clap cannot see.
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },

    /// A config file has errors; each diagnostic says where.
    #[error("the config has {} error(s)", .0.errors().count())]
    Config(Diagnostics),

    /// No config file was found and none was given.
    #[error("no devcontainer.json or .gitpod.yml found in {}, and no Flask backend to run without one", folder.display())]
    NoConfig { folder: PathBuf },

    /// Several `.devcontainer/<name>/devcontainer.json` exist and none was chosen.
    #[error("{} has several dev container configs", folder.display())]
    AmbiguousConfig {
        folder: PathBuf,
        candidates: Vec<PathBuf>,
    },

    /// Reading or writing a file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,

    /// SIGINT, SIGTERM or SIGHUP stopped devboot's children: what is left, and that the
    /// next `up` finishes the work. Exits with 128 + the signal's number.
    #[error("interrupted by {signal}: {left}")]
    Signalled {
        signal: nix::sys::signal::Signal,
        left: String,
    },

    /// The container engine failed or is not there.
    #[error(transparent)]
    Engine(#[from] EngineError),

    /// The image is neither local nor pullable.
    #[error("image {image} is not available")]
    ImageUnavailable { image: String, detail: String },

    /// An image nobody named (a default) is neither local nor pullable.
    #[error("image {image} is not available ({})", default.why())]
    DefaultImageUnavailable {
        image: String,
        default: DefaultImage,
        detail: String,
        /// Images the engine has, to choose from.
        here: Vec<String>,
    },

    /// `docker build` failed; its whole output is in `log`.
    #[error("building {} failed (exit code {code})", dockerfile.display())]
    BuildFailed {
        dockerfile: PathBuf,
        code: i32,
        log: PathBuf,
        tail: Vec<String>,
    },

    /// A Dev Container Feature could not be named, fetched, read or ordered.
    #[error("{error} (in {})", config_file.display())]
    Feature {
        error: crate::features::FeatureError,
        config_file: PathBuf,
    },

    /// A Feature's install script failed while the derived image was built; nothing was
    /// tagged.
    #[error("Feature `{feature}` failed to install{}", options_shown(options))]
    FeatureInstallFailed {
        feature: String,
        options: Vec<(String, String)>,
        log: PathBuf,
        tail: Vec<String>,
    },

    /// Tasks or hooks failed. The container is left running so the next `up` retries them.
    #[error("{}", describe_failures(failures))]
    TasksFailed {
        failures: Vec<LaneFailure>,
        container: String,
        /// Every lane as it stood when `up` gave up (what did come up, too).
        lanes: Vec<crate::lifecycle::LaneReport>,
    },

    /// A host port needed for publishing is in use.
    #[error("host port {port} is already in use{}", by.as_ref().map(|b| format!(" by container {b}")).unwrap_or_default())]
    PortTaken {
        port: u16,
        host_ip: String,
        by: Option<String>,
    },

    /// A host port a compose file publishes is in use (before or as `compose up` ran).
    #[error("host port {port} is already in use{}", by.as_ref().map(|b| format!(" by container {b}")).unwrap_or_default())]
    ComposePortTaken {
        port: u16,
        by: Option<String>,
        /// The service that publishes it, its container port, and where the file says so.
        service: String,
        container: u16,
        at: crate::config::source::Location,
    },

    /// A port never started answering.
    #[error("port {port}{} did not answer within {seconds} s", label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    PortNotReady {
        port: u16,
        label: Option<String>,
        seconds: u64,
        /// What the container shows on that port, when it says something useful.
        reason: Option<String>,
        task: Option<String>,
        tail: Vec<String>,
        /// Where the task's whole log is, when devboot can say (in place).
        log: Option<String>,
    },

    /// `up` found no engine to make the container with, and nothing that says it runs
    /// inside the workspace its config describes.
    #[error("no container engine found (tried: {}) to make this workspace's container", tried.join(", "))]
    NoEngine {
        tried: Vec<String>,
        /// What was looked at, one line each.
        looked: Vec<String>,
    },

    /// The workspace has no container yet (for `down`, `exec`, `logs`...).
    #[error("no container for {}", folder.display())]
    NoContainer { folder: PathBuf },

    /// The ports of a workspace on a remote engine could not be brought here.
    #[error("{message}")]
    Forward { message: String, help: String },

    /// The config asks for something devboot does not do yet.
    #[error("{what} is not supported by devboot yet")]
    Unsupported { what: String, help: String },

    /// Another `devboot up` on the same workspace holds the lock.
    #[error("another devboot is bringing this workspace up (lock {})", lock.display())]
    Locked { lock: PathBuf },

    /// The config's host command (`initializeCommand`) is not trusted: it did not run.
    #[error("{}", describe_refusal(config_file, *line, *reason))]
    Untrusted {
        config_file: PathBuf,
        line: Option<usize>,
        reason: Refusal,
    },

    /// Whoever read our stdout went away (`devboot config | head`): not a failure.
    #[error("broken pipe")]
    BrokenPipe,
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            help: None,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. }
            | Error::Config(_)
            | Error::NoConfig { .. }
            | Error::AmbiguousConfig { .. }
            | Error::Untrusted { .. } => exit::USAGE,
            Error::Io { .. }
            | Error::Engine(_)
            | Error::ImageUnavailable { .. }
            | Error::DefaultImageUnavailable { .. }
            | Error::BuildFailed { .. }
            | Error::Feature { .. }
            | Error::FeatureInstallFailed { .. }
            | Error::TasksFailed { .. }
            | Error::PortTaken { .. }
            | Error::ComposePortTaken { .. }
            | Error::PortNotReady { .. }
            | Error::NoEngine { .. }
            | Error::NoContainer { .. }
            | Error::Unsupported { .. }
            | Error::Forward { .. }
            | Error::Locked { .. } => exit::FAILURE,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Signalled { signal, .. } => crate::process::signals::exit_code(*signal),
            Error::BrokenPipe => exit::OK,
        }
    }

    /// What to print for this error: usually one diagnostic, several for a config with
    /// several errors (warnings included, so the user sees everything at once).
    pub fn to_diagnostics(&self) -> Vec<Diagnostic> {
        let one = match self {
            Error::Config(diagnostics) => return diagnostics.0.clone(),
            Error::Usage { message, help } => {
                let d = Diagnostic::error(message.clone());
                match help {
                    Some(help) => d.help(help.clone()),
                    None => d,
                }
            }
            Error::NoConfig { folder } => Diagnostic::error(self.to_string()).help(format!(
                "write one with `devboot init --workspace-folder {}`, or name one with --config",
                crate::config::source::display_path(folder)
            )),
            Error::AmbiguousConfig { candidates, .. } => {
                let list = candidates
                    .iter()
                    .map(|p| format!("  {}", crate::config::source::display_path(p)))
                    .collect::<Vec<_>>()
                    .join("\n");
                Diagnostic::error(format!("{self}:\n{list}"))
                    .help("choose one with --config <path>")
            }
            Error::Io { source, .. } => {
                Diagnostic::error(self.to_string()).cause(source.to_string())
            }
            Error::Engine(err) => engine_diagnostic(err),
            Error::Forward { message, help } => {
                Diagnostic::error(message.clone()).help(help.clone())
            }
            Error::ImageUnavailable { image, detail } => Diagnostic::error(self.to_string())
                .help(format!(
                    "check the name, or make the image available locally (`docker pull {image}` where a registry is reachable, or build it)"
                ))
                .cause(detail.trim().to_string()),
            Error::DefaultImageUnavailable {
                default,
                detail,
                here,
                ..
            } => {
                let mut help = default.how_to_choose().to_string();
                if !here.is_empty() {
                    let _ = write!(help, "; images here: {}", here.join(", "));
                }
                Diagnostic::error(self.to_string())
                    .help(help)
                    .cause(detail.trim().to_string())
            }
            Error::Feature { error, .. } => {
                let d = Diagnostic::error(self.to_string());
                match error.help() {
                    Some(help) => d.help(help.to_string()),
                    None => d.help("break the cycle: remove one of these `dependsOn`/`installsAfter` links, or install one of them in the Dockerfile"),
                }
            }
            Error::FeatureInstallFailed { log, tail, .. } => {
                let mut d = Diagnostic::error(self.to_string()).help(format!(
                    "the whole build output is in {}; fix the option or pin another version of the Feature, then run `devboot up` again",
                    log.display()
                ));
                d = d.excerpt("last lines of the Feature's install:", tail.clone());
                d
            }
            Error::BuildFailed { log, tail, .. } => {
                let mut d = Diagnostic::error(self.to_string())
                    .help(format!("the whole build output is in {}", log.display()));
                for line in tail {
                    d = d.cause(line.clone());
                }
                d
            }
            Error::TasksFailed {
                failures,
                container,
                ..
            } => {
                return failures
                    .iter()
                    .map(|f| {
                        Diagnostic::error(describe_failure(f))
                            .help(format!(
                                "fix it and run `devboot up` again: it runs again, the rest is kept (container {container}); `devboot logs {}` shows its whole output",
                                f.lane
                            ))
                            .excerpt(format!("last lines of `{}`:", f.lane), f.tail.clone())
                    })
                    .collect();
            }
            Error::PortTaken { port, .. } => Diagnostic::error(self.to_string()).help(format!(
                "stop what uses it, or publish every port shifted with --port-offset N (port {port} then listens on {port}+N)"
            )),
            Error::ComposePortTaken {
                service,
                container,
                at,
                ..
            } => Diagnostic::error(self.to_string())
                .at(at.clone())
                .label(format!("service `{service}` publishes its port {container} there"))
                .help(format!(
                    "stop what uses it, or give port {container} another host port here (`\"<free port>:{container}\"`); --port-offset moves only the ports devboot publishes"
                )),
            Error::PortNotReady {
                reason,
                task,
                tail,
                log,
                ..
            } => {
                let mut d = Diagnostic::error(self.to_string()).help(match task {
                    Some(task) => format!("it is probably served by task `{task}`: `devboot logs {task}` shows its output; --wait-timeout SECS waits longer"),
                    None => "check that a task starts a server on it listening on 0.0.0.0; --wait-timeout SECS waits longer".into(),
                });
                if let Some(reason) = reason {
                    d = d.cause(reason.clone());
                }
                let whole = log
                    .as_ref()
                    .map(|log| format!(" (all of it: {log})"))
                    .unwrap_or_default();
                match task {
                    Some(task) => {
                        d.excerpt(format!("last lines of `{task}`{whole}:"), tail.clone())
                    }
                    None => d.excerpt("last lines of its server:", tail.clone()),
                }
            }
            Error::NoEngine { looked, .. } => Diagnostic::error(self.to_string())
                .help(
                    "inside the workspace's own container (the one a Codespace, VS Code or DevPod made from this config), run its hooks right here with `devboot up --in-place`; on a host, install docker (`apt-get install -y docker.io`) or podman, and choose with --engine or DEVBOOT_ENGINE",
                )
                .excerpt("what devboot looked at:", looked.clone()),
            Error::NoContainer { .. } => Diagnostic::error(self.to_string()).help("run `devboot up` first"),
            Error::Unsupported { help, .. } => Diagnostic::error(self.to_string()).help(help.clone()),
            Error::Locked { .. } => Diagnostic::error(self.to_string())
                .help("wait for it to finish, or remove the lock file if no devboot is running"),
            Error::Untrusted { .. } => Diagnostic::error(self.to_string()).help(
                "it runs on this machine, not in the container: read it, then trust it with `devboot trust` (or `devboot up --trust`); any change to it needs trust again",
            ),
            Error::Interrupted => Diagnostic::error("interrupted"),
            // One line: the message says what is left and what to do.
            Error::Signalled { .. } => Diagnostic::error(self.to_string()),
            Error::BrokenPipe => return Vec::new(),
        };
        vec![one]
    }
}

/// Which default chose an image the config does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultImage {
    /// A `.gitpod.yml` without `image:`: Gitpod's default.
    Gitpod,
    /// A folder without a config: the image of devboot's built-in config.
    BuiltIn,
    /// A folder without a config, with `DEVBOOT_IMAGE` naming the image.
    FromEnv,
}

impl DefaultImage {
    fn why(self) -> &'static str {
        match self {
            DefaultImage::Gitpod => "it is Gitpod's default: .gitpod.yml has no `image:`",
            DefaultImage::BuiltIn => {
                "it is the default of devboot's built-in flask-backend config: this folder has no config"
            }
            DefaultImage::FromEnv => {
                "DEVBOOT_IMAGE (or `image` in your settings file) names it, for devboot's built-in flask-backend config: this folder has no config"
            }
        }
    }

    fn how_to_choose(self) -> &'static str {
        match self {
            DefaultImage::Gitpod => {
                "name an image that is here or can be pulled with `image:` in .gitpod.yml (e.g. `image: python:3.11-slim-bookworm`)"
            }
            DefaultImage::BuiltIn | DefaultImage::FromEnv => {
                "choose an image that is here or can be pulled: `DEVBOOT_IMAGE=<image> devboot up` (or `image = \"<image>\"` in your settings file), or write the config with `devboot init --image <image>` (its `image:` decides from then on)"
            }
        }
    }
}

fn describe_failure(f: &LaneFailure) -> String {
    let what = if f.stage == "tasks" {
        format!("task `{}`", f.lane)
    } else if f.lane == f.stage {
        format!("{} (devcontainer.json)", f.stage)
    } else {
        format!("`{}` of {}", f.lane, f.stage)
    };
    let phase = f
        .phase
        .as_ref()
        .filter(|_| f.stage == "tasks")
        .map(|p| format!(" in `{p}`"))
        .unwrap_or_default();
    // No exit code: the lane's end was not seen (the engine or devboot stopped first).
    if f.exit_code < 0 {
        return format!("{what} did not finish{phase}");
    }
    format!("{what} failed{phase} with exit code {}", f.exit_code)
}

fn describe_refusal(config_file: &std::path::Path, line: Option<usize>, reason: Refusal) -> String {
    let at = crate::trust::at(config_file, line);
    match reason {
        Refusal::NotTrusted => {
            format!("the initializeCommand in {at} is not trusted, so devboot did not run it")
        }
        Refusal::Changed => format!(
            "the initializeCommand in {at} changed since it was trusted, so devboot did not run it"
        ),
        Refusal::Declined => {
            format!("devboot did not run the initializeCommand in {at}: you did not trust it")
        }
    }
}

fn describe_failures(failures: &[LaneFailure]) -> String {
    failures
        .iter()
        .map(describe_failure)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The remote engine devboot's environment names, if any (errors are rendered where the
/// environment devboot runs in is the one it used).
fn remote_engine() -> Option<crate::backend::Remote> {
    let env: crate::workspace::EnvMap = std::env::vars().collect();
    crate::backend::Backend::detect(&env).remote().cloned()
}

fn engine_diagnostic(err: &EngineError) -> Diagnostic {
    let d = Diagnostic::error(err.to_string());
    let d = match err {
        EngineError::NotFound { .. } => d.help(
            "install one: `apt-get install -y docker.io` (then `dockerd &` or `systemctl start docker`), or podman; choose with --engine or DEVBOOT_ENGINE",
        ),
        EngineError::NotRunning { program, .. } if program == "podman" => {
            d.help("check `podman info`; podman needs no daemon but must be able to run containers here")
        }
        // An engine on another machine: the way there is what to check.
        EngineError::NotRunning { .. } | EngineError::TimedOut { .. }
            if remote_engine().is_some() =>
        {
            let remote = remote_engine().expect("checked");
            let how = match &remote.ssh {
                Some(ssh) => format!(
                    "check that `{}` works without a prompt",
                    ssh.login("docker info")
                ),
                None => format!(
                    "check that {} is reachable from here and its engine listens there",
                    remote.address
                ),
            };
            d.help(format!(
                "the engine is on another machine ({}, from {}): {how}; or unset {} to use this machine's engine",
                remote.address, remote.from, remote.from
            ))
        }
        EngineError::NotRunning { .. } => d.help(
            "start it: `sudo systemctl start docker`, or `sudo dockerd &` (scripts/engine.sh does this); or use podman with --engine podman",
        ),
        EngineError::Died { program, .. } => d.help(format!(
            "check `{program} info`; once the engine answers again, `devboot up` takes it from where it stopped"
        )),
        EngineError::TimedOut { program, .. } => d.help(format!(
            "check that the daemon is alive: `{program} info` answers at once on a healthy engine (a frozen one needs a restart, e.g. `sudo systemctl restart {program}`); on a slow machine allow more with --engine-timeout SECS or DEVBOOT_ENGINE_TIMEOUT"
        )),
        _ => d,
    };
    match err.detail() {
        Some(detail) if !detail.is_empty() => d.cause(detail.to_string()),
        _ => d,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ` (options: A="1", B="x")`, or nothing.
fn options_shown(options: &[(String, String)]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let list: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!(" (options: {})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(error: &Error) -> String {
        error
            .to_diagnostics()
            .iter()
            .map(|d| crate::diagnostic::render(d, false))
            .collect()
    }

    #[test]
    fn a_missing_default_image_says_which_default_and_how_to_choose() {
        let error = |default| Error::DefaultImageUnavailable {
            image: "gitpod/workspace-full:latest".into(),
            default,
            detail: "no registry".into(),
            here: vec!["devboot/python-flask:bookworm".into()],
        };
        let gitpod = rendered(&error(DefaultImage::Gitpod));
        assert!(
            gitpod.starts_with("error: image gitpod/workspace-full:latest is not available (it is Gitpod's default: .gitpod.yml has no `image:`)\n"),
            "{gitpod}"
        );
        assert!(
            gitpod.contains("help: name an image that is here or can be pulled with `image:` in .gitpod.yml (e.g. `image: python:3.11-slim-bookworm`); images here: devboot/python-flask:bookworm\n"),
            "{gitpod}"
        );
        assert!(gitpod.contains("caused by: no registry"), "{gitpod}");
        let built_in = rendered(&error(DefaultImage::BuiltIn));
        assert!(
            built_in.contains("(it is the default of devboot's built-in flask-backend config: this folder has no config)"),
            "{built_in}"
        );
        assert!(
            built_in.contains("help: choose an image that is here or can be pulled: `DEVBOOT_IMAGE=<image> devboot up` (or `image = \"<image>\"` in your settings file), or write the config with `devboot init --image <image>` (its `image:` decides from then on); images here: devboot/python-flask:bookworm"),
            "{built_in}"
        );
        assert!(
            rendered(&error(DefaultImage::FromEnv))
                .contains("(DEVBOOT_IMAGE (or `image` in your settings file) names it, for devboot's built-in flask-backend config"),
        );
    }
}
