//! `devboot down [--remove]`: stop the workspace's container (the reference CLI has no such
//! command, devcontainers/cli#386).

use crate::cli::Global;
use crate::error::{Result, exit};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct DownArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Remove the container too (its run-once state goes with it).
    #[arg(long)]
    remove: bool,
}

pub(crate) fn run(args: &DownArgs, global: &Global) -> Result<u8> {
    let crate::cli::Existing {
        engine,
        info,
        target,
        ..
    } = global.existing(args.source, false)?;
    if let Some(plan) = &target.compose {
        crate::up::compose_down(&engine, &target, plan, args.remove)?;
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
        if info.mounts_at(crate::state::MOUNT) {
            target.state.reset()?;
        }
        ui::stdout(&format!("removed container {}\n", info.short_name()))?;
    } else if info.state.running {
        engine.stop(&info.id)?;
        ui::stdout(&format!("stopped container {}\n", info.short_name()))?;
    } else {
        ui::stdout(&format!(
            "container {} is already stopped\n",
            info.short_name()
        ))?;
    }
    Ok(exit::OK)
}
