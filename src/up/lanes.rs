//! Running the lanes that are due in a container that exists: through a plan the container
//! runs (devboot's containers: its entrypoint, or one `docker exec -d`) followed from the
//! host, or one exec per lane (a container another tool made).

use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::error::Result;
use crate::lifecycle::{self, ExecContext, Observed, Output};
use crate::state::{MOUNT, StateDir};
use crate::workspace::{Lane, Workspace};

use super::{EXEC_PLAN, Target, facts_of};

/// Writes a plan into the state folder, its lanes' old state cleared first so that what
/// devboot reads next belongs to this run.
pub(super) fn write_plan(state: &StateDir, plan: &lifecycle::Plan) -> Result<()> {
    for lane in &plan.lanes {
        state.clear_lane(&lane.id)?;
    }
    state.write_plan(&plan.name, &plan.script).map(drop)
}

/// Follows a plan the container runs from its entrypoint; hands it the container's
/// timestamps for the reference CLI's markers.
pub(super) fn follow_plan(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    info: &ContainerInfo,
    seen: &Observed,
    plan: Option<&lifecycle::Plan>,
    output: &Output,
) -> Result<lifecycle::RunResult> {
    let facts = facts_of(info);
    Ok(match plan {
        Some(plan) => {
            target.state.write_stamps(&facts.created, &facts.started)?;
            lifecycle::follow(ws, &facts, seen, &target.state, plan, output, &|| {
                still_running(engine, &facts.id)
            })
        }
        None => lifecycle::RunResult {
            lanes: lifecycle::states(ws, &facts, seen, lifecycle::Place::State),
            ..Default::default()
        },
    })
}

/// Runs what is due in a running container of devboot's through one `docker exec -d` of a
/// plan, and follows it. `ws` and `exec` are already resolved against the container, and
/// `seen` is what its state folder says.
pub(super) fn run_planned(
    engine: &Engine,
    ws: &Workspace,
    exec: &ExecContext,
    target: &Target,
    info: &ContainerInfo,
    seen: &Observed,
    output: &Output,
) -> Result<lifecycle::RunResult> {
    let facts = facts_of(info);
    let plan = lifecycle::compose(ws, &facts, seen, exec, &|l| target.lane_env(l), EXEC_PLAN);
    if let Some(plan) = &plan {
        // The runner of this devboot, in case the container was made by an older one.
        target.prepare_state()?;
        write_plan(&target.state, plan)?;
        let runner = format!("{MOUNT}/runner.sh");
        let script = format!("{}/plans/{}.sh", MOUNT, plan.name);
        let mut args: Vec<&str> = vec!["exec", "-d"];
        if let Some(user) = &exec.user {
            args.extend(["-u", user]);
        }
        args.extend([info.id.as_str(), "sh", &runner, "plan", script.as_str()]);
        engine.call(&args)?;
    }
    follow_plan(engine, ws, target, info, seen, plan.as_ref(), output)
}

/// The exec way, for a container another tool made: one exec asks where the lanes stand,
/// one exec per lane runs it, one more writes the markers.
pub(super) fn run_by_exec(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    info: &ContainerInfo,
    output: &Output,
) -> Result<lifecycle::RunResult> {
    let facts = facts_of(info);
    let (resolved, exec) = target.exec_in(ws, info);
    let shell = lifecycle::Shell::Container {
        engine,
        id: &facts.id,
        user: exec.user.as_deref(),
    };
    let seen = lifecycle::observe_with(&shell, &resolved)?;
    install_gp(&shell, target, &exec);
    copy_dotfiles(engine, target, &facts.id, &seen);
    let lanes = ExecLanes {
        shell: &shell,
        ws: &resolved,
        facts: &facts,
        exec: &exec,
    };
    lanes.run(target, &seen, output)
}

/// Writes `gp` and its facts under the exec user's `~/.devboot` (a container another tool
/// made has no state folder of devboot's), so the lanes find it as in devboot's own. One
/// engine call, which writes nothing when they are there already; a container where it
/// cannot be written runs its lanes without `gp` (a warning says so).
fn install_gp(shell: &lifecycle::Shell, target: &Target, exec: &ExecContext) {
    let script = crate::gp::install_script(target.gp_facts());
    if let Err(failed) = shell.capture(&["sh", "-c", &script]) {
        crate::ui::warning(&format!(
            "could not write `gp` into the container (as {}): its tasks run without it: {failed}",
            exec.user.as_deref().unwrap_or("its user")
        ));
    }
}

/// The dotfiles' copy for a container with no state folder of devboot's: copied in
/// (`docker cp`, where the lane looks for it) while their install has not run there yet.
fn copy_dotfiles(engine: &Engine, target: &Target, id: &str, seen: &Observed) {
    let Some(dotfiles) = &target.dotfiles else {
        return;
    };
    let marker = lifecycle::hook_marker(crate::workspace::Phase::Dotfiles);
    if marker.is_some_and(|m| seen.markers.contains_key(&m)) {
        return;
    }
    let copy = target.state.host_path(crate::dotfiles::IN_STATE);
    let fetched = if copy.exists() {
        Ok(())
    } else {
        dotfiles.fetch(&copy, target.host_env())
    };
    let copied = fetched.and_then(|()| {
        let from = format!("{}/.", copy.display());
        let to = format!("{id}:{}", crate::dotfiles::COPIED_IN);
        engine
            .call(["cp", from.as_str(), to.as_str()])
            .map(drop)
            .map_err(Into::into)
    });
    if let Err(err) = copied {
        crate::ui::warning(&format!(
            "the dotfiles are not installed in this container: {err}"
        ));
    }
}

/// The workspace's lanes as the exec way runs them: in a container, or here (in place).
pub(super) struct ExecLanes<'a> {
    pub(super) shell: &'a lifecycle::Shell<'a>,
    /// Already resolved against the workspace's environment.
    pub(super) ws: &'a Workspace,
    pub(super) facts: &'a lifecycle::ContainerFacts,
    pub(super) exec: &'a ExecContext,
}

impl ExecLanes<'_> {
    /// Runs what is due (one command per lane), then writes the markers of what succeeded.
    pub(super) fn run(
        &self,
        target: &Target,
        seen: &Observed,
        output: &Output,
    ) -> Result<lifecycle::RunResult> {
        let runner = lifecycle::Runner {
            shell: self.shell,
            workspace: self.ws,
            facts: self.facts,
            exec: self.exec,
            lane_env: &|lane: &Lane| target.lane_env(lane),
            secret_names: &target.secret_names,
            output,
        };
        let result = runner.run_container(seen);
        lifecycle::commit_markers(self.shell, &result.markers)?;
        Ok(result)
    }
}

/// Whether the container still runs. An engine that does not answer is an error, not a
/// stopped container: the container may well run on.
pub(super) fn still_running(engine: &Engine, id: &str) -> Result<bool, EngineError> {
    Ok(engine
        .inspect_container(id)?
        .is_some_and(|i| i.state.running))
}
