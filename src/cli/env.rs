//! `devboot env`: print the workspace environment for a shell or a `.env` file, and keep
//! persisted variables (`set`, `unset`, `list`), as `gp env` does.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use clap::{Subcommand, ValueEnum};

use crate::cli::Global;
use crate::config;
use crate::env::{self, ShellFormat, Store, Stored};
use crate::error::{Error, Result, exit};
use crate::ui;
use crate::up::Target;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct EnvArgs {
    #[command(subcommand)]
    action: Option<EnvAction>,
    /// How to print: for `eval` in sh/bash/zsh, for fish's `source`, a `.env` file, or JSON.
    #[arg(long, value_enum, default_value = "sh")]
    format: FormatArg,
    /// Print secret values even on a terminal (they are always printed into a pipe, so
    /// that `eval "$(devboot env)"` works).
    #[arg(long)]
    reveal: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Sh,
    Fish,
    Dotenv,
    Json,
}

#[derive(Debug, Subcommand)]
enum EnvAction {
    /// Persist variables for this workspace (or all, with --global); applied when the
    /// container is made and in `devboot env`.
    Set {
        /// NAME=VALUE pairs.
        #[arg(required = true, value_name = "NAME=VALUE")]
        pairs: Vec<String>,
        /// For every workspace.
        #[arg(long)]
        global: bool,
        /// Mask the value in everything devboot prints.
        #[arg(long)]
        secret: bool,
    },
    /// Forget persisted variables.
    Unset {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
        #[arg(long)]
        global: bool,
    },
    /// List persisted variables (secret values masked).
    List {
        #[arg(long)]
        global: bool,
    },
}

pub(crate) fn run(args: &EnvArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let store_path = Store::path(&crate::dirs::config_dir(&options.host_env));
    let folder = options.workspace_folder.clone();
    match &args.action {
        None => print_env(args, global),
        Some(EnvAction::Set {
            pairs,
            global,
            secret,
        }) => {
            let mut store = Store::load(&store_path)?;
            let scope = store.scope_mut((!global).then_some(folder.as_path()));
            let mut lines = String::new();
            for pair in pairs {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(Error::Usage {
                        message: format!("`{pair}` has no `=`"),
                        help: Some("write NAME=VALUE".into()),
                    });
                };
                check_name(name)?;
                scope.insert(
                    name.to_string(),
                    Stored {
                        value: value.to_string(),
                        secret: *secret,
                    },
                );
                let shown = if *secret || env::looks_secret(name) {
                    env::MASK
                } else {
                    value
                };
                let _ = writeln!(lines, "{name}={shown}");
            }
            store.save(&store_path)?;
            ui::stdout(&lines)?;
            note_scope(*global, &folder);
            Ok(exit::OK)
        }
        Some(EnvAction::Unset { names, global }) => {
            let mut store = Store::load(&store_path)?;
            let scope = store.scope_mut((!global).then_some(folder.as_path()));
            for name in names {
                check_name(name)?;
                if scope.remove(name).is_none() {
                    ui::warning(&format!("{name} was not set"));
                }
            }
            store.save(&store_path)?;
            Ok(exit::OK)
        }
        Some(EnvAction::List { global }) => {
            let store = Store::load(&store_path)?;
            let vars = if *global {
                store.global.clone()
            } else {
                store.for_workspace(&folder)
            };
            let mut out = String::new();
            for (name, stored) in &vars {
                let shown = if stored.secret || env::looks_secret(name) {
                    env::MASK
                } else {
                    &stored.value
                };
                let _ = writeln!(out, "{name}={shown}");
            }
            ui::stdout(&out)?;
            Ok(exit::OK)
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    if env::valid_name(name) {
        Ok(())
    } else {
        Err(Error::Usage {
            message: format!("`{name}` is not a valid variable name"),
            help: Some(
                "names start with a letter or `_` and hold only letters, digits and `_`".into(),
            ),
        })
    }
}

fn note_scope(global: bool, folder: &Path) {
    if global {
        ui::note(
            "saved for every workspace; containers made from now on get it (`devboot up --recreate` applies it to this one)",
        );
    } else {
        ui::note(&format!(
            "saved for {}; containers made from now on get it (`devboot up --recreate` applies it now)",
            folder.display()
        ));
    }
}

fn print_env(args: &EnvArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    let persisted = crate::up::persisted_env(&options.host_env, &options.workspace_folder)?;
    let target = Target::new(&loaded.workspace, &options.host_env, 0, &persisted)?;
    let mut vars = target.spec.env.clone();
    vars.extend(target.exec.env.clone());
    let format = match args.format {
        FormatArg::Sh => ShellFormat::Sh,
        FormatArg::Fish => ShellFormat::Fish,
        FormatArg::Dotenv => ShellFormat::Dotenv,
        FormatArg::Json => ShellFormat::Json,
    };
    // Into a pipe the real values go (that is what `eval` needs); on a terminal a person
    // reads them, so secrets are masked unless --reveal.
    if std::io::stdout().is_terminal() && !args.reveal {
        let secrets: Vec<String> = persisted.secrets.clone();
        let shown = env::masked(&vars, &secrets);
        if shown != vars {
            ui::note(
                "secret values are masked on a terminal; pipe the output or pass --reveal to print them",
            );
        }
        ui::stdout(&env::render(&shown, format))?;
    } else {
        ui::stdout_raw(&env::render(&vars, format))?;
    }
    Ok(exit::OK)
}
