//! Running lanes in a container another tool made (VS Code, the reference CLI): there is no
//! state folder devboot can read, so each lane is one `docker exec` of the runner's `run`
//! verb, which streams the lane's log back, and one exec of its `status` verb says where the
//! lanes stand. Lane state lives under the remote user's home. The same holds in place
//! (devboot inside the workspace): each command then runs here ([`Shell`]).

use super::Shell;
use super::{
    ContainerFacts, ExecContext, InitRecord, LaneFailure, LaneState, LaneStatus, Observed, Output,
    Place, RUNNER, Reason, RunResult, gitpod_init_marker, hook_marker, is_gitpod_stage,
    is_host_stage, lane_argv, lane_dir, lane_id, lane_log, long_running, plan_lane, report,
    stage_marker, stream,
};
use crate::engine::{Engine, EngineError};
use crate::workspace::{EnvMap, Lane, Phase, Stage, Timing, Workspace};

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
    let shell = Shell::Container {
        engine,
        id: &facts.id,
        user,
    };
    observe_with(&shell, ws)
}

/// Asks the workspace, wherever it runs, where every lane stands (one command).
pub fn observe_with(shell: &Shell, ws: &Workspace) -> Result<Observed, EngineError> {
    ask(shell, ws, Place::Home)
}

/// A warm `up` of devboot's container trusts its state folder, whose files cannot tell a
/// lane whose runner was killed outright (it wrote no exit code) from a running one. This
/// asks the container (one exec) which of the lanes `seen` presumes alive really are, and
/// returns `seen` with that corrected.
pub fn confirm_alive(
    engine: &Engine,
    ws: &Workspace,
    facts: &ContainerFacts,
    user: Option<&str>,
    mut seen: Observed,
) -> Result<Observed, EngineError> {
    let shell = Shell::Container {
        engine,
        id: &facts.id,
        user,
    };
    let asked = ask(&shell, ws, Place::State)?;
    for (id, status) in &mut seen.lanes {
        if let Some(real) = asked.lanes.get(id).filter(|r| r.current) {
            status.alive = real.alive;
            status.session = real.session;
        }
    }
    Ok(seen)
}

fn ask(shell: &Shell, ws: &Workspace, place: Place) -> Result<Observed, EngineError> {
    let markers = marker_paths(ws);
    let root = place.lanes_root();
    let mut argv = vec!["sh", "-c", RUNNER, "devboot-runner", "status", root];
    argv.extend(markers.iter().map(String::as_str));
    let out = shell.capture(&argv)?;
    Ok(parse_status(&out))
}

fn parse_status(out: &str) -> Observed {
    let mut observed = Observed::default();
    for line in out.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["lane", name, current, code, phase, alive, session, bg] => {
                observed.lanes.insert(
                    (*name).to_string(),
                    LaneStatus {
                        current: *current == "1",
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

/// Everything running lanes the exec way needs besides the workspace.
pub struct Runner<'a> {
    /// Where the lanes run: a container, or here.
    pub shell: &'a Shell<'a>,
    pub workspace: &'a Workspace,
    pub facts: &'a ContainerFacts,
    pub exec: &'a ExecContext,
    /// Env of a lane (its own `env`), already expanded (`${portUrl:...}`).
    pub lane_env: &'a (dyn Fn(&Lane) -> EnvMap + Sync),
    /// Names whose values are secret: handed over by name (`engine::pass_env`).
    pub secret_names: &'a [String],
    pub output: &'a Output,
}

impl Runner<'_> {
    /// Runs the in-container lanes that are due, stage after stage; the first failing stage
    /// stops the later ones (other lanes of the same stage go on).
    pub fn run_container(&self, seen: &Observed) -> RunResult {
        let mut result = RunResult::default();
        let mut index = 0;
        let mut stopped = false;
        for stage in &self.workspace.stages {
            let base = index;
            index += stage.lanes.len();
            if is_host_stage(stage) {
                continue;
            }
            let plans: Vec<_> = stage
                .lanes
                .iter()
                .map(|l| plan_lane(stage, l, self.facts, seen))
                .collect();
            if stopped {
                for (lane, plan) in stage.lanes.iter().zip(&plans) {
                    let mut r = report(stage, lane, plan, Place::Home, LaneState::Pending, None);
                    r.ran = false;
                    result.lanes.push(r);
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
                            Some(reason) => self.run_lane(
                                stage,
                                lane,
                                &plan.id,
                                plan.with_init,
                                reason,
                                base + i,
                            ),
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
                result.lanes.push(report(
                    stage,
                    lane,
                    plan,
                    Place::Home,
                    state,
                    failure.as_ref(),
                ));
                if let Some(f) = failure {
                    stage_failed = true;
                    result.failures.push(f);
                }
            }
            if stage_failed {
                stopped = true;
            } else if plans.iter().any(|p| p.run.is_some())
                && let Some((marker, timing)) = stage_marker(self.workspace, stage)
            {
                let stamp = if timing == Timing::OncePerContainer {
                    &self.facts.created
                } else {
                    &self.facts.started
                };
                result.markers.push((marker, stamp.clone()));
            }
        }
        result
    }

    fn run_lane(
        &self,
        stage: &Stage,
        lane: &Lane,
        id: &str,
        with_init: bool,
        reason: Reason,
        index: usize,
    ) -> (LaneState, Option<LaneFailure>) {
        match reason {
            Reason::Restart => {
                self.output.say(
                    &lane.name,
                    index,
                    "restarting: its long-running command had stopped",
                );
            }
            Reason::Retry => {
                self.output
                    .say(&lane.name, index, "running again: it failed last time");
            }
            Reason::Due => {}
        }
        let dir = lane_dir(Place::Home, id);
        if reason == Reason::Restart {
            // End what is left of the old run so it frees its ports.
            let argv = ["sh", "-c", RUNNER, "devboot-runner", "stop", &dir];
            let _ = self.shell.capture(&argv);
        }
        let mut env = self.exec.env.clone();
        env.extend((self.lane_env)(lane));
        // The user's shell profile, read by the runner under these variables.
        if let Some(flags) = self.exec.probe.flags() {
            let keep = env.keys().cloned().collect::<Vec<_>>().join(" ");
            env.insert("DEVBOOT_KEEP".into(), keep);
            env.insert("DEVBOOT_PROBE".into(), flags.into());
        }
        let marker = gitpod_init_marker(id).trim_start_matches("~/").to_string();
        let init = InitRecord {
            record: format!(
                "mkdir -p \"$(dirname \"${{HOME:-/tmp}}/{marker}\")\" && printf '%s' {} > \"${{HOME:-/tmp}}/{marker}\"",
                shell_words::quote(&self.facts.created)
            ),
            done_here: None,
        };
        let long = long_running(lane);
        let mut args: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            RUNNER.into(),
            "devboot-runner".into(),
            "run".into(),
            dir.clone(),
            if long { "ready" } else { "exit" }.into(),
        ];
        args.extend(lane_argv(stage, lane, with_init, &init));
        let mut command =
            self.shell
                .command(&args, &env, Some(&self.exec.folder), self.secret_names);
        let outcome = stream(&mut command, &lane.name, index, self.output);
        match outcome {
            Ok((0, _)) if long => (LaneState::Running, None),
            Ok((0, _)) => (LaneState::Done, None),
            Ok((code, tail)) => {
                let phase = if is_gitpod_stage(stage) {
                    self.failed_phase(&dir)
                } else {
                    lane.steps.first().map(|s| s.phase.to_string())
                };
                let failure = LaneFailure {
                    lane: lane.name.clone(),
                    stage: stage.name.clone(),
                    phase,
                    exit_code: code,
                    tail,
                };
                (LaneState::Failed, Some(failure))
            }
            Err(err) => {
                let failure = LaneFailure {
                    lane: lane.name.clone(),
                    stage: stage.name.clone(),
                    phase: None,
                    exit_code: -1,
                    tail: vec![err.to_string()],
                };
                (LaneState::Failed, Some(failure))
            }
        }
    }

    /// The phase a Gitpod lane was in when it failed.
    fn failed_phase(&self, dir: &str) -> Option<String> {
        let path = format!("{dir}/phase");
        let argv = ["sh", "-c", "cat \"${HOME:-/tmp}/${1#\"~/\"}\"", "-", &path];
        self.shell
            .capture(&argv)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// Writes the markers of hooks that succeeded (one command).
pub fn commit_markers(shell: &Shell, markers: &[(String, String)]) -> Result<(), EngineError> {
    if markers.is_empty() {
        return Ok(());
    }
    let mut argv: Vec<&str> = vec!["sh", "-c", RUNNER, "devboot-runner", "commit"];
    for (path, content) in markers {
        argv.push(path);
        argv.push(content);
    }
    shell.capture(&argv).map(drop)
}

/// The last `lines` lines of a lane's log in the container (empty when it cannot be read).
pub fn log_tail(
    engine: &Engine,
    facts: &ContainerFacts,
    user: Option<&str>,
    place: Place,
    id: &str,
    lines: usize,
) -> Vec<String> {
    let shell = Shell::Container {
        engine,
        id: &facts.id,
        user,
    };
    log_tail_with(&shell, place, id, lines)
}

/// The last `lines` lines of a lane's log, wherever the workspace runs.
pub fn log_tail_with(shell: &Shell, place: Place, id: &str, lines: usize) -> Vec<String> {
    let path = lane_log(place, id);
    let count = lines.to_string();
    let script =
        r#"case $2 in "~/"*) f="${HOME:-/tmp}/${2#"~/"}" ;; *) f=$2 ;; esac; tail -n "$1" "$f""#;
    let argv = ["sh", "-c", script, "-", &count, &path];
    shell
        .capture(&argv)
        .map(|out| out.lines().map(String::from).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_runner_status() {
        let seen = parse_status("lane\ta\t1\t3\tinit\t0\t0\t0\nmarker\t~/.x\tC1\n");
        assert_eq!(seen.lanes["a"].exit, Some(3));
        assert!(seen.lanes["a"].current);
        assert_eq!(seen.markers["~/.x"], "C1");
    }
}
