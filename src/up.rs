//! `up`: from a loaded workspace to a running container with its tasks started and its
//! ports answering.
//!
//! 1. host hooks (`initializeCommand`);
//! 2. the wanted container spec and its hash;
//! 3. find the container (by name, then by the reference CLI's labels);
//! 4. reuse, start, create or recreate it;
//! 5. run the lanes that are due;
//! 6. wait for the ports.
//!
//! A warm `up` (nothing to do) costs two engine calls: one inspect, one status exec.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::substitute;
use crate::container::{self, ContainerSpec, LABEL_HASH, LABEL_SPEC};
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::error::{Error, Result};
use crate::lifecycle::{self, ContainerFacts, ExecContext, LaneReport, Observed, Output, Runner};
use crate::ports::{self, Binding, Environment};
use crate::ui;
use crate::workspace::{EnvMap, Format, ImageSource, Lane, Visibility, Workspace};

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
                let mut build_args = vec![
                    "build".to_string(),
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
            cache_dir: crate::dirs::cache_dir(host_env),
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

    /// The `${portUrl:N}`-expanded env of a lane.
    pub fn lane_env(&self, lane: &Lane) -> EnvMap {
        let url =
            |port: u16| ports::url_of(&self.bindings, &self.environment, port, self.port_offset);
        lane.env
            .iter()
            .map(|(k, v)| (k.clone(), ports::expand_port_urls(v, url)))
            .collect()
    }

    /// Finds the workspace's container: by devboot's name first (one call when it exists),
    /// then by the reference CLI's labels (a container VS Code or `devcontainer up` made).
    pub fn find(&self, engine: &Engine) -> Result<Option<ContainerInfo>, EngineError> {
        if let Some(info) = engine.inspect_container(&self.name)? {
            return Ok(Some(info));
        }
        let labels: Vec<(String, String)> = self.id_labels.clone().into_iter().collect();
        for id in engine.find_by_labels(&labels)? {
            if let Some(info) = engine.inspect_container(&id)?
                && info.state.status != "removing"
            {
                return Ok(Some(info));
            }
        }
        Ok(None)
    }
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
    let host_facts = ContainerFacts {
        id: String::new(),
        created: String::new(),
        started: String::new(),
    };
    let runner = Runner {
        engine,
        workspace: ws,
        facts: &host_facts,
        exec: &target.exec,
        lane_env: &|lane: &Lane| target.lane_env(lane),
        host_env,
        output: &output,
    };
    let host = runner.run_host(&Observed::default());
    if !host.failures.is_empty() {
        return Err(Error::TasksFailed {
            failures: host.failures,
            container: "(not created)".into(),
        });
    }

    let existing = target.find(engine)?;
    let (info, action) = match existing {
        Some(info) if options.recreate => {
            ui::note(&format!(
                "recreating container {} as --recreate asks",
                info.short_name()
            ));
            (
                recreate(engine, &target, &info, options)?,
                Action::Recreated,
            )
        }
        Some(info)
            if !info.state.running
                && !options.rebuild
                && info.label(LABEL_HASH) == Some(target.spec.hash().as_str()) =>
        {
            // Starting publishes the same ports again: say clearly when one is taken now.
            check_ports(engine, &target, Some(&info))?;
            start_if_stopped(engine, info)?
        }
        Some(info) => match info.label(LABEL_HASH) {
            Some(hash) if hash != target.spec.hash() && !options.no_recreate => {
                let old: Option<ContainerSpec> = info
                    .label(LABEL_SPEC)
                    .and_then(|s| serde_json::from_str(s).ok());
                let changes = old
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
                (
                    recreate(engine, &target, &info, options)?,
                    Action::Recreated,
                )
            }
            Some(hash) if hash != target.spec.hash() => {
                ui::note(&format!(
                    "the config changed since container {} was made; keeping it as --no-recreate asks",
                    info.short_name()
                ));
                start_if_stopped(engine, info)?
            }
            None if options.rebuild => (
                recreate(engine, &target, &info, options)?,
                Action::Recreated,
            ),
            None => {
                ui::note(&format!(
                    "using container {} made by another tool; devboot cannot tell whether it matches the config (--recreate makes a new one)",
                    info.short_name()
                ));
                start_if_stopped(engine, info)?
            }
            Some(_) if options.rebuild && target.build.is_some() => (
                recreate(engine, &target, &info, options)?,
                Action::Recreated,
            ),
            Some(_) => start_if_stopped(engine, info)?,
        },
        None => (create(engine, &target, None, options)?, Action::Created),
    };

    let facts = ContainerFacts {
        id: info.id.clone(),
        created: info.created.clone(),
        started: info.state.started_at.clone(),
    };
    let (resolved, exec) = target.exec_in(ws, &info);
    let ws = &resolved;
    // A container made just now has run nothing yet: no need to ask it.
    let seen = if matches!(action, Action::Created | Action::Recreated) {
        Observed::default()
    } else {
        lifecycle::observe(engine, ws, &facts, exec.user.as_deref())?
    };
    let runner = Runner {
        engine,
        workspace: ws,
        facts: &facts,
        exec: &exec,
        lane_env: &|lane: &Lane| target.lane_env(lane),
        host_env,
        output: &output,
    };
    let result = runner.run_container(&seen);
    lifecycle::commit_markers(engine, &facts, exec.user.as_deref(), &result.markers)?;
    if !result.failures.is_empty() {
        return Err(Error::TasksFailed {
            failures: result.failures,
            container: info.short_name().to_string(),
        });
    }
    // Hosted visibility and onOpen only when something changed: a warm `up` stays quiet
    // and fast.
    let changed = action != Action::Reused || result.lanes.iter().any(|l| l.ran);
    if changed {
        crate::expose::apply_visibility(&target.environment, &target.bindings, host_env);
    }
    let ports = wait_for_ports(engine, &target, ws, &facts, &result.lanes, options.wait)?;
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

    Ok(UpReport {
        container_id: info.id.clone(),
        container_name: info.short_name().to_string(),
        action,
        image: target.spec.image.clone(),
        workspace_folder: ws.folder.clone(),
        environment: target.environment.name(),
        tasks: result.lanes,
        ports,
        engine_calls: engine.calls(),
    })
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

fn start_if_stopped(engine: &Engine, info: ContainerInfo) -> Result<(ContainerInfo, Action)> {
    if info.state.running {
        return Ok((info, Action::Reused));
    }
    engine.start(&info.id)?;
    let info = engine
        .inspect_container(&info.id)?
        .ok_or_else(|| Error::NoContainer {
            folder: PathBuf::from(
                info.label(container::LABEL_LOCAL_FOLDER)
                    .unwrap_or_default(),
            ),
        })?;
    Ok((info, Action::Started))
}

fn recreate(
    engine: &Engine,
    target: &Target,
    old: &ContainerInfo,
    options: &UpOptions,
) -> Result<ContainerInfo> {
    // Ports first (cheap, and a build can take minutes), then the build: a failure of
    // either leaves the old container as it was.
    check_ports(engine, target, Some(old))?;
    ensure_image(engine, target, options.rebuild)?;
    engine.remove(&old.id)?;
    create(engine, target, Some(old), options)
}

/// Makes the container. When `docker run` fails, what it left is removed, so the next
/// `up` starts clean.
fn create(
    engine: &Engine,
    target: &Target,
    old: Option<&ContainerInfo>,
    options: &UpOptions,
) -> Result<ContainerInfo> {
    if old.is_none() {
        check_ports(engine, target, None)?;
        ensure_image(engine, target, options.rebuild)?;
    }
    let args = target.spec.run_args(&target.name, &target.id_labels);
    if let Err(err) = engine.call(&args) {
        let _ = engine.remove(&target.name);
        return Err(err.into());
    }
    engine.inspect_container(&target.name)?.ok_or_else(|| {
        Error::Engine(EngineError::BadOutput {
            command: engine.describe(&args),
            detail: format!("container {} is gone right after it was made", target.name),
        })
    })
}

/// Makes sure the image exists: pull a reference that is not local, build a Dockerfile
/// whose tag is missing (or always with `rebuild`).
fn ensure_image(engine: &Engine, target: &Target, rebuild: bool) -> Result<()> {
    match &target.build {
        None => {
            let image = &target.spec.image;
            if engine.image_exists(image)? {
                return Ok(());
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
                })
        }
        Some(build) => {
            if !rebuild && engine.image_exists(&build.tag)? {
                return Ok(());
            }
            ui::note(&format!(
                "building {} from {}",
                build.tag,
                build.dockerfile.display()
            ));
            run_build(engine, build, &target.cache_dir)
        }
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

/// Fails before anything is made when a host port is taken by something other than the
/// workspace's own (old) container. Binding the address is the test (it sees processes and
/// docker's proxy alike); the engine is asked only about a taken port, to name the
/// container holding it.
fn check_ports(engine: &Engine, target: &Target, ours: Option<&ContainerInfo>) -> Result<()> {
    for binding in &target.bindings {
        for host_port in binding.host_port..=binding.last_host_port() {
            let ip = if binding.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                binding.host_ip.as_str()
            };
            if std::net::TcpListener::bind((ip, host_port)).is_ok() {
                continue;
            }
            let users = engine.containers_publishing(host_port).unwrap_or_default();
            if let Some(ours) = ours
                && users.iter().any(|u| u == ours.short_name())
            {
                continue;
            }
            return Err(Error::PortTaken {
                port: host_port,
                host_ip: ip.to_string(),
                by: users.into_iter().next(),
            });
        }
    }
    Ok(())
}

/// Whether a port must answer HTTP to count as ready: it says it speaks HTTP, or it has
/// a name (a named port is a service someone will open).
fn wants_http(binding: &Binding) -> bool {
    binding.port.protocol.is_some() || binding.port.label.is_some()
}

/// Waits until every published port accepts a connection (and answers HTTP when it should),
/// one progress line per port on a terminal. On timeout the error names the port, says what
/// the container shows on it, and shows the last lines of the task most likely to serve it.
/// A range is not waited for: it lists ports that may be served, not ones that must be.
fn wait_for_ports(
    engine: &Engine,
    target: &Target,
    ws: &Workspace,
    facts: &ContainerFacts,
    lanes: &[LaneReport],
    wait: Option<Duration>,
) -> Result<Vec<PortReport>> {
    let deadline = wait.map(|w| Instant::now() + w);
    let mut reports = Vec::new();
    for binding in &target.bindings {
        let state = match deadline {
            Some(deadline) if !binding.port.is_range() => {
                let addr = binding.probe_addr();
                let progress = indicatif::ProgressBar::new_spinner().with_message(format!(
                    "waiting for port {}{} on {addr}",
                    binding.port.port,
                    label_suffix(binding)
                ));
                progress.enable_steady_tick(Duration::from_millis(120));
                let served = ports::wait_tcp(addr, deadline);
                let ready = served && (!wants_http(binding) || ports::wait_http(addr, deadline));
                progress.finish_and_clear();
                if !ready {
                    return Err(not_ready(
                        engine, target, ws, facts, lanes, binding, served, wait,
                    ));
                }
                "ready"
            }
            _ => "not checked",
        };
        reports.push(report(
            target,
            binding,
            binding.host_port,
            &binding.host_ip,
            state,
        ));
    }
    Ok(reports)
}

fn label_suffix(binding: &Binding) -> String {
    binding
        .port
        .label
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default()
}

fn report(
    target: &Target,
    binding: &Binding,
    host_port: u16,
    host_ip: &str,
    state: &'static str,
) -> PortReport {
    PortReport {
        port: binding.port.port,
        end: binding.port.is_range().then_some(binding.port.end),
        host_ip: host_ip.to_string(),
        host_port,
        label: binding.port.label.clone(),
        visibility: binding.port.visibility,
        url: target.environment.url(host_port),
        state,
    }
}

/// The error for a port that did not get ready: what the container shows on that port (one
/// exec reading its socket table) and the last lines of the task most likely to serve it.
#[allow(clippy::too_many_arguments)]
fn not_ready(
    engine: &Engine,
    target: &Target,
    ws: &Workspace,
    facts: &ContainerFacts,
    lanes: &[LaneReport],
    binding: &Binding,
    served: bool,
    wait: Option<Duration>,
) -> Error {
    let port = binding.port.port;
    let user = target.exec.user.as_deref();
    let sockets = engine
        .exec_capture(
            &facts.id,
            user,
            &EnvMap::new(),
            &["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"],
        )
        .ok();
    let listening = sockets
        .as_deref()
        .map(|text| ports::listening_addresses(text, port));
    let reason = match listening.as_deref() {
        _ if served => Some(format!(
            "it accepts connections on {} but does not answer HTTP there",
            binding.probe_addr()
        )),
        Some([]) => Some(format!("nothing listens on port {port} in the container")),
        Some(addresses) if addresses.iter().all(std::net::IpAddr::is_loopback) => Some(format!(
            "in the container it listens on {} only, which the host cannot reach: make it listen on 0.0.0.0",
            addresses
                .iter()
                .map(|a| std::net::SocketAddr::new(*a, port).to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        )),
        _ => None,
    };
    let task = likely_server(ws, lanes, port);
    let tail = task
        .as_ref()
        .and_then(|t| lifecycle::lane_ids(ws).get(t).cloned())
        .map(|id| lifecycle::log_tail(engine, facts, user, &id, 15))
        .unwrap_or_default();
    Error::PortNotReady {
        port,
        label: binding.port.label.clone(),
        seconds: wait.unwrap_or_default().as_secs(),
        reason,
        task,
        tail,
    }
}

/// Where each port of a container stands now, without waiting: `not served` (nothing
/// accepts connections), `served` (something does), `ready` (and answers HTTP when the
/// port should). Host ports are read from the container when it publishes them. The ports
/// are probed in parallel: a served port that stays silent costs a fraction of a second.
pub fn observe_ports(target: &Target, info: Option<&ContainerInfo>) -> Vec<PortReport> {
    let running = info.is_some_and(|i| i.state.running);
    std::thread::scope(|scope| {
        let probes: Vec<_> = target
            .bindings
            .iter()
            .map(|binding| {
                scope.spawn(move || {
                    let key = format!("{}/tcp", binding.port.port);
                    let published = info
                        .and_then(|i| i.network_settings.ports.get(&key))
                        .and_then(Option::as_ref)
                        .and_then(|b| b.first());
                    let mut bound = binding.clone();
                    if let Some(p) = published {
                        bound.host_port = p.host_port.parse().unwrap_or(binding.host_port);
                        bound.host_ip = if p.host_ip.is_empty() {
                            "0.0.0.0".into()
                        } else {
                            p.host_ip.clone()
                        };
                    }
                    let addr = bound.probe_addr();
                    let state = if !running {
                        "not served"
                    } else if wants_http(&bound)
                        && ports::http_responds(addr, Duration::from_millis(500))
                    {
                        "ready"
                    } else if !ports::tcp_served(addr) {
                        "not served"
                    } else if wants_http(&bound) {
                        "served"
                    } else {
                        "ready"
                    };
                    report(target, binding, bound.host_port, &bound.host_ip, state)
                })
            })
            .collect();
        probes
            .into_iter()
            .map(|p| p.join().expect("a port probe does not panic"))
            .collect()
    })
}

/// The lane most likely to serve `port`: one whose commands mention it (as a number, not
/// inside a longer one), else the only long-running one.
fn likely_server(ws: &Workspace, lanes: &[LaneReport], port: u16) -> Option<String> {
    for stage in &ws.stages {
        for lane in &stage.lanes {
            if lane
                .steps
                .iter()
                .any(|s| mentions_number(&s.command.to_string(), port))
            {
                return Some(lane.name.clone());
            }
        }
    }
    let running: Vec<&LaneReport> = lanes
        .iter()
        .filter(|l| l.state == lifecycle::LaneState::Running)
        .collect();
    (running.len() == 1).then(|| running[0].name.clone())
}

/// True when `text` holds `number` with no digit right before or after it.
fn mentions_number(text: &str, number: u16) -> bool {
    let needle = number.to_string();
    text.match_indices(&needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// The host port a running container publishes container port `port` on.
pub fn published_host_port(info: &ContainerInfo, port: u16) -> Option<u16> {
    info.network_settings
        .ports
        .get(&format!("{port}/tcp"))?
        .as_ref()?
        .first()?
        .host_port
        .parse()
        .ok()
}

/// The port offset a container was made with, read back from the spec devboot labelled it
/// with: the difference between a published host port and the one the config asks for.
pub fn port_offset_of(target: &Target, info: &ContainerInfo) -> Option<u16> {
    let spec: ContainerSpec = serde_json::from_str(info.label(LABEL_SPEC)?).ok()?;
    spec.publish.iter().find_map(|publish| {
        // `ip:host:container`, `[v6]:host:container`, ranges as `a-b`.
        let mut parts = publish.rsplitn(3, ':');
        let container = parts.next()?.split('-').next()?.parse::<u16>().ok()?;
        let host = parts.next()?.split('-').next()?.parse::<u16>().ok()?;
        let binding = target.bindings.iter().find(|b| b.port.port == container)?;
        host.checked_sub(binding.host_port.checked_sub(target.port_offset)?)
    })
}

/// The target of a workspace as it exists: commands that look at a workspace (`ports`,
/// `url`, `env`, `status`) see the host ports and URLs its container was made with, also
/// when `up` had a `--port-offset`. `offset` given by the user wins. Without an engine (or a
/// container), the config's ports with `offset` (or none) are used.
pub fn existing_target(
    ws: &Workspace,
    host_env: &EnvMap,
    persisted: &Persisted,
    engine: Option<&Engine>,
    offset: Option<u16>,
) -> Result<(Target, Option<ContainerInfo>)> {
    let target = Target::new(ws, host_env, offset.unwrap_or(0), persisted)?;
    let Some(engine) = engine else {
        return Ok((target, None));
    };
    let info = target.find(engine)?;
    let found = match (&info, offset) {
        (Some(info), None) => port_offset_of(&target, info).filter(|o| *o != 0),
        _ => None,
    };
    match found {
        Some(offset) => Ok((Target::new(ws, host_env, offset, persisted)?, info)),
        None => Ok((target, info)),
    }
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
