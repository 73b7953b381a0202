//! `up` inside the very workspace its config describes (a Codespace, a VS Code Dev
//! Container, a `DevPod` workspace, or `--in-place`): no container is made; the hooks run
//! here, the exec way (`lifecycle::Shell::Here`), with the same run-once rules, markers,
//! detached long-running lanes and restarts as in a container another tool made; ports are
//! waited for on this machine's loopback; the workspace env goes into a profile file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::lifecycle::{self, ContainerFacts, Output, Place, Shell};
use crate::ports::{self, Binding};
use crate::ui;
use crate::workspace::{EnvMap, Protocol, Timing, Workspace};

use super::in_gitpod::runs_inside_its_own_gitpod;
use super::lanes::ExecLanes;
use super::{Action, PortReport, Target, UpOptions, UpReport, lock};

/// Where the lanes' logs are in place (`devboot logs`, `status`).
pub const PLACE: Place = Place::Home;

/// Where devboot runs, when it runs inside the workspace its config describes: the words
/// of the one-line note. `flag` is `--in-place` (`Some(true)`) or `--no-in-place`
/// (`Some(false)`). A `.gitpod.yml` inside its own Gitpod workspace keeps its own rule.
pub fn in_place(ws: &Workspace, host_env: &EnvMap, flag: Option<bool>) -> Option<&'static str> {
    match flag {
        Some(true) => return Some("as --in-place asks"),
        Some(false) => return None,
        None if runs_inside_its_own_gitpod(ws, host_env) => return None,
        None => {}
    }
    platform(host_env)
}

/// The platform whose workspace devboot runs in, from the variables each sets in it.
pub fn platform(host_env: &EnvMap) -> Option<&'static str> {
    let set = |name: &str| host_env.get(name).is_some_and(|v| v == "true");
    if set("CODESPACES") {
        Some("inside this Codespace")
    } else if set("REMOTE_CONTAINERS") {
        Some("inside VS Code's dev container")
    } else if set("DEVPOD") {
        Some("inside this DevPod workspace")
    } else {
        None
    }
}

/// Brings the workspace up here. `why` is what [`in_place`] said.
pub fn up_in_place(
    ws: &Workspace,
    host_env: &EnvMap,
    persisted: &super::Persisted,
    options: &UpOptions,
    why: &str,
) -> Result<UpReport> {
    ui::note(&format!("running in place ({why}): no container is made"));
    // Nothing is published here, so there is nothing to offset.
    let target = Target::new(ws, host_env, 0, persisted)?;
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
    let shell = Shell::Here;
    let seen = lifecycle::observe_with(&shell, &resolved)?;
    let facts = stand_in_facts(&resolved, &seen.markers);
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
    let mut env = target.spec.env.clone();
    env.extend(exec.env.clone());
    // Secrets stay out of a file every shell reads (`devboot env` prints them).
    env.retain(|name, _| !target.secret_names.contains(name));
    write_profile(&env, host_env);
    let changed = result.lanes.iter().any(|l| l.ran);
    if changed {
        crate::expose::apply_visibility(&target.environment, &target.bindings, host_env);
    }
    let ports = wait_ports(&target, options.wait)?;
    for (binding, report) in target.bindings.iter().zip(&ports) {
        if report.state == "ready" {
            crate::expose::announce(binding, &report.url, changed, false, host_env);
        }
    }
    Ok(UpReport {
        container_id: String::new(),
        container_name: String::new(),
        action: Action::InPlace,
        image: target.spec.image.clone(),
        workspace_folder: exec.folder,
        environment: target.environment.name(),
        tasks: result.lanes,
        ports,
        engine_calls: 0,
    })
}

/// Stand-ins for the container's timestamps, which devboot cannot ask an engine for here.
/// "Started" is this machine's current start: its boot time and PID 1's start time (the
/// runner keys its lanes on the latter too), new at every container start and the same
/// for every `up` in between. "Created" must outlive restarts: the stamp already in a
/// once-per-container marker (the platform's CLI wrote the container's creation time there,
/// or an earlier in-place `up` its stand-in; the home folder lives as long as the
/// container), else the current start, which the markers then keep.
pub fn stand_in_facts(
    ws: &Workspace,
    markers: &std::collections::HashMap<String, String, impl std::hash::BuildHasher>,
) -> ContainerFacts {
    let started = machine_start();
    let created = ws
        .stages
        .iter()
        .flat_map(|s| &s.lanes)
        .flat_map(|l| &l.steps)
        .filter(|st| st.phase.timing() == Timing::OncePerContainer)
        .filter_map(|st| lifecycle::hook_marker(st.phase))
        .filter_map(|m| markers.get(&m))
        .filter(|stamp| !stamp.is_empty())
        .min()
        .cloned()
        .unwrap_or_else(|| started.clone());
    ContainerFacts {
        id: String::new(),
        created,
        started,
    }
}

/// This machine's boot time and PID 1's start time, as one stamp.
fn machine_start() -> String {
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ").map(|v| v.trim().to_string()))
        })
        .unwrap_or_default();
    // Field 22 of /proc/1/stat; the command name before it may hold spaces, so count from
    // the closing parenthesis.
    let pid1 = std::fs::read_to_string("/proc/1/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            rest.split_whitespace().nth(19).map(String::from)
        })
        .unwrap_or_default();
    format!("in-place {boot} {pid1}")
}

/// Writes the profile file; a failure is a warning, not a failed `up`: the workspace runs.
fn write_profile(env: &EnvMap, host_env: &EnvMap) {
    let Some(home) = host_env.get("HOME").filter(|h| !h.is_empty()) else {
        return;
    };
    // Where system profile snippets live; an image with another layout (or a test) says so.
    let profile_d = host_env
        .get("DEVBOOT_PROFILE_DIR")
        .map_or_else(|| PathBuf::from("/etc/profile.d"), PathBuf::from);
    if let Err(err) = crate::env::write_profile(env, &profile_d, Path::new(home)) {
        ui::warning(&format!(
            "new shells will not see the workspace environment: {err} (`eval \"$(devboot env)\"` puts it in a shell)"
        ));
    }
}

/// Waits for every port on this machine's loopback (nothing is published in place).
fn wait_ports(target: &Target, wait: Option<Duration>) -> Result<Vec<PortReport>> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    let mut out = Vec::new();
    for binding in &target.bindings {
        let port = binding.port.port;
        let state = match wait {
            None => "not checked",
            Some(_) if answers_until(binding, deadline) => "ready",
            Some(limit) => {
                return Err(Error::PortNotReady {
                    port,
                    label: binding.port.label.clone(),
                    seconds: limit.as_secs(),
                    reason: nothing_listens(port)
                        .then(|| format!("nothing listens on port {port} on this machine")),
                    task: None,
                    tail: Vec::new(),
                });
            }
        };
        out.push(PortReport {
            port,
            end: binding.port.is_range().then_some(binding.port.end),
            host_ip: "127.0.0.1".into(),
            host_port: port,
            label: binding.port.label.clone(),
            visibility: binding.port.visibility,
            url: target.environment.url(port),
            state,
        });
    }
    Ok(out)
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
mod tests {
    use super::*;

    #[test]
    fn the_machine_start_is_the_same_twice() {
        assert_eq!(machine_start(), machine_start());
        assert_ne!(machine_start(), "in-place  ");
    }
}
