//! `devboot ports [--json]` and `devboot ports await PORT`: the workspace's ports, where
//! they are published, whether they answer, and their URLs; and waiting for one, like
//! `gp ports await`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Subcommand;

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result, exit};
use crate::ports;
use crate::ui;
use crate::up::{self, PortReport};
use crate::workspace::Visibility;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct PortsArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    #[command(subcommand)]
    action: Option<PortsAction>,
    /// Print one JSON array on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum PortsAction {
    /// Wait until PORT (in the container) is served: something accepts connections on its
    /// host port. Exit 1 on timeout.
    Await {
        port: u16,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        timeout: u64,
    },
    /// Bring the ports of a workspace on a remote SSH engine to this machine
    /// (127.0.0.1:PORT), in the foreground until Ctrl-C. `up` keeps the same forward
    /// running in the background; this one takes its place.
    Forward,
}

pub(crate) fn run(args: &PortsArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    let engine = global.engine(&options.host_env)?;
    let persisted = up::persisted_env(&options.host_env, &options.workspace_folder)?;
    let (target, info) = up::existing_target(
        &loaded.workspace,
        &options.host_env,
        &persisted,
        Some(&engine),
        None,
    )?;
    let container_env = info.as_ref().map(crate::engine::ContainerInfo::env);
    ui::set_secrets(crate::env::secret_values(
        &loaded.workspace,
        &persisted.values,
        &persisted.secrets,
        container_env.iter().flatten(),
    ));
    if let Some(PortsAction::Forward) = &args.action {
        return forward(&target);
    }
    let reports = up::observe_ports(&target, info.as_ref());
    if let Some(PortsAction::Await { port, timeout }) = &args.action {
        return await_port(&target, &reports, *port, *timeout);
    }
    if args.json {
        ui::stdout(&format!(
            "{}\n",
            serde_json::to_string(&reports).expect("ports serialize")
        ))?;
    } else if reports.is_empty() {
        ui::stdout("no ports configured\n")?;
    } else {
        ui::stdout(&table(&reports))?;
    }
    Ok(exit::OK)
}

/// Forwards a remote SSH workspace's ports in the foreground.
fn forward(target: &up::Target) -> Result<u8> {
    let Some(remote) = target.backend.remote() else {
        ui::stdout("the engine is on this machine: its ports are here already\n")?;
        return Ok(exit::OK);
    };
    let ports = up::forwarded_ports(target);
    let Some(ssh) = &remote.ssh else {
        ui::stdout(&format!(
            "the engine is reached over TCP: its ports are on {} already ({})\n",
            remote.host,
            target.environment.url(ports.first().copied().unwrap_or(80))
        ))?;
        return Ok(exit::OK);
    };
    if ports.is_empty() {
        ui::stdout("the workspace publishes no ports\n")?;
        return Ok(exit::OK);
    }
    up::stop_forward(target)?;
    let list: Vec<String> = ports
        .iter()
        .map(|p| format!("http://localhost:{p}"))
        .collect();
    ui::note(&format!(
        "forwarding {} from {} (Ctrl-C stops)",
        list.join(", "),
        remote.address
    ));
    Err(crate::backend::forward::foreground(ssh, &ports))
}

/// Waits until a port is served, polling its host port.
fn await_port(target: &up::Target, reports: &[PortReport], port: u16, timeout: u64) -> Result<u8> {
    let Some(report) = reports
        .iter()
        .find(|r| r.port <= port && port <= r.end.unwrap_or(r.port))
    else {
        let published: Vec<String> = reports
            .iter()
            .map(|r| {
                r.end
                    .map_or(r.port.to_string(), |e| format!("{}-{e}", r.port))
            })
            .collect();
        return Err(Error::Usage {
            message: format!("port {port} is not published by this workspace"),
            help: Some(if published.is_empty() {
                "the config publishes no ports".into()
            } else {
                format!("published ports: {}", published.join(", "))
            }),
        });
    };
    let host_port = report.host_port + (port - report.port);
    let mut binding = target
        .bindings
        .iter()
        .find(|b| b.host_port_of(port).is_some())
        .cloned()
        .expect("every report comes from a binding");
    binding.host_port = host_port;
    binding.host_ip.clone_from(&report.host_ip);
    let url = target.environment.url(host_port);
    ui::line(&format!("awaiting port {port}..."));
    if ports::wait_tcp(
        binding.probe_addr_in(&target.environment),
        Instant::now() + Duration::from_secs(timeout),
        &mut || true,
    ) {
        ui::stdout(&format!("port {port} is served: {url}\n"))?;
        return Ok(exit::OK);
    }
    Err(Error::PortNotReady {
        port,
        label: report.label.clone(),
        seconds: timeout,
        reason: Some(format!(
            "nothing accepted connections on {} in that time",
            binding.probe_addr_in(&target.environment)
        )),
        task: None,
        tail: Vec::new(),
        log: None,
    })
}

/// The human table: port, name, visibility, host binding, state, URL.
fn table(reports: &[PortReport]) -> String {
    let mut out = format!(
        "{:<12} {:<16} {:<10} {:<22} {:<11} {}\n",
        "PORT", "NAME", "VISIBILITY", "HOST", "STATE", "URL"
    );
    for r in reports {
        let port = r
            .end
            .map_or(r.port.to_string(), |e| format!("{}-{e}", r.port));
        let visibility = match r.visibility {
            Visibility::Public => "public",
            Visibility::Private => "private",
        };
        let host = match r.end {
            Some(end) => format!(
                "{}:{}-{}",
                r.host_ip,
                r.host_port,
                r.host_port + (end - r.port)
            ),
            None => format!("{}:{}", r.host_ip, r.host_port),
        };
        let _ = writeln!(
            out,
            "{port:<12} {:<16} {visibility:<10} {host:<22} {:<11} {}",
            r.label.as_deref().unwrap_or("-"),
            r.state,
            r.url
        );
    }
    out
}
