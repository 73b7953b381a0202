//! The command line: clap structures (raw, as typed) and their dispatch. Nothing outside
//! `cli/` imports clap; each subcommand file turns its arguments into the plain options the
//! domain modules take.

mod build;
mod completions;
mod config;
mod convert;
mod doctor;
mod down;
mod env;
mod exec;
mod features;
mod init;
mod logs;
mod ports;
mod prebuild;
mod status;
mod sync;
mod templates;
mod trust;
mod up;
mod url;
mod validate;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::LoadOptions;
use crate::error::{Error, Result, exit};
use crate::workspace::{EnvMap, Format};

#[derive(Debug, Parser)]
#[command(
    name = "devboot",
    version,
    about = "Bring a development workspace up from the .gitpod.yml or devcontainer.json it already has",
    propagate_version = true
)]
pub struct Arguments {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Global {
    /// The workspace folder (the repository checkout).
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    workspace_folder: PathBuf,
    /// The config file to use, instead of discovering one.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Which config format to use when the folder has both. (Not `--format`: that is
    /// `devboot env`'s output format, and clap cannot hold one global and one local
    /// `--format`.)
    #[arg(
        long = "config-format",
        id = "config_format",
        global = true,
        value_enum,
        value_name = "FORMAT"
    )]
    format: Option<FormatArg>,
    /// Say more: `-v` prints how many engine commands ran.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The container engine CLI to drive (default: docker, else podman).
    #[arg(long, global = true, value_enum, env = "DEVBOOT_ENGINE")]
    engine: Option<EngineArg>,
    /// Seconds a quick engine command (inspect, ps, start, exec) may take before devboot
    /// says the engine does not answer; `run` and `stop` get 4 times that, builds, pulls
    /// and `compose up` 120 times.
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        env = "DEVBOOT_ENGINE_TIMEOUT",
        default_value_t = crate::engine::timeout::DEFAULT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    engine_timeout: u64,
    /// The engine to use, on this machine or another (`ssh://you@box`, `tcp://box:2375`,
    /// `unix:///path/to/socket`), as `DOCKER_HOST` (or podman's `CONTAINER_HOST`) names it.
    #[arg(long, global = true, value_name = "URL", conflicts_with = "context")]
    engine_host: Option<String>,
    /// The docker context to use (`docker context ls`), as `DOCKER_CONTEXT` names it.
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ServeGitCredentialsArgs {
    /// The workspace's state folder.
    #[arg(long, value_name = "DIR")]
    state_dir: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EngineArg {
    Docker,
    Podman,
}

/// `--format gitpod|devcontainer`, for the commands where `--format` has no other meaning
/// (`env` and `init` print or write formats of their own; `--config-format` works
/// everywhere).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub(crate) struct SourceFormat {
    /// Which config format to use when the folder has both (as --config-format).
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    format: Option<FormatArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Gitpod,
    Devcontainer,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bring the workspace up: container, tasks, ports. Safe to run again at any time.
    Up(up::UpArgs),
    /// Stop the workspace's container (and with --remove, remove it).
    Down(down::DownArgs),
    /// Show the container, each task and hook, and each port.
    Status(status::StatusArgs),
    /// Show a task's output.
    Logs(logs::LogsArgs),
    /// Run a command in the workspace's container.
    Exec(exec::ExecArgs),
    /// Print the workspace environment for a shell, or keep persisted variables.
    Env(env::EnvArgs),
    /// Print the URL of a port in this environment (Gitpod, Codespaces, or localhost).
    Url(url::UrlArgs),
    /// Run the tasks' init (devcontainer: onCreate and updateContent) once and save the
    /// result as an image new containers start from, as Gitpod's prebuilds do.
    Prebuild(prebuild::PrebuildArgs),
    /// Make the workspace's image (Dockerfile, Features) without a container; tag and push
    /// it.
    Build(build::BuildArgs),
    /// List the workspace's ports, or wait for one; bring a remote workspace's ports here.
    Ports(ports::PortsArgs),
    /// Copy your edits of the workspace folder to its container on a remote engine.
    Sync(sync::SyncArgs),
    /// Print the resolved workspace: what devboot will run, where, with what.
    Config(config::ConfigArgs),
    /// Check config files against the official schemas and devboot's own rules.
    Validate(validate::ValidateArgs),
    /// Pin the config's Dev Container Features in devcontainer-lock.json, or see which
    /// have newer versions.
    Features(features::FeaturesArgs),
    /// Write a .gitpod.yml and/or devcontainer.json for this repository from a template.
    Init(init::InitArgs),
    /// List the templates `devboot init` can write.
    Templates(templates::TemplatesArgs),
    /// Print the workspace's config in the other format (.gitpod.yml <-> devcontainer.json).
    Convert(convert::ConvertArgs),
    /// Trust the workspace's initializeCommand to run on this machine (or list, or revoke).
    Trust(trust::TrustArgs),
    /// Check this machine for what devboot needs (the engine, Compose, images, your
    /// settings and trust files) and say what to fix.
    Doctor(doctor::DoctorArgs),
    /// Print a completion script for your shell (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Write devboot's man pages into a folder (`scripts/install.sh` installs them).
    Manpages(completions::ManpagesArgs),
    /// Answer git's credential requests of a workspace (started by `up
    /// --forward-git-credentials`; not for people).
    #[command(hide = true)]
    ServeGitCredentials(ServeGitCredentialsArgs),
}

/// Parses the command line. On `--help`, `--version` or a usage error, clap's text is
/// printed here and the exit code returned as the error.
pub fn parse(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> Result<Arguments, u8> {
    Arguments::try_parse_from(args).map_err(|err| {
        let _ = err.print();
        if err.use_stderr() {
            exit::USAGE
        } else {
            exit::OK
        }
    })
}

/// Runs the chosen subcommand and returns its exit code.
pub fn execute(arguments: Arguments) -> Result<u8> {
    let global = arguments.global;
    // The commands that drive the engine own their children's signals; `exec`, `logs -f`
    // and `init`'s prompts leave them to the terminal, which sends Ctrl-C to the child too.
    let drives_engine = match &arguments.command {
        Command::Up(_) => Some("up"),
        Command::Down(_) => Some("down"),
        Command::Status(_) => Some("status"),
        Command::Ports(_) => Some("ports"),
        Command::Sync(_) => Some("sync"),
        Command::Env(_) => Some("env"),
        Command::Url(_) => Some("url"),
        Command::Prebuild(_) => Some("prebuild"),
        Command::Build(_) => Some("build"),
        _ => None,
    };
    if let Some(command) = drives_engine {
        crate::process::signals::catch(command);
    }
    let result = match arguments.command {
        Command::Up(args) => up::run(&args, &global),
        Command::Down(args) => down::run(&args, &global),
        Command::Status(args) => status::run(&args, &global),
        Command::Logs(args) => logs::run(&args, &global),
        Command::Exec(args) => exec::run(&args, &global),
        Command::Env(args) => env::run(&args, &global),
        Command::Url(args) => url::run(&args, &global),
        Command::Prebuild(args) => prebuild::run(&args, &global),
        Command::Build(args) => build::run(&args, &global),
        Command::Ports(args) => ports::run(&args, &global),
        Command::Sync(args) => sync::run(&args, &global),
        Command::Config(args) => config::run(&args, &global),
        Command::Validate(args) => validate::run(&args, &global),
        Command::Features(args) => features::run(&args, &global),
        Command::Init(args) => init::run(&args, &global),
        Command::Templates(args) => templates::run(&args, &global),
        Command::Convert(args) => convert::run(&args, &global),
        Command::Trust(args) => trust::run(&args, &global),
        Command::Doctor(args) => doctor::run(&args, &global),
        Command::Completions(args) => completions::completions(&args),
        Command::Manpages(args) => completions::manpages(&args),
        Command::ServeGitCredentials(args) => {
            let state = crate::state::StateDir::at(args.state_dir);
            crate::credentials::git_helper::serve(&state, &host_env()).map(|()| exit::OK)
        }
    };
    crate::process::signals::finish(result)
}

/// What the commands that act on the workspace's existing container start from.
pub(crate) struct Existing {
    pub(crate) loaded: crate::config::Loaded,
    pub(crate) engine: crate::engine::Engine,
    pub(crate) persisted: crate::up::Persisted,
    pub(crate) target: crate::up::Target,
    pub(crate) info: crate::engine::ContainerInfo,
}

/// The same, where the container may not exist.
pub(crate) struct MaybeExisting {
    pub(crate) loaded: crate::config::Loaded,
    pub(crate) engine: crate::engine::Engine,
    pub(crate) persisted: crate::up::Persisted,
    pub(crate) target: crate::up::Target,
    pub(crate) info: Option<crate::engine::ContainerInfo>,
}

impl Global {
    /// Loads the workspace and finds its container; no container (or, with `running`, none
    /// running) is an error that says to run `devboot up`.
    pub(crate) fn existing(&self, source: SourceFormat, running: bool) -> Result<Existing> {
        let (maybe, options) = self.maybe_existing(source)?;
        match maybe.info.filter(|i| !running || i.state.running) {
            Some(info) => Ok(Existing {
                loaded: maybe.loaded,
                engine: maybe.engine,
                persisted: maybe.persisted,
                target: maybe.target,
                info,
            }),
            None => Err(Error::NoContainer {
                folder: options.workspace_folder,
            }),
        }
    }

    /// Loads the workspace and looks for its container, which may not exist.
    pub(crate) fn maybe_existing(
        &self,
        source: SourceFormat,
    ) -> Result<(MaybeExisting, LoadOptions)> {
        let options = self.load_options_for(source)?;
        let mut loaded = crate::config::load(&options)?;
        let engine = self.engine(&options.host_env)?;
        let persisted = crate::up::persisted_env(&options.host_env, &options.workspace_folder)?;
        let target = crate::up::Target::new(&loaded.workspace, &options.host_env, 0, &persisted)?;
        // A container `up` gave dotfiles to has their lane too (status, logs).
        if let Some(ws) = crate::dotfiles::recorded(&loaded.workspace, &target.state) {
            loaded.workspace = ws;
        }
        let info = target.find(&engine)?;
        Ok((
            MaybeExisting {
                loaded,
                engine,
                persisted,
                target,
                info,
            },
            options,
        ))
    }

    /// The container engine to drive.
    pub(crate) fn engine(&self, host_env: &EnvMap) -> Result<crate::engine::Engine> {
        let path = host_env.get("PATH").map(std::ffi::OsStr::new);
        let mut engine = crate::engine::Engine::detect(self.engine_choice(), path)?
            .with_timeout(self.engine_timeout());
        // --engine-host / --context reach the engine CLI as its own variables.
        if self.engine_host.is_some() || self.context.is_some() {
            for var in ["DOCKER_HOST", "CONTAINER_HOST", "DOCKER_CONTEXT"] {
                engine = match host_env.get(var) {
                    Some(value) => engine.with_env(var.into(), value.into()),
                    None => engine.without_env(var),
                };
            }
        }
        // An ssh:// engine: one shared SSH connection for all of devboot's engine calls.
        let over_ssh = crate::backend::Backend::detect(host_env)
            .remote()
            .is_some_and(|r| r.ssh.is_some());
        if over_ssh
            && let Some((name, value)) = crate::backend::mux::engine_env(
                &crate::dirs::cache_dir(host_env),
                host_env.get("XDG_RUNTIME_DIR").map(String::as_str),
                host_env.get("PATH").map(String::as_str),
            )?
        {
            return Ok(engine.with_env(name, value));
        }
        Ok(engine)
    }

    /// `--engine` / `DEVBOOT_ENGINE`, if given.
    pub(crate) fn engine_choice(&self) -> Option<crate::engine::EngineKind> {
        self.engine.map(|e| match e {
            EngineArg::Docker => crate::engine::EngineKind::Docker,
            EngineArg::Podman => crate::engine::EngineKind::Podman,
        })
    }

    /// `--engine-timeout`.
    pub(crate) fn engine_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.engine_timeout)
    }

    /// The validated, clap-free options for loading the workspace, with the subcommand's
    /// own `--format` when it has one.
    pub(crate) fn load_options_for(&self, source: SourceFormat) -> Result<LoadOptions> {
        let mut options = self.load_options()?;
        if let Some(format) = source.format {
            options.format = Some(format.into());
        }
        Ok(options)
    }

    /// The validated, clap-free options for loading the workspace.
    pub(crate) fn load_options(&self) -> Result<LoadOptions> {
        let folder = std::path::absolute(&self.workspace_folder)
            .map_err(|e| Error::io("resolve", &self.workspace_folder, e))?;
        if !folder.is_dir() {
            return Err(Error::Usage {
                message: format!("workspace folder {} does not exist", folder.display()),
                help: Some("pass an existing folder to --workspace-folder".into()),
            });
        }
        // The settings file's registry mirror reaches every command as the variable would.
        let mut host_env = host_env();
        crate::settings::load(&host_env, &crate::settings::Flags::default())?
            .apply_to_env(&mut host_env);
        // Where the engine is, from the flags: as the variables would say it, for every
        // command (and the engine CLI, see `engine`).
        if let Some(url) = &self.engine_host {
            for var in ["DOCKER_HOST", "CONTAINER_HOST"] {
                host_env.insert(var.into(), url.clone());
            }
            host_env.remove("DOCKER_CONTEXT");
        }
        if let Some(name) = &self.context {
            host_env.insert("DOCKER_CONTEXT".into(), name.clone());
            host_env.remove("DOCKER_HOST");
        }
        Ok(LoadOptions {
            workspace_folder: crate::config::substitute::normalize(&folder),
            config: self.config.clone(),
            format: self.format.map(Format::from),
            host_env,
        })
    }
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Gitpod => Format::Gitpod,
            FormatArg::Devcontainer => Format::Devcontainer,
        }
    }
}

/// The host environment as a map; variables that are not UTF-8 are skipped.
pub fn host_env() -> EnvMap {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}
