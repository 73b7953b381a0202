//! `up` inside the very workspace its config describes (a Codespace, a VS Code Dev
//! Container, a `DevPod` workspace, the container devboot made, or `--in-place`): no
//! container is made; the hooks run here, the exec way (`lifecycle::Shell::Here`), with the
//! same run-once rules, markers, detached long-running lanes and restarts as in a container
//! another tool made; ports are waited for on this machine's loopback; the workspace env
//! goes into a profile file. `detect.rs` says when, `facts.rs` stands in for the engine's
//! timestamps.

mod detect;
mod facts;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::lifecycle::{self, LaneReport, Output, Place, Shell};
use crate::ports::{self, Binding};
use crate::ui;
use crate::workspace::{EnvMap, Protocol, Timing, Workspace};

pub(super) use detect::workspace_file_text;
pub use detect::{in_place, may_be_in_place, no_engine};
pub use facts::stand_in_facts;

use super::lanes::ExecLanes;
use super::published::likely_server;
use super::{Action, PortReport, Target, UpOptions, UpReport, lock};

/// Where the lanes' logs are in place (`devboot logs`, `status`).
pub const PLACE: Place = Place::Home;

/// What the runner exports to every task and hook it starts: a `devboot up` that finds it
/// runs as one of them (a `postStartCommand` of `devboot up`, run by devboot itself).
const LANE_VAR: &str = "DEVBOOT_LANE_DIR";

/// Brings the workspace up here. `why` is what [`in_place`] said.
pub fn up_in_place(
    ws: &Workspace,
    host_env: &EnvMap,
    persisted: &super::Persisted,
    options: &UpOptions,
    why: &str,
) -> Result<UpReport> {
    // Nothing is published here, so there is nothing to offset.
    let target = Target::new(ws, host_env, 0, persisted)?;
    if host_env.get(LANE_VAR).is_some_and(|v| !v.is_empty()) {
        // The devboot that started this hook holds the workspace's lock and waits for the
        // hook: running the hooks again here would wait for it in turn, for ever.
        ui::note(&format!(
            "running as a task of the devboot that brings this workspace up ({LANE_VAR} is set): it runs the hooks, so this one does nothing"
        ));
        return Ok(report(&target, ws, Vec::new(), Vec::new()));
    }
    ui::note(&format!("running in place ({why}): no container is made"));
    let _lock = lock(host_env, &target.devcontainer_id)?;
    if ws.stages.iter().any(|s| {
        s.lanes.iter().any(|l| {
            l.steps
                .iter()
                .any(|st| st.phase.timing() == Timing::HostEveryUp)
        })
    }) {
        ui::note(
            "initializeCommand is skipped in place: it ran on the host before this workspace's container was made",
        );
    }
    let (resolved, mut exec) = target.exec_with(ws, host_env);
    exec.user = None;
    exec.folder = ws.local_folder.display().to_string();
    // In a container the config's containerEnv is the container's own env; here it is
    // handed to each hook (a platform that set it already gets the same values).
    let mut env = target.spec.env.clone();
    env.extend(std::mem::take(&mut exec.env));
    exec.env = env;
    let shell = Shell::Here;
    let seen = lifecycle::observe_with(&shell, &resolved)?;
    let home = home(host_env);
    let facts = stand_in_facts(&resolved, &seen.markers, home.as_deref());
    let output = Output::new(ws);
    let lanes = ExecLanes {
        shell: &shell,
        ws: &resolved,
        facts: &facts,
        exec: &exec,
    };
    let result = lanes.run(&target, &seen, &output)?;
    if !result.failures.is_empty() {
        return Err(Error::TasksFailed {
            failures: result.failures,
            container: "(in place)".into(),
            lanes: result.lanes,
        });
    }
    // Secrets stay out of a file every shell reads (`devboot env` prints them).
    let mut profile = exec.env.clone();
    profile.retain(|name, _| !target.secret_names.contains(name));
    write_profile(&profile, host_env);
    let changed = result.lanes.iter().any(|l| l.ran);
    let first = first_up_of_this_start(home.as_deref());
    if changed || first {
        crate::expose::apply_visibility(&target.environment, &target.bindings, host_env);
    }
    let waiting = Waiting {
        target: &target,
        ws: &resolved,
        lanes: &result.lanes,
        home: home.as_deref(),
    };
    let ports = waiting.wait_ports(options.wait)?;
    for (binding, report) in target.bindings.iter().zip(&ports) {
        if report.state == "ready" {
            crate::expose::announce(binding, &report.url, changed, false, host_env);
        }
    }
    Ok(report(&target, ws, result.lanes, ports))
}

fn report(
    target: &Target,
    ws: &Workspace,
    tasks: Vec<LaneReport>,
    ports: Vec<PortReport>,
) -> UpReport {
    UpReport {
        container_id: String::new(),
        container_name: String::new(),
        action: Action::InPlace,
        image: target.spec.image.clone(),
        workspace_folder: ws.local_folder.display().to_string(),
        environment: target.environment.name(),
        tasks,
        ports,
        engine_calls: 0,
        engine: None,
    }
}

fn home(host_env: &EnvMap) -> Option<PathBuf> {
    host_env
        .get("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Whether this is the first in-place `up` since the container started (it records the
/// start it ran in): the platform may have run every hook, and the ports' visibility is
/// still to be set once.
fn first_up_of_this_start(home: Option<&Path>) -> bool {
    let Some(home) = home else { return true };
    let file = home.join(".devboot/in-place-start");
    let start = facts::machine_start();
    if std::fs::read_to_string(&file).is_ok_and(|s| s == start) {
        return false;
    }
    let _ = std::fs::create_dir_all(home.join(".devboot"));
    let _ = std::fs::write(&file, start);
    true
}

/// Writes the profile file; a failure is a warning, not a failed `up`: the workspace runs.
fn write_profile(env: &EnvMap, host_env: &EnvMap) {
    let Some(home) = home(host_env) else {
        return;
    };
    // Where system profile snippets live; an image with another layout (or a test) says so.
    let profile_d = host_env
        .get("DEVBOOT_PROFILE_DIR")
        .map_or_else(|| PathBuf::from("/etc/profile.d"), PathBuf::from);
    if let Err(err) = crate::env::write_profile(env, &profile_d, &home) {
        ui::warning(&format!(
            "new shells will not see the workspace environment: {err} (`eval \"$(devboot env)\"` puts it in a shell)"
        ));
    }
}

/// Waiting for the ports here, and saying which task should have served one that never
/// answered.
struct Waiting<'a> {
    target: &'a Target,
    ws: &'a Workspace,
    lanes: &'a [LaneReport],
    home: Option<&'a Path>,
}

impl Waiting<'_> {
    /// Waits for every port on this machine's loopback (nothing is published in place).
    fn wait_ports(&self, wait: Option<Duration>) -> Result<Vec<PortReport>> {
        let deadline = Instant::now() + wait.unwrap_or_default();
        let mut out = Vec::new();
        for binding in &self.target.bindings {
            let port = binding.port.port;
            let state = match wait {
                None => "not checked",
                Some(_) if answers_until(binding, deadline) => "ready",
                Some(limit) => return Err(self.not_ready(binding, limit)),
            };
            out.push(PortReport {
                port,
                end: binding.port.is_range().then_some(binding.port.end),
                host_ip: "127.0.0.1".into(),
                host_port: port,
                label: binding.port.label.clone(),
                visibility: binding.port.visibility,
                url: self.target.environment.url(port),
                state,
            });
        }
        Ok(out)
    }

    /// The error for a port that never answered: the last lines of the task most likely to
    /// serve it, and where its whole log is.
    fn not_ready(&self, binding: &Binding, limit: Duration) -> Error {
        let port = binding.port.port;
        let task = likely_server(self.ws, self.lanes, port);
        let id = task
            .as_ref()
            .and_then(|t| lifecycle::lane_ids(self.ws).get(t).cloned());
        let tail = id
            .as_ref()
            .map(|id| lifecycle::log_tail_with(&Shell::Here, PLACE, id, 15))
            .unwrap_or_default();
        let log = id.map(|id| {
            let log = lifecycle::lane_log(PLACE, &id);
            match (self.home, log.strip_prefix("~/")) {
                (Some(home), Some(rest)) => home.join(rest).display().to_string(),
                _ => log,
            }
        });
        Error::PortNotReady {
            port,
            label: binding.port.label.clone(),
            seconds: limit.as_secs(),
            reason: nothing_listens(port)
                .then(|| format!("nothing listens on port {port} on this machine")),
            task,
            tail,
            log,
        }
    }
}

/// Whether the port answers (HTTP when it has a label or protocol, else any server) before
/// `deadline`.
fn answers_until(binding: &Binding, deadline: Instant) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], binding.port.port));
    if binding.port.protocol.is_some() || binding.port.label.is_some() {
        let tls = binding.port.protocol == Some(Protocol::Https);
        return ports::wait_http(addr, deadline, tls, &mut || true);
    }
    loop {
        // A server that speaks HTTP says so at once; another one must stay open a moment.
        if ports::http_responds(addr, Duration::from_millis(500), false) || ports::tcp_served(addr)
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when this machine's socket tables show no listener on `port`.
fn nothing_listens(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().all(|table| {
        std::fs::read_to_string(table).map_or(true, |text| {
            ports::listening_addresses(&text, port).is_empty()
        })
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::workspace::Workspace;

    /// A workspace with no hooks, read from `config` in `folder`.
    pub(crate) fn workspace_at(folder: &str, config: &str) -> Workspace {
        let mut ws = crate::workspace::tests::workspace();
        ws.config_file = config.into();
        ws.local_folder = folder.into();
        ws
    }

    pub(crate) fn workspace() -> Workspace {
        workspace_at("/w", "/w/.devcontainer.json")
    }
}
