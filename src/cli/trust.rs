//! `devboot trust [--list | --revoke]`: the user's say on the command a workspace's config
//! runs on this machine (`initializeCommand`); `up` runs it only when it is trusted.

use std::fmt::Write as _;

use crate::cli::Global;
use crate::error::{Result, exit};
use crate::trust::{HostCommands, Store, at, indent, line_of};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct TrustArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// List every workspace trusted to run a command here, with the command.
    #[arg(long, conflicts_with = "revoke")]
    list: bool,
    /// Stop trusting this workspace: the next `devboot up` asks again.
    #[arg(long)]
    revoke: bool,
}

pub(crate) fn run(args: &TrustArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let mut store = Store::load(&crate::dirs::config_dir(&options.host_env))?;
    if args.list {
        let mut out = String::new();
        let mut last = None;
        for (folder, entry) in store.entries() {
            if last != Some(folder) {
                let _ = writeln!(out, "{folder}");
                last = Some(folder);
            }
            let _ = writeln!(out, "  {} (sha256 {})", entry.config, &entry.sha256[..12]);
            let _ = writeln!(out, "{}", indent(&entry.command, "    "));
        }
        if out.is_empty() {
            ui::note(&format!(
                "no workspace is trusted to run a command here yet ({} is empty)",
                store.path().display()
            ));
        }
        ui::stdout(&out)?;
        return Ok(exit::OK);
    }
    let folder = &options.workspace_folder;
    if args.revoke {
        let removed = store.revoke(folder);
        if removed.is_empty() {
            ui::note(&format!("nothing was trusted for {}", folder.display()));
            return Ok(exit::OK);
        }
        store.save()?;
        let mut out = format!("no longer trusted for {}:\n", folder.display());
        for entry in removed {
            let _ = writeln!(out, "{}", indent(&entry.command, "  "));
        }
        ui::stdout(&out)?;
        return Ok(exit::OK);
    }
    let loaded = crate::config::load(&options)?;
    let Some(commands) = HostCommands::of(&loaded.workspace) else {
        ui::note(&format!(
            "{} runs nothing on this machine (it has no initializeCommand): there is nothing to trust",
            crate::config::source::display_path(&loaded.workspace.config_file)
        ));
        return Ok(exit::OK);
    };
    store.trust(&commands);
    store.save()?;
    ui::stdout(&format!(
        "trusted for {} ({}):\n{}\n`devboot up` runs it on this machine without asking, until it changes\n",
        folder.display(),
        at(&commands.config_file, line_of(&loaded.document)),
        indent(&commands.show(), "  ")
    ))?;
    Ok(exit::OK)
}
