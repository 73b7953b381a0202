//! Running lanes in a container devboot made: what its state folder says has run, and the
//! *plan* for what is due now — one shell script, stage after stage, lanes of a stage in
//! parallel, that the container runs by itself (from its entrypoint at start, or from one
//! `docker exec -d`). The plan writes the reference CLI's markers once the container's
//! timestamps are in the state folder, and a result file devboot waits for.

use super::PROBE_FILE;
use std::fmt::Write as _;

use super::{
    ContainerFacts, ExecContext, InitRecord, LanePlan, LaneStatus, Observed, Place, Reason,
    gitpod_init_marker, is_host_stage, lane_argv, lane_dir, lane_id, long_running, plan_lane,
    stage_marker,
};
use crate::state::{MOUNT, RUN_MOUNT, StateDir};
use crate::workspace::{EnvMap, Lane, Phase, Timing, Workspace};

/// A lane a plan runs.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: String,
    pub name: String,
    pub stage: String,
    /// Position among all the workspace's lanes (its colour).
    pub index: usize,
    /// Followed until it exits (`false`) or until its long-running part starts (`true`).
    pub ready: bool,
    pub restart: bool,
    pub retry: bool,
    pub gitpod: bool,
    /// The phase of a one-step lane (a hook), for failure reports.
    pub phase: Option<Phase>,
}

/// A plan: the script, and what it runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Its file name in the state folder, without `.sh`.
    pub name: String,
    pub script: String,
    pub lanes: Vec<Planned>,
    /// It writes the reference CLI's markers, so it waits for the container's timestamps.
    pub marks: bool,
}

/// Where the lanes stand, from the state folder: `None` when it cannot tell (no start was
/// recorded), and the container must be asked instead.
pub fn observe_state(ws: &Workspace, facts: &ContainerFacts, state: &StateDir) -> Option<Observed> {
    let boot = state.boot()?;
    Some(observe_files(ws, facts, state, Some(&boot)))
}

/// Where the lanes stand before a start (`boot` unknown: nothing is current).
pub fn observe_before_start(ws: &Workspace, facts: &ContainerFacts, state: &StateDir) -> Observed {
    observe_files(ws, facts, state, None)
}

fn observe_files(
    ws: &Workspace,
    facts: &ContainerFacts,
    state: &StateDir,
    boot: Option<&str>,
) -> Observed {
    let mut seen = Observed::default();
    for stage in ws.stages.iter().filter(|s| !is_host_stage(s)) {
        for lane in &stage.lanes {
            let id = lane_id(stage, lane);
            let files = state.lane(&id);
            if !files.launched && !files.once {
                continue;
            }
            let current = boot.is_some() && files.boot.as_deref() == boot;
            let status = LaneStatus {
                current,
                exit: files.exit,
                phase: files.phase.clone(),
                // Its wrapper writes the exit code when it ends: none yet means running.
                alive: current && files.launched && files.exit.is_none(),
                session: current && files.background && !files.gone,
                background: files.background,
            };
            // Run-once success is recorded as `once`; present it as the marker the rules
            // (shared with the exec way) look for.
            let first = lane.steps.first().map(|s| s.phase);
            if files.once {
                if let Some((marker, Timing::OncePerContainer)) = stage_marker(ws, stage) {
                    seen.markers.insert(marker, facts.created.clone());
                }
                if lane.steps.iter().any(|s| s.phase == Phase::Init) {
                    seen.markers
                        .insert(gitpod_init_marker(&id), facts.created.clone());
                }
            }
            if first == Some(Phase::PostStartCommand)
                && current
                && files.exit == Some(0)
                && let Some((marker, _)) = stage_marker(ws, stage)
            {
                seen.markers.insert(marker, facts.started.clone());
            }
            seen.lanes.insert(id, status);
        }
    }
    seen
}

/// What a new container has seen: nothing.
pub fn fresh() -> Observed {
    Observed::default()
}

/// The line that starts a lane: the runner's `launch`, called in a subshell that exports
/// the lane's variables (a fork, no exec: the lane starts sooner). A variable name the
/// shell cannot export goes through `env` and a runner of its own instead.
fn launch_line(env: &EnvMap, dir: &str, argv: &[String], long: bool, probed: bool) -> String {
    let q = |s: &str| shell_words::quote(s).into_owned();
    let mut line = String::new();
    let exportable = env.keys().all(|k| is_shell_name(k));
    if exportable {
        line.push('(');
        // What the user's shell profile set, under the lane's own variables.
        if probed {
            let _ = write!(line, ". {PROBE_FILE} 2>/dev/null; ");
        }
        if !env.is_empty() {
            line.push_str("export");
            for (k, v) in env {
                line.push(' ');
                line.push_str(&q(&format!("{k}={v}")));
            }
            line.push_str("; ");
        }
        // Not exported: it tells `launch` to keep a run of the lane that is still alive.
        if long {
            line.push_str("DEVBOOT_LONG=1; ");
        }
        line.push_str("launch");
    } else {
        line.push_str("env");
        if long {
            line.push_str(" DEVBOOT_LONG=1");
        }
        for (k, v) in env {
            line.push(' ');
            line.push_str(&q(&format!("{k}={v}")));
        }
        line.push_str(" sh \"$R\" start");
    }
    line.push(' ');
    line.push_str(&q(dir));
    for arg in argv {
        line.push(' ');
        line.push_str(&q(arg));
    }
    if exportable {
        line.push(')');
    }
    line.push('\n');
    line
}

/// Whether `name` is a variable name a POSIX shell can `export`.
fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The plan for the lanes due, or `None` when nothing is. It runs inside the runner
/// (`runner.sh plan FILE`, or `boot`), whose `launch` and `wait_lane` it calls.
pub fn compose(
    ws: &Workspace,
    facts: &ContainerFacts,
    seen: &Observed,
    exec: &ExecContext,
    lane_env: &dyn Fn(&Lane) -> EnvMap,
    name: &str,
) -> Option<Plan> {
    let mut script = String::new();
    let mut lanes = Vec::new();
    let mut marks = false;
    let q = |s: &str| shell_words::quote(s).into_owned();
    let _ = write!(
        script,
        "# devboot plan {name}: the lanes due, stage after stage\nset -u\nS={MOUNT}\nR=\"$S/runner.sh\"\nP=\"{RUN_MOUNT}/plans/{name}\"\n: > \"$P.started\"\n\
         finish() {{ printf '%s\\n' \"$1\" > \"$P.result\"; exit 0; }}\n\
         cd {} || finish 'failed cd'\n",
        q(&exec.folder)
    );
    // The user's shell profile, read once per container start, before any lane.
    let probed = exec.probe.flags().is_some_and(|flags| {
        let _ = writeln!(script, "probe_env {flags} {PROBE_FILE}");
        true
    });
    let mut index = 0;
    let mut stages = Vec::new();
    for stage in &ws.stages {
        let base = index;
        index += stage.lanes.len();
        if is_host_stage(stage) {
            continue;
        }
        let due: Vec<(usize, &Lane, LanePlan)> = stage
            .lanes
            .iter()
            .enumerate()
            .map(|(i, lane)| (base + i, lane, plan_lane(stage, lane, facts, seen)))
            .filter(|(_, _, plan)| plan.run.is_some())
            .collect();
        if !due.is_empty() {
            stages.push((stage, due));
        }
    }
    let last = stages.len().saturating_sub(1);
    for (n, (stage, due)) in stages.iter().enumerate() {
        let _ = write!(script, "# {}\nfailed=\n", stage.name);
        for (i, lane, plan) in due {
            let dir = lane_dir(Place::State, &plan.id);
            if plan.run == Some(Reason::Restart) {
                let _ = writeln!(script, "sh \"$R\" stop {}", q(&dir));
            }
            let mut env = exec.env.clone();
            env.extend(lane_env(lane));
            let marker = q(&gitpod_init_marker(&plan.id));
            let init = InitRecord {
                record: format!(
                    ": > \"$DEVBOOT_LANE_DIR/once\" && sh {MOUNT}/runner.sh init-done {marker}"
                ),
                done_here: Some(format!("sh {MOUNT}/runner.sh initialized {marker}")),
            };
            let argv = lane_argv(stage, lane, plan.with_init, &init);
            script.push_str(&launch_line(&env, &dir, &argv, long_running(lane), probed));
            lanes.push(Planned {
                id: plan.id.clone(),
                name: lane.name.clone(),
                stage: stage.name.clone(),
                index: *i,
                ready: long_running(lane),
                restart: plan.run == Some(Reason::Restart),
                retry: plan.run == Some(Reason::Retry),
                gitpod: lane
                    .steps
                    .iter()
                    .any(|s| matches!(s.phase, Phase::Before | Phase::Init | Phase::Command)),
                phase: lane.steps.first().map(|s| s.phase),
            });
        }
        let marker = stage_marker(ws, stage);
        // Nothing comes after the last stage: unless it writes markers, devboot follows its
        // lanes by itself, and the plan only looks now and then (not to compete with them
        // for the CPU) for one that died without an exit code.
        let every = if n == last && marker.is_none() {
            " 0.1"
        } else {
            ""
        };
        for (_, lane, plan) in due {
            let mode = if long_running(lane) { "ready" } else { "exit" };
            let _ = writeln!(
                script,
                "wait_lane {} {mode}{every} || failed=\"$failed {}\"",
                q(&lane_dir(Place::State, &plan.id)),
                plan.id
            );
        }
        script.push_str("[ -z \"$failed\" ] || finish \"failed$failed\"\n");
        if let Some((marker, timing)) = marker {
            if timing == Timing::OncePerContainer {
                for (_, _, plan) in due {
                    let _ = writeln!(script, ": > {}/once", q(&lane_dir(Place::State, &plan.id)));
                }
            }
            marks = true;
            let which = if timing == Timing::OncePerContainer {
                "created"
            } else {
                "started"
            };
            // In the background: it waits for devboot to hand over the container's timestamps.
            let _ = writeln!(script, "sh \"$R\" mark {} {which} \"$S\" &", q(&marker));
        }
    }
    script.push_str("finish done\n");
    (!lanes.is_empty()).then(|| Plan {
        name: name.to_string(),
        script,
        lanes,
        marks,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{facts, gitpod_lane};
    use super::*;
    use crate::workspace::{Command, ContainerOptions, Format, ImageSource, Stage, Step};

    fn workspace(stages: Vec<Stage>) -> Workspace {
        Workspace {
            format: Format::Devcontainer,
            name: "w".into(),
            config_file: "/w/.devcontainer.json".into(),
            local_folder: "/w".into(),
            image: ImageSource::Reference { image: "i".into() },
            mount: None,
            folder: "/workspaces/w".into(),
            container_env: EnvMap::new(),
            remote_env: EnvMap::new(),
            stages,
            prebuild_commands: Vec::new(),
            ports: Vec::new(),
            options: ContainerOptions::default(),
            features: Vec::new(),
            feature_install_order: Vec::new(),
            user_env_probe: crate::workspace::Probe::None,
            recommended_secrets: Vec::new(),
            shutdown_action: None,
            host_requirements: None,
            wait_for: None,
        }
    }

    fn exec() -> ExecContext {
        ExecContext {
            user: None,
            folder: "/workspaces/w".into(),
            env: [("A".into(), "it's".into())].into(),
            probe: crate::workspace::Probe::None,
        }
    }

    #[test]
    fn a_plan_runs_due_lanes_and_records_run_once_success() {
        let hook = Lane {
            name: "onCreateCommand".into(),
            env: EnvMap::new(),
            steps: vec![Step {
                phase: Phase::OnCreateCommand,
                command: Command::Shell("make".into()),
            }],
        };
        let (tasks, _) = gitpod_lane();
        let ws = workspace(vec![
            Stage {
                name: "onCreateCommand".into(),
                lanes: vec![hook],
            },
            tasks,
        ]);
        let plan = compose(&ws, &facts(), &fresh(), &exec(), &|_| EnvMap::new(), "next").unwrap();
        assert_eq!(plan.lanes.len(), 2);
        assert!(plan.lanes[1].ready && plan.lanes[1].gitpod);
        let s = &plan.script;
        assert!(s.contains("cd /workspaces/w || finish"), "{s}");
        assert!(
            s.contains(
                "(export 'A=it'\\''s'; launch /.devboot/run/lanes/oncreatecommand /bin/sh -c make)"
            ),
            "{s}"
        );
        assert!(
            s.contains(": > /.devboot/run/lanes/oncreatecommand/once"),
            "{s}"
        );
        assert!(
            s.contains("mark '~/.devcontainer/.onCreateCommandMarker' created"),
            "{s}"
        );
        assert!(
            s.contains("wait_lane /.devboot/run/lanes/oncreatecommand exit"),
            "{s}"
        );
        // The last stage writes no marker: the plan looks at it only now and then.
        assert!(
            s.contains("wait_lane /.devboot/run/lanes/tasks-backend ready 0.1"),
            "{s}"
        );
        assert!(s.trim_end().ends_with("finish done"), "{s}");
    }

    #[test]
    fn a_hook_with_a_features_stage_before_the_configs_is_marked_once_after_both() {
        let stage = |name: &str| Stage {
            name: name.into(),
            lanes: vec![Lane {
                name: name.into(),
                env: EnvMap::new(),
                steps: vec![Step {
                    phase: Phase::PostCreateCommand,
                    command: Command::Shell(format!("echo {name}")),
                }],
            }],
        };
        let ws = workspace(vec![
            stage("ghcr.io/x/node:1: postCreateCommand"),
            stage("postCreateCommand"),
        ]);
        let plan = compose(&ws, &facts(), &fresh(), &exec(), &|_| EnvMap::new(), "next").unwrap();
        let s = &plan.script;
        assert_eq!(
            s.matches("mark '~/.devcontainer/.postCreateCommandMarker'")
                .count(),
            1,
            "{s}"
        );
        let mark = s
            .find("mark '~/.devcontainer/.postCreateCommandMarker'")
            .unwrap();
        let second = s.find("echo postCreateCommand").unwrap();
        assert!(second < mark, "{s}");
        // The feature's lane is not recorded as done on its own.
        assert!(
            !s.contains("ghcr-io-x-node-1-postcreatecommand/once"),
            "{s}"
        );
    }

    #[test]
    fn a_variable_the_shell_cannot_export_goes_through_env() {
        let argv = ["true".to_string()];
        let plain: EnvMap = [("A_1".into(), "x".into())].into();
        assert_eq!(
            launch_line(&plain, "/d", &argv, false, false),
            "(export 'A_1=x'; launch /d true)\n"
        );
        assert_eq!(
            launch_line(&EnvMap::new(), "/d", &argv, true, false),
            "(DEVBOOT_LONG=1; launch /d true)\n"
        );
        let dotted: EnvMap = [("a.b".into(), "x".into())].into();
        assert_eq!(
            launch_line(&dotted, "/d", &argv, false, false),
            "env 'a.b=x' sh \"$R\" start /d true\n"
        );
    }

    #[test]
    fn state_files_say_what_is_done_and_running() {
        let cache = tempfile::tempdir().unwrap();
        let state = StateDir::new(cache.path(), "id");
        state.prepare("").unwrap();
        let (tasks, _) = gitpod_lane();
        let ws = workspace(vec![tasks]);
        let dir = state.path.join("run/lanes/tasks-backend");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [("boot", "77"), ("pid", "5 9"), ("once", "")] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::fs::write(state.path.join("run/boot"), "77").unwrap();
        let seen = observe_state(&ws, &facts(), &state).unwrap();
        assert!(seen.lanes["tasks-backend"].alive);
        assert!(
            compose(&ws, &facts(), &seen, &exec(), &|_| EnvMap::new(), "p").is_none(),
            "nothing due"
        );
        // A new start: the lane runs again, without its init.
        std::fs::write(state.path.join("run/boot"), "78").unwrap();
        let seen = observe_state(&ws, &facts(), &state).unwrap();
        let plan = compose(&ws, &facts(), &seen, &exec(), &|_| EnvMap::new(), "p").unwrap();
        assert!(!plan.script.contains("pip install"), "{}", plan.script);
    }
}
