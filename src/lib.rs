//! devboot: bring a development workspace up from the `.gitpod.yml` or `devcontainer.json` a
//! repository already has.
//!
//! Data flows one way:
//! `cli` (raw arguments) -> `config` (discover, parse, lower) -> [`workspace::Workspace`]
//! -> engine -> lifecycle -> ports -> report. [`run`] is the whole program; `main` only calls it.

pub mod backend;
pub mod boundary;
pub mod cli;
pub mod config;
pub mod container;
pub mod convert;
pub mod credentials;
pub mod detect;
pub mod diagnostic;
pub mod dirs;
pub mod doctor;
pub mod dotfiles;
pub mod engine;
pub mod env;
pub mod error;
pub mod expose;
pub mod features;
pub mod gp;
pub mod lifecycle;
pub mod mount;
pub mod ports;
pub mod prebuild;
pub mod process;
pub mod settings;
pub mod state;
pub mod template;
pub mod terminal;
pub mod trust;
pub mod ui;
pub mod up;
pub mod value_digest;
pub mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs devboot with the given arguments (the first is the program name) and returns the
/// exit code: 0 ok, 1 runtime failure, 2 usage or config error, 130 interrupted.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let code = match cli::parse(args) {
        Ok(arguments) => match cli::execute(arguments) {
            Ok(code) => code,
            Err(error::Error::BrokenPipe) => error::exit::OK,
            Err(err) => {
                for diagnostic in err.to_diagnostics() {
                    ui::diagnostic(&diagnostic);
                }
                err.exit_code()
            }
        },
        Err(code) => code,
    };
    ExitCode::from(code)
}
