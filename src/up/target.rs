//! The container a config asks for — name, labels, spec and its hash, ports, the image to
//! build, the exec context — computed from the workspace without touching the engine, and
//! the lookup of the container that has its labels.
//!
//! Where persisted variables go: plain ones are container env, as the config's own are.
//! Secret ones (`env set --secret`, or a name like `*TOKEN*`) are not: container env is
//! stored with the container for anyone who may `docker inspect` it. They are given to each
//! command devboot runs in the container instead (tasks, hooks, `devboot exec`: the exec
//! context's env), by name (see `engine::pass_env`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::config::substitute;
use crate::container::{self, ContainerSpec};
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::error::{Error, Result};
use crate::lifecycle::{self, ExecContext};
use crate::ports::{self, Binding, Environment};
use crate::state::StateDir;
use crate::workspace::{EnvMap, Format, ImageSource, Lane, Workspace};

use super::LABEL_IMAGE_FOLDER;

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
    /// `Some` for a Docker Compose service.
    pub compose: Option<ComposePlan>,
    /// Names whose values are secret, for `engine::pass_env`.
    pub secret_names: Vec<String>,
    /// `Some` when Dev Container Features extend the image (see `up::extend`).
    pub features: Option<FeaturesPlan>,
    /// devcontainer `hostRequirements`, checked once before a new container is made.
    pub host_requirements: Option<crate::workspace::HostRequirements>,
    /// `up --strict`: a requirement not met is an error.
    pub strict: bool,
    /// What that check said (whether to ask for GPUs), once it ran.
    pub host_checked: std::sync::OnceLock<bool>,
    /// `Some` when the user's ids change in an image of its own (see `up::uid`).
    pub uid: Option<super::uid::UidPlan>,
    /// The persisted secrets, `${portUrl:N}` expanded: part of every exec context's env.
    secret_env: EnvMap,
    /// What `gp` in the container answers from (see `gp`).
    gp: crate::gp::Facts,
    /// The user's dotfiles, copied into a new container's state folder (see `dotfiles`).
    pub dotfiles: Option<crate::dotfiles::Dotfiles>,
    /// The host environment, for fetching the dotfiles (`~` in a folder's path).
    host_env: EnvMap,
    /// Where the workspace runs: this machine's engine, or another machine's.
    pub backend: crate::backend::Backend,
    /// The workspace folder here and where devboot mounts it in the container (not when
    /// the config writes its own `workspaceMount`): what a remote engine gets a copy of.
    pub source: Option<(PathBuf, String)>,
}

/// A Docker Compose service to bring up (see `up::compose`).
pub struct ComposePlan {
    pub project: String,
    pub files: Vec<PathBuf>,
    pub service: String,
    /// Services to start; empty means all.
    pub run_services: Vec<String>,
    /// The first file's `version:`, which the override file must repeat for Compose v1.
    pub version: Option<String>,
    /// What Compose interpolates `${VAR}` in the files with.
    pub vars: EnvMap,
}

/// The image Features extend, and the derived image's tag.
pub struct FeaturesPlan {
    /// The image the Features go on: the config's image, or the one its Dockerfile builds.
    pub base: String,
    /// `devboot-features-<name>-<hash>`: the hash is of what the config says (the requests,
    /// the order, the mirror, the base image's name), so a warm `up` knows the tag without
    /// asking a registry. The lockfile is read when the image is built (`--rebuild`).
    pub tag: String,
    pub requests: Vec<crate::features::Request>,
    pub install_order: Vec<String>,
    pub config_file: PathBuf,
    /// The config's users, for the install scripts (`_CONTAINER_USER`, `_REMOTE_USER`).
    pub container_user: Option<String>,
    pub remote_user: Option<String>,
    /// What fetching reads: the mirror, registry credentials, proxies.
    pub host_env: EnvMap,
    /// What a build does with `devcontainer-lock.json` (set from `up`'s flags).
    pub lockfile: crate::features::lockfile::Mode,
}

impl FeaturesPlan {
    fn new(ws: &Workspace, base: &str, host_env: &EnvMap) -> FeaturesPlan {
        let mut hasher = Sha256::new();
        hasher.update(b"devboot-features-1\0");
        hasher.update(base.as_bytes());
        hasher.update(
            serde_json::to_string(&(&ws.features, &ws.feature_install_order))
                .expect("JSON values always serialize")
                .as_bytes(),
        );
        let mirror = host_env.get("DEVBOOT_REGISTRY_MIRROR");
        hasher.update(mirror.map_or("", String::as_str).as_bytes());
        let hash = container::hex(&hasher.finalize()[..6]);
        FeaturesPlan {
            base: base.to_string(),
            tag: format!("devboot-features-{}-{hash}", container::slug(&ws.name)),
            requests: ws.features.clone(),
            install_order: ws.feature_install_order.clone(),
            config_file: ws.config_file.clone(),
            container_user: ws.options.container_user.clone(),
            remote_user: ws.options.remote_user.clone(),
            host_env: host_env.clone(),
            lockfile: crate::features::lockfile::Mode::Read,
        }
    }
}

/// How each Feature is written in the spec: its id, and its options when it has any.
fn features_in_spec(ws: &Workspace) -> Vec<String> {
    ws.features
        .iter()
        .map(|f| match &f.value {
            serde_json::Value::Object(o) if o.is_empty() => f.id.clone(),
            value => format!("{} {value}", f.id),
        })
        .collect()
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

/// The state folder of the workspace's container (see `crate::state`).
pub fn state_dir(ws: &Workspace, host_env: &EnvMap) -> StateDir {
    let id_labels = substitute::id_labels(&ws.local_folder, &ws.config_file);
    StateDir::new(
        &crate::dirs::cache_dir(host_env),
        &substitute::devcontainer_id(&id_labels),
    )
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
        let backend = crate::backend::Backend::detect(host_env);
        let environment = match (
            Environment::detect(host_env),
            backend.remote().and_then(crate::backend::Remote::url_host),
        ) {
            (Environment::Local, Some(host)) => Environment::Remote {
                host: host.to_string(),
            },
            (environment, _) => environment,
        };
        let mut bindings = ports::bindings(&ws.ports, port_offset);
        // Over TCP the URLs name the remote host: a port published only on its loopback
        // (a private port's default) could not be reached from here. The config's own
        // address stays.
        if backend.remote().is_some_and(|r| r.url_host().is_some()) {
            for binding in &mut bindings {
                if binding.port.host_ip.is_none() && binding.host_ip == "127.0.0.1" {
                    binding.host_ip = "0.0.0.0".into();
                }
            }
        }
        // A Compose service: the ports its compose files publish are the workspace's too.
        if let ImageSource::Compose { files, service, .. } = &ws.image {
            bindings = super::compose::service_bindings(bindings, files, service, host_env);
        }
        let url = |port: u16| ports::url_of(&bindings, &environment, port, port_offset);
        let expand = |env: &EnvMap| -> EnvMap {
            env.iter()
                .map(|(k, v)| (k.clone(), ports::expand_port_urls(v, url)))
                .collect()
        };

        let mut compose = None;
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
                let hash = container::hex(&hasher.finalize()[..6]);
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
            ImageSource::Compose {
                files,
                service,
                run_services,
            } => {
                // The files' text is in the hash: an edit recreates, as a Dockerfile's does.
                let mut hasher = Sha256::new();
                let mut version = None;
                for file in files {
                    let text = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
                    if version.is_none() {
                        version = compose_version(&String::from_utf8_lossy(&text));
                    }
                    hasher.update(file.display().to_string().as_bytes());
                    hasher.update(&text);
                }
                let hash = container::hex(&hasher.finalize()[..6]);
                compose = Some(ComposePlan {
                    project: compose_project(host_env, files, ws),
                    files: files.clone(),
                    service: service.clone(),
                    run_services: run_services.clone(),
                    version,
                    vars: crate::config::compose::variables(files, host_env),
                });
                (format!("compose service {service} ({hash})"), None)
            }
        };

        let features = match &compose {
            _ if ws.features.is_empty() => None,
            // The service's own image (built by Compose first when it has `build`).
            Some(plan) => Some(FeaturesPlan::new(
                ws,
                &super::compose::service_image(plan).0,
                host_env,
            )),
            None => Some(FeaturesPlan::new(ws, &image, host_env)),
        };
        let image = features.as_ref().map_or(image, |f| f.tag.clone());
        // updateRemoteUserUID: the user gets this machine's ids, in an image of its own
        // (on a Compose service's own, when no Feature extends it; its spec stays the
        // compose files' digest). Not on a remote engine: nothing of this machine is
        // mounted there.
        let uid_base = match (&features, &compose) {
            (None, Some(plan)) => super::compose::service_image(plan).0,
            _ => image.clone(),
        };
        let uid = backend
            .shares_state()
            .then(|| super::uid::plan(ws, &uid_base))
            .flatten();
        let image = match (&uid, &compose) {
            (Some(uid), None) => uid.tag.clone(),
            _ => image,
        };

        let mut env = expand(&ws.container_env);
        if ws.format == Format::Gitpod {
            gitpod_env(&mut env, host_env, &ws.name, &devcontainer_id);
        }
        let (secret_env, plain): (EnvMap, EnvMap) = expand(&persisted.values)
            .into_iter()
            .partition(|(k, _)| persisted.secrets.contains(k) || crate::env::looks_secret(k));
        env.extend(plain);
        let mut mounts = Vec::new();
        if let Some(mount) = &ws.mount {
            mounts.push(match &mount.spec {
                Some(spec) => spec.clone(),
                None => backend
                    .workspace_mount(&mount.source, &mount.target, &devcontainer_id)
                    .map_err(|e| mount_error(&mount.source, &e))?,
            });
        }
        let cache_dir = crate::dirs::cache_dir(host_env);
        let state = state_dir(ws, host_env)
            .for_workspace(super::in_place::workspace_file_text(&ws.folder, ws));
        // A Compose service mounts the sources itself, and its lanes are driven the exec
        // way (its entrypoint is the service's own); so are those on a remote engine,
        // which cannot mount this machine's state folder.
        if compose.is_none() && backend.shares_state() {
            mounts.extend(
                state
                    .mount_specs()
                    .map_err(|e| mount_error(&state.path, &e))?,
            );
        }
        mounts.extend(ws.options.mounts.iter().cloned());
        let mut spec = ContainerSpec {
            image,
            env,
            mounts,
            // Not the ones Compose publishes itself.
            publish: bindings
                .iter()
                .filter(|b| b.port.publish)
                .map(Binding::publish_arg)
                .collect(),
            user: ws.options.container_user.clone(),
            run_args: ws.options.run_args.clone(),
            // Always an init process: it reaps the zombies of detached tasks (the
            // config can only ask for more, never for less).
            init: true,
            privileged: ws.options.privileged,
            cap_add: ws.options.cap_add.clone(),
            security_opt: ws.options.security_opt.clone(),
            override_command: ws.options.override_command,
            features: features_in_spec(ws),
            ..ContainerSpec::default()
        };
        let gp = crate::gp::Facts::of(&crate::gp::Workspace {
            id: spec
                .env
                .get("GITPOD_WORKSPACE_ID")
                .map_or(name.as_str(), String::as_str),
            environment: &environment,
            bindings: &bindings,
            port_offset,
            lanes: lifecycle::shown_lanes(ws)
                .into_iter()
                .map(|(shown, id)| (id, shown))
                .collect(),
            env: &persisted.values,
            secret: &|k| persisted.secrets.iter().any(|s| s == k) || crate::env::looks_secret(k),
        });
        let key = crate::value_digest::DigestKey::load(&crate::dirs::config_dir(host_env))?;
        spec.seal(&key, &secret_env);
        let exec = exec_context(ws, &expand, &secret_env);
        let source = ws
            .mount
            .as_ref()
            .filter(|m| m.spec.is_none() && compose.is_none())
            .map(|m| (m.source.clone(), m.target.clone()));
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
            compose,
            secret_names: persisted.secrets.clone(),
            features,
            host_requirements: ws.host_requirements.clone(),
            strict: false,
            host_checked: std::sync::OnceLock::new(),
            uid,
            secret_env,
            gp,
            dotfiles: None,
            host_env: host_env.clone(),
            backend,
            source,
        })
    }

    /// The same workspace's prebuild container (see `crate::prebuild`): a name, labels and
    /// state folder of its own, so it never meets the workspace's own container.
    #[must_use]
    pub fn for_prebuild(mut self, ws: &Workspace) -> Target {
        let old_mounts = self.state.mount_specs().unwrap_or_default();
        for (key, value) in &mut self.id_labels {
            if key.ends_with("config_file") {
                value.push_str(" (prebuild)");
            }
        }
        self.devcontainer_id = substitute::devcontainer_id(&self.id_labels);
        self.name =
            container::container_name(&format!("{}-prebuild", ws.name), &self.devcontainer_id);
        self.state = StateDir::new(&self.cache_dir, &self.devcontainer_id);
        if let Ok(new_mounts) = self.state.mount_specs() {
            for mount in &mut self.spec.mounts {
                if let Some(at) = old_mounts.iter().position(|m| m == mount) {
                    mount.clone_from(&new_mounts[at]);
                }
            }
        }
        self
    }

    /// Whether a new container asks for GPUs, after checking the config's
    /// `hostRequirements` against the engine's machine (once per `up`).
    pub fn check_host(&self, engine: &Engine) -> Result<bool> {
        if let Some(gpus) = self.host_checked.get() {
            return Ok(*gpus);
        }
        let gpus = match &self.host_requirements {
            Some(wants) => super::host_requirements::check(engine, wants, self.strict)?,
            None => false,
        };
        let _ = self.host_checked.set(gpus);
        Ok(gpus)
    }

    /// The host environment the target was made with.
    pub fn host_env(&self) -> &EnvMap {
        &self.host_env
    }

    /// What `gp` in the container answers from.
    pub fn gp_facts(&self) -> &crate::gp::Facts {
        &self.gp
    }

    /// Writes the container's state folder for a start or an exec: the runner and what
    /// `gp` answers from.
    pub fn prepare_state(&self) -> Result<()> {
        self.state.prepare(lifecycle::RUNNER)?;
        self.state.write_host_files(&self.gp.files)?;
        self.copy_dotfiles();
        Ok(())
    }

    /// The dotfiles' copy for the container's lane, made once per state folder (a new
    /// container starts with a new one); a failure is a warning, and the lane says so.
    fn copy_dotfiles(&self) {
        let Some(dotfiles) = &self.dotfiles else {
            return;
        };
        let to = self.state.host_path(crate::dotfiles::IN_STATE);
        if to.exists() {
            return;
        }
        if let Err(err) = dotfiles.fetch(&to, &self.host_env) {
            crate::ui::warning(&format!(
                "the dotfiles are not installed in this container: {err}"
            ));
        }
    }

    /// How commands run in `container`: `${containerEnv:...}` in `remoteEnv`, `remoteUser`
    /// and the folder resolved against its environment.
    pub fn exec_in(&self, ws: &Workspace, container: &ContainerInfo) -> (Workspace, ExecContext) {
        self.exec_with(ws, &container.env())
    }

    /// How commands run in a workspace whose own environment is `container_env` (in place:
    /// devboot's own).
    pub fn exec_with(&self, ws: &Workspace, container_env: &EnvMap) -> (Workspace, ExecContext) {
        let mut resolved = ws.clone();
        substitute::resolve_container_env(&mut resolved, container_env);
        let url =
            |port: u16| ports::url_of(&self.bindings, &self.environment, port, self.port_offset);
        let expand = |env: &EnvMap| -> EnvMap {
            env.iter()
                .map(|(k, v)| (k.clone(), ports::expand_port_urls(v, url)))
                .collect()
        };
        let exec = exec_context(&resolved, &expand, &self.secret_env);
        (resolved, exec)
    }

    /// Whether the plan can run from the container's entrypoint: it runs as the container's
    /// user, so the remote user must be that user; and `${containerEnv:...}` must be
    /// resolvable before the start (from an existing container's env).
    pub fn can_plan_at_boot(&self, ws: &Workspace, existing: Option<&ContainerInfo>) -> bool {
        if !self.backend.shares_state() {
            return false;
        }
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

/// How commands run in the container; their env is the persisted secrets with the remote
/// env on top (the layers' order, see `env`).
fn exec_context(
    ws: &Workspace,
    expand: &dyn Fn(&EnvMap) -> EnvMap,
    secret_env: &EnvMap,
) -> ExecContext {
    let mut env = secret_env.clone();
    env.extend(expand(&ws.remote_env));
    ExecContext {
        user: ws
            .options
            .remote_user
            .clone()
            .or_else(|| ws.options.container_user.clone()),
        folder: ws.folder.clone(),
        env,
        probe: ws.user_env_probe,
    }
}

/// A workspace folder no `--mount` value can name, as an error that says which and why.
fn mount_error(folder: &std::path::Path, error: &crate::mount::MountError) -> Error {
    Error::Unsupported {
        // Escaped: the name may hold line breaks.
        what: format!(
            "mounting the workspace folder \"{}\"",
            folder.display().to_string().escape_debug()
        ),
        help: format!("{}; {}", error.reason(), error.help()),
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

/// The top-level `version:` of a compose file, if it has one.
fn compose_version(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix("version:")?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The Compose project name, as the reference CLI picks it: `COMPOSE_PROJECT_NAME`, else
/// `<workspace folder name>_devcontainer` when the first file is in `.devcontainer/`, else
/// the name of that file's folder; lowercased, only `a-z0-9_-` kept.
fn compose_project(host_env: &EnvMap, files: &[PathBuf], ws: &Workspace) -> String {
    let base = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let folder = files.first().and_then(|f| f.parent());
    let name = match host_env
        .get("COMPOSE_PROJECT_NAME")
        .filter(|v| !v.is_empty())
    {
        Some(name) => name.clone(),
        None if folder.is_some_and(|f| base(f) == ".devcontainer") => {
            format!("{}_devcontainer", base(&ws.local_folder))
        }
        None => folder.map(base).unwrap_or_default(),
    };
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_project_names_follow_the_reference_cli() {
        let ws = |folder: &str| {
            let mut env = EnvMap::new();
            let files = vec![PathBuf::from(format!("{folder}/.devcontainer/compose.yml"))];
            let w = Workspace {
                format: Format::Devcontainer,
                name: "w".into(),
                config_file: files[0].with_file_name("devcontainer.json"),
                local_folder: PathBuf::from(folder),
                image: ImageSource::Reference { image: "i".into() },
                mount: None,
                folder: "/".into(),
                container_env: EnvMap::new(),
                remote_env: EnvMap::new(),
                stages: Vec::new(),
                prebuild_commands: Vec::new(),
                ports: Vec::new(),
                options: crate::workspace::ContainerOptions::default(),
                features: Vec::new(),
                feature_install_order: Vec::new(),
                user_env_probe: crate::workspace::Probe::None,
                recommended_secrets: Vec::new(),
                shutdown_action: None,
                host_requirements: None,
                wait_for: None,
            };
            let inside = compose_project(&env, &files, &w);
            let beside = compose_project(&env, &[PathBuf::from("/x/My App!/compose.yml")], &w);
            env.insert("COMPOSE_PROJECT_NAME".into(), "Chosen".into());
            (inside, beside, compose_project(&env, &files, &w))
        };
        assert_eq!(
            ws("/src/Cruddur.App"),
            (
                "cruddurapp_devcontainer".to_string(),
                "myapp".to_string(),
                "chosen".to_string()
            )
        );
    }

    #[test]
    fn the_compose_version_is_read_from_the_top_level() {
        assert_eq!(
            compose_version("# c\nversion: \"3.8\"\nservices: {}\n"),
            Some("3.8".into())
        );
        assert_eq!(compose_version("services:\n  a:\n    version: 2\n"), None);
    }
}
