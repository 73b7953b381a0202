//! `devboot down [--remove [--images]]`: stop the workspace's container (the reference CLI
//! has no such command, devcontainers/cli#386), or remove it and what devboot keeps for it.
//!
//! The config's `shutdownAction` says what it stops: nothing (`none`, unless `--force`),
//! the container (`stopContainer`), or a Compose project's every service (`stopCompose`,
//! Compose's default).
//!
//! It takes the workspace's lock first, as `up` does: a `down` while an `up` brings the
//! workspace up waits for it, so `up` never reports a container that was just removed.

use crate::cli::Global;
use crate::error::{Error, Result, exit};
use crate::ui;
use crate::workspace::ShutdownAction;

#[derive(Debug, clap::Args)]
pub(crate) struct DownArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Remove the container too (its run-once state goes with it), and devboot's own files
    /// for the workspace: its state folder, lock and Compose override.
    #[arg(long)]
    remove: bool,
    /// With --remove: also remove the images devboot built for this workspace (kept
    /// otherwise: a rebuild can take minutes).
    #[arg(long, requires = "remove")]
    images: bool,
    /// Stop it even when the config says `"shutdownAction": "none"`.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(args: &DownArgs, global: &Global) -> Result<u8> {
    let (found, options) = global.maybe_existing(args.source)?;
    let crate::cli::MaybeExisting {
        engine,
        target,
        loaded,
        ..
    } = found;
    let action = loaded.workspace.shutdown_action;
    let host_env = &options.host_env;
    let _lock = crate::up::lock(host_env, &target.devcontainer_id)?;
    // Whatever happens to the container, its git credential server stops.
    crate::credentials::git_helper::stop_server(&target.cache_dir, &target.devcontainer_id);
    // Looked for again under the lock: an `up` may have made or replaced it meanwhile.
    let info = target.find(&engine)?;
    let Some(info) = info else {
        if !args.remove {
            return Err(Error::NoContainer {
                folder: options.workspace_folder,
            });
        }
        let removed = crate::up::forget(&engine, &target, host_env, args.images)?;
        let what = if removed.is_empty() {
            "nothing else to remove".to_string()
        } else {
            format!("removed {}", removed.join(", "))
        };
        ui::stdout(&format!("no container for this workspace; {what}\n"))?;
        return Ok(exit::OK);
    };
    if action == Some(ShutdownAction::None) && !args.remove && !args.force && info.state.running {
        ui::stdout(&format!(
            "container {} left running: the config says \"shutdownAction\": \"none\"; `devboot down --force` stops it\n",
            info.short_name()
        ))?;
        return Ok(exit::OK);
    }
    // Compose: the whole project, unless the config says to stop only the service's
    // container (`stopContainer`); `--remove` always takes the whole project.
    let whole_project = args.remove || action != Some(ShutdownAction::StopContainer);
    if let Some(plan) = target.compose.as_ref().filter(|_| whole_project) {
        crate::up::compose_down(&engine, &target, plan, args.remove)?;
        if args.remove {
            crate::up::forget(&engine, &target, host_env, args.images)?;
        }
        let what = if args.remove { "removed" } else { "stopped" };
        ui::stdout(&format!(
            "{what} Docker Compose project {} (container {})\n",
            plan.project,
            info.short_name()
        ))?;
        return Ok(exit::OK);
    }
    if args.remove {
        engine.remove(&info.id)?;
        // Its state folder (lane logs, run-once records) belonged to it. With none, the
        // next `up` knows no container of devboot's is left, and starts sooner.
        let removed = crate::up::forget(&engine, &target, host_env, args.images)?;
        let also = if removed.is_empty() {
            String::new()
        } else {
            format!(" and {}", removed.join(", "))
        };
        ui::stdout(&format!("removed container {}{also}\n", info.short_name()))?;
    } else if info.state.running {
        engine.stop(&info.id)?;
        let also = crate::up::stop_forward(&target)?
            .map(|what| format!(" and {what}"))
            .unwrap_or_default();
        ui::stdout(&format!("stopped container {}{also}\n", info.short_name()))?;
    } else {
        ui::stdout(&format!(
            "container {} is already stopped\n",
            info.short_name()
        ))?;
    }
    Ok(exit::OK)
}
