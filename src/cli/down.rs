//! `devboot down [--remove]`: stop the workspace's container (the reference CLI has no such
//! command, devcontainers/cli#386).

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result, exit};
use crate::ui;
use crate::up::{Persisted, Target};

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
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    let engine = global.engine(&options.host_env)?;
    let target = Target::new(
        &loaded.workspace,
        &options.host_env,
        0,
        &Persisted::default(),
    )?;
    let Some(info) = target.find(&engine)? else {
        return Err(Error::NoContainer {
            folder: options.workspace_folder,
        });
    };
    if args.remove {
        engine.remove(&info.id)?;
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
