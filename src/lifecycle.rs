//! Which task and hook runs when, and running them.
//!
//! The model's stages run one after another, the lanes of a stage in parallel. A lane (a
//! Gitpod task, or one entry of a devcontainer hook) runs detached in the container, in its
//! own session, with its own log, through the embedded runner (`lifecycle/runner.sh`): so
//! servers keep running after `up` returns, and devboot can later tell whether each is
//! alive and restart it.
//!
//! Two ways to run, one set of rules:
//! - A container devboot made has a state folder shared with the host (`crate::state`).
//!   devboot writes a *plan* (the due lanes as a shell script) there; the container's
//!   entrypoint runs it at start, or one `docker exec -d` does; devboot follows the lanes'
//!   files from the host (`plan.rs`, `follow.rs`). Knowing what runs costs no engine call.
//! - A container another tool made has no such folder: each lane is one `docker exec` of the
//!   runner, and one more exec asks where the lanes stand (`exec.rs`).
//!
//! Run-once rules:
//! - devcontainer `onCreate`/`updateContent`/`postCreate`: once per container, recorded in
//!   the reference CLI's own marker files (`~/.devcontainer/.<hook>Marker` holding the
//!   container's creation time) so either tool handles a container made by the other. Unlike
//!   the reference, markers are written only after the hook succeeded.
//! - `postStartCommand`: once per container start (`.postStartCommandMarker` holds the start
//!   time); run again when processes it left in the background have died.
//! - `postAttachCommand`: at every `up`. `initializeCommand`: on the host at every `up`.
//! - Gitpod task: `before` and `command` at every container start, `init` once per
//!   container; all three run in one shell so `cd` and `export` carry over, as in a Gitpod
//!   terminal.

mod exec;
mod follow;
mod host;
mod names;
mod output;
mod plan;
mod shell;

use std::collections::HashMap;

use serde::Serialize;

pub use exec::{
    Runner, commit_markers, confirm_alive, log_tail, log_tail_with, observe, observe_with,
};
pub use follow::{Tail, follow};
pub use host::run_host;
pub use names::{find_lanes, lane_id, lane_ids, shown_lanes};
pub use output::Output;
pub use plan::{Plan, compose, fresh, observe_before_start, observe_state};
pub use shell::Shell;

use crate::workspace::{Command, EnvMap, Lane, Phase, Stage, Timing, Workspace};

/// The runner script.
pub const RUNNER: &str = include_str!("lifecycle/runner.sh");

/// How many output lines of a lane are kept for failure reports.
const TAIL_LINES: usize = 15;

/// Where a container keeps its lanes' state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// devboot's state folder, shared with the host.
    State,
    /// Under the remote user's home (a container another tool made).
    Home,
}

impl Place {
    fn lanes_root(self) -> &'static str {
        match self {
            Place::State => "/.devboot/run/lanes",
            Place::Home => "~/.devboot/lanes",
        }
    }
}

/// A lane's state folder in the container.
pub fn lane_dir(place: Place, id: &str) -> String {
    format!("{}/{id}", place.lanes_root())
}

/// A lane's log file in the container.
pub fn lane_log(place: Place, id: &str) -> String {
    format!("{}/log", lane_dir(place, id))
}

/// Where one lane stands, as observed (from the state folder or the runner's `status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneStatus {
    /// Ran in the container's current start.
    pub current: bool,
    pub exit: Option<i32>,
    /// Last phase it reached (Gitpod lanes).
    pub phase: Option<String>,
    /// Its main process is alive.
    pub alive: bool,
    /// Some process it left running (a server it started) is alive.
    pub session: bool,
    /// It left processes running when its main process ended.
    pub background: bool,
}

/// What is known about the container's lanes and run-once markers before anything runs.
/// A marker maps to the container timestamp it holds (creation or start time).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub lanes: HashMap<String, LaneStatus>,
    pub markers: HashMap<String, String>,
}

/// The state of a lane, as `up` and `status` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LaneState {
    /// Not run yet (in this container, or this start for per-start lanes).
    Pending,
    /// Its long-running command (or a server it started) is running.
    Running,
    Done,
    Failed,
    /// Its long-running command ended or died.
    Stopped,
}

/// One lane of the workspace, with where it stands.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneReport {
    pub name: String,
    /// Stage (hook name, or `tasks`).
    pub stage: String,
    pub state: LaneState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Phase it failed in, for Gitpod lanes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_phase: Option<String>,
    /// `up` ran it this time.
    pub ran: bool,
    /// `up` ran it again because its long-running part had died.
    pub restarted: bool,
    /// Path of its log file in the container.
    pub log: String,
}

/// The container facts that run-once decisions depend on.
#[derive(Debug, Clone)]
pub struct ContainerFacts {
    pub id: String,
    /// `Created`, as the engine prints it.
    pub created: String,
    /// `State.StartedAt`.
    pub started: String,
}

/// How in-container commands are run: as whom, where, with what environment.
#[derive(Debug, Clone)]
pub struct ExecContext {
    pub user: Option<String>,
    pub folder: String,
    /// Remote env plus persisted variables; lane env goes on top.
    pub env: EnvMap,
    /// Whose shell profile the commands see (under `env`).
    pub probe: crate::workspace::Probe,
}

/// Where a container's runner keeps what the user's shell profile set (see
/// `runner.sh probe`): in the container's half of the state folder, read only inside it.
pub const PROBE_FILE: &str = "/.devboot/run/probe.sh";

/// A lane that failed.
#[derive(Debug, Clone)]
pub struct LaneFailure {
    pub lane: String,
    pub stage: String,
    pub phase: Option<String>,
    pub exit_code: i32,
    /// Its last output lines.
    pub tail: Vec<String>,
}

/// What running the lifecycle did.
#[derive(Debug, Default)]
pub struct RunResult {
    pub lanes: Vec<LaneReport>,
    pub failures: Vec<LaneFailure>,
    /// Marker files to write now that their hooks succeeded (path, content): the exec way
    /// only; a plan writes its own.
    pub markers: Vec<(String, String)>,
    /// The logs to read on while `up` waits for the ports (a plan's lanes only).
    pub tail: Tail,
}

/// The init marker of a Gitpod lane in a container another tool made.
fn gitpod_init_marker(id: &str) -> String {
    format!("~/.devboot/markers/{id}.init")
}

/// The reference CLI's marker of a devcontainer hook.
pub fn hook_marker(phase: Phase) -> Option<String> {
    match phase.timing() {
        Timing::OncePerContainer | Timing::EveryStart
            if phase != Phase::Init && phase != Phase::Before =>
        {
            Some(format!("~/.devcontainer/.{}Marker", phase.as_str()))
        }
        _ => None,
    }
}

/// The marker a stage's success is recorded in, and which container timestamp it holds.
/// One marker per hook, as the reference CLI keeps it: when an image's Features add
/// stages of a hook before the config's own, only the hook's last stage writes it (the
/// hook is done when all of them are).
fn stage_marker(ws: &Workspace, stage: &Stage) -> Option<(String, Timing)> {
    let (marker, timing) = hook_stage_marker(stage)?;
    let last = ws
        .stages
        .iter()
        .rev()
        .find(|s| hook_stage_marker(s).is_some_and(|(m, _)| m == marker));
    last.is_some_and(|s| std::ptr::eq(s, stage))
        .then_some((marker, timing))
}

/// The marker of the hook a stage belongs to.
fn hook_stage_marker(stage: &Stage) -> Option<(String, Timing)> {
    let phase = stage
        .lanes
        .first()
        .and_then(|l| l.steps.first())
        .map(|s| s.phase)?;
    hook_marker(phase).map(|m| (m, phase.timing()))
}

/// Why a lane runs this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// Never ran for this container / start, or runs every time.
    Due,
    /// Failed last time: retried.
    Retry,
    /// Its long-running part died: restarted.
    Restart,
}

/// What `up` does with a lane.
#[derive(Debug, Clone)]
struct LanePlan {
    id: String,
    run: Option<Reason>,
    /// Gitpod: include `init` (not done yet in this container).
    with_init: bool,
    /// Current state, when it does not run.
    state: LaneState,
}

fn plan_lane(stage: &Stage, lane: &Lane, facts: &ContainerFacts, seen: &Observed) -> LanePlan {
    let id = lane_id(stage, lane);
    let status = seen.lanes.get(&id).filter(|s| s.current);
    let phases: Vec<Phase> = lane.steps.iter().map(|s| s.phase).collect();
    let has_init = phases.contains(&Phase::Init);
    let long_running = phases.iter().any(|p| p.timing() == Timing::LongRunning);
    let init_done = has_init
        && seen
            .markers
            .get(&gitpod_init_marker(&id))
            // The exec way writes the container's creation time; a plan, its id.
            .is_some_and(|m| *m == facts.created || (!facts.id.is_empty() && *m == facts.id));
    let mut plan = LanePlan {
        id,
        run: None,
        with_init: has_init && !init_done,
        state: LaneState::Done,
    };

    let Some(first) = phases.first() else {
        return plan;
    };
    match first.timing() {
        Timing::HostEveryUp | Timing::EveryUp => plan.run = Some(Reason::Due),
        Timing::OncePerContainer | Timing::EveryStart if hook_marker(*first).is_some() => {
            let marker = hook_marker(*first).unwrap_or_default();
            let stamp = if first.timing() == Timing::OncePerContainer {
                &facts.created
            } else {
                &facts.started
            };
            let done = seen.markers.get(&marker).is_some_and(|m| m == stamp);
            plan.run = match (done, status) {
                (false, Some(s)) if s.exit.is_some_and(|c| c != 0) => Some(Reason::Retry),
                (false, _) => Some(Reason::Due),
                // A hook that left a server behind, which has died since.
                (true, Some(s)) if s.background && !s.session => Some(Reason::Restart),
                (true, Some(s)) if s.background => {
                    plan.state = LaneState::Running;
                    None
                }
                (true, _) => None,
            };
        }
        // A Gitpod task: before/init/command, keyed on the container start.
        _ => {
            plan.run = match status {
                None => Some(Reason::Due),
                Some(s) if s.alive => {
                    plan.state = LaneState::Running;
                    None
                }
                Some(s) => match s.exit {
                    Some(0) if !long_running => None,
                    Some(0) => {
                        plan.state = LaneState::Stopped;
                        None
                    }
                    Some(_) if long_running && s.phase.as_deref() == Some("command") => {
                        Some(Reason::Restart)
                    }
                    Some(_) => Some(Reason::Retry),
                    None => Some(Reason::Restart),
                },
            };
        }
    }
    plan
}

/// The script of a Gitpod lane: its phases in one shell, `&&`-joined as Gitpod's supervisor
/// composes them, with phase bookkeeping between them; `init_done` records a finished
/// `init`.
fn gitpod_script(lane: &Lane, with_init: bool, init: &InitRecord) -> String {
    let mut chain = Vec::new();
    for step in &lane.steps {
        let Command::Shell(text) = &step.command else {
            continue;
        };
        match step.phase {
            Phase::Init if !with_init => {}
            // The container itself says whether init ran in it (devboot's state of it may
            // have been lost): init runs once per container whatever happened.
            Phase::Init => {
                if let Some(check) = &init.done_here {
                    chain.push(format!(
                        "__devboot_phase init && {{ {check} || {{ {{\n{text}\n}} && {}; }}; }}",
                        init.record
                    ));
                } else {
                    chain.push(format!("__devboot_phase init && {{\n{text}\n}}"));
                    chain.push(init.record.clone());
                }
            }
            Phase::Command => {
                chain.push("__devboot_phase command && : > \"$DEVBOOT_LANE_DIR/ready\"".into());
                chain.push(format!("{{\n{text}\n}}"));
            }
            phase => chain.push(format!("__devboot_phase {phase} && {{\n{text}\n}}")),
        }
    }
    format!(
        "__devboot_phase() {{ printf '%s' \"$1\" > \"$DEVBOOT_LANE_DIR/phase\"; }}\n{}",
        chain.join(" && ")
    )
}

/// How a Gitpod lane records that its `init` succeeded, and (where the container can tell)
/// how it checks that it already did.
pub(crate) struct InitRecord {
    /// A command run right after `init` succeeded.
    pub(crate) record: String,
    /// A command that succeeds when `init` already ran in this container.
    pub(crate) done_here: Option<String>,
}

/// Whether a lane has a long-running part (it is followed until that starts, not ends).
fn long_running(lane: &Lane) -> bool {
    lane.steps
        .iter()
        .any(|s| s.phase.timing() == Timing::LongRunning)
}

/// The argv a lane runs in the container. Gitpod lanes get `init` (see [`gitpod_script`]).
fn lane_argv(stage: &Stage, lane: &Lane, with_init: bool, init: &InitRecord) -> Vec<String> {
    if is_gitpod_stage(stage) {
        return vec![
            "@shell".into(),
            "-c".into(),
            gitpod_script(lane, with_init, init),
        ];
    }
    match lane.steps.first().map(|s| &s.command) {
        Some(Command::Shell(text)) => vec!["/bin/sh".into(), "-c".into(), text.clone()],
        Some(Command::Exec(args)) => args.clone(),
        None => vec!["true".into()],
    }
}

fn is_gitpod_stage(stage: &Stage) -> bool {
    stage
        .lanes
        .iter()
        .flat_map(|l| &l.steps)
        .any(|s| matches!(s.phase, Phase::Before | Phase::Init | Phase::Command))
}

fn is_host_stage(stage: &Stage) -> bool {
    stage
        .lanes
        .iter()
        .flat_map(|l| &l.steps)
        .any(|s| s.phase.timing() == Timing::HostEveryUp)
}

fn report(
    stage: &Stage,
    lane: &Lane,
    plan: &LanePlan,
    place: Place,
    state: LaneState,
    failure: Option<&LaneFailure>,
) -> LaneReport {
    LaneReport {
        name: lane.name.clone(),
        stage: stage.name.clone(),
        state,
        exit_code: failure.map(|f| f.exit_code),
        failed_phase: failure.and_then(|f| f.phase.clone()),
        ran: plan.run.is_some(),
        restarted: plan.run == Some(Reason::Restart),
        log: lane_log(place, &plan.id),
    }
}

/// Every lane's state from what was observed, without running anything.
pub fn states(
    ws: &Workspace,
    facts: &ContainerFacts,
    seen: &Observed,
    place: Place,
) -> Vec<LaneReport> {
    let mut out = Vec::new();
    for stage in ws.stages.iter().filter(|s| !is_host_stage(s)) {
        for lane in &stage.lanes {
            let plan = plan_lane(stage, lane, facts, seen);
            let status = seen.lanes.get(&plan.id).filter(|s| s.current);
            let state = match (plan.run, status) {
                (None, _) => plan.state,
                (Some(Reason::Restart), _) => LaneState::Stopped,
                (Some(_), Some(s)) if s.exit.is_some_and(|c| c != 0) => LaneState::Failed,
                // It succeeded, though its stage as a whole did not (a sibling failed): it
                // runs again with the stage, but what it did is done.
                (Some(_), Some(s)) if s.exit == Some(0) => LaneState::Done,
                // Under way (a hook `up` left to the background, `waitFor`).
                (Some(_), Some(s)) if s.exit.is_none() && s.alive => LaneState::Running,
                (Some(_), _) => LaneState::Pending,
            };
            let mut lane_report = report(stage, lane, &plan, place, state, None);
            lane_report.ran = false;
            lane_report.restarted = false;
            lane_report.exit_code = status.and_then(|s| s.exit).filter(|c| *c != 0);
            out.push(lane_report);
        }
    }
    out
}

/// Runs a command, printing its output lines prefixed as they come; returns its exit code
/// and its last lines.
fn stream(
    cmd: &mut std::process::Command,
    name: &str,
    index: usize,
    output: &Output,
) -> std::io::Result<(i32, Vec<String>)> {
    let mut tail = std::collections::VecDeque::new();
    let status = crate::process::stream_lines(cmd, |line| {
        output.line(name, index, &line);
        tail.push_back(line);
        if tail.len() > TAIL_LINES {
            tail.pop_front();
        }
    })?;
    // Killed by a signal: report it as a shell would (128 + signal), SIGKILL when unknown.
    let code = status.code().unwrap_or(128 + 9);
    Ok((code, tail.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Step;

    pub(super) fn facts() -> ContainerFacts {
        ContainerFacts {
            id: "c".into(),
            created: "C1".into(),
            started: "S1".into(),
        }
    }

    pub(super) fn gitpod_lane() -> (Stage, Lane) {
        let lane = Lane {
            name: "backend".into(),
            env: EnvMap::new(),
            steps: vec![
                Step {
                    phase: Phase::Init,
                    command: Command::Shell("pip install".into()),
                },
                Step {
                    phase: Phase::Command,
                    command: Command::Shell("flask run".into()),
                },
            ],
        };
        (
            Stage {
                name: "tasks".into(),
                lanes: vec![lane.clone()],
            },
            lane,
        )
    }

    fn status(exit: Option<i32>, alive: bool, phase: &str) -> LaneStatus {
        LaneStatus {
            current: true,
            exit,
            phase: Some(phase.into()),
            alive,
            session: alive,
            background: false,
        }
    }

    #[test]
    fn gitpod_lane_runs_once_then_keeps_running_then_restarts() {
        let (stage, lane) = gitpod_lane();
        let mut seen = Observed::default();
        let plan = plan_lane(&stage, &lane, &facts(), &seen);
        assert_eq!((plan.run, plan.with_init), (Some(Reason::Due), true));

        seen.lanes
            .insert("tasks-backend".into(), status(None, true, "command"));
        seen.markers
            .insert("~/.devboot/markers/tasks-backend.init".into(), "C1".into());
        let plan = plan_lane(&stage, &lane, &facts(), &seen);
        assert_eq!((plan.run, plan.state), (None, LaneState::Running));

        seen.lanes
            .insert("tasks-backend".into(), status(Some(143), false, "command"));
        let plan = plan_lane(&stage, &lane, &facts(), &seen);
        assert_eq!((plan.run, plan.with_init), (Some(Reason::Restart), false));

        // A new container start runs the lane again, still without init.
        seen.lanes.get_mut("tasks-backend").unwrap().current = false;
        let plan = plan_lane(&stage, &lane, &facts(), &seen);
        assert_eq!((plan.run, plan.with_init), (Some(Reason::Due), false));
    }

    #[test]
    fn lanes_whose_names_share_a_slug_get_ids_of_their_own() {
        let (mut stage, lane) = gitpod_lane();
        let names = [
            "api server",
            "api-server",
            "Web",
            "web",
            "WEB",
            "Gitpod Task 7",
        ];
        stage.lanes = names
            .iter()
            .map(|name| Lane {
                name: (*name).into(),
                ..lane.clone()
            })
            .collect();
        let ids: Vec<String> = stage.lanes.iter().map(|l| lane_id(&stage, l)).collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), names.len(), "{ids:?}");
        // A name that is its own slug, or shares it with no other, keeps the plain id.
        assert_eq!(ids[1], "tasks-api-server");
        assert_eq!(ids[3], "tasks-web");
        assert_eq!(ids[5], "tasks-gitpod-task-7");
        assert!(ids[0].starts_with("tasks-api-server-"), "{ids:?}");
        assert!(ids.iter().all(|id| {
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        }));
    }

    #[test]
    fn failed_init_is_retried() {
        let (stage, lane) = gitpod_lane();
        let mut seen = Observed::default();
        seen.lanes
            .insert("tasks-backend".into(), status(Some(1), false, "init"));
        let plan = plan_lane(&stage, &lane, &facts(), &seen);
        assert_eq!((plan.run, plan.with_init), (Some(Reason::Retry), true));
    }

    #[test]
    fn hooks_use_the_reference_markers() {
        let lane = Lane {
            name: "onCreateCommand".into(),
            env: EnvMap::new(),
            steps: vec![Step {
                phase: Phase::OnCreateCommand,
                command: Command::Shell("x".into()),
            }],
        };
        let stage = Stage {
            name: "onCreateCommand".into(),
            lanes: vec![lane.clone()],
        };
        let mut seen = Observed::default();
        assert_eq!(
            plan_lane(&stage, &lane, &facts(), &seen).run,
            Some(Reason::Due)
        );
        seen.markers
            .insert("~/.devcontainer/.onCreateCommandMarker".into(), "C1".into());
        assert_eq!(plan_lane(&stage, &lane, &facts(), &seen).run, None);
    }

    #[test]
    fn gitpod_script_chains_phases() {
        let (_, lane) = gitpod_lane();
        let init = InitRecord {
            record: "DONE".into(),
            done_here: None,
        };
        let script = gitpod_script(&lane, true, &init);
        assert!(
            script.contains("__devboot_phase init && {\npip install\n} && DONE"),
            "{script}"
        );
        assert!(script.ends_with("{\nflask run\n}"), "{script}");
        assert!(!gitpod_script(&lane, false, &init).contains("pip install"));
        let checked = InitRecord {
            record: "DONE".into(),
            done_here: Some("CHECK".into()),
        };
        assert!(
            gitpod_script(&lane, true, &checked)
                .contains("__devboot_phase init && { CHECK || { {\npip install\n} && DONE; }; }"),
        );
    }
}
