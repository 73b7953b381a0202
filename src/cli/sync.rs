//! `devboot sync`: copies this machine's edits of the workspace folder into its container
//! on a remote engine (only what changed: additions, changes and deletions), as `up` does
//! before it runs anything there. With a local engine the folder is mounted, so there is
//! nothing to copy.

use crate::cli::Global;
use crate::error::{Error, Result, exit};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct SyncArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Send the whole folder again (after changes made in the container you want undone).
    #[arg(long)]
    full: bool,
    /// Copy PATH (a file or folder, relative to the workspace folder) from the container
    /// back here instead: what the container made or changed. Only files and folders come
    /// back (links are left out and named); files here are overwritten.
    #[arg(long, value_name = "PATH", conflicts_with = "full")]
    pull: Option<String>,
    /// Print what was sent as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &SyncArgs, global: &Global) -> Result<u8> {
    let found = global.existing(args.source, true)?;
    let target = &found.target;
    if target.backend.remote().is_none() {
        ui::stdout(
            "the engine is on this machine: the workspace folder is mounted, nothing to copy\n",
        )?;
        return Ok(exit::OK);
    }
    let _lock = crate::up::lock(target.host_env(), &target.devcontainer_id)?;
    if let (Some(path), Some((local, at))) = (&args.pull, &target.source) {
        let pulled = crate::backend::sync::pull(&found.engine, &found.info.id, local, at, path)?;
        for skipped in &pulled.skipped {
            ui::warning(&format!(
                "{skipped} was left in the container: only files and folders are copied back"
            ));
        }
        ui::stdout(&format!(
            "copied {path} from container {}: {} files ({} bytes)\n",
            found.info.short_name(),
            pulled.files,
            pulled.bytes
        ))?;
        return Ok(exit::OK);
    }
    let Some(synced) = crate::up::sync_source(&found.engine, target, &found.info.id, args.full)?
    else {
        return Err(Error::Usage {
            message: "this workspace's config mounts its own folder (workspaceMount): that path is the remote machine's, devboot copies nothing there".into(),
            help: Some("edit the files on that machine, or remove workspaceMount so devboot copies the folder".into()),
        });
    };
    if args.json {
        ui::stdout(&format!(
            "{}\n",
            serde_json::to_string(&synced).expect("serializes")
        ))?;
    } else {
        ui::stdout(&format!(
            "synced to container {}: {} sent ({} bytes), {} deleted\n",
            found.info.short_name(),
            synced.sent,
            synced.bytes,
            synced.deleted
        ))?;
    }
    Ok(exit::OK)
}
