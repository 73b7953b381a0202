//! The one format-agnostic model of a workspace that `.gitpod.yml` and `devcontainer.json`
//! both lower into, and that everything after loading (engine, lifecycle, ports, report)
//! works from. Nothing here knows which file it came from except [`Format`], which only
//! decides labels and defaults further down.
//!
//! Its JSON form (`devboot config --json`) is a documented, stable interface: field names
//! are camelCase and only ever added to.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Environment variables, sorted by name so that output and hashes are stable.
pub type EnvMap = BTreeMap<String, String>;

/// An env map from literal pairs, for tests.
#[cfg(test)]
pub(crate) fn env_map(pairs: &[(&str, &str)]) -> EnvMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Which config format a workspace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gitpod,
    Devcontainer,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Gitpod => "gitpod",
            Format::Devcontainer => "devcontainer",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    pub format: Format,
    /// Short name: devcontainer `name`, else the workspace folder's basename.
    pub name: String,
    /// Absolute path of the config file the workspace was read from.
    pub config_file: PathBuf,
    /// Absolute path of the workspace folder on the host (`--workspace-folder`).
    pub local_folder: PathBuf,
    pub image: ImageSource,
    /// How the repository is mounted into the container; `None` means not mounted.
    pub mount: Option<Mount>,
    /// The folder inside the container where tasks and `exec` run.
    pub folder: String,
    /// Variables set on the container itself (Gitpod top-level `env`, devcontainer
    /// `containerEnv`). Changing them needs a new container.
    pub container_env: EnvMap,
    /// Variables for every command devboot runs in the container (devcontainer `remoteEnv`).
    /// Read again at every `up`; changing them needs no new container.
    pub remote_env: EnvMap,
    /// What runs, in order: stages run one after another; the lanes of a stage run in
    /// parallel; the steps of a lane run one after another.
    pub stages: Vec<Stage>,
    /// Gitpod tasks' `prebuild` commands, as (task name, command): only a prebuild runs
    /// them, after the task's `init` (see `crate::prebuild`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prebuild_commands: Vec<(String, String)>,
    pub ports: Vec<Port>,
    pub options: ContainerOptions,
    /// Dev Container Features to install into the image (devcontainer `features`), in the
    /// order written; empty for none.
    pub features: Vec<crate::features::Request>,
    /// `overrideFeatureInstallOrder`: Feature ids to install first, in this order.
    pub feature_install_order: Vec<String>,
    /// devcontainer `secrets`: variables the workspace recommends, set with
    /// `devboot env set --secret` (as Codespaces asks for them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recommended_secrets: Vec<RecommendedSecret>,
    /// devcontainer `shutdownAction`: what `devboot down` stops (`None`: the default for
    /// the kind of config: the container, or a Compose project's every service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_action: Option<ShutdownAction>,
    /// devcontainer `hostRequirements`: checked before a new container is made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_requirements: Option<HostRequirements>,
    /// devcontainer `waitFor` (or `up --wait-for`): `up` returns once this hook is done;
    /// the later ones go on in the background. `None`: every hook, as the reference CLI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for: Option<Phase>,
    /// devcontainer `userEnvProbe`: whose shell profile the commands in the container see.
    #[serde(skip_serializing_if = "Probe::is_none")]
    pub user_env_probe: Probe,
}

/// devcontainer `hostRequirements`: what the engine's machine must have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostRequirements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u64>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Size>,
    #[serde(default, skip_serializing_if = "Gpu::is_none")]
    pub gpu: Gpu,
}

/// A size as `hostRequirements` writes it: digits and `tb`, `gb`, `mb` or `kb` (powers of
/// 1024), or bare bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size(pub u64);

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Size::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a size: write digits and one of tb, gb, mb, kb (e.g. \"8gb\")"
            ))
        })
    }
}

impl Size {
    pub fn parse(text: &str) -> Option<Size> {
        let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &text[digits.len()..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let shift = match unit {
            "" => 0,
            "kb" => 10,
            "mb" => 20,
            "gb" => 30,
            "tb" => 40,
            _ => return None,
        };
        digits
            .parse::<u64>()
            .ok()?
            .checked_mul(1 << shift)
            .map(Size)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[allow(clippy::cast_precision_loss)] // for people: one decimal
        let gib = self.0 as f64 / f64::from(1u32 << 30);
        write!(f, "{gib:.1} GiB")
    }
}

/// `hostRequirements.gpu`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Gpu {
    #[default]
    None,
    /// `true`, or `{cores, memory}`: the container needs one.
    Required,
    /// `"optional"`: used when there is one.
    Optional,
}

impl Gpu {
    pub fn is_none(&self) -> bool {
        *self == Gpu::None
    }
}

impl<'de> serde::Deserialize<'de> for Gpu {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) | serde_json::Value::Object(_) => Ok(Gpu::Required),
            serde_json::Value::Bool(false) | serde_json::Value::Null => Ok(Gpu::None),
            serde_json::Value::String(s) if s == "optional" => Ok(Gpu::Optional),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a GPU requirement: write true, false, \"optional\" or {{\"cores\": N, \"memory\": \"8gb\"}}"
            ))),
        }
    }
}

/// devcontainer `shutdownAction`, applied by `devboot down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ShutdownAction {
    /// `down` leaves the container running (`down --force` stops it).
    None,
    /// `down` stops the workspace's container (with Compose: only the service's).
    StopContainer,
    /// `down` stops every service of the Compose project.
    StopCompose,
}

/// A secret the config recommends (devcontainer `secrets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedSecret {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
}

/// How the environment the user's shell profile sets (nvm, pyenv, a PATH in `.bashrc`) is
/// read for the commands devboot runs in the container: once per container start, by the
/// user's login shell started with these flags (devcontainer `userEnvProbe`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Probe {
    /// Not read (`.gitpod.yml`, or `userEnvProbe: none`).
    #[default]
    None,
    LoginShell,
    InteractiveShell,
    /// The spec's default for devcontainer.json.
    LoginInteractiveShell,
}

impl Probe {
    pub fn is_none(&self) -> bool {
        *self == Probe::None
    }

    /// The shell's flags, or `None` for no probe.
    pub fn flags(self) -> Option<&'static str> {
        match self {
            Probe::None => None,
            Probe::LoginShell => Some("-l"),
            Probe::InteractiveShell => Some("-i"),
            Probe::LoginInteractiveShell => Some("-li"),
        }
    }
}

/// Where the container image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum ImageSource {
    /// A ready image, used as is when present and pulled otherwise.
    Reference { image: String },
    /// An image built from a Dockerfile.
    Dockerfile {
        /// Absolute path of the Dockerfile.
        dockerfile: PathBuf,
        /// Absolute path of the build context.
        context: PathBuf,
        args: BTreeMap<String, String>,
        target: Option<String>,
        cache_from: Vec<String>,
        /// Extra `docker build` arguments, passed as written.
        options: Vec<String>,
    },
    /// A service of a Docker Compose project.
    Compose {
        /// Absolute paths of the compose files, later ones overriding earlier ones.
        files: Vec<PathBuf>,
        service: String,
        /// Services to start; empty means all.
        run_services: Vec<String>,
    },
}

/// The repository mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    /// Host folder.
    pub source: PathBuf,
    /// Folder in the container.
    pub target: String,
    /// A `docker run --mount` value written by the user (devcontainer `workspaceMount`);
    /// when set it is passed as is and `source`/`target` are what it says.
    pub spec: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// What the stage is, for messages: a hook name (`postCreateCommand`) or `tasks`.
    pub name: String,
    pub lanes: Vec<Lane>,
}

/// A sequence of steps with its own environment: a Gitpod task, or one entry of a
/// devcontainer lifecycle hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lane {
    /// Name shown as the prefix of every output line.
    pub name: String,
    /// Variables for this lane only (Gitpod task `env`), on top of the workspace's.
    pub env: EnvMap,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub phase: Phase,
    pub command: Command,
}

/// A command as written: a shell string, or an argv run without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Command {
    Shell(String),
    Exec(Vec<String>),
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Shell(script) => f.write_str(script),
            Command::Exec(argv) => f.write_str(&shell_words::join(argv)),
        }
    }
}

/// The phases of both formats. Each has a fixed [`Timing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    // devcontainer.json lifecycle hooks, in the order the spec runs them.
    InitializeCommand,
    OnCreateCommand,
    UpdateContentCommand,
    PostCreateCommand,
    /// The user's dotfiles (`crate::dotfiles`): not in any config, installed by devboot
    /// after `postCreateCommand` as the reference CLI does (and before Gitpod's tasks).
    Dotfiles,
    PostStartCommand,
    PostAttachCommand,
    // .gitpod.yml task phases, in the order a task terminal runs them.
    Before,
    Init,
    Command,
}

/// When a phase runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Timing {
    /// On the host, before any container work, at every `up` (`initializeCommand`).
    HostEveryUp,
    /// Once per container (`onCreate`, `updateContent`, `postCreate`, Gitpod `init`).
    OncePerContainer,
    /// Once per container start (`postStart`, Gitpod `before`).
    EveryStart,
    /// At every `up` (`postAttach`).
    EveryUp,
    /// Started at every container start and kept running after `up` returns (Gitpod
    /// `command`); restarted by `up` when it has died.
    LongRunning,
}

impl Phase {
    /// Whether a lane of this phase runs after `up` returned, when `up` waits only for
    /// `wait_for` (devcontainer `waitFor`).
    pub fn in_background(self, wait_for: Option<Phase>) -> bool {
        self.is_hook() && wait_for.is_some_and(|last| self > last)
    }

    /// A devcontainer hook (or the dotfiles among them) in the container: it runs once
    /// to its end, and `waitFor` may leave it running after `up` returned.
    pub fn is_hook(self) -> bool {
        matches!(
            self,
            Phase::OnCreateCommand
                | Phase::UpdateContentCommand
                | Phase::PostCreateCommand
                | Phase::Dotfiles
                | Phase::PostStartCommand
                | Phase::PostAttachCommand
        )
    }

    pub fn timing(self) -> Timing {
        match self {
            Phase::InitializeCommand => Timing::HostEveryUp,
            Phase::OnCreateCommand
            | Phase::UpdateContentCommand
            | Phase::PostCreateCommand
            | Phase::Dotfiles
            | Phase::Init => Timing::OncePerContainer,
            Phase::PostStartCommand | Phase::Before => Timing::EveryStart,
            Phase::PostAttachCommand => Timing::EveryUp,
            Phase::Command => Timing::LongRunning,
        }
    }

    /// The name as written in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::InitializeCommand => "initializeCommand",
            Phase::OnCreateCommand => "onCreateCommand",
            Phase::UpdateContentCommand => "updateContentCommand",
            Phase::PostCreateCommand => "postCreateCommand",
            Phase::Dotfiles => "dotfiles",
            Phase::PostStartCommand => "postStartCommand",
            Phase::PostAttachCommand => "postAttachCommand",
            Phase::Before => "before",
            Phase::Init => "init",
            Phase::Command => "command",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configured port or range of ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Port (or first port of the range) in the container.
    pub port: u16,
    /// Last port of a range; equal to `port` for a single port.
    pub end: u16,
    /// Host port (or first of the range) when the config fixes it (devcontainer `appPort`
    /// `"8080:80"`); `None` means the same as the container port.
    pub host_port: Option<u16>,
    /// Host address when the config fixes it (`appPort` `"0.0.0.0:4567:4567"`); `None`
    /// means: from the visibility.
    pub host_ip: Option<String>,
    /// Gitpod `name`, devcontainer `portsAttributes` `label`.
    pub label: Option<String>,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub on_open: OnOpen,
    pub protocol: Option<Protocol>,
    /// False for `ignore-completely` / `onAutoForward: ignore`: known but not published.
    pub publish: bool,
    /// Whether `up` waits for it to be served: not for a port `gp ports expose` asked for
    /// (it may never be).
    #[serde(skip)]
    pub awaited: bool,
}

impl Port {
    /// A single port, published, private, as a config says it with nothing else.
    pub fn plain(port: u16) -> Port {
        Port {
            port,
            end: port,
            host_port: None,
            host_ip: None,
            label: None,
            description: None,
            visibility: Visibility::Private,
            on_open: OnOpen::Notify,
            protocol: None,
            publish: true,
            awaited: true,
        }
    }

    /// A port number written as text: digits only, 1 to 65535.
    pub fn number(text: &str) -> Option<u16> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<u16>().ok().filter(|p| *p != 0)
    }

    pub fn is_range(&self) -> bool {
        self.end != self.port
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_range() {
            write!(f, "{}-{}", self.port, self.end)
        } else {
            write!(f, "{}", self.port)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Bound on the host's loopback only (the default, as in Gitpod).
    #[default]
    Private,
    /// Bound on every host address.
    Public,
}

/// What happens when a port becomes ready. Gitpod `onOpen` and devcontainer
/// `onAutoForward` both map here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OnOpen {
    #[default]
    Notify,
    OpenBrowser,
    OpenBrowserOnce,
    OpenPreview,
    /// Gitpod `ignore`, devcontainer `silent`: forwarded, nothing said.
    Silent,
    /// Gitpod `ignore-completely`, devcontainer `ignore`: not published at all.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Http,
    Https,
}

/// How the container is run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOptions {
    /// User the container runs as (`docker run -u`).
    pub container_user: Option<String>,
    /// User for tasks, hooks and `exec` (`docker exec -u`); defaults to the container user.
    pub remote_user: Option<String>,
    /// Extra `docker run` arguments, as written.
    pub run_args: Vec<String>,
    pub privileged: bool,
    /// Run an init process that reaps zombies (`--init`).
    pub init: bool,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    /// Extra mounts, as `docker run --mount` values.
    pub mounts: Vec<String>,
    /// Replace the image's command with a keep-alive loop.
    pub override_command: bool,
    /// devcontainer `updateRemoteUserUID` (`None`: the default, true; see `up::uid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_remote_user_uid: Option<bool>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A workspace with an image and nothing else, for tests to fill in.
    pub(crate) fn workspace() -> Workspace {
        Workspace {
            format: Format::Devcontainer,
            name: "w".into(),
            config_file: PathBuf::from("/w/.devcontainer/devcontainer.json"),
            local_folder: PathBuf::from("/w"),
            image: ImageSource::Reference { image: "i".into() },
            mount: None,
            folder: "/workspaces/w".into(),
            container_env: EnvMap::new(),
            remote_env: EnvMap::new(),
            stages: Vec::new(),
            prebuild_commands: Vec::new(),
            ports: Vec::new(),
            options: ContainerOptions::default(),
            features: Vec::new(),
            feature_install_order: Vec::new(),
            recommended_secrets: Vec::new(),
            shutdown_action: None,
            host_requirements: None,
            wait_for: None,
            user_env_probe: Probe::None,
        }
    }
}
