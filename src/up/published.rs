//! The workspace's published ports as `up` and the commands after it see them: free before
//! a container is made (`check_ports`), waited for once its tasks run (`wait_for_ports`,
//! which says why a port did not get ready), observed without waiting (`observe_ports`),
//! and read back from an existing container (`existing_target`, which recovers the
//! `--port-offset` it was made with).
//!
//! Probing itself (what counts as served, as answering HTTP) is `crate::ports`'s.

use std::time::{Duration, Instant};

use super::listening::Listening;
use super::{Persisted, PortReport, Target};
use crate::container::{ContainerSpec, LABEL_SPEC};
use crate::engine::{ContainerInfo, Engine};
use crate::error::{Error, Result};
use crate::lifecycle::{self, ContainerFacts, LaneReport, Output, Place, Tail};
use crate::ports::{self, Binding};
use crate::workspace::{EnvMap, Workspace};

/// Fails before anything is made when a host port is taken by something other than the
/// workspace's own (old) container. Binding the address is the test (it sees processes and
/// docker's proxy alike); the engine is asked only about a taken port, to name the
/// container holding it.
pub(super) fn check_ports(
    engine: &Engine,
    target: &Target,
    ours: Option<&ContainerInfo>,
) -> Result<()> {
    // A remote engine's ports are that machine's: the engine itself says when one is
    // taken there (and the forward, when one is taken here).
    if target.backend.remote().is_some() {
        return Ok(());
    }
    // Those Compose publishes are checked against the compose files (`compose.rs`).
    for binding in target.bindings.iter().filter(|b| b.port.publish) {
        for host_port in binding.host_port..=binding.last_host_port() {
            let ip = if binding.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                binding.host_ip.as_str()
            };
            if std::net::TcpListener::bind((ip, host_port)).is_ok() {
                continue;
            }
            let users = engine.containers_publishing(host_port).unwrap_or_default();
            if let Some(ours) = ours
                && users.iter().any(|u| u == ours.short_name())
            {
                continue;
            }
            return Err(Error::PortTaken {
                port: host_port,
                host_ip: ip.to_string(),
                by: users.into_iter().next(),
            });
        }
    }
    Ok(())
}

/// Looks once at each published port (not a range): one quick request to those that must
/// answer HTTP, the container's socket table for the others (when it can be read from the
/// host). `Ok` with the host ports seen served when all are (`wait` then need not look at
/// them again), `Err` when one is not: its server may have died.
pub(super) fn ports_answer(
    target: &Target,
    listening: &Listening<'_>,
) -> std::result::Result<Vec<u16>, ()> {
    let mut answered = Vec::new();
    for binding in target.bindings.iter().filter(|b| !b.port.is_range()) {
        if wants_http(binding) {
            if !ports::http_responds(
                binding.probe_addr_in(&target.environment),
                Duration::from_millis(300),
                tls(binding),
            ) {
                return Err(());
            }
            answered.push(binding.host_port);
        } else if listening.readable_here() {
            match listening.reachable(binding.port.port) {
                Some(false) => return Err(()),
                Some(true) => answered.push(binding.host_port),
                None => {}
            }
        }
    }
    Ok(answered)
}

/// Whether a port must answer HTTP to count as ready: it says it speaks HTTP, or it has
/// a name (a named port is a service someone will open).
fn wants_http(binding: &Binding) -> bool {
    binding.port.protocol.is_some() || binding.port.label.is_some()
}

/// Whether the port's server speaks TLS (`protocol: https`).
fn tls(binding: &Binding) -> bool {
    binding.port.protocol == Some(crate::workspace::Protocol::Https)
}

/// What waiting for the ports needs to know about the container and its lanes.
pub(super) struct PortWait<'a> {
    pub engine: &'a Engine,
    pub target: &'a Target,
    pub ws: &'a Workspace,
    pub facts: &'a ContainerFacts,
    pub place: Place,
    pub lanes: &'a [LaneReport],
    /// The container's socket table, for ports that need not answer HTTP.
    pub listening: &'a Listening<'a>,
    /// Container ports the container does not publish (made by another tool): not waited
    /// for, since nothing on the host can reach them.
    pub unpublished: &'a [u16],
}

impl PortWait<'_> {
    /// Waits until every published port is served (answers HTTP when it should; for other
    /// ports, something listens behind it in the container), one progress line per port on
    /// a terminal. On timeout the error names the port, says what the container shows on
    /// it, and shows the last lines of the task most likely to serve it. A range is not
    /// waited for: it lists ports that may be served, not ones that must be. Meanwhile the
    /// servers' output (`tail`) is printed, the progress line out of its way. Host ports in
    /// `answered` were seen served during this `up` and are not looked at again. Nor is
    /// a port only a compose file publishes waited for.
    pub(super) fn wait(
        &self,
        wait: Option<Duration>,
        answered: &[u16],
        tail: &mut Tail,
        output: &Output,
    ) -> Result<Vec<PortReport>> {
        let deadline = wait.map(|w| Instant::now() + w);
        let mut reports = Vec::new();
        for binding in &self.target.bindings {
            // A port only a compose file publishes was not asked for: it may never be served.
            let asked =
                binding.port.publish || self.ws.ports.iter().any(|p| p.port == binding.port.port);
            let state = match deadline {
                _ if self.unpublished.contains(&binding.port.port) => "not published",
                Some(_) if answered.contains(&binding.host_port) => "ready",
                Some(deadline) if !binding.port.is_range() && asked && binding.port.awaited => {
                    self.wait_one(binding, deadline, wait, tail, output)?;
                    "ready"
                }
                _ => "not checked",
            };
            reports.push(report(
                self.target,
                binding,
                binding.host_port,
                &binding.host_ip,
                state,
            ));
        }
        Ok(reports)
    }

    fn wait_one(
        &self,
        binding: &Binding,
        deadline: Instant,
        wait: Option<Duration>,
        tail: &mut Tail,
        output: &Output,
    ) -> Result<()> {
        let addr = binding.probe_addr_in(&self.target.environment);
        let port = binding.port.port;
        // Served already (a warm `up`): no progress line to start and stop.
        if !wants_http(binding)
            && self.listening.readable_here()
            && self.listening.reachable(port) == Some(true)
        {
            return Ok(());
        }
        let progress = indicatif::ProgressBar::new_spinner().with_message(format!(
            "waiting for port {}{} on {addr}",
            binding.port.port,
            label_suffix(binding)
        ));
        progress.enable_steady_tick(Duration::from_millis(120));
        // A server's lane that ends while its port is waited for ends the wait at once.
        let mut ended = None;
        let tick = &mut || {
            if tail.has_news() {
                progress.suspend(|| tail.poll(output));
            }
            ended = tail.ended(output);
            ended.is_none()
        };
        // An HTTP answer proves a server by itself. For other ports the container's socket
        // table says whether something listens, at once; only where it cannot be read is a
        // connection held open to see whether docker's proxy closes it.
        let ready = if wants_http(binding) {
            ports::wait_http(addr, deadline, tls(binding), tick)
        } else if self.listening.readable_here() {
            wait_listening(self.listening, port, deadline, tick)
        } else {
            ports::wait_tcp(addr, deadline, tick)
        };
        progress.finish_and_clear();
        if ready {
            return Ok(());
        }
        if let Some(failure) = ended {
            let mut lanes = self.lanes.to_vec();
            for lane in lanes.iter_mut().filter(|l| l.name == failure.lane) {
                lane.state = lifecycle::LaneState::Failed;
                lane.exit_code = Some(failure.exit_code);
            }
            return Err(Error::TasksFailed {
                failures: vec![failure],
                container: self.target.name.clone(),
                lanes,
            });
        }
        let served = wants_http(binding) && ports::tcp_served(addr);
        Err(self.not_ready(binding, served, wait))
    }
}

/// Polls the socket table until something listens on `port` where the published port
/// reaches it, or `deadline` passes.
fn wait_listening(
    listening: &Listening<'_>,
    port: u16,
    deadline: Instant,
    tick: &mut dyn FnMut() -> bool,
) -> bool {
    loop {
        if !tick() {
            return false;
        }
        if listening.reachable(port) == Some(true) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(15).min(deadline - now));
    }
}

fn label_suffix(binding: &Binding) -> String {
    binding
        .port
        .label
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default()
}

fn report(
    target: &Target,
    binding: &Binding,
    host_port: u16,
    host_ip: &str,
    state: &'static str,
) -> PortReport {
    PortReport {
        port: binding.port.port,
        end: binding.port.is_range().then_some(binding.port.end),
        host_ip: host_ip.to_string(),
        host_port,
        label: binding.port.label.clone(),
        visibility: binding.port.visibility,
        url: target.environment.url(host_port),
        state,
    }
}

/// The error for a port that did not get ready: what the container shows on that port
/// (its socket table) and the last lines of the task most likely to serve it.
impl PortWait<'_> {
    fn not_ready(&self, binding: &Binding, served: bool, wait: Option<Duration>) -> Error {
        let (engine, target, ws, facts, place, lanes) = (
            self.engine,
            self.target,
            self.ws,
            self.facts,
            self.place,
            self.lanes,
        );
        let port = binding.port.port;
        let user = target.exec.user.as_deref();
        let sockets = self.listening.table();
        let listening = sockets
            .as_deref()
            .map(|text| ports::listening_addresses(text, port));
        let reason = match listening.as_deref() {
            _ if served => Some(format!(
                "it accepts connections on {} but does not answer {} there",
                binding.probe_addr_in(&target.environment),
                if tls(binding) { "HTTPS" } else { "HTTP" }
            )),
            Some([]) => Some(format!("nothing listens on port {port} in the container")),
            Some(addresses) if addresses.iter().all(std::net::IpAddr::is_loopback) => {
                Some(format!(
                    "in the container it listens on {} only, which the host cannot reach: make it listen on 0.0.0.0",
                    addresses
                        .iter()
                        .map(|a| std::net::SocketAddr::new(*a, port).to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ))
            }
            _ => None,
        };
        let task = likely_server(ws, lanes, port);
        let tail = task
            .as_ref()
            .and_then(|t| lifecycle::lane_ids(ws).get(t).cloned())
            .map(|id| match place {
                // devboot's container: the log is right here on the host.
                Place::State => target.state.log_tail(&id, 15),
                Place::Home => lifecycle::log_tail(engine, facts, user, place, &id, 15),
            })
            .unwrap_or_default();
        Error::PortNotReady {
            port,
            label: binding.port.label.clone(),
            seconds: wait.unwrap_or_default().as_secs(),
            reason,
            task,
            tail,
            log: None,
        }
    }
}

/// Where each port of a container stands now, without waiting: `not served` (nothing
/// accepts connections), `served` (something does), `ready` (and answers HTTP when the
/// port should). Host ports are read from the container when it publishes them. The ports
/// are probed in parallel: a served port that stays silent costs a fraction of a second.
pub fn observe_ports(target: &Target, info: Option<&ContainerInfo>) -> Vec<PortReport> {
    let running = info.is_some_and(|i| i.state.running);
    std::thread::scope(|scope| {
        let probes: Vec<_> = target
            .bindings
            .iter()
            .map(|binding| {
                scope.spawn(move || {
                    let key = format!("{}/tcp", binding.port.port);
                    let published = info
                        .and_then(|i| i.network_settings.ports.get(&key))
                        .and_then(Option::as_ref)
                        .and_then(|b| b.first());
                    let mut bound = binding.clone();
                    if let Some(p) = published {
                        bound.host_port = p.host_port.parse().unwrap_or(binding.host_port);
                        bound.host_ip = if p.host_ip.is_empty() {
                            "0.0.0.0".into()
                        } else {
                            p.host_ip.clone()
                        };
                    }
                    let addr = bound.probe_addr_in(&target.environment);
                    let state = if !running {
                        "not served"
                    } else if published.is_none() && !binding.port.is_range() {
                        // Made by another tool without it: nothing on the host reaches it.
                        "not published"
                    } else if wants_http(&bound)
                        && ports::http_responds(addr, Duration::from_millis(500), tls(&bound))
                    {
                        "ready"
                    } else if !ports::tcp_served(addr) {
                        "not served"
                    } else if wants_http(&bound) {
                        "served"
                    } else {
                        "ready"
                    };
                    report(target, binding, bound.host_port, &bound.host_ip, state)
                })
            })
            .collect();
        probes
            .into_iter()
            .map(|p| p.join().expect("a port probe does not panic"))
            .collect()
    })
}

/// The configured ports a container another tool made does not publish, each said at once
/// with the way out (the reference CLI forwards ports through the IDE, not by publishing).
pub(super) fn unpublished(target: &Target, info: &ContainerInfo) -> Vec<u16> {
    let missing: Vec<u16> = target
        .bindings
        .iter()
        .filter(|b| !b.port.is_range() && published_host_port(info, b.port.port).is_none())
        .map(|b| b.port.port)
        .collect();
    for port in &missing {
        crate::ui::warning(&format!(
            "port {port} is not published by container {} (another tool made it), so nothing on this machine reaches it; `devboot up --recreate` makes a container that publishes it",
            info.short_name()
        ));
    }
    missing
}

/// The lane most likely to serve `port`: one whose commands mention it (as a number, not
/// inside a longer one), else the only long-running one.
pub(super) fn likely_server(ws: &Workspace, lanes: &[LaneReport], port: u16) -> Option<String> {
    for stage in &ws.stages {
        for lane in &stage.lanes {
            if lane
                .steps
                .iter()
                .any(|s| mentions_number(&s.command.to_string(), port))
            {
                return Some(lane.name.clone());
            }
        }
    }
    let running: Vec<&LaneReport> = lanes
        .iter()
        .filter(|l| l.state == lifecycle::LaneState::Running)
        .collect();
    (running.len() == 1).then(|| running[0].name.clone())
}

/// True when `text` holds `number` with no digit right before or after it.
fn mentions_number(text: &str, number: u16) -> bool {
    let needle = number.to_string();
    text.match_indices(&needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// The host port a running container publishes container port `port` on.
pub fn published_host_port(info: &ContainerInfo, port: u16) -> Option<u16> {
    info.network_settings
        .ports
        .get(&format!("{port}/tcp"))?
        .as_ref()?
        .first()?
        .host_port
        .parse()
        .ok()
}

/// The port offset a container was made with, read back from the spec devboot labelled it
/// with: the difference between a published host port and the one the config asks for.
pub fn port_offset_of(target: &Target, info: &ContainerInfo) -> Option<u16> {
    let spec: ContainerSpec = serde_json::from_str(info.label(LABEL_SPEC)?).ok()?;
    spec.publish.iter().find_map(|publish| {
        // `ip:host:container`, `[v6]:host:container`, ranges as `a-b`.
        let mut parts = publish.rsplitn(3, ':');
        let container = parts.next()?.split('-').next()?.parse::<u16>().ok()?;
        let host = parts.next()?.split('-').next()?.parse::<u16>().ok()?;
        let binding = target.bindings.iter().find(|b| b.port.port == container)?;
        host.checked_sub(binding.host_port.checked_sub(target.port_offset)?)
    })
}

/// The target of a workspace as it exists: commands that look at a workspace (`ports`,
/// `url`, `env`, `status`) see the host ports and URLs its container was made with, also
/// when `up` had a `--port-offset`. `offset` given by the user wins. Without an engine (or a
/// container), the config's ports with `offset` (or none) are used.
pub fn existing_target(
    ws: &Workspace,
    host_env: &EnvMap,
    persisted: &Persisted,
    engine: Option<&Engine>,
    offset: Option<u16>,
) -> Result<(Target, Option<ContainerInfo>)> {
    let target = Target::new(ws, host_env, offset.unwrap_or(0), persisted)?;
    let Some(engine) = engine else {
        return Ok((target, None));
    };
    let info = target.find(engine)?;
    let found = match (&info, offset) {
        (Some(info), None) => port_offset_of(&target, info).filter(|o| *o != 0),
        _ => None,
    };
    match found {
        Some(offset) => Ok((Target::new(ws, host_env, offset, persisted)?, info)),
        None => Ok((target, info)),
    }
}
