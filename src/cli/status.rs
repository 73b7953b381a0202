//! `devboot status [--json]`: the container, each task and hook, each port.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::Global;
use crate::config;
use crate::error::{Result, exit};
use crate::lifecycle::{self, ContainerFacts, LaneReport, LaneState};
use crate::ports;
use crate::ui;
use crate::up::{PortReport, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    /// `none` when there is no container, else the engine's state (`running`, `exited`...).
    state: String,
    container_id: Option<String>,
    container_name: Option<String>,
    tasks: Vec<LaneReport>,
    ports: Vec<PortReport>,
}

pub(crate) fn run(args: &StatusArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    let ws = &loaded.workspace;
    let engine = global.engine(&options.host_env)?;
    let target = Target::new(ws, &options.host_env, 0)?;
    let info = target.find(&engine)?;
    let mut status = Status {
        state: info
            .as_ref()
            .map_or("none".into(), |i| i.state.status.clone()),
        container_id: info.as_ref().map(|i| i.id.clone()),
        container_name: info.as_ref().map(|i| i.short_name().to_string()),
        tasks: Vec::new(),
        ports: Vec::new(),
    };
    if let Some(info) = &info {
        let facts = ContainerFacts {
            id: info.id.clone(),
            created: info.created.clone(),
            started: info.state.started_at.clone(),
        };
        let seen = if info.state.running {
            lifecycle::observe(&engine, ws, &facts, target.exec.user.as_deref())?
        } else {
            lifecycle::Observed::default()
        };
        status.tasks = lifecycle::states(ws, &facts, &seen);
        if !info.state.running {
            for task in &mut status.tasks {
                if task.state == LaneState::Running {
                    task.state = LaneState::Stopped;
                }
            }
        }
        // Ports as the container really publishes them.
        for binding in &target.bindings {
            let key = format!("{}/tcp", binding.port.port);
            let published = info
                .network_settings
                .ports
                .get(&key)
                .and_then(|b| b.as_ref())
                .and_then(|b| b.first());
            let host_port = published
                .and_then(|b| b.host_port.parse().ok())
                .unwrap_or(binding.host_port);
            let mut bound = binding.clone();
            bound.host_port = host_port;
            let ready = info.state.running
                && ports::wait_tcp(
                    bound.probe_addr(),
                    Instant::now() + Duration::from_millis(200),
                );
            status.ports.push(PortReport {
                port: binding.port.port,
                end: binding.port.is_range().then_some(binding.port.end),
                host_ip: published.map_or(binding.host_ip.clone(), |b| b.host_ip.clone()),
                host_port,
                label: binding.port.label.clone(),
                visibility: binding.port.visibility,
                url: target.environment.url(host_port),
                state: if ready { "ready" } else { "not served" },
            });
        }
    }
    if args.json {
        let mut text = serde_json::to_string(&status).expect("status serializes");
        text.push('\n');
        ui::stdout(&text)?;
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "container {} {}",
            status.container_name.as_deref().unwrap_or("(none)"),
            status.state
        );
        for t in &status.tasks {
            let code = t
                .exit_code
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  task {:<24} {:?}{code}", t.name, t.state);
        }
        for p in &status.ports {
            let _ = writeln!(out, "  port {:<24} {:<10} {}", p.port, p.state, p.url);
        }
        ui::stdout(&out.to_lowercase())?;
    }
    Ok(exit::OK)
}
