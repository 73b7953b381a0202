//! `devboot url PORT`: the URL of a port in the current environment (like `gp url`):
//! `https://<port>-<id>.<cluster>` in Gitpod, `https://<name>-<port>.<domain>` in Codespaces,
//! `http://localhost:<host port>` elsewhere. The host port is the one the workspace's
//! container publishes it on (so a `--port-offset` given to `up` is followed).

use crate::cli::Global;
use crate::config;
use crate::error::{Result, exit};
use crate::ui;
use crate::up::{self, Persisted};

#[derive(Debug, clap::Args)]
pub(crate) struct UrlArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// The port in the container.
    port: u16,
    /// The --port-offset to assume instead of the one the container was made with (or
    /// none, when there is no container).
    #[arg(long, value_name = "N")]
    port_offset: Option<u16>,
}

pub(crate) fn run(args: &UrlArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    // Without an engine the config (and --port-offset) still say where the port goes.
    let engine = global.engine(&options.host_env).ok();
    let (target, info) = match up::existing_target(
        &loaded.workspace,
        &options.host_env,
        &Persisted::default(),
        engine.as_ref(),
        args.port_offset,
    ) {
        Ok(found) => found,
        Err(_) => up::existing_target(
            &loaded.workspace,
            &options.host_env,
            &Persisted::default(),
            None,
            args.port_offset,
        )?,
    };
    // A running container says its real host ports; otherwise the bindings do.
    let observed = info
        .as_ref()
        .filter(|i| i.state.running)
        .and_then(|i| up::published_host_port(i, args.port));
    let url = match observed {
        Some(host_port) if args.port_offset.is_none() => target.environment.url(host_port),
        _ => crate::ports::url_of(
            &target.bindings,
            &target.environment,
            args.port,
            target.port_offset,
        ),
    };
    ui::stdout(&format!("{url}\n"))?;
    Ok(exit::OK)
}
