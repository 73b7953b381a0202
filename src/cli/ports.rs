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
use crate::up::{self, Persisted, Target};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct PortsArgs {
    #[command(subcommand)]
    action: Option<PortsAction>,
    /// Print one JSON array on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum PortsAction {
    /// Wait until PORT accepts connections (exit 1 on timeout).
    Await {
        port: u16,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        timeout: u64,
    },
}

pub(crate) fn run(args: &PortsArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    let engine = global.engine(&options.host_env)?;
    let target = Target::new(
        &loaded.workspace,
        &options.host_env,
        0,
        &Persisted::default(),
    )?;
    let info = target.find(&engine)?;
    let reports = up::observe_ports(&target, info.as_ref());
    if let Some(PortsAction::Await { port, timeout }) = &args.action {
        let Some(report) = reports
            .iter()
            .find(|r| r.port <= *port && *port <= r.end.unwrap_or(r.port))
        else {
            return Err(Error::Usage {
                message: format!("port {port} is not published by this workspace"),
                help: Some("`devboot ports` lists the published ports".into()),
            });
        };
        let host_port = report.host_port + (port - report.port);
        let binding = target
            .bindings
            .iter()
            .find(|b| b.host_port_of(*port).is_some())
            .cloned();
        let addr = binding.map_or_else(
            || std::net::SocketAddr::from(([127, 0, 0, 1], host_port)),
            |mut b| {
                b.host_port = host_port;
                b.probe_addr()
            },
        );
        ui::line(&format!("awaiting port {port}..."));
        if ports::wait_tcp(addr, Instant::now() + Duration::from_secs(*timeout)) {
            ui::stdout(&format!("port {port} is served: {}\n", report.url))?;
            return Ok(exit::OK);
        }
        return Err(Error::PortNotReady {
            port: *port,
            label: report.label.clone(),
            seconds: *timeout,
            task: None,
            tail: Vec::new(),
        });
    }
    if args.json {
        ui::stdout(&format!(
            "{}\n",
            serde_json::to_string(&reports).expect("ports serialize")
        ))?;
    } else if reports.is_empty() {
        ui::stdout("no ports configured\n")?;
    } else {
        let mut out = format!(
            "{:<12} {:<16} {:<10} {:<22} {:<11} {}\n",
            "PORT", "NAME", "VISIBILITY", "HOST", "STATE", "URL"
        );
        for r in &reports {
            let port = r
                .end
                .map_or(r.port.to_string(), |e| format!("{}-{e}", r.port));
            let visibility = match r.visibility {
                crate::workspace::Visibility::Public => "public",
                crate::workspace::Visibility::Private => "private",
            };
            let _ = writeln!(
                out,
                "{port:<12} {:<16} {visibility:<10} {:<22} {:<11} {}",
                r.label.as_deref().unwrap_or("-"),
                format!("{}:{}", r.host_ip, r.host_port),
                r.state,
                r.url
            );
        }
        ui::stdout(&out)?;
    }
    Ok(exit::OK)
}
