//! `devboot url PORT`: the URL of a port in the current environment (like `gp url`):
//! `https://<port>-<id>.<cluster>` in Gitpod, `https://<name>-<port>.<domain>` in Codespaces,
//! `http://localhost:<host port>` elsewhere.

use crate::cli::Global;
use crate::config;
use crate::error::{Result, exit};
use crate::ui;
use crate::up::{self, Persisted, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct UrlArgs {
    /// The port in the container.
    port: u16,
    /// The --port-offset the workspace was brought up with, when there is no container to
    /// read it from.
    #[arg(long, value_name = "N", default_value_t = 0)]
    port_offset: u16,
}

pub(crate) fn run(args: &UrlArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    let target = Target::new(
        &loaded.workspace,
        &options.host_env,
        args.port_offset,
        &Persisted::default(),
    )?;
    // The container knows its real host ports; without one, the config says.
    let info = global
        .engine(&options.host_env)
        .ok()
        .and_then(|engine| target.find(&engine).ok().flatten());
    let observed = up::observe_ports(&target, info.as_ref());
    let url = observed
        .iter()
        .find(|r| r.port <= args.port && args.port <= r.end.unwrap_or(r.port))
        .map_or_else(
            || {
                crate::ports::url_of(
                    &target.bindings,
                    &target.environment,
                    args.port,
                    args.port_offset,
                )
            },
            |r| target.environment.url(r.host_port + (args.port - r.port)),
        );
    ui::stdout(&format!("{url}\n"))?;
    Ok(exit::OK)
}
