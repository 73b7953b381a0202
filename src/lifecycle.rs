//! Which task and hook runs when, and running them.
//!
//! The model's stages run one after another, the lanes of a stage in parallel. Each
//! in-container lane is one `docker exec` of the embedded runner (`lifecycle/runner.sh`),
//! which starts the lane detached in its own session with a log file in the container, and
//! streams that log back until the lane ends, or, for a lane with a long-running Gitpod
//! `command`, until that command has started. So servers keep running after `up` returns,
//! and devboot can later tell whether each is alive (`status` verb) and restart it.
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
//!   container (marker `~/.devboot/markers/<lane>.init`); all three run in one shell so
//!   `cd` and `export` carry over, as in a Gitpod terminal.

use std::collections::{BTreeMap, HashMap};

use std::sync::Mutex;

use serde::Serialize;

use crate::container::slug;
use crate::engine::{Engine, EngineError};
use crate::workspace::{Command, EnvMap, Lane, Phase, Stage, Timing, Workspace};

/// The runner script, passed to `sh -c` on every exec.
pub const RUNNER: &str = include_str!("lifecycle/runner.sh");

/// Where lane state lives in the container (under the remote user's home).
const LANES_ROOT: &str = "~/.devboot/lanes";
/// How many output lines of a lane are kept for failure reports.
const TAIL_LINES: usize = 15;

/// What the runner's `status` verb reported for one lane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneStatus {
    /// The container start time when the lane was launched.
    pub start: String,
    pub exit: Option<i32>,
    /// Last phase it reached (Gitpod lanes).
    pub phase: Option<String>,
    /// Its main process is alive.
    pub alive: bool,
    /// Some process of its session is alive (a server it started counts).
    pub session: bool,
    /// It left processes running when its main process ended.
    pub background: bool,
}

/// What is known about the container's lanes and markers before anything runs.
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
}

/// A lane's stable id: its state folder name in the container.
pub fn lane_id(stage: &Stage, lane: &Lane) -> String {
    if lane.name == stage.name {
        slug(&stage.name)
    } else {
        format!("{}-{}", slug(&stage.name), slug(&lane.name))
    }
}

fn lane_dir(id: &str) -> String {
    format!("{LANES_ROOT}/{id}")
}

/// Log file of a lane in the container.
pub fn lane_log(id: &str) -> String {
    format!("{}/log", lane_dir(id))
}

fn gitpod_init_marker(id: &str) -> String {
    format!("~/.devboot/markers/{id}.init")
}

fn hook_marker(phase: Phase) -> Option<String> {
    match phase.timing() {
        Timing::OncePerContainer | Timing::EveryStart
            if phase != Phase::Init && phase != Phase::Before =>
        {
            Some(format!("~/.devcontainer/.{}Marker", phase.as_str()))
        }
        _ => None,
    }
}

/// Every marker file the workspace's lanes may have.
fn marker_paths(ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    for stage in &ws.stages {
        for lane in &stage.lanes {
            for step in &lane.steps {
                let marker = match step.phase {
                    Phase::Init => Some(gitpod_init_marker(&lane_id(stage, lane))),
                    phase => hook_marker(phase),
                };
                if let Some(m) = marker
                    && !out.contains(&m)
                {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// Asks the container where every lane stands (one exec).
pub fn observe(
    engine: &Engine,
    ws: &Workspace,
    facts: &ContainerFacts,
    user: Option<&str>,
) -> Result<Observed, EngineError> {
    let markers = marker_paths(ws);
    let mut argv = vec![
        "sh",
        "-c",
        RUNNER,
        "devboot-runner",
        "status",
        LANES_ROOT,
        &facts.started,
    ];
    argv.extend(markers.iter().map(String::as_str));
    let out = engine.exec_capture(&facts.id, user, &EnvMap::new(), &argv)?;
    Ok(parse_status(&out))
}

fn parse_status(out: &str) -> Observed {
    let mut observed = Observed::default();
    for line in out.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["lane", name, start, code, phase, alive, session, bg] => {
                observed.lanes.insert(
                    (*name).to_string(),
                    LaneStatus {
                        start: (*start).to_string(),
                        exit: code.parse().ok(),
                        phase: (*phase != "-").then(|| (*phase).to_string()),
                        alive: *alive == "1",
                        session: *session == "1",
                        background: *bg == "1",
                    },
                );
            }
            ["marker", path, content] => {
                observed
                    .markers
                    .insert((*path).to_string(), (*content).to_string());
            }
            _ => {}
        }
    }
    observed
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
    let status = seen.lanes.get(&id).filter(|s| s.start == facts.started);
    let phases: Vec<Phase> = lane.steps.iter().map(|s| s.phase).collect();
    let has_init = phases.contains(&Phase::Init);
    let long_running = phases.iter().any(|p| p.timing() == Timing::LongRunning);
    let init_done = has_init
        && seen
            .markers
            .get(&gitpod_init_marker(&id))
            .is_some_and(|m| *m == facts.created);
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
/// composes them, with phase and marker bookkeeping between them.
fn gitpod_script(lane: &Lane, with_init: bool) -> String {
    let mut parts =
        vec!["__devboot_phase() { printf '%s' \"$1\" > \"$DEVBOOT_LANE_DIR/phase\"; }".to_string()];
    let mut chain = Vec::new();
    for step in &lane.steps {
        let Command::Shell(text) = &step.command else {
            continue;
        };
        match step.phase {
            Phase::Init if !with_init => {}
            Phase::Init => {
                chain.push(format!("__devboot_phase init && {{\n{text}\n}}"));
                chain.push(
                    "printf '%s' \"$DEVBOOT_CREATED\" > \"${HOME:-/tmp}/$DEVBOOT_INIT_MARKER\""
                        .into(),
                );
            }
            Phase::Command => {
                chain.push("__devboot_phase command && : > \"$DEVBOOT_LANE_DIR/ready\"".into());
                chain.push(format!("{{\n{text}\n}}"));
            }
            phase => chain.push(format!("__devboot_phase {phase} && {{\n{text}\n}}")),
        }
    }
    if with_init {
        parts.push("mkdir -p \"$(dirname \"${HOME:-/tmp}/$DEVBOOT_INIT_MARKER\")\"".into());
    }
    parts.push(chain.join(" && "));
    parts.join("\n")
}

/// Prints lane output as it comes, each line prefixed with the lane's name.
pub struct Output {
    color: bool,
    width: usize,
    lock: Mutex<()>,
}

const PALETTE: [anstyle::AnsiColor; 6] = [
    anstyle::AnsiColor::Cyan,
    anstyle::AnsiColor::Magenta,
    anstyle::AnsiColor::Green,
    anstyle::AnsiColor::Yellow,
    anstyle::AnsiColor::Blue,
    anstyle::AnsiColor::Red,
];

impl Output {
    pub fn new(ws: &Workspace) -> Self {
        let width = ws
            .stages
            .iter()
            .flat_map(|s| &s.lanes)
            .map(|l| l.name.len())
            .max()
            .unwrap_or(0);
        Output {
            color: crate::ui::stderr_is_terminal(),
            width: width.min(24),
            lock: Mutex::new(()),
        }
    }

    fn line(&self, name: &str, index: usize, text: &str) {
        let _guard = self.lock.lock();
        let style = anstyle::Style::new().fg_color(Some(PALETTE[index % PALETTE.len()].into()));
        let prefix = format!("{name:>width$} |", width = self.width);
        if self.color {
            crate::ui::line(&format!("{style}{prefix}{style:#} {text}"));
        } else {
            crate::ui::line(&format!("{prefix} {text}"));
        }
    }
}

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
    /// Marker files to write now that their hooks succeeded (path, content).
    pub markers: Vec<(String, String)>,
}

/// Everything `run` needs besides the workspace.
pub struct Runner<'a> {
    pub engine: &'a Engine,
    pub workspace: &'a Workspace,
    pub facts: &'a ContainerFacts,
    pub exec: &'a ExecContext,
    /// Env of a lane (its own `env`), already expanded (`${portUrl:...}`).
    pub lane_env: &'a (dyn Fn(&Lane) -> EnvMap + Sync),
    pub host_env: &'a EnvMap,
    pub output: &'a Output,
}

impl Runner<'_> {
    /// Runs the host stages (`initializeCommand`).
    pub fn run_host(&self, seen: &Observed) -> RunResult {
        self.run_stages(seen, true)
    }

    /// Runs the in-container stages that are due.
    pub fn run_container(&self, seen: &Observed) -> RunResult {
        self.run_stages(seen, false)
    }

    /// Runs the lanes that are due, stage after stage; the first failing stage stops the
    /// later ones (other lanes of the same stage go on). Returns every lane's report.
    fn run_stages(&self, seen: &Observed, host: bool) -> RunResult {
        let mut result = RunResult::default();
        let mut index = 0;
        let mut stopped = false;
        for stage in &self.workspace.stages {
            if is_host_stage(stage) != host {
                index += stage.lanes.len();
                continue;
            }
            let plans: Vec<LanePlan> = stage
                .lanes
                .iter()
                .map(|l| plan_lane(stage, l, self.facts, seen))
                .collect();
            let base = index;
            index += stage.lanes.len();
            if stopped {
                for (lane, plan) in stage.lanes.iter().zip(&plans) {
                    result
                        .lanes
                        .push(Self::report(stage, lane, plan, LaneState::Pending, None));
                }
                continue;
            }
            let outcomes: Vec<(LaneState, Option<LaneFailure>)> = std::thread::scope(|scope| {
                let handles: Vec<_> = stage
                    .lanes
                    .iter()
                    .zip(&plans)
                    .enumerate()
                    .map(|(i, (lane, plan))| {
                        scope.spawn(move || match plan.run {
                            None => (plan.state, None),
                            Some(reason) => self.run_lane(stage, lane, plan, reason, base + i),
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or((LaneState::Failed, None)))
                    .collect()
            });
            let mut stage_failed = false;
            for ((lane, plan), (state, failure)) in stage.lanes.iter().zip(&plans).zip(outcomes) {
                let mut report = Self::report(stage, lane, plan, state, failure.as_ref());
                report.ran = plan.run.is_some();
                report.restarted = plan.run == Some(Reason::Restart);
                result.lanes.push(report);
                if let Some(f) = failure {
                    stage_failed = true;
                    result.failures.push(f);
                }
            }
            // devcontainer hooks stop everything after a failure; Gitpod lanes are
            // independent (one stage), so this only affects hooks.
            if stage_failed {
                stopped = true;
            } else if plans.iter().any(|p| p.run.is_some()) {
                let phase = stage
                    .lanes
                    .first()
                    .and_then(|l| l.steps.first())
                    .map(|s| s.phase);
                if let Some(marker) = phase.and_then(hook_marker) {
                    let stamp = if phase.map(Phase::timing) == Some(Timing::OncePerContainer) {
                        &self.facts.created
                    } else {
                        &self.facts.started
                    };
                    result.markers.push((marker, stamp.clone()));
                }
            }
        }
        result
    }

    fn report(
        stage: &Stage,
        lane: &Lane,
        plan: &LanePlan,
        state: LaneState,
        failure: Option<&LaneFailure>,
    ) -> LaneReport {
        LaneReport {
            name: lane.name.clone(),
            stage: stage.name.clone(),
            state,
            exit_code: failure.map(|f| f.exit_code),
            failed_phase: failure.and_then(|f| f.phase.clone()),
            ran: false,
            restarted: false,
            log: lane_log(&plan.id),
        }
    }

    fn run_lane(
        &self,
        stage: &Stage,
        lane: &Lane,
        plan: &LanePlan,
        reason: Reason,
        index: usize,
    ) -> (LaneState, Option<LaneFailure>) {
        let Some(first) = lane.steps.first() else {
            return (LaneState::Done, None);
        };
        match reason {
            Reason::Restart => self.say(
                lane,
                index,
                "restarting: its long-running command had stopped",
            ),
            Reason::Retry => self.say(lane, index, "running again: it failed last time"),
            Reason::Due => {}
        }
        let long_running = lane
            .steps
            .iter()
            .any(|s| s.phase.timing() == Timing::LongRunning);
        let result = if first.phase == Phase::InitializeCommand {
            self.run_on_host(&first.command, &lane.name, index)
        } else {
            if reason == Reason::Restart {
                // End what is left of the old run so it frees its ports.
                let dir = lane_dir(&plan.id);
                let argv = [
                    "sh",
                    "-c",
                    RUNNER,
                    "devboot-runner",
                    "stop",
                    &dir,
                    &self.facts.started,
                ];
                let _ = self.engine.exec_capture(
                    &self.facts.id,
                    self.exec.user.as_deref(),
                    &EnvMap::new(),
                    &argv,
                );
            }
            self.run_in_container(stage, lane, plan, long_running, index)
        };
        match result {
            Ok((0, _)) if long_running => (LaneState::Running, None),
            Ok((0, _)) => (LaneState::Done, None),
            Ok((code, tail)) => {
                let phase = if stage.name == "tasks" {
                    self.failed_phase(&plan.id)
                } else {
                    Some(first.phase.to_string())
                };
                (
                    LaneState::Failed,
                    Some(LaneFailure {
                        lane: lane.name.clone(),
                        stage: stage.name.clone(),
                        phase,
                        exit_code: code,
                        tail,
                    }),
                )
            }
            Err(err) => (
                LaneState::Failed,
                Some(LaneFailure {
                    lane: lane.name.clone(),
                    stage: stage.name.clone(),
                    phase: None,
                    exit_code: -1,
                    tail: vec![err.to_string()],
                }),
            ),
        }
    }

    fn say(&self, lane: &Lane, index: usize, text: &str) {
        self.output
            .line(&lane.name, index, &format!("devboot: {text}"));
    }

    /// The phase a Gitpod lane was in when it failed.
    fn failed_phase(&self, id: &str) -> Option<String> {
        let dir = lane_dir(id);
        let path = format!("{dir}/phase");
        let argv = ["sh", "-c", "cat \"${HOME:-/tmp}/${1#\"~/\"}\"", "-", &path];
        self.engine
            .exec_capture(
                &self.facts.id,
                self.exec.user.as_deref(),
                &EnvMap::new(),
                &argv,
            )
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    fn run_in_container(
        &self,
        stage: &Stage,
        lane: &Lane,
        plan: &LanePlan,
        long_running: bool,
        index: usize,
    ) -> std::io::Result<(i32, Vec<String>)> {
        let mut env = self.exec.env.clone();
        env.extend((self.lane_env)(lane));
        let mut argv: Vec<String> = Vec::new();
        if stage.name == "tasks" {
            env.insert("DEVBOOT_CREATED".into(), self.facts.created.clone());
            let marker = gitpod_init_marker(&plan.id);
            env.insert(
                "DEVBOOT_INIT_MARKER".into(),
                marker.trim_start_matches("~/").to_string(),
            );
            argv.extend([
                "@shell".into(),
                "-c".into(),
                gitpod_script(lane, plan.with_init),
            ]);
        } else {
            match &lane.steps[0].command {
                Command::Shell(text) => argv.extend(["/bin/sh".into(), "-c".into(), text.clone()]),
                Command::Exec(args) => argv.extend(args.iter().cloned()),
            }
        }
        let mut args: Vec<String> = vec!["exec".into(), "-w".into(), self.exec.folder.clone()];
        if let Some(user) = &self.exec.user {
            args.extend(["-u".into(), user.clone()]);
        }
        for (k, v) in &env {
            args.extend(["-e".into(), format!("{k}={v}")]);
        }
        let mode = if long_running { "ready" } else { "exit" };
        args.extend([
            self.facts.id.clone(),
            "sh".into(),
            "-c".into(),
            RUNNER.into(),
            "devboot-runner".into(),
            "run".into(),
            lane_dir(&plan.id),
            mode.into(),
            self.facts.started.clone(),
        ]);
        args.extend(argv);
        let mut cmd = self.engine.command(&args);
        self.stream(&mut cmd, &lane.name, index)
    }

    fn run_on_host(
        &self,
        command: &Command,
        name: &str,
        index: usize,
    ) -> std::io::Result<(i32, Vec<String>)> {
        let mut cmd = match command {
            Command::Shell(text) => {
                let mut c = std::process::Command::new("/bin/sh");
                c.arg("-c").arg(text);
                c
            }
            Command::Exec(argv) => {
                let mut c = std::process::Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        cmd.current_dir(&self.workspace.local_folder)
            .env_clear()
            .envs(self.host_env);
        self.stream(&mut cmd, name, index)
    }

    /// Runs a command, printing its output lines prefixed as they come; returns its exit
    /// code and its last lines.
    fn stream(
        &self,
        cmd: &mut std::process::Command,
        name: &str,
        index: usize,
    ) -> std::io::Result<(i32, Vec<String>)> {
        let mut tail = std::collections::VecDeque::new();
        let status = crate::process::stream_lines(cmd, |line| {
            self.output.line(name, index, &line);
            tail.push_back(line);
            if tail.len() > TAIL_LINES {
                tail.pop_front();
            }
        })?;
        // Killed by a signal: report it as a shell would (128 + signal), SIGKILL when unknown.
        let code = status.code().unwrap_or(128 + 9);
        Ok((code, tail.into_iter().collect()))
    }
}

fn is_host_stage(stage: &Stage) -> bool {
    stage
        .lanes
        .iter()
        .flat_map(|l| &l.steps)
        .any(|s| s.phase.timing() == Timing::HostEveryUp)
}

/// Writes the markers of hooks that succeeded (one exec).
pub fn commit_markers(
    engine: &Engine,
    facts: &ContainerFacts,
    user: Option<&str>,
    markers: &[(String, String)],
) -> Result<(), EngineError> {
    if markers.is_empty() {
        return Ok(());
    }
    let mut argv: Vec<&str> = vec!["sh", "-c", RUNNER, "devboot-runner", "commit"];
    for (path, content) in markers {
        argv.push(path);
        argv.push(content);
    }
    engine
        .exec_capture(&facts.id, user, &EnvMap::new(), &argv)
        .map(drop)
}

/// Every lane's state from what `status` observed, without running anything.
pub fn states(ws: &Workspace, facts: &ContainerFacts, seen: &Observed) -> Vec<LaneReport> {
    let mut out = Vec::new();
    for stage in ws.stages.iter().filter(|s| !is_host_stage(s)) {
        for lane in &stage.lanes {
            let id = lane_id(stage, lane);
            let plan = plan_lane(stage, lane, facts, seen);
            let status = seen.lanes.get(&id).filter(|s| s.start == facts.started);
            let state = match (plan.run, status) {
                (None, _) => plan.state,
                (Some(Reason::Restart), _) => LaneState::Stopped,
                (Some(_), Some(s)) if s.exit.is_some_and(|c| c != 0) => LaneState::Failed,
                (Some(_), _) => LaneState::Pending,
            };
            out.push(LaneReport {
                name: lane.name.clone(),
                stage: stage.name.clone(),
                state,
                exit_code: status.and_then(|s| s.exit).filter(|c| *c != 0),
                failed_phase: None,
                ran: false,
                restarted: false,
                log: lane_log(&id),
            });
        }
    }
    out
}

/// The last `lines` lines of a lane's log (empty when it cannot be read).
pub fn log_tail(
    engine: &Engine,
    facts: &ContainerFacts,
    user: Option<&str>,
    id: &str,
    lines: usize,
) -> Vec<String> {
    let path = lane_log(id);
    let argv = [
        "sh",
        "-c",
        "tail -n \"$1\" \"${HOME:-/tmp}/${2#\"~/\"}\"",
        "-",
        &lines.to_string(),
        &path,
    ];
    engine
        .exec_capture(&facts.id, user, &EnvMap::new(), &argv)
        .map(|out| out.lines().map(String::from).collect())
        .unwrap_or_default()
}

/// Names of the lanes, for `logs` to match against (`name` and id).
pub fn lane_ids(ws: &Workspace) -> BTreeMap<String, String> {
    ws.stages
        .iter()
        .flat_map(|s| s.lanes.iter().map(move |l| (l.name.clone(), lane_id(s, l))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Step;

    fn facts() -> ContainerFacts {
        ContainerFacts {
            id: "c".into(),
            created: "C1".into(),
            started: "S1".into(),
        }
    }

    fn gitpod_lane() -> (Stage, Lane) {
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
            start: "S1".into(),
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
        let mut later = facts();
        later.started = "S2".into();
        let plan = plan_lane(&stage, &lane, &later, &seen);
        assert_eq!((plan.run, plan.with_init), (Some(Reason::Due), false));
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
        let script = gitpod_script(&lane, true);
        assert!(
            script.contains("__devboot_phase init && {\npip install\n} && printf"),
            "{script}"
        );
        assert!(script.ends_with("{\nflask run\n}"), "{script}");
        assert!(!gitpod_script(&lane, false).contains("pip install"));
    }

    #[test]
    fn parses_runner_status() {
        let seen = parse_status("lane\ta\tS1\t3\tinit\t0\t0\t0\nmarker\t~/.x\tC1\n");
        assert_eq!(seen.lanes["a"].exit, Some(3));
        assert_eq!(seen.markers["~/.x"], "C1");
    }
}
