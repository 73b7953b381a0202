//! `up`: from a loaded workspace to a running container with its tasks started and its
//! ports answering.
//!
//! 1. host hooks (`initializeCommand`);
//! 2. the wanted container spec and its hash;
//! 3. find the container by the reference CLI's labels (for a first `up`, beside the
//!    `docker run` that makes it: `overlap`);
//! 4. reuse, start, create or recreate it;
//! 5. run the lanes that are due: a plan the container runs itself (from its entrypoint,
//!    or one `docker exec -d`), followed from the host through the state folder;
//! 6. wait for the ports.
//!
//! A warm `up` (nothing to do) costs two engine calls: the label lookup and one inspect.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::substitute;
use crate::container::{self, ContainerSpec, LABEL_HASH, LABEL_SPEC};
use crate::engine::{ContainerInfo, Engine, EngineError, ImageConfig};
use crate::error::{Error, Result};
use crate::lifecycle::{self, ContainerFacts, ExecContext, LaneReport, Observed, Output};
use crate::ports::{self, Binding, Environment};
use crate::state::{MOUNT, StateDir};

mod overlap;
mod published;

use crate::ui;
use crate::workspace::{EnvMap, Format, ImageSource, Lane, Visibility, Workspace};
use overlap::Overlap;
use published::{check_ports, wait_for_ports};
pub use published::{existing_target, observe_ports, port_offset_of, published_host_port};

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

/// The container the config asks for, computed without touching the engine.
pub struct Target {
    pub name: String,
    pub id_labels: BTreeMap<String, String>,
    pub devcontainer_id: String,
    pub spec: ContainerSpec,
    pub bindings: Vec<Binding>,
    pub environment: Environment,
    /// `Some` when the image is built from a Dockerfile.
    pub build: Option<BuildPlan>,
    pub exec: ExecContext,
    pub port_offset: u16,
    /// devboot's cache folder on the host (build logs).
    pub cache_dir: PathBuf,
    /// The state folder shared with the container.
    pub state: StateDir,
}

pub struct BuildPlan {
    pub tag: String,
    pub dockerfile: PathBuf,
    pub args: Vec<String>,
}

/// Persisted variables (`devboot env set`) that apply to a workspace.
#[derive(Debug, Clone, Default)]
pub struct Persisted {
    pub values: EnvMap,
    /// Names set with `--secret`.
    pub secrets: Vec<String>,
}

/// Reads the persisted variables of a workspace folder.
pub fn persisted_env(host_env: &EnvMap, folder: &std::path::Path) -> Result<Persisted> {
    let path = crate::env::Store::path(&crate::dirs::config_dir(host_env));
    let stored = crate::env::Store::load(&path)?.for_workspace(folder);
    let (values, secrets) = crate::env::split_stored(&stored);
    Ok(Persisted { values, secrets })
}

impl Target {
    pub fn new(
        ws: &Workspace,
        host_env: &EnvMap,
        port_offset: u16,
        persisted: &Persisted,
    ) -> Result<Target> {
        let id_labels = substitute::id_labels(&ws.local_folder, &ws.config_file);
        let devcontainer_id = substitute::devcontainer_id(&id_labels);
        let name = container::container_name(&ws.name, &devcontainer_id);
        let environment = Environment::detect(host_env);
        let bindings = ports::bindings(&ws.ports, port_offset);
        let url = |port: u16| ports::url_of(&bindings, &environment, port, port_offset);
        let expand = |env: &EnvMap| -> EnvMap {
            env.iter()
                .map(|(k, v)| (k.clone(), ports::expand_port_urls(v, url)))
                .collect()
        };

        let (image, build) = match &ws.image {
            ImageSource::Reference { image } => (image.clone(), None),
            ImageSource::Dockerfile {
                dockerfile,
                context,
                args,
                target,
                cache_from,
                options,
            } => {
                let text =
                    std::fs::read(dockerfile).map_err(|e| Error::io("read", dockerfile, e))?;
                // `--force-rm`: the classic builder keeps the container of a failed step,
                // which would outlive the failed `up`.
                // The label says whose image it is (`docker images --filter`), as the
                // container's labels do.
                let mut build_args = vec![
                    "build".to_string(),
                    "--force-rm".into(),
                    "--label".into(),
                    format!("{LABEL_IMAGE_FOLDER}={}", ws.local_folder.display()),
                    "-f".into(),
                    dockerfile.display().to_string(),
                ];
                for (k, v) in args {
                    build_args.extend(["--build-arg".into(), format!("{k}={v}")]);
                }
                if let Some(target) = target {
                    build_args.extend(["--target".into(), target.clone()]);
                }
                for c in cache_from {
                    build_args.extend(["--cache-from".into(), c.clone()]);
                }
                build_args.extend(options.iter().cloned());
                let mut hasher = Sha256::new();
                hasher.update(&text);
                hasher.update(build_args.join("\0").as_bytes());
                hasher.update(context.display().to_string().as_bytes());
                let digest = hasher.finalize();
                let hash = digest[..6].iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                });
                let tag = format!("devboot-{}-{hash}", container::slug(&ws.name));
                build_args.extend(["-t".into(), tag.clone(), context.display().to_string()]);
                (
                    tag.clone(),
                    Some(BuildPlan {
                        tag,
                        dockerfile: dockerfile.clone(),
                        args: build_args,
                    }),
                )
            }
            ImageSource::Compose { .. } => {
                return Err(Error::Unsupported {
                    what: "a Docker Compose based devcontainer.json".into(),
                    help: "use `image` or `build.dockerfile` in devcontainer.json, or run `docker compose up` yourself".into(),
                });
            }
        };

        let mut env = expand(&ws.container_env);
        if ws.format == Format::Gitpod {
            gitpod_env(&mut env, host_env, &ws.name, &devcontainer_id);
        }
        env.extend(expand(&persisted.values));
        let mut mounts = Vec::new();
        if let Some(mount) = &ws.mount {
            mounts.push(mount.spec.clone().unwrap_or_else(|| {
                format!(
                    "type=bind,source={},target={}",
                    mount.source.display(),
                    mount.target
                )
            }));
        }
        let cache_dir = crate::dirs::cache_dir(host_env);
        let state = StateDir::new(&cache_dir, &devcontainer_id);
        mounts.push(state.mount_spec());
        mounts.extend(ws.options.mounts.iter().cloned());
        let spec = ContainerSpec {
            image,
            env,
            mounts,
            publish: bindings.iter().map(Binding::publish_arg).collect(),
            user: ws.options.container_user.clone(),
            run_args: ws.options.run_args.clone(),
            // Always an init process: it reaps the zombies of detached tasks (the
            // config can only ask for more, never for less).
            init: true,
            privileged: ws.options.privileged,
            cap_add: ws.options.cap_add.clone(),
            security_opt: ws.options.security_opt.clone(),
            override_command: ws.options.override_command,
        };
        let exec = exec_context(ws, &expand);
        Ok(Target {
            name,
            id_labels,
            devcontainer_id,
            spec,
            bindings,
            environment,
            build,
            exec,
            port_offset,
            cache_dir,
            state,
        })
    }

    /// How commands run in `container`: `${containerEnv:...}` in `remoteEnv`, `remoteUser`
    /// and the folder resolved against its environment.
    pub fn exec_in(&self, ws: &Workspace, container: &ContainerInfo) -> (Workspace, ExecContext) {
        let mut resolved = ws.clone();
        substitute::resolve_container_env(&mut resolved, &container.env());
        let url =
            |port: u16| ports::url_of(&self.bindings, &self.environment, port, self.port_offset);
        let expand = |env: &EnvMap| -> EnvMap {
            env.iter()
                .map(|(k, v)| (k.clone(), ports::expand_port_urls(v, url)))
                .collect()
        };
        let exec = exec_context(&resolved, &expand);
        (resolved, exec)
    }

    /// Whether the plan can run from the container's entrypoint: it runs as the container's
    /// user, so the remote user must be that user; and `${containerEnv:...}` must be
    /// resolvable before the start (from an existing container's env).
    pub fn can_plan_at_boot(&self, ws: &Workspace, existing: Option<&ContainerInfo>) -> bool {
        let same_user =
            ws.options.remote_user.is_none() || ws.options.remote_user == ws.options.container_user;
        let needs_env = existing.is_none() && uses_container_env(ws);
        same_user && !needs_env
    }

    /// The `${portUrl:N}`-expanded env of a lane.
    pub fn lane_env(&self, lane: &Lane) -> EnvMap {
        let url =
            |port: u16| ports::url_of(&self.bindings, &self.environment, port, self.port_offset);
        lane.env
            .iter()
            .map(|(k, v)| (k.clone(), ports::expand_port_urls(v, url)))
            .collect()
    }

    /// The ids of the containers with the reference CLI's labels for this workspace.
    pub fn find_ids(&self, engine: &Engine) -> Result<Vec<String>, EngineError> {
        let labels: Vec<(String, String)> = self.id_labels.clone().into_iter().collect();
        engine.find_by_labels(&labels)
    }

    /// Finds the workspace's container by the reference CLI's labels, which devboot's
    /// containers carry too: one call when there is none (a first `up`), two when there is.
    pub fn find(&self, engine: &Engine) -> Result<Option<ContainerInfo>, EngineError> {
        for id in self.find_ids(engine)? {
            if let Some(info) = engine.inspect_container(&id)?
                && info.state.status != "removing"
            {
                return Ok(Some(info));
            }
        }
        Ok(None)
    }
}

/// Whether something run in the container refers to `${containerEnv:...}`, which only a
/// running container can resolve.
fn uses_container_env(ws: &Workspace) -> bool {
    let has = |s: &str| s.contains("${containerEnv:");
    ws.remote_env.values().any(|v| has(v))
        || ws.options.remote_user.as_deref().is_some_and(has)
        || has(&ws.folder)
        || ws.stages.iter().flat_map(|s| &s.lanes).any(|l| {
            l.env.values().any(|v| has(v)) || l.steps.iter().any(|s| has(&s.command.to_string()))
        })
}

fn exec_context(ws: &Workspace, expand: &dyn Fn(&EnvMap) -> EnvMap) -> ExecContext {
    ExecContext {
        user: ws
            .options
            .remote_user
            .clone()
            .or_else(|| ws.options.container_user.clone()),
        folder: ws.folder.clone(),
        env: expand(&ws.remote_env),
    }
}

/// The variables Gitpod tasks rely on. Inside a real Gitpod workspace the host's values
/// pass through (so URLs built from them stay right); elsewhere stable stand-ins are made.
fn gitpod_env(env: &mut EnvMap, host_env: &EnvMap, name: &str, devcontainer_id: &str) {
    let passed = [
        "GITPOD_WORKSPACE_ID",
        "GITPOD_WORKSPACE_URL",
        "GITPOD_WORKSPACE_CLUSTER_HOST",
        "GITPOD_HOST",
    ];
    let mut any = false;
    for key in passed {
        if let Some(v) = host_env.get(key).filter(|v| !v.is_empty()) {
            env.entry(key.to_string()).or_insert_with(|| v.clone());
            any = true;
        }
    }
    if !any {
        let id = format!("{}-{}", container::slug(name), &devcontainer_id[..11]);
        env.entry("GITPOD_WORKSPACE_ID".into()).or_insert(id);
        env.entry("GITPOD_WORKSPACE_URL".into())
            .or_insert_with(|| "http://localhost".into());
    }
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

    // initializeCommand: on the host, at every up, before any container work.
    let host = lifecycle::run_host(ws, host_env, &output);
    if !host.failures.is_empty() {
        return Err(Error::TasksFailed {
            failures: host.failures,
            container: "(not created)".into(),
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
    let (made, action, result) = match decision {
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
            let action = if old.is_some() {
                Action::Recreated
            } else {
                Action::Created
            };
            let made = Made {
                facts: ContainerFacts { id, ..blank },
                name: target.name.clone(),
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
            let result =
                if let Some(seen) = lifecycle::observe_state(&resolved, &facts, &target.state) {
                    // A port that does not answer while its lanes are presumed alive: ask
                    // the container whether they are (a killed runner writes nothing).
                    let presumed = seen.lanes.values().any(|s| s.alive || s.session);
                    let seen = if presumed && published::http_port_silent(target) {
                        let user = exec.user.as_deref();
                        lifecycle::confirm_alive(engine, &resolved, &facts, user, seen)?
                    } else {
                        seen
                    };
                    run_planned(engine, &resolved, &exec, target, &info, &seen, output)?
                } else {
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
            let result = run_by_exec(engine, ws, target, &info, output)?;
            (Made::of(&info), action, result)
        }
    };
    if !result.failures.is_empty() {
        return Err(Error::TasksFailed {
            failures: result.failures,
            container: made.name.clone(),
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
    let ports = wait_for_ports(
        engine,
        target,
        ws,
        &facts,
        place,
        &result.lanes,
        options.wait,
    )?;
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

/// The container `up` ends with, as far as the rest of `up` needs it.
#[derive(Clone)]
struct Made {
    facts: ContainerFacts,
    name: String,
}

impl Made {
    fn of(info: &ContainerInfo) -> Made {
        Made {
            facts: facts_of(info),
            name: info.short_name().to_string(),
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

/// `docker run --pull never` (or podman's) saying the image is not here.
fn missing_image(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such image")
        || s.contains("image not known")
        || s.contains("unable to find image")
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

/// Writes a plan into the state folder, its lanes' old state cleared first so that what
/// devboot reads next belongs to this run.
fn write_plan(state: &StateDir, plan: &lifecycle::Plan) -> Result<()> {
    for lane in &plan.lanes {
        state.clear_lane(&lane.id)?;
    }
    state.write_plan(&plan.name, &plan.script).map(drop)
}

/// Follows a plan the container runs from its entrypoint; hands it the container's
/// timestamps for the reference CLI's markers.
fn follow_plan(
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
fn run_planned(
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
        target.state.prepare(lifecycle::RUNNER)?;
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
fn run_by_exec(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    info: &ContainerInfo,
    output: &Output,
) -> Result<lifecycle::RunResult> {
    let facts = facts_of(info);
    let (resolved, exec) = target.exec_in(ws, info);
    let seen = lifecycle::observe(engine, &resolved, &facts, exec.user.as_deref())?;
    let runner = lifecycle::Runner {
        engine,
        workspace: &resolved,
        facts: &facts,
        exec: &exec,
        lane_env: &|lane: &Lane| target.lane_env(lane),
        output,
    };
    let result = runner.run_container(&seen);
    lifecycle::commit_markers(engine, &facts, exec.user.as_deref(), &result.markers)?;
    Ok(result)
}

fn still_running(engine: &Engine, id: &str) -> bool {
    engine
        .inspect_container(id)
        .ok()
        .flatten()
        .is_some_and(|i| i.state.running)
}

/// True when devboot runs inside the Gitpod workspace of this very `.gitpod.yml` (a task of
/// it ran `devboot up`): Gitpod already runs its tasks, and a nested workspace would run
/// them twice.
fn runs_inside_its_own_gitpod(ws: &Workspace, host_env: &EnvMap) -> bool {
    ws.format == Format::Gitpod
        && host_env
            .get("GITPOD_WORKSPACE_ID")
            .is_some_and(|v| !v.is_empty())
        && host_env
            .get("GITPOD_REPO_ROOT")
            .is_some_and(|root| std::path::Path::new(root) == ws.local_folder)
}

/// What `up` does inside its own Gitpod workspace: apply the configured visibilities and
/// show the resolved environment, and say so.
fn in_gitpod(engine: &Engine, ws: &Workspace, target: &Target, host_env: &EnvMap) -> UpReport {
    ui::note(
        "running inside the Gitpod workspace of this .gitpod.yml: Gitpod runs its tasks, so devboot starts no nested workspace; it applies port visibility and the environment",
    );
    let applied = crate::expose::apply_visibility(&target.environment, &target.bindings, host_env);
    for call in &applied {
        ui::note(&format!("applied: {call}"));
    }
    let env: Vec<String> = target
        .spec
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !env.is_empty() {
        ui::note(&format!(
            "workspace environment (eval \"$(devboot env)\" puts it in a shell): {}",
            env.join(" ")
        ));
    }
    UpReport {
        container_id: String::new(),
        container_name: String::new(),
        action: Action::InGitpod,
        image: target.spec.image.clone(),
        workspace_folder: ws.local_folder.display().to_string(),
        environment: target.environment.name(),
        tasks: Vec::new(),
        ports: observe_ports(target, None)
            .into_iter()
            .map(|mut p| {
                // Gitpod's own ports: the workspace serves them directly.
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p.port));
                p.state = if ports::tcp_served(addr) {
                    "ready"
                } else {
                    "not served"
                };
                p
            })
            .collect(),
        engine_calls: engine.calls(),
    }
}

/// Makes the container and returns its id. When `docker run` fails, what it left is
/// removed, so the next `up` starts clean. With `overlap`, the lookup for an existing
/// container runs beside it; `None` when that found one (the new container is removed).
fn create(
    engine: &Engine,
    target: &Target,
    image: Option<&ImageConfig>,
    overlap: bool,
) -> Result<Option<String>> {
    let command: Vec<String> = image
        .map(|i| i.entrypoint.iter().chain(&i.cmd).cloned().collect())
        .unwrap_or_default();
    let args = target
        .spec
        .run_args(&target.name, &target.id_labels, &command);
    if overlap {
        return match overlap::run_beside_lookup(engine, target, &args)? {
            Overlap::Clear(ran) => Ok(Some(ran?)),
            Overlap::Found => Ok(None),
        };
    }
    match engine.call(&args) {
        Ok(out) => Ok(Some(out.trim().to_string())),
        Err(err) => {
            let _ = engine.remove(&target.name);
            Err(err.into())
        }
    }
}

/// Makes sure the image exists (pulls a reference that is not local, builds a Dockerfile
/// whose tag is missing, or always with `rebuild`) and returns its own command.
fn ensure_image(engine: &Engine, target: &Target, rebuild: bool) -> Result<ImageConfig> {
    let (image, present) = match &target.build {
        None => {
            let image = &target.spec.image;
            if let Some(config) = engine.image_config(image)? {
                return Ok(config);
            }
            ui::note(&format!("pulling {image}"));
            engine
                .call(["pull", image.as_str()])
                .map(drop)
                .map_err(|e| match e {
                    EngineError::Failed { stderr, .. } => Error::ImageUnavailable {
                        image: image.clone(),
                        detail: stderr,
                    },
                    e => e.into(),
                })?;
            (image, None)
        }
        Some(build) => {
            let present = if rebuild {
                None
            } else {
                engine.image_config(&build.tag)?
            };
            if present.is_none() {
                ui::note(&format!(
                    "building {} from {}",
                    build.tag,
                    build.dockerfile.display()
                ));
                run_build(engine, build, &target.cache_dir)?;
            }
            (&build.tag, present)
        }
    };
    match present {
        Some(config) => Ok(config),
        None => Ok(engine.image_config(image)?.unwrap_or_default()),
    }
}

fn run_build(engine: &Engine, build: &BuildPlan, cache_dir: &std::path::Path) -> Result<()> {
    // On a terminal one progress line shows the latest build step; elsewhere (CI, a
    // start-up hook) every line is printed.
    let progress = ui::stderr_is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut log = String::new();
    let status = crate::process::stream_lines(&mut engine.command(&build.args), |line| {
        match &progress {
            Some(bar) => bar.set_message(format!("building {}: {}", build.tag, ui::redact(&line))),
            None => ui::line(&format!("build | {line}")),
        }
        log.push_str(&line);
        log.push('\n');
    })
    .map_err(|source| EngineError::Spawn {
        program: engine.program_name(),
        source,
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if status.success() {
        return Ok(());
    }
    let dir = cache_dir.join("logs");
    let path = dir.join(format!("{}.build.log", build.tag));
    let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &log));
    let tail = log
        .lines()
        .rev()
        .take(10)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(String::from)
        .collect();
    Err(Error::BuildFailed {
        dockerfile: build.dockerfile.clone(),
        code: status.code().unwrap_or(-1),
        log: path,
        tail,
    })
}

/// Holds a per-workspace lock file for the life of `up`: a second `up` waits for it.
fn lock(host_env: &EnvMap, id: &str) -> Result<std::fs::File> {
    let dir = crate::dirs::cache_dir(host_env).join("locks");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let path = dir.join(format!("{id}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            ui::note("another devboot is bringing this workspace up; waiting for it");
            file.lock().map_err(|e| Error::io("lock", &path, e))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}
