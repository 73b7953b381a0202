//! `devboot env accept`: take the variables `gp env` set inside the container into the
//! workspace's persisted ones, after the user has seen them. Until then they stay out of
//! `devboot env`, so that nothing a container writes reaches `eval "$(devboot env)"` in the
//! user's host shell unread.

use std::fmt::Write as _;
use std::io::IsTerminal;

use crate::cli::Global;
use crate::config::{self, LoadOptions};
use crate::env::{self, Store, Stored};
use crate::error::{Error, Result, exit};
use crate::gp::EnvChanges;
use crate::ui;

/// The changes `gp env` recorded in this workspace's container (see `gp::env_changes`),
/// with the state folder they came from; `None` when there are none.
fn pending(options: &LoadOptions) -> Result<Option<(EnvChanges, crate::state::StateDir)>> {
    let loaded = config::load(options)?;
    let state = crate::up::state_dir(&loaded.workspace, &options.host_env);
    let Some(text) = state.gp_env() else {
        return Ok(None);
    };
    let (changes, rejected) = crate::gp::env_changes(&text);
    for line in rejected {
        ui::warning(&format!(
            "left out a line `gp env` recorded that sets no variable: {line}"
        ));
    }
    Ok((!changes.is_empty()).then_some((changes, state)))
}

pub(super) fn run(yes: bool, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let Some((changes, state)) = pending(&options)? else {
        ui::note("nothing to accept: `gp env` set no variable in this workspace's container");
        return Ok(exit::OK);
    };
    let mut shown = String::new();
    for (name, value) in &changes {
        match value {
            Some(value) => writeln!(shown, "  set   {name}={}", ui::shown(value)),
            None => writeln!(shown, "  unset {name}"),
        }
        .ok();
    }
    ui::line(&format!(
        "`gp env` inside the container asks to change {} variable(s) of this workspace:\n{}",
        changes.len(),
        shown.trim_end()
    ));
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage {
                message: "not accepting variables a container set without asking".into(),
                help: Some("read them above, then run `devboot env accept --yes`".into()),
            });
        }
        let accepted = dialoguer::Confirm::new()
            .with_prompt("Accept them (they go into `devboot env` and the next containers)?")
            .default(false)
            .interact()
            .map_err(|e| match e {
                dialoguer::Error::IO(e) => Error::io("read the answer from", "the terminal", e),
            })?;
        if !accepted {
            ui::note("nothing changed; they stay recorded in the container's state folder");
            return Ok(exit::OK);
        }
    }
    let store_path = Store::path(&crate::dirs::config_dir(&options.host_env));
    let mut store = Store::load(&store_path)?;
    let scope = store.scope_mut(Some(options.workspace_folder.as_path()));
    for (name, value) in changes {
        match value {
            Some(value) => {
                let secret = env::looks_secret(&name);
                scope.insert(name, Stored { value, secret });
            }
            None => {
                scope.remove(&name);
            }
        }
    }
    store.save(&store_path)?;
    state.forget_gp_env()?;
    ui::note(
        "accepted; `devboot env` has them now, and the next `devboot up` recreates the container to apply them",
    );
    Ok(exit::OK)
}
