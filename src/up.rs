//! `up`: from a loaded workspace to a running container with its tasks started and its
//! ports answering.
//!
//! 1. host hooks (`initializeCommand`), once the user trusts them (`trust.rs`);
//! 2. the wanted container spec and its hash;
//! 3. find the container by the reference CLI's labels (for a first `up`, beside the
//!    `docker run` that makes it: `overlap`);
//! 4. reuse, start, create or recreate it;
//! 5. run the lanes that are due: a plan the container runs itself (from its entrypoint,
//!    or one `docker exec -d`), followed from the host through the state folder;
//! 6. wait for the ports.
//!
//! A warm `up` (nothing to do) costs two engine calls: the label lookup and one inspect.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::container::{self, ContainerSpec, LABEL_HASH, LABEL_SPEC};
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::error::{Error, Result};
use crate::lifecycle::{self, ContainerFacts, LaneReport, Output};
use crate::state::MOUNT;
use crate::ui;
use crate::workspace::{EnvMap, Visibility, Workspace};

mod compose;
mod image;
mod in_gitpod;
mod lanes;
mod listening;
mod lock;
mod overlap;
mod published;
mod target;

pub use compose::down as compose_down;
use image::{create, ensure_image, missing_image};
use in_gitpod::{in_gitpod, runs_inside_its_own_gitpod};
use lanes::{follow_plan, run_by_exec, run_planned, still_running, write_plan};
use listening::Listening;
pub use lock::{forget, lock};
use published::{PortWait, check_ports};
pub use published::{existing_target, observe_ports, port_offset_of, published_host_port};
pub use target::{BuildPlan, ComposePlan, Persisted, Target, persisted_env};

/// The label of an image devboot built: the workspace folder it was built for.
pub const LABEL_IMAGE_FOLDER: &str = "devboot.local_folder";

/// What the user asked `up` to do beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Build the image again even when its tag exists (and so make a new container).
    pub rebuild: bool,
    /// Always make a new container.
    pub recreate: bool,
    /// Keep an existing container even when the config changed.
    pub no_recreate: bool,
    /// Added to every host port.
    pub port_offset: u16,
    /// How long to wait for ports; `None` does not wait.
    pub wait: Option<Duration>,
    /// The user's say on the host commands (`--trust`, and where they are written).
    pub consent: crate::trust::Consent,
}

/// What happened to the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Created,
    Recreated,
    Started,
    Reused,
    /// Run from a task of the Gitpod workspace this `.gitpod.yml` describes: Gitpod runs the
    /// tasks; devboot made no container, only applied visibility.
    InGitpod,
}

/// A published port, as reported.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortReport {
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<u16>,
    pub host_ip: String,
    pub host_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub visibility: Visibility,
    pub url: String,
    /// `ready` (answers), `not ready`, or `not checked` (`--no-wait`).
    pub state: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpReport {
    pub container_id: String,
    pub container_name: String,
    pub action: Action,
    pub image: String,
    pub workspace_folder: String,
    pub environment: &'static str,
    pub tasks: Vec<LaneReport>,
    pub ports: Vec<PortReport>,
    /// Engine commands run (the warm path's budget is 3).
    pub engine_calls: usize,
}

/// Brings the workspace up.
pub fn up(
    engine: &Engine,
    ws: &Workspace,
    host_env: &EnvMap,
    persisted: &Persisted,
    options: &UpOptions,
) -> Result<UpReport> {
    let target = Target::new(ws, host_env, options.port_offset, persisted)?;
    if runs_inside_its_own_gitpod(ws, host_env) {
        return Ok(in_gitpod(engine, ws, &target, host_env));
    }
    let output = Output::new(ws);
    let _lock = lock(host_env, &target.devcontainer_id)?;

    // initializeCommand: on the host, at every up, before any container work; only with
    // the user's trust (the repository, or the container, may have written it).
    crate::trust::ensure(ws, host_env, options.consent)?;
    let host = lifecycle::run_host(ws, host_env, &output);
    if !host.failures.is_empty() {
        return Err(Error::TasksFailed {
            failures: host.failures,
            container: "(not created)".into(),
            lanes: host.lanes,
        });
    }

    // A first `up` looks for a container beside its `docker run` (see `overlap`); when
    // that finds one, it looks first, as every other `up` does.
    let needs_image_first = !target.spec.override_command || options.rebuild;
    if overlap::applies(&target, needs_image_first)
        && let Some(report) = bring_up(engine, ws, host_env, options, &target, &output, true)?
    {
        return Ok(report);
    }
    bring_up(engine, ws, host_env, options, &target, &output, false)
        .map(|report| report.expect("an up that looked first always ends"))
}

/// Everything of `up` after the host hooks. With `overlap`, no container was looked for
/// yet; `None` then means one exists and `up` must look first.
#[allow(clippy::too_many_arguments)]
fn bring_up(
    engine: &Engine,
    ws: &Workspace,
    host_env: &EnvMap,
    options: &UpOptions,
    target: &Target,
    output: &Output,
    overlap: bool,
) -> Result<Option<UpReport>> {
    let existing = if overlap { None } else { target.find(engine)? };
    let (decision, info) = decide(existing, target, options);
    let ours = info.as_ref().is_none_or(|i| i.mounts_at(MOUNT));
    // Ports a warm `up` already saw answering: not asked again.
    let mut answered = Vec::new();
    // Ports a container another tool made does not publish: not waited for.
    let mut unpublished = Vec::new();
    let (made, action, mut result) = if let Some(plan) = &target.compose {
        compose::bring_up(
            engine,
            ws,
            target,
            plan,
            options,
            &decision,
            info.as_ref(),
            output,
        )?
    } else {
        match decision {
            Decision::Create | Decision::Recreate => {
                let old = info.as_ref();
                // Ports first (cheap; a build can take minutes), then the image: a failure of
                // either leaves an old container as it was.
                match check_ports(engine, target, old) {
                    // Maybe by a container of this workspace that another tool made.
                    Err(_) if overlap => return Ok(None),
                    checked => checked?,
                }
                // The image's own command is needed only to run it (overrideCommand: false);
                // otherwise `docker run` itself says whether the image is there.
                let mut image = (!target.spec.override_command || options.rebuild)
                    .then(|| ensure_image(engine, target, options.rebuild))
                    .transpose()?;
                if let Some(old) = old {
                    engine.remove(&old.id)?;
                }
                // A new container has run nothing: its state starts empty, and its first plan
                // runs from its own entrypoint, so the tasks start with it (no exec).
                target.state.reset()?;
                target.state.prepare(lifecycle::RUNNER)?;
                // Until the container exists, its state folder goes with a failure: the
                // next `up` is a first one again, and `down --remove` has nothing to find.
                let mut unmade = Unmade(Some(&target.state));
                let blank = ContainerFacts {
                    id: String::new(),
                    created: String::new(),
                    started: String::new(),
                };
                let boot_plan = target.can_plan_at_boot(ws, None).then(|| {
                    lifecycle::compose(
                        ws,
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
                let id = match create(engine, target, image.as_ref(), overlap) {
                    Err(Error::Engine(EngineError::Failed { stderr, .. }))
                        if image.is_none() && missing_image(&stderr) =>
                    {
                        image = Some(ensure_image(engine, target, false)?);
                        create(engine, target, image.as_ref(), false)?
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
                // The container's timestamps matter only to the reference CLI's markers: read
                // them beside the plan, not before it, and only when the plan writes markers.
                let plan = boot_plan.as_ref().and_then(Option::as_ref);
                let details_needed = boot_plan.is_none() || plan.is_some_and(|p| p.marks);
                let (made, result) = std::thread::scope(|scope| {
                    let details = details_needed.then(|| {
                        scope.spawn(|| -> Result<ContainerInfo> {
                            let info = inspect_made(engine, &made.facts.id, &target.name)?;
                            target
                                .state
                                .write_stamps(&info.created, &info.state.started_at)?;
                            Ok(info)
                        })
                    });
                    let followed = match (&boot_plan, plan) {
                        (Some(_), Some(plan)) => Some(lifecycle::follow(
                            ws,
                            &made.facts,
                            &lifecycle::fresh(),
                            &target.state,
                            plan,
                            output,
                            &|| still_running(engine, &made.facts.id),
                        )),
                        (Some(_), None) => Some(lifecycle::RunResult::default()),
                        (None, _) => None,
                    };
                    let info = details
                        .map(|d| d.join().expect("inspecting does not panic"))
                        .transpose()?;
                    let result = match (followed, &info) {
                        (Some(result), _) => result,
                        (None, Some(info)) => {
                            let (resolved, exec) = target.exec_in(ws, info);
                            run_planned(
                                engine,
                                &resolved,
                                &exec,
                                target,
                                info,
                                &lifecycle::fresh(),
                                output,
                            )?
                        }
                        (None, None) => unreachable!("details are read when there is no boot plan"),
                    };
                    let made = info.as_ref().map_or(made.clone(), Made::of);
                    Ok::<_, Error>((made, result))
                })?;
                (made, action, result)
            }
            Decision::Start if ours => {
                let info = info.expect("a container to start");
                check_ports(engine, target, Some(&info))?;
                target.state.prepare(lifecycle::RUNNER)?;
                let before = ContainerFacts {
                    id: info.id.clone(),
                    created: info.created.clone(),
                    started: String::new(),
                };
                let (resolved, exec) = target.exec_in(ws, &info);
                let seen = lifecycle::observe_before_start(&resolved, &before, &target.state);
                let boot_plan = target.can_plan_at_boot(&resolved, Some(&info)).then(|| {
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
                let info = inspect_again(engine, &info)?;
                let result = match boot_plan {
                    Some(plan) => follow_plan(
                        engine,
                        &resolved,
                        target,
                        &info,
                        &seen,
                        plan.as_ref(),
                        output,
                    )?,
                    None => run_planned(engine, &resolved, &exec, target, &info, &seen, output)?,
                };
                (Made::of(&info), Action::Started, result)
            }
            Decision::Reuse if ours => {
                let info = info.expect("a container to reuse");
                let facts = facts_of(&info);
                let (resolved, exec) = target.exec_in(ws, &info);
                // No recorded start means the entrypoint was replaced: ask the container.
                let result = if let Some(seen) =
                    lifecycle::observe_state(&resolved, &facts, &target.state)
                {
                    // A port that does not answer while its lanes are presumed alive: ask
                    // the container whether they are (a killed runner writes nothing).
                    let presumed = seen.lanes.values().any(|s| s.alive || s.session);
                    let listening = Listening::new(
                        engine,
                        host_env,
                        &info.id,
                        exec.user.as_deref(),
                        Some(info.state.pid),
                    );
                    let answer = || published::ports_answer(target, &listening);
                    let seen = match presumed.then(answer) {
                        Some(Err(())) => {
                            let user = exec.user.as_deref();
                            lifecycle::confirm_alive(engine, &resolved, &facts, user, seen)?
                        }
                        Some(Ok(ports)) => {
                            answered = ports;
                            seen
                        }
                        None => seen,
                    };
                    run_planned(engine, &resolved, &exec, target, &info, &seen, output)?
                } else {
                    if !target.state.path.exists() {
                        ui::note(&format!(
                            "devboot's record of what runs in container {} is gone ({}); asking the container instead (`devboot up --recreate` makes a new one with a fresh record)",
                            info.short_name(),
                            target.state.path.display()
                        ));
                    }
                    run_by_exec(engine, ws, target, &info, output)?
                };
                (Made::of(&info), Action::Reused, result)
            }
            // A container another tool made: ask it, and run each lane with an exec.
            Decision::Start | Decision::Reuse => {
                let info = info.expect("a container");
                let (info, action) = if info.state.running {
                    (info, Action::Reused)
                } else {
                    check_ports(engine, target, Some(&info))?;
                    engine.start(&info.id)?;
                    (inspect_again(engine, &info)?, Action::Started)
                };
                unpublished = published::unpublished(target, &info);
                let result = run_by_exec(engine, ws, target, &info, output)?;
                (Made::of(&info), action, result)
            }
        }
    };
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
    let listening = Listening::new(
        engine,
        host_env,
        &facts.id,
        target.exec.user.as_deref(),
        made.pid,
    );
    let waiting = PortWait {
        engine,
        target,
        ws,
        facts: &facts,
        place,
        lanes: &result.lanes,
        listening: &listening,
        unpublished: &unpublished,
    };
    let ports = waiting.wait(options.wait, &answered, &mut tail, output);
    tail.finish(output);
    let ports = ports?;
    // Only a port seen answering is announced (and maybe opened): with --no-wait nothing is.
    for (binding, report) in target.bindings.iter().zip(&ports) {
        if report.state == "ready" {
            crate::expose::announce(
                binding,
                &report.url,
                changed,
                action == Action::Created,
                host_env,
            );
        }
    }

    Ok(Some(UpReport {
        container_id: facts.id.clone(),
        container_name: made.name.clone(),
        action,
        image: target.spec.image.clone(),
        workspace_folder: ws.folder.clone(),
        environment: target.environment.name(),
        tasks: result.lanes,
        ports,
        engine_calls: engine.calls(),
    }))
}

/// The plan a container runs from its entrypoint at its next start.
const BOOT_PLAN: &str = "next";
/// The plan `docker exec -d` runs in a running container.
const EXEC_PLAN: &str = "run";

/// What to do with the container.
enum Decision {
    Create,
    Recreate,
    Start,
    Reuse,
}

/// Decides from the container found (if any), the config's hash and the flags, and says
/// why when it recreates or keeps a changed container.
fn decide(
    existing: Option<ContainerInfo>,
    target: &Target,
    options: &UpOptions,
) -> (Decision, Option<ContainerInfo>) {
    let Some(info) = existing else {
        return (Decision::Create, None);
    };
    let keep = if info.state.running {
        Decision::Reuse
    } else {
        Decision::Start
    };
    let hash = target.spec.hash();
    let decision = match info.label(LABEL_HASH) {
        _ if options.recreate => {
            ui::note(&format!(
                "recreating container {} as --recreate asks",
                info.short_name()
            ));
            Decision::Recreate
        }
        Some(old) if old != hash && !options.no_recreate => {
            let previous: Option<ContainerSpec> = info
                .label(LABEL_SPEC)
                .and_then(|s| serde_json::from_str(s).ok());
            let changes = previous
                .map(|o| target.spec.changes_from(&o))
                .unwrap_or_default();
            ui::note(&format!(
                "the config changed since container {} was made ({}); recreating it (--no-recreate keeps it)",
                info.short_name(),
                if changes.is_empty() {
                    "details unknown".into()
                } else {
                    changes.join("; ")
                }
            ));
            Decision::Recreate
        }
        Some(old) if old != hash => {
            ui::note(&format!(
                "the config changed since container {} was made; keeping it as --no-recreate asks",
                info.short_name()
            ));
            keep
        }
        Some(_) if options.rebuild && target.build.is_some() => Decision::Recreate,
        Some(_) => keep,
        None if options.rebuild => Decision::Recreate,
        None => {
            ui::note(&format!(
                "using container {} made by another tool; devboot cannot tell whether it matches the config (--recreate makes a new one)",
                info.short_name()
            ));
            keep
        }
    };
    (decision, Some(info))
}

/// A state folder made for a container that may not come to be: removed when dropped,
/// unless the container was made.
struct Unmade<'a>(Option<&'a crate::state::StateDir>);

impl Drop for Unmade<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.0 {
            let _ = state.reset();
        }
    }
}

/// The container `up` ends with, as far as the rest of `up` needs it.
#[derive(Clone)]
struct Made {
    facts: ContainerFacts,
    name: String,
    /// Its main process, when an inspect told (to read its socket table from the host).
    pid: Option<i64>,
}

impl Made {
    fn of(info: &ContainerInfo) -> Made {
        Made {
            facts: facts_of(info),
            name: info.short_name().to_string(),
            pid: Some(info.state.pid),
        }
    }
}

fn inspect_made(engine: &Engine, id: &str, name: &str) -> Result<ContainerInfo> {
    engine.inspect_container(id)?.ok_or_else(|| {
        Error::Engine(EngineError::BadOutput {
            command: format!("{} container inspect", engine.program_name()),
            detail: format!("container {name} is gone right after it was made"),
        })
    })
}

fn facts_of(info: &ContainerInfo) -> ContainerFacts {
    ContainerFacts {
        id: info.id.clone(),
        created: info.created.clone(),
        started: info.state.started_at.clone(),
    }
}

fn inspect_again(engine: &Engine, info: &ContainerInfo) -> Result<ContainerInfo> {
    engine
        .inspect_container(&info.id)?
        .ok_or_else(|| Error::NoContainer {
            folder: PathBuf::from(
                info.label(container::LABEL_LOCAL_FOLDER)
                    .unwrap_or_default(),
            ),
        })
}
