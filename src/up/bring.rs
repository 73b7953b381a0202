//! Everything of `up` after the host hooks: what to do with the container (`decide`), doing
//! it — make one and follow its first plan, start a stopped one of devboot's, reuse a
//! running one, or drive one another tool made — and then the ports.
//!
//! Each way ends in an [`Outcome`]; [`Bringing::finish`] waits for the ports and reports.

use super::image::{create, ensure_image, missing_image};
use super::lanes::{follow_plan, run_by_exec, run_planned, still_running, write_plan};
use super::listening::Listening;
use super::published::{self, PortWait, check_ports};
use super::{
    Action, BOOT_PLAN, Decision, Made, Target, Unmade, UpOptions, UpReport, decide, facts_of,
    inspect_again, inspect_made,
};
use crate::container::FromImage;
use crate::engine::{ContainerInfo, Engine, EngineError, ImageConfig};
use crate::error::{Error, Result};
use crate::features::label::LABEL;
use crate::lifecycle::{self, ContainerFacts, Output, RunResult};
use crate::state::MOUNT;
use crate::ui;
use crate::workspace::{EnvMap, Workspace};

/// What `up` works with once the host hooks ran.
#[derive(Clone, Copy)]
pub(super) struct Bringing<'a> {
    pub(super) engine: &'a Engine,
    /// The config's workspace; with Features, their hooks added (see `extend::featured`).
    pub(super) ws: &'a Workspace,
    pub(super) host_env: &'a EnvMap,
    pub(super) options: &'a UpOptions,
    pub(super) target: &'a Target,
    pub(super) output: &'a Output,
    /// With Features: the derived image (when it was made or looked at already) and what
    /// its label adds to `docker run`.
    pub(super) from_image: Option<&'a (Option<ImageConfig>, FromImage)>,
    /// The prebuild image a new container starts from (see `crate::prebuild`).
    pub(super) prebuild: Option<&'a str>,
}

/// The container `up` ended with, what ran in it, and what the ports need to know.
struct Outcome {
    made: Made,
    action: Action,
    result: RunResult,
    /// Ports a warm `up` already saw served: not looked at again.
    answered: Vec<u16>,
    /// Ports a container another tool made does not publish: not waited for.
    unpublished: Vec<u16>,
}

impl Outcome {
    fn new(made: Made, action: Action, result: RunResult) -> Outcome {
        Outcome {
            made,
            action,
            result,
            answered: Vec::new(),
            unpublished: Vec::new(),
        }
    }
}

impl Bringing<'_> {
    /// With `overlap`, no container was looked for yet; `None` then means one exists and
    /// `up` must look first.
    pub(super) fn run(&self, overlap: bool) -> Result<Option<UpReport>> {
        let existing = if overlap {
            None
        } else {
            self.target.find(self.engine)?
        };
        let (decision, info) = decide(existing, self.target, self.options);
        // Features: their hooks and run flags come with the image's label (a new
        // container's) or the container's (an existing one's: no engine call).
        let featured = match (&self.target.features, &decision, &info) {
            (None, ..) => None,
            (Some(_), Decision::Start | Decision::Reuse, Some(info)) => Some(
                super::extend::featured(self.ws, self.target, None, info.label(LABEL)),
            ),
            (Some(_), ..) => {
                let image = ensure_image(self.engine, self.target, self.options.rebuild)?;
                let label = image.labels.get(LABEL).cloned();
                Some(super::extend::featured(
                    self.ws,
                    self.target,
                    Some(image),
                    label.as_deref(),
                ))
            }
        };
        let this = match &featured {
            Some((ws, from_image)) => Bringing {
                ws,
                from_image: Some(from_image),
                ..*self
            },
            None => *self,
        };
        // A prebuild: a new container starts from it; one made from it (its label says)
        // never runs what the prebuild ran.
        let prebuild = match (&decision, &info) {
            (Decision::Start | Decision::Reuse, Some(info)) => info
                .label(crate::prebuild::LABEL)
                .map(|_| (crate::prebuild::after_prebuild(this.ws), None)),
            (Decision::Create | Decision::Recreate, _) if this.target.compose.is_none() => {
                super::prebuilt::find(this.engine, this.ws, this.target, this.options)?
                    .map(|tag| (crate::prebuild::after_prebuild(this.ws), Some(tag)))
            }
            _ => None,
        };
        let Some((ws, tag)) = &prebuild else {
            return this.bring(decision, info, overlap);
        };
        let from_prebuild = Bringing {
            ws,
            prebuild: tag.as_deref(),
            ..this
        };
        match (from_prebuild.bring(decision, info.clone(), overlap), tag) {
            // Its image went since it was recorded (`docker rmi`): init runs as usual.
            (Err(Error::Engine(EngineError::Failed { stderr, .. })), Some(tag))
                if missing_image(&stderr) =>
            {
                ui::note(&format!(
                    "prebuild {tag} is gone from the engine; running init as usual"
                ));
                super::prebuilt::forget(this.target, tag);
                this.bring(decision, info, overlap)
            }
            (result, _) => result,
        }
    }

    /// Does what `decide` said, then waits for the ports.
    fn bring(
        &self,
        decision: Decision,
        info: Option<ContainerInfo>,
        overlap: bool,
    ) -> Result<Option<UpReport>> {
        let ours = info.as_ref().is_none_or(|i| i.mounts_at(MOUNT));
        let outcome = if let Some(plan) = &self.target.compose {
            let (made, action, result) = super::compose::bring_up(
                self.engine,
                self.ws,
                self.target,
                plan,
                self.options,
                decision,
                info.as_ref(),
                self.output,
                self.from_image.map(|(_, adds)| adds),
            )?;
            Outcome::new(made, action, result)
        } else {
            match (decision, info) {
                (Decision::Create | Decision::Recreate, old) => {
                    match self.create(old.as_ref(), overlap)? {
                        Some(outcome) => outcome,
                        None => return Ok(None),
                    }
                }
                (Decision::Start, Some(info)) if ours => self.start_ours(&info)?,
                (Decision::Reuse, Some(info)) if ours => self.reuse_ours(&info)?,
                (Decision::Start | Decision::Reuse, Some(info)) => self.drive_others(info)?,
                (Decision::Start | Decision::Reuse, None) => {
                    unreachable!("starting or reusing needs a container")
                }
            }
        };
        self.finish(outcome, ours).map(Some)
    }

    /// Makes the container (and the image first when needed) and follows its first plan.
    /// `None` when, beside a first `up`'s `docker run`, another container was found.
    fn create(&self, old: Option<&ContainerInfo>, overlap: bool) -> Result<Option<Outcome>> {
        let (engine, target) = (self.engine, self.target);
        // Ports first (cheap; a build can take minutes), then the image: a failure of
        // either leaves an old container as it was.
        match check_ports(engine, target, old) {
            // Maybe by a container of this workspace that another tool made.
            Err(_) if overlap => return Ok(None),
            checked => checked?,
        }
        // The image's own command is needed only to run it (overrideCommand: false);
        // otherwise `docker run` itself says whether the image is there.
        let mut image = match self.from_image {
            Some((Some(image), _)) => Some(image.clone()),
            _ => (!target.spec.override_command || self.options.rebuild)
                .then(|| ensure_image(engine, target, self.options.rebuild))
                .transpose()?,
        };
        let from_image = self.from_image.map(|(_, adds)| adds);
        if let Some(old) = old {
            engine.remove(&old.id)?;
        }
        // A new container has run nothing: its state starts empty, and its first plan
        // runs from its own entrypoint, so the tasks start with it (no exec).
        let gp_records = target.state.gp_records();
        target.state.reset()?;
        target.prepare_state()?;
        target.state.restore_gp_records(&gp_records)?;
        // Until the container exists, its state folder goes with a failure: the next `up`
        // is a first one again, and `down --remove` has nothing to find.
        let mut unmade = Unmade(Some(&target.state));
        let blank = ContainerFacts {
            id: String::new(),
            created: String::new(),
            started: String::new(),
        };
        let boot_plan = target.can_plan_at_boot(self.ws, None).then(|| {
            lifecycle::compose(
                self.ws,
                &blank,
                &lifecycle::fresh(),
                &target.exec,
                &|l| target.lane_env(l),
                BOOT_PLAN,
            )
        });
        if let Some(Some(plan)) = &boot_plan {
            write_plan(&target.state, plan)?;
        }
        let id = match create(
            engine,
            target,
            image.as_ref(),
            from_image,
            self.prebuild,
            overlap,
        ) {
            Err(Error::Engine(EngineError::Failed { stderr, .. }))
                if image.is_none() && missing_image(&stderr) =>
            {
                image = Some(ensure_image(engine, target, false)?);
                create(
                    engine,
                    target,
                    image.as_ref(),
                    from_image,
                    self.prebuild,
                    false,
                )?
            }
            id => id?,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        unmade.0 = None;
        let action = if old.is_some() {
            Action::Recreated
        } else {
            Action::Created
        };
        let made = Made {
            facts: ContainerFacts { id, ..blank },
            name: target.name.clone(),
            pid: None,
        };
        let (made, result) = self.follow_new(&made, boot_plan.as_ref())?;
        Ok(Some(Outcome::new(made, action, result)))
    }

    /// Follows a new container's first plan (from its entrypoint), or runs what is due with
    /// one exec when it could not plan at boot. The container's timestamps matter only to
    /// the reference CLI's markers: read beside the plan, not before it, and only when the
    /// plan writes markers.
    fn follow_new(
        &self,
        made: &Made,
        boot_plan: Option<&Option<lifecycle::Plan>>,
    ) -> Result<(Made, RunResult)> {
        let (engine, target, ws) = (self.engine, self.target, self.ws);
        let plan = boot_plan.and_then(Option::as_ref);
        let details_needed = boot_plan.is_none() || plan.is_some_and(|p| p.marks);
        std::thread::scope(|scope| {
            let details = details_needed.then(|| {
                scope.spawn(|| -> Result<ContainerInfo> {
                    let info = inspect_made(engine, &made.facts.id, &target.name)?;
                    target
                        .state
                        .write_stamps(&info.created, &info.state.started_at)?;
                    Ok(info)
                })
            });
            let followed = match (boot_plan, plan) {
                (Some(_), Some(plan)) => Some(lifecycle::follow(
                    ws,
                    &made.facts,
                    &lifecycle::fresh(),
                    &target.state,
                    plan,
                    self.output,
                    &|| still_running(engine, &made.facts.id),
                )),
                (Some(_), None) => Some(RunResult::default()),
                (None, _) => None,
            };
            let info = details
                .map(|d| d.join().expect("inspecting does not panic"))
                .transpose()?;
            let result = match (followed, &info) {
                (Some(result), _) => result,
                // No state folder shared (a remote engine): driven as another tool's.
                (None, Some(info)) if !target.backend.shares_state() => {
                    run_by_exec(engine, ws, target, info, self.output)?
                }
                (None, Some(info)) => {
                    let (resolved, exec) = target.exec_in(ws, info);
                    let fresh = lifecycle::fresh();
                    run_planned(engine, &resolved, &exec, target, info, &fresh, self.output)?
                }
                (None, None) => unreachable!("details are read when there is no boot plan"),
            };
            let made = info.as_ref().map_or_else(|| made.clone(), Made::of);
            Ok((made, result))
        })
    }

    /// Starts a stopped container of devboot's: what is due at its start runs from its
    /// entrypoint (a plan left in the state folder), followed from the host.
    fn start_ours(&self, info: &ContainerInfo) -> Result<Outcome> {
        let (engine, target) = (self.engine, self.target);
        check_ports(engine, target, Some(info))?;
        target.prepare_state()?;
        let before = ContainerFacts {
            id: info.id.clone(),
            created: info.created.clone(),
            started: String::new(),
        };
        let (resolved, exec) = target.exec_in(self.ws, info);
        let seen = lifecycle::observe_before_start(&resolved, &before, &target.state);
        let boot_plan = target.can_plan_at_boot(&resolved, Some(info)).then(|| {
            lifecycle::compose(
                &resolved,
                &before,
                &seen,
                &exec,
                &|l| target.lane_env(l),
                BOOT_PLAN,
            )
        });
        if let Some(Some(plan)) = &boot_plan {
            write_plan(&target.state, plan)?;
        }
        target.state.clear_stamps()?;
        engine.start(&info.id)?;
        let info = inspect_again(engine, info)?;
        let result = match boot_plan {
            Some(plan) => follow_plan(
                engine,
                &resolved,
                target,
                &info,
                &seen,
                plan.as_ref(),
                self.output,
            )?,
            None => run_planned(engine, &resolved, &exec, target, &info, &seen, self.output)?,
        };
        Ok(Outcome::new(Made::of(&info), Action::Started, result))
    }

    /// A running container of devboot's: its state folder says what runs; a port not
    /// served while its lanes are presumed alive makes one exec ask the container (a killed
    /// runner writes nothing). No recorded start: ask the container.
    fn reuse_ours(&self, info: &ContainerInfo) -> Result<Outcome> {
        let (engine, target) = (self.engine, self.target);
        let facts = facts_of(info);
        let (resolved, exec) = target.exec_in(self.ws, info);
        let Some(seen) = lifecycle::observe_state(&resolved, &facts, &target.state) else {
            if !target.state.path.exists() {
                ui::note(&format!(
                    "devboot's record of what runs in container {} is gone ({}); asking the container instead (`devboot up --recreate` makes a new one with a fresh record)",
                    info.short_name(),
                    target.state.path.display()
                ));
            }
            let result = run_by_exec(engine, self.ws, target, info, self.output)?;
            return Ok(Outcome::new(Made::of(info), Action::Reused, result));
        };
        let presumed = seen.lanes.values().any(|s| s.alive || s.session);
        let user = exec.user.as_deref();
        let listening = Listening::new(engine, self.host_env, &info.id, user, Some(info.state.pid));
        let mut answered = Vec::new();
        let seen = match presumed.then(|| published::ports_answer(target, &listening)) {
            Some(Err(())) => lifecycle::confirm_alive(engine, &resolved, &facts, user, seen)?,
            Some(Ok(ports)) => {
                answered = ports;
                seen
            }
            None => seen,
        };
        let result = run_planned(engine, &resolved, &exec, target, info, &seen, self.output)?;
        let mut outcome = Outcome::new(Made::of(info), Action::Reused, result);
        outcome.answered = answered;
        Ok(outcome)
    }

    /// A container another tool made: ask it, and run each lane with an exec.
    fn drive_others(&self, info: ContainerInfo) -> Result<Outcome> {
        let (engine, target) = (self.engine, self.target);
        let (info, action) = if info.state.running {
            (info, Action::Reused)
        } else {
            check_ports(engine, target, Some(&info))?;
            engine.start(&info.id)?;
            (inspect_again(engine, &info)?, Action::Started)
        };
        let unpublished = published::unpublished(target, &info);
        // On a remote engine: this machine's edits first, so what runs sees them.
        super::remote::sync(engine, target, &info.id, false)?;
        let result = run_by_exec(engine, self.ws, target, &info, self.output)?;
        let mut outcome = Outcome::new(Made::of(&info), action, result);
        outcome.unpublished = unpublished;
        Ok(outcome)
    }

    /// A failed lane fails `up`; otherwise the ports are waited for, announced, reported.
    fn finish(&self, outcome: Outcome, ours: bool) -> Result<UpReport> {
        let (engine, target, host_env) = (self.engine, self.target, self.host_env);
        let Outcome {
            made,
            action,
            mut result,
            answered,
            unpublished,
        } = outcome;
        if !result.failures.is_empty() {
            return Err(Error::TasksFailed {
                failures: result.failures,
                container: made.name.clone(),
                lanes: result.lanes,
            });
        }
        let facts = made.facts.clone();
        // Hosted visibility and onOpen only when something changed: a warm `up` stays quiet
        // and fast.
        let changed = action != Action::Reused || result.lanes.iter().any(|l| l.ran);
        if changed {
            crate::expose::apply_visibility(&target.environment, &target.bindings, host_env);
        }
        let place = if ours {
            lifecycle::Place::State
        } else {
            lifecycle::Place::Home
        };
        let mut tail = std::mem::take(&mut result.tail);
        let user = target.exec.user.as_deref();
        let listening = Listening::new(engine, host_env, &facts.id, user, made.pid);
        let waiting = PortWait {
            engine,
            target,
            ws: self.ws,
            facts: &facts,
            place,
            lanes: &result.lanes,
            listening: &listening,
            unpublished: &unpublished,
        };
        // A remote engine's ports, brought to this machine before they are looked at.
        let ports = super::remote::forward(target)
            .and_then(|()| waiting.wait(self.options.wait, &answered, &mut tail, self.output));
        tail.finish(self.output);
        let ports = ports?;
        // Only a port seen answering is announced (and maybe opened): with --no-wait
        // nothing is.
        for (binding, report) in target.bindings.iter().zip(&ports) {
            if report.state == "ready" {
                let created = action == Action::Created;
                crate::expose::announce(binding, &report.url, changed, created, host_env);
            }
        }
        Ok(UpReport {
            container_id: facts.id.clone(),
            container_name: made.name.clone(),
            action,
            image: target.spec.image.clone(),
            workspace_folder: self.ws.folder.clone(),
            environment: target.environment.name(),
            tasks: result.lanes,
            ports,
            engine_calls: engine.calls(),
            engine: None,
        })
    }
}
