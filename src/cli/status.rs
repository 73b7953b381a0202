//! `devboot status [--json]`: the container, each task and hook, each port.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::Global;
use crate::config;
use crate::error::{Result, exit};
use crate::lifecycle::{self, ContainerFacts, LaneReport, LaneState};
use crate::ui;
use crate::up::{self, PortReport};

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// The tasks ran here, in the workspace devboot runs in (`up --in-place`).
    #[arg(long)]
    in_place: bool,
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
    /// The engine CLI and where its engine is (`docker, local`); none in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<String>,
}

pub(crate) fn run(args: &StatusArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    let ws = &loaded.workspace;
    let persisted = up::persisted_env(&options.host_env, &options.workspace_folder)?;
    if up::in_place(ws, &options.host_env, args.in_place.then_some(true)).is_some() {
        let status = in_place(ws, &options.host_env, &persisted)?;
        return print(&status, args.json);
    }
    let engine = global.engine(&options.host_env)?;
    let (target, info) =
        up::existing_target(ws, &options.host_env, &persisted, Some(&engine), None)?;
    // A container `up` gave dotfiles to has their lane too.
    let with_dotfiles = crate::dotfiles::recorded(ws, &target.state);
    let ws = with_dotfiles.as_ref().unwrap_or(ws);
    let container_env = info.as_ref().map(crate::engine::ContainerInfo::env);
    ui::set_secrets(crate::env::secret_values(
        ws,
        &persisted.values,
        &persisted.secrets,
        container_env.iter().flatten(),
    ));
    let mut status = Status {
        state: info
            .as_ref()
            .map_or("none".into(), |i| i.state.status.clone()),
        container_id: info.as_ref().map(|i| i.id.clone()),
        container_name: info.as_ref().map(|i| i.short_name().to_string()),
        tasks: Vec::new(),
        ports: Vec::new(),
        engine: Some(format!(
            "{}, {}{}",
            engine.kind.program(),
            crate::engine::location::Location::of(engine.kind, &options.host_env).describe(),
            crate::up::forward_state(&target)
                .map(|s| format!("; {s}"))
                .unwrap_or_default()
        )),
    };
    if let Some(info) = &info {
        let facts = ContainerFacts {
            id: info.id.clone(),
            created: info.created.clone(),
            started: info.state.started_at.clone(),
        };
        let ours = info.mounts_at(crate::state::MOUNT);
        let seen = if ours {
            // devboot's container: its state folder says it all, no exec.
            let state = &target.state;
            let observed = info
                .state
                .running
                .then(|| lifecycle::observe_state(ws, &facts, state))
                .flatten();
            observed.unwrap_or_else(|| lifecycle::observe_before_start(ws, &facts, state))
        } else if info.state.running {
            match lifecycle::observe(&engine, ws, &facts, target.exec.user.as_deref()) {
                Ok(seen) => seen,
                // It stopped between the inspect and the exec: report it stopped.
                Err(_)
                    if !engine
                        .inspect_container(&info.id)?
                        .is_some_and(|i| i.state.running) =>
                {
                    status.state = "exited".into();
                    lifecycle::Observed::default()
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            lifecycle::Observed::default()
        };
        let place = if ours {
            lifecycle::Place::State
        } else {
            lifecycle::Place::Home
        };
        status.tasks = lifecycle::states(ws, &facts, &seen, place);
        if status.state != "running" {
            for task in &mut status.tasks {
                if task.state == LaneState::Running {
                    task.state = LaneState::Stopped;
                }
            }
        }
    }
    status.ports = up::observe_ports(&target, info.as_ref());
    print(&status, args.json)
}

/// Where the workspace devboot runs in stands: its lanes, asked here, and its ports on
/// this machine's loopback.
fn in_place(
    ws: &crate::workspace::Workspace,
    host_env: &crate::workspace::EnvMap,
    persisted: &up::Persisted,
) -> Result<Status> {
    ui::set_secrets(crate::env::secret_values(
        ws,
        &persisted.values,
        &persisted.secrets,
        [],
    ));
    let target = up::Target::new(ws, host_env, 0, persisted)?;
    let seen = lifecycle::observe_with(&lifecycle::Shell::Here, ws)?;
    let home = host_env.get("HOME").map(std::path::Path::new);
    let facts = up::stand_in_facts(ws, &seen.markers, home);
    let ports = up::observe_ports(&target, None)
        .into_iter()
        .map(|mut p| {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p.port));
            p.state = if crate::ports::tcp_served(addr) {
                "ready"
            } else {
                "not served"
            };
            p
        })
        .collect();
    Ok(Status {
        state: "in place".into(),
        container_id: None,
        container_name: None,
        tasks: lifecycle::states(ws, &facts, &seen, up::IN_PLACE),
        ports,
        engine: None,
    })
}

fn print(status: &Status, json: bool) -> Result<u8> {
    if json {
        let mut text = serde_json::to_string(status).expect("status serializes");
        text.push('\n');
        ui::stdout(&text)?;
    } else {
        let mut out = String::new();
        if status.state == "in place" {
            out.push_str("workspace in place (no container)\n");
        } else {
            let engine = status
                .engine
                .as_deref()
                .map(|e| format!(" (engine: {e})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "container {} {}{engine}",
                status.container_name.as_deref().unwrap_or("(none)"),
                status.state
            );
        }
        for t in &status.tasks {
            let code = t
                .exit_code
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  task {:<24} {}{code}",
                t.shown_name(),
                state_word(t.state)
            );
        }
        for p in &status.ports {
            let _ = writeln!(out, "  port {:<24} {:<10} {}", p.port, p.state, p.url);
        }
        // Names as written: a task `Web` is not `web`.
        ui::stdout(&out)?;
    }
    Ok(exit::OK)
}

/// A lane's state as `--json` spells it.
fn state_word(state: LaneState) -> &'static str {
    match state {
        LaneState::Pending => "pending",
        LaneState::Running => "running",
        LaneState::Done => "done",
        LaneState::Failed => "failed",
        LaneState::Stopped => "stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_words_are_the_json_ones() {
        for state in [
            LaneState::Pending,
            LaneState::Running,
            LaneState::Done,
            LaneState::Failed,
            LaneState::Stopped,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state_word(state));
        }
    }
}
