//! Following a plan from the host: each lane's log is read from the state folder as it
//! grows and printed with the lane's prefix, and each lane's state files say when it is done,
//! has failed, or has started its long-running part. No engine call, unless the plan stalls
//! and devboot must check that the container still runs.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::plan::{Plan, Planned};
use super::{
    ContainerFacts, LaneFailure, LaneState, Observed, Output, Place, RunResult, TAIL_LINES,
    is_host_stage, plan_lane, report,
};
use crate::state::{LogReader, StateDir};
use crate::workspace::{Phase, Workspace};

/// How often the files are read.
const POLL: Duration = Duration::from_millis(5);
/// After this long with no news, devboot checks that the container still runs.
const QUIET: Duration = Duration::from_secs(3);
/// A plan that has not begun by then will not: the container did not run it.
const NO_START: Duration = Duration::from_secs(15);

/// A lane's log as read so far: linear in its size, bounded in memory (see `LogReader`).
#[derive(Debug, Default)]
struct Log {
    reader: LogReader,
    /// Held open once it exists: what the lane writes later goes to the same file.
    file: Option<std::fs::File>,
    tail: VecDeque<String>,
}

impl Log {
    /// Prints the complete lines added since the last read; true when there were any.
    fn read_new(&mut self, state: &StateDir, lane: &Planned, output: &Output) -> bool {
        if self.file.is_none() {
            self.file = state.open_log(&lane.id).map(|(file, _)| file);
        }
        let Some(file) = &self.file else {
            return false;
        };
        let tail = &mut self.tail;
        self.reader.read_new(file, &mut |lines| {
            output.lines(&lane.name, lane.index, lines);
            keep_tail(tail, lines);
        })
    }

    /// Prints everything left, to the end of the file (a lane that ended writes no more),
    /// and what is left without a final newline.
    fn flush(&mut self, state: &StateDir, lane: &Planned, output: &Output) {
        while self.read_new(state, lane, output) {}
        if let Some(line) = self.reader.finish() {
            let lines = [line];
            output.lines(&lane.name, lane.index, &lines);
            keep_tail(&mut self.tail, &lines);
        }
    }
}

/// Keeps the last `TAIL_LINES` lines for a failure report.
fn keep_tail(tail: &mut VecDeque<String>, lines: &[String]) {
    let skip = lines.len().saturating_sub(TAIL_LINES);
    for line in &lines[skip..] {
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.clone());
    }
}

/// The logs of lanes that reached their long-running part: read on while `up` waits for
/// their ports, so what a server prints as it starts (and any line its task printed right
/// after the lane said it was ready) is shown too.
#[derive(Debug, Default)]
pub struct Tail {
    state: Option<StateDir>,
    lanes: Vec<(Planned, Log)>,
}

impl Tail {
    /// Whether a log has grown since the last look (one `stat` per lane).
    pub fn has_news(&self) -> bool {
        let Some(state) = &self.state else {
            return false;
        };
        self.lanes.iter().any(|(lane, log)| {
            state
                .log_len(&lane.id)
                .is_some_and(|len| len > log.reader.offset())
        })
    }

    /// Prints the lines added since the last look.
    pub fn poll(&mut self, output: &Output) {
        let Some(state) = &self.state else {
            return;
        };
        for (lane, log) in &mut self.lanes {
            log.read_new(state, lane, output);
        }
    }

    /// A lane whose long-running command ended since `up` saw it start: with an exit code
    /// other than 0, or with nothing left running. Its output up to the end is printed
    /// first; it is reported once. A hook left to run in the background (`waitFor`) that
    /// ends well is not a failure: its output is printed and it is let go.
    pub fn ended(&mut self, output: &Output) -> Option<LaneFailure> {
        let state = self.state.as_ref()?;
        self.lanes.retain_mut(|(lane, log)| {
            let done =
                lane.phase.is_some_and(Phase::is_hook) && state.lane(&lane.id).exit == Some(0);
            if done {
                log.flush(state, lane, output);
            }
            !done
        });
        // (A hook that ended well since the look above is let go at the next.)
        let at = self.lanes.iter().position(|(lane, _)| {
            let files = state.lane(&lane.id);
            let hook = lane.phase.is_some_and(Phase::is_hook);
            files
                .exit
                .is_some_and(|code| code != 0 || (!files.background && !hook))
        })?;
        let (lane, mut log) = self.lanes.remove(at);
        log.flush(state, &lane, output);
        let files = state.lane(&lane.id);
        let code = files.exit.unwrap_or(-1);
        let mut failure = failure(&lane, code, files.phase, &log);
        if code == 0 {
            failure
                .tail
                .push("its long-running command ended and left nothing running".into());
        }
        Some(failure)
    }

    /// The last look, with what is left of a line without its newline.
    pub fn finish(mut self, output: &Output) {
        let Some(state) = &self.state else {
            return;
        };
        for (lane, log) in &mut self.lanes {
            log.flush(state, lane, output);
        }
    }
}

/// Follows a plan the container runs until it ends (or the container stops), printing the
/// lanes' output, and reports every in-container lane of the workspace.
pub fn follow(
    ws: &Workspace,
    facts: &ContainerFacts,
    seen: &Observed,
    state: &StateDir,
    plan: &Plan,
    output: &Output,
    still_running: &dyn Fn() -> Result<bool, crate::engine::EngineError>,
) -> RunResult {
    for lane in &plan.lanes {
        if lane.restart {
            output.say(
                &lane.name,
                lane.index,
                "restarting: its long-running command had stopped",
            );
        } else if lane.retry {
            output.say(&lane.name, lane.index, "running again: it failed last time");
        }
    }
    let mut logs: HashMap<&str, Log> = plan
        .lanes
        .iter()
        .map(|l| (l.id.as_str(), Log::default()))
        .collect();
    let mut outcomes: HashMap<&str, (LaneState, Option<LaneFailure>)> = HashMap::new();
    let begun = Instant::now();
    let mut news = Instant::now();
    let mut gone = None;
    loop {
        let ended = state.plan_result(&plan.name);
        for lane in &plan.lanes {
            if outcomes.contains_key(lane.id.as_str()) {
                continue;
            }
            let log = logs.get_mut(lane.id.as_str()).expect("a log per lane");
            if log.read_new(state, lane, output) {
                news = Instant::now();
            }
            let files = state.lane(&lane.id);
            // Ended (or failed without a code): what it printed last is read before its
            // failure takes its last lines.
            if files.exit.is_some() || failed_in(ended.as_deref(), &lane.id) {
                log.flush(state, lane, output);
            }
            let outcome = match files.exit {
                Some(0) => Some((LaneState::Done, None)),
                Some(code) => Some((
                    LaneState::Failed,
                    Some(failure(lane, code, files.phase, log)),
                )),
                None if lane.ready && files.ready => Some((LaneState::Running, None)),
                // The plan says it failed with no exit code: its process was killed.
                None if failed_in(ended.as_deref(), &lane.id) => {
                    let mut f = failure(lane, 137, files.phase, log);
                    f.tail
                        .push("its process ended without an exit code (killed?)".into());
                    Some((LaneState::Failed, Some(f)))
                }
                // The plan ended before it: an earlier stage failed.
                None if ended.is_some() => Some((LaneState::Pending, None)),
                None => None,
            };
            if let Some(outcome) = outcome {
                if outcome.0 == LaneState::Running {
                    log.read_new(state, lane, output);
                } else {
                    log.flush(state, lane, output);
                }
                outcomes.insert(lane.id.as_str(), outcome);
                news = Instant::now();
            }
        }
        // Done when every lane `up` waits for has an outcome; the later hooks (`waitFor`)
        // go on in the container.
        if plan
            .lanes
            .iter()
            .filter(|l| !in_background(l, ws))
            .all(|l| outcomes.contains_key(l.id.as_str()))
        {
            break;
        }
        if news.elapsed() > QUIET {
            let not_begun = !state.plan_started(&plan.name) && begun.elapsed() > NO_START;
            let running = if not_begun {
                Ok(false)
            } else {
                still_running()
            };
            if !matches!(running, Ok(true)) {
                gone = Some(match running {
                    _ if not_begun => "the container did not run devboot's plan (does `runArgs` replace the entrypoint?)".to_string(),
                    // The engine, not the container, stopped answering.
                    Err(err) => err.one_line(),
                    Ok(_) => "the container stopped".to_string(),
                });
                break;
            }
            news = Instant::now();
        }
        if crate::process::signals::received().is_some() {
            gone = Some("devboot was interrupted".to_string());
            break;
        }
        std::thread::sleep(POLL);
    }
    for lane in &plan.lanes {
        if gone.is_none() && in_background(lane, ws) && !outcomes.contains_key(lane.id.as_str()) {
            outcomes.insert(lane.id.as_str(), (LaneState::Running, None));
        }
        if !outcomes.contains_key(lane.id.as_str()) {
            let log = logs.get_mut(lane.id.as_str()).expect("a log per lane");
            log.flush(state, lane, output);
            let mut f = failure(lane, -1, None, log);
            f.tail
                .push(gone.clone().unwrap_or_else(|| "it did not finish".into()));
            outcomes.insert(lane.id.as_str(), (LaneState::Failed, Some(f)));
        }
    }
    let running: Vec<Planned> = plan
        .lanes
        .iter()
        .filter(|l| {
            outcomes
                .get(l.id.as_str())
                .is_some_and(|o| o.0 == LaneState::Running)
        })
        .cloned()
        .collect();
    let mut result = assemble(ws, facts, seen, plan, outcomes);
    result.tail = Tail {
        state: Some(state.clone()),
        lanes: running
            .into_iter()
            .map(|lane| {
                let log = logs.remove(lane.id.as_str()).unwrap_or_default();
                (lane, log)
            })
            .collect(),
    };
    result
}

/// Whether `up` leaves the lane to run on after it returned (`waitFor`).
fn in_background(lane: &Planned, ws: &Workspace) -> bool {
    lane.phase.is_some_and(|p| p.in_background(ws.wait_for))
}

/// Whether a plan's result (`failed ID...`) names the lane.
fn failed_in(result: Option<&str>, id: &str) -> bool {
    result
        .and_then(|r| r.strip_prefix("failed"))
        .is_some_and(|ids| ids.split_whitespace().any(|i| i == id))
}

fn failure(lane: &Planned, code: i32, phase: Option<String>, log: &Log) -> LaneFailure {
    LaneFailure {
        lane: lane.name.clone(),
        stage: lane.stage.clone(),
        phase: if lane.gitpod {
            phase
        } else {
            lane.phase.map(|p| p.to_string())
        },
        exit_code: code,
        tail: log.tail.iter().cloned().collect(),
    }
}

/// Every in-container lane in workspace order: the planned ones as they ended, the others
/// as they stood.
fn assemble(
    ws: &Workspace,
    facts: &ContainerFacts,
    seen: &Observed,
    plan: &Plan,
    mut outcomes: HashMap<&str, (LaneState, Option<LaneFailure>)>,
) -> RunResult {
    let mut result = RunResult::default();
    for stage in ws.stages.iter().filter(|s| !is_host_stage(s)) {
        for lane in &stage.lanes {
            let lane_plan = plan_lane(stage, lane, facts, seen);
            let planned = plan.lanes.iter().any(|p| p.id == lane_plan.id);
            let (state, failure) = match outcomes.remove(lane_plan.id.as_str()) {
                Some(outcome) => outcome,
                None => (lane_plan.state, None),
            };
            let mut r = report(
                stage,
                lane,
                &lane_plan,
                Place::State,
                state,
                failure.as_ref(),
            );
            r.ran = planned && state != LaneState::Pending;
            r.restarted &= planned;
            result.lanes.push(r);
            result.failures.extend(failure);
        }
    }
    result
}
