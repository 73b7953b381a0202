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

mod accept;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct EnvArgs {
    #[command(subcommand)]
    action: Option<EnvAction>,
    /// How to print: for `eval` in sh/bash/zsh, for fish's `source`, a `.env` file, or JSON.
    ///
    /// A `.env` file is safe to `set -a; . ./.env` in bash (nothing in a value runs or
    /// expands: backticks, `$(...)`, `$VAR` stay as they are) and docker compose reads the
    /// same values. A value docker-compose 1.x reads differently (one holding `${...}`, a
    /// carriage return or a final `\`, a `$` with a `'`, or `\\` with a `$` or a
    /// backtick) is named in a warning and written last. One holding a backtick with a
    /// `'` or a final `\` is an error: no spelling serves both bash and docker compose.
    #[arg(long, value_enum, default_value = "sh")]
    format: FormatArg,
    /// Print secret values even on a terminal (they are always printed into a pipe, so
    /// that `eval "$(devboot env)"` works).
    #[arg(long)]
    reveal: bool,
    /// Add this task's own `env` on top (Gitpod task name or devcontainer hook name), as
    /// the task sees it.
    #[arg(long, value_name = "NAME")]
    task: Option<String>,
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
    /// Review the variables `gp env NAME=VALUE` set inside the container, and keep them as
    /// this workspace's persisted variables. Until then `devboot env` leaves them out, so a
    /// container cannot put anything into your shell.
    Accept {
        /// Accept without asking (they are still printed first).
        #[arg(long)]
        yes: bool,
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
                    // A mistyped secret is still a secret: do not echo it.
                    let shown = if *secret {
                        "an argument"
                    } else {
                        pair.as_str()
                    };
                    return Err(Error::Usage {
                        message: format!("{shown} has no `=`"),
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
        Some(EnvAction::Accept { yes }) => accept::run(*yes, global),
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

/// Persisted variables are part of the container's environment, so the next `up` makes a
/// new container to apply them (it says which variable changed, never its value).
fn note_scope(global: bool, folder: &Path) {
    let scope = if global {
        "every workspace".to_string()
    } else {
        folder.display().to_string()
    };
    ui::note(&format!(
        "saved for {scope}; `devboot env` shows it now, and the next `devboot up` recreates the container to apply it (`--no-recreate` keeps the old one)"
    ));
}

fn print_env(args: &EnvArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    let ws = &loaded.workspace;
    let persisted = crate::up::persisted_env(&options.host_env, &options.workspace_folder)?;
    // The URLs in `${portUrl:N}` follow the container's --port-offset when there is one;
    // with no engine at hand, the config's ports are used.
    let engine = global.engine(&options.host_env).ok();
    let (target, info) =
        crate::up::existing_target(ws, &options.host_env, &persisted, engine.as_ref(), None)
            .or_else(|_| {
                crate::up::existing_target(ws, &options.host_env, &persisted, None, None)
            })?;
    // A Compose service also has its compose files' `environment` (devboot's wins).
    let container_env = info.as_ref().map(crate::engine::ContainerInfo::env);
    let mut vars = config::compose::service_env(ws, &options.host_env, container_env.as_ref());
    vars.extend(target.spec.env.clone());
    vars.extend(target.exec.env.clone());
    if let Some(task) = &args.task {
        let lanes: Vec<&crate::workspace::Lane> = ws.stages.iter().flat_map(|s| &s.lanes).collect();
        let Some(lane) = lanes.iter().find(|l| &l.name == task) else {
            let names: Vec<&str> = lanes.iter().map(|l| l.name.as_str()).collect();
            return Err(Error::Usage {
                message: format!("no task named `{task}`"),
                help: Some(if names.is_empty() {
                    "this workspace has no tasks".into()
                } else {
                    format!("tasks of this workspace: {}", names.join(", "))
                }),
            });
        };
        vars.extend(target.lane_env(lane));
    }
    let format = match args.format {
        FormatArg::Sh => ShellFormat::Sh,
        FormatArg::Fish => ShellFormat::Fish,
        FormatArg::Dotenv => ShellFormat::Dotenv,
        FormatArg::Json => ShellFormat::Json,
    };
    if format != ShellFormat::Json {
        // A shell cannot set `A.B` or `1X`: say so rather than print a broken line.
        let bad: Vec<String> = vars
            .keys()
            .filter(|k| !env::valid_name(k))
            .cloned()
            .collect();
        for name in &bad {
            vars.remove(name);
        }
        if !bad.is_empty() {
            ui::warning(&format!(
                "left out {} (not a valid variable name for a shell; `--format json` has them)",
                bad.join(", ")
            ));
        }
    }
    if let Some(text) = target.state.gp_env() {
        let (changes, _) = crate::gp::env_changes(&text);
        if !changes.is_empty() {
            ui::note(&format!(
                "`gp env` set {} variable(s) inside the container; they are not in this output until you review them with `devboot env accept`",
                changes.len()
            ));
        }
    }
    let secrets = env::secret_values(ws, &persisted.values, &persisted.secrets, []);
    // The real values decide whether a `.env` file can hold them, masked or not.
    let rendered = env::render(&vars, format)?;
    if !rendered.compose_v1_differs.is_empty() {
        let list: Vec<String> = rendered
            .compose_v1_differs
            .iter()
            .map(|(name, why)| format!("{name} (holds {why})"))
            .collect();
        ui::warning(&format!(
            "docker-compose 1.x reads {} differently; bash and docker compose v2 read the file right (those lines come last, so the other lines are read right by all)",
            list.join(", ")
        ));
    }
    // Into a pipe the real values go (that is what `eval` needs); on a terminal a person
    // reads them, so secrets are masked unless --reveal.
    if std::io::stdout().is_terminal() && !args.reveal {
        ui::set_secrets(secrets);
        let shown = env::masked(&vars, &persisted.secrets);
        if shown != vars {
            ui::note(
                "secret values are masked on a terminal; pipe the output or pass --reveal to print them",
            );
        }
        ui::stdout(&env::render(&shown, format)?.text)?;
    } else {
        ui::stdout_raw(&rendered.text)?;
    }
    Ok(exit::OK)
}
