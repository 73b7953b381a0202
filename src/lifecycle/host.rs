//! `initializeCommand`: the one hook that runs on the host, in the workspace folder, with
//! the host's environment, at every `up` (once the user trusts it: `crate::trust`).

use super::{
    LaneFailure, LanePlan, LaneState, Output, Place, Reason, RunResult, is_host_stage, lane_id,
    report, stream,
};
use crate::workspace::{Command, EnvMap, Lane, Phase, Stage, Workspace};

/// Runs `initializeCommand` on the host, in the workspace folder, with the host's
/// environment.
pub fn run_host(ws: &Workspace, host_env: &EnvMap, output: &Output) -> RunResult {
    let mut result = RunResult::default();
    let mut index = 0;
    for stage in &ws.stages {
        if !is_host_stage(stage) {
            index += stage.lanes.len();
            continue;
        }
        let outcomes: Vec<Option<LaneFailure>> = std::thread::scope(|scope| {
            let handles: Vec<_> = stage
                .lanes
                .iter()
                .enumerate()
                .map(|(i, lane)| {
                    scope.spawn(move || run_on_host(ws, stage, lane, host_env, output, index + i))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(None))
                .collect()
        });
        index += stage.lanes.len();
        for (lane, failure) in stage.lanes.iter().zip(outcomes) {
            let plan = LanePlan {
                id: lane_id(stage, lane),
                run: Some(Reason::Due),
                with_init: false,
                state: LaneState::Done,
            };
            let state = if failure.is_some() {
                LaneState::Failed
            } else {
                LaneState::Done
            };
            result.lanes.push(report(
                stage,
                lane,
                &plan,
                Place::Home,
                state,
                failure.as_ref(),
            ));
            result.failures.extend(failure);
        }
        if !result.failures.is_empty() {
            break;
        }
    }
    result
}

fn run_on_host(
    ws: &Workspace,
    stage: &Stage,
    lane: &Lane,
    host_env: &EnvMap,
    output: &Output,
    index: usize,
) -> Option<LaneFailure> {
    let mut cmd = match lane.steps.first().map(|s| &s.command) {
        Some(Command::Shell(text)) => {
            let mut c = std::process::Command::new("/bin/sh");
            c.arg("-c").arg(text);
            c
        }
        Some(Command::Exec(argv)) if !argv.is_empty() => {
            let mut c = std::process::Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        _ => return None,
    };
    cmd.current_dir(&ws.local_folder).env_clear().envs(host_env);
    let (code, tail) = match stream(&mut cmd, &lane.name, index, output) {
        Ok(outcome) => outcome,
        Err(e) => (-1, vec![e.to_string()]),
    };
    (code != 0).then(|| LaneFailure {
        lane: lane.name.clone(),
        stage: stage.name.clone(),
        phase: Some(Phase::InitializeCommand.to_string()),
        exit_code: code,
        tail,
    })
}
