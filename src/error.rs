//! devboot's errors and exit codes, decided in one place.
//!
//! Errors carry what they are about (file, port, task, container) as fields; [`Error::to_diagnostics`]
//! turns them into [`Diagnostic`]s, which `diagnostic::render` prints. Exit codes:
//! 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Diagnostics};

/// Process exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    /// Something failed at run time: the engine, a task, a port that never got ready.
    pub const FAILURE: u8 = 1;
    /// The command line or a config file is wrong; nothing was run.
    pub const USAGE: u8 = 2;
    /// Interrupted by Ctrl-C (128 + SIGINT).
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
    #[error("no devcontainer.json or .gitpod.yml found in {}", folder.display())]
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
            | Error::AmbiguousConfig { .. } => exit::USAGE,
            Error::Io { .. } => exit::FAILURE,
            Error::Interrupted => exit::INTERRUPTED,
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
            Error::Interrupted => Diagnostic::error("interrupted"),
            Error::BrokenPipe => return Vec::new(),
        };
        vec![one]
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
