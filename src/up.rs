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
use crate::ui;
use crate::workspace::{EnvMap, Visibility, Workspace};

mod bring;
mod commit;
mod compose;
mod extend;
mod host_requirements;
mod image;
mod in_gitpod;
mod in_place;
mod lanes;
mod listening;
mod lock;
mod overlap;
mod ports_asked;
mod prebuilt;
mod published;
mod remote;
mod target;
mod uid;

use bring::Bringing;
pub use compose::down as compose_down;
use in_gitpod::{in_gitpod, runs_inside_its_own_gitpod};
pub use in_place::{
    PLACE as IN_PLACE, in_place, may_be_in_place, no_engine, stand_in_facts, up_in_place,
};
pub use lock::{forget, lock};
pub use published::{existing_target, observe_ports, port_offset_of, published_host_port};
pub use remote::{forward_state, forwarded_ports, stop_forward, sync as sync_source};
pub use target::{
    BuildPlan, ComposePlan, FeaturesPlan, Persisted, Target, persisted_env, state_dir,
};

/// The label of an image devboot built: the workspace folder it was built for.
pub const LABEL_IMAGE_FOLDER: &str = "devboot.local_folder";

/// What the user asked `up` to do beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Build the image again even when its tag exists (and so make a new container).
    pub rebuild: bool,
    /// What a build of Features does with `devcontainer-lock.json`.
    pub lockfile: crate::features::lockfile::Mode,
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
    /// A new container may start from the prebuild of an ancestor commit (see
    /// `crate::prebuild`), not only from its own commit's.
    pub prebuild_ancestors: bool,
    /// Never start from a prebuild.
    pub no_prebuild: bool,
    /// A prebuild to pull first (`devboot prebuild --push`), for a new container.
    pub prebuild_from: Option<String>,
    /// The user's dotfiles, installed once into every new container.
    pub dotfiles: Option<crate::dotfiles::Dotfiles>,
    /// `hostRequirements` not met are an error, not a warning.
    pub strict: bool,
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
    /// Run inside the workspace its config describes: no container made, the hooks ran
    /// here (`in_place`).
    InPlace,
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
    /// The engine CLI and where its engine is (`docker, local`); none in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

/// Brings the workspace up.
pub fn up(
    engine: &Engine,
    ws: &Workspace,
    host_env: &EnvMap,
    persisted: &Persisted,
    options: &UpOptions,
) -> Result<UpReport> {
    // Ports `gp ports` asked for in an earlier container change what is published.
    let with_asked = target::state_dir(ws, host_env)
        .gp_port_requests()
        .and_then(|asked| ports_asked::apply(ws, &asked));
    let ws = with_asked.as_ref().unwrap_or(ws);
    // The user's dotfiles: a stage of their own, from a copy the host makes.
    let with_dotfiles = options.dotfiles.as_ref().map(|d| d.with_stage(ws));
    let ws = with_dotfiles.as_ref().unwrap_or(ws);
    let mut target = Target::new(ws, host_env, options.port_offset, persisted)?;
    target.dotfiles.clone_from(&options.dotfiles);
    target.strict = options.strict;
    let state = target.state.clone();
    let report = up_with(engine, ws, target, host_env, options)?;
    warn_if_dotfiles_failed(ws, &state, &report);
    Ok(report)
}

/// The dotfiles' install never fails `up`: when it did not work this time, a warning says
/// so and where its output is.
fn warn_if_dotfiles_failed(ws: &Workspace, state: &crate::state::StateDir, report: &UpReport) {
    let Some(lane) = report
        .tasks
        .iter()
        .find(|l| l.stage == crate::dotfiles::NAME && l.ran)
    else {
        return;
    };
    let Some(id) = lifecycle::lane_ids(ws).remove(&lane.name) else {
        return;
    };
    let tail = state.log_tail(&id, 40);
    if let Some(failed) = tail
        .iter()
        .rev()
        .find(|l| l.contains(crate::dotfiles::FAILED))
    {
        crate::ui::warning(&format!(
            "{}; the workspace is up without them. Its output: `devboot logs {}` (in the container: {})",
            failed.trim_start_matches("devboot: ").trim(),
            crate::dotfiles::NAME,
            lane.log
        ));
    }
}

/// Makes the image a new container of `target` would run (pulls it, builds its
/// Dockerfile, installs its Features), as `devboot build` does; `rebuild` builds again.
pub fn ensure_image(engine: &Engine, target: &Target, rebuild: bool) -> Result<()> {
    image::ensure_image(engine, target, rebuild).map(drop)
}

/// Brings the workspace up in `target` (a prebuild's container is one of its own).
pub fn up_with(
    engine: &Engine,
    ws: &Workspace,
    mut target: Target,
    host_env: &EnvMap,
    options: &UpOptions,
) -> Result<UpReport> {
    if let Some(features) = &mut target.features {
        features.lockfile = options.lockfile;
    }
    let target = target;
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
    let bringing = Bringing {
        engine,
        ws,
        host_env,
        options,
        target: &target,
        output: &output,
        from_image: None,
        prebuild: None,
    };
    let needs_image_first =
        !target.spec.override_command || options.rebuild || target.features.is_some();
    if overlap::applies(&target, needs_image_first)
        && let Some(report) = bringing.run(true)?
    {
        return Ok(report);
    }
    bringing
        .run(false)
        .map(|report| report.expect("an up that looked first always ends"))
}

/// The plan a container runs from its entrypoint at its next start.
const BOOT_PLAN: &str = "next";
/// The plan `docker exec -d` runs in a running container.
const EXEC_PLAN: &str = "run";

/// What to do with the container.
#[derive(Clone, Copy)]
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
