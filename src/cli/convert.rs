//! `devboot convert --to devcontainer|gitpod [--output PATH]`: the workspace's config in
//! the other format, on stdout or into a file. What the other format cannot say is warned
//! about on stderr (the logic is in `convert.rs`).

use std::path::PathBuf;

use clap::ValueEnum;

use crate::cli::Global;
use crate::config;
use crate::convert;
use crate::error::{Error, Result, exit};
use crate::ui;
use crate::workspace::Format;

#[derive(Debug, clap::Args)]
pub(crate) struct ConvertArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// The format to write.
    #[arg(long, value_enum)]
    to: ToArg,
    /// Write the file here (relative to the workspace folder, as --config is) instead of
    /// printing it.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace the --output file when it exists and differs.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ToArg {
    Devcontainer,
    Gitpod,
}

pub(crate) fn run(args: &ConvertArgs, global: &Global) -> Result<u8> {
    let to = match args.to {
        ToArg::Devcontainer => Format::Devcontainer,
        ToArg::Gitpod => Format::Gitpod,
    };
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    if loaded.workspace.format == to {
        return Err(Error::Usage {
            message: format!(
                "{} is already a {to} config",
                config::source::display_path(&loaded.workspace.config_file)
            ),
            help: Some(match to {
                Format::Gitpod => "convert a devcontainer.json: pass --config-format devcontainer or --config <path> when the folder has both".into(),
                Format::Devcontainer => "convert a .gitpod.yml: pass --config-format gitpod or --config <path> when the folder has both".into(),
            }),
        });
    }
    // What loading warns about is what `up` will not do (`validate` shows it); here only
    // what the other format cannot say is of use.
    let output = match &args.output {
        Some(path) => options.workspace_folder.join(path),
        None => convert::default_output(&options.workspace_folder, to),
    };
    let conversion = convert::convert(&loaded, to, &output);
    for warning in &conversion.warnings {
        ui::warning(&format!("not carried over: {warning}"));
    }
    let Some(path) = &args.output else {
        ui::stdout_raw(&conversion.text)?;
        return Ok(exit::OK);
    };
    if let Ok(existing) = std::fs::read_to_string(&output) {
        if existing == conversion.text {
            ui::line(&format!("{} is already up to date", path.display()));
            return Ok(exit::OK);
        }
        if !args.force {
            return Err(Error::Usage {
                message: format!("{} already exists", path.display()),
                help: Some(
                    "pass --force to replace it, or leave out --output to print the result".into(),
                ),
            });
        }
    }
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    std::fs::write(&output, &conversion.text).map_err(|e| Error::io("write", &output, e))?;
    ui::line(&format!("wrote {}", path.display()));
    Ok(exit::OK)
}
