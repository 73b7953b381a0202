//! The user's own settings (`$XDG_CONFIG_HOME/devboot/config.toml`, else
//! `~/.config/devboot/config.toml`): defaults that hold for every workspace of this user —
//! the image of the built-in config, dotfiles, the registry mirror, how long `up` waits
//! for ports and for which hook. A
//! flag wins over an environment variable, which wins over the file, which wins over
//! devboot's default; `devboot config --settings` shows each effective value and where it
//! came from.
//!
//! ```toml
//! wait-timeout = 120
//! wait-for = "all"        # when the config has no waitFor (default: updateContentCommand)
//! image = "python:3.12-bookworm"   # a folder without a config, and `init`
//! registry-mirror = "ghcr.io=127.0.0.1:5000"
//!
//! [dotfiles]
//! repository = "https://github.com/me/dotfiles"   # or a local folder, or `me/dotfiles`
//! install-command = "install.sh"                  # else the first usual script found
//! target-path = "~/dotfiles"
//!
//! [credentials]          # off unless asked for (see `credentials`)
//! ssh-agent = true
//! git-identity = true
//! git-credentials = true
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::source::{Location, SourceFile, Span};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::workspace::{EnvMap, Format, Phase, Workspace};

/// The file as written; every key optional, an unknown key an error (a typo would
/// otherwise be silently ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    wait_timeout: Option<u64>,
    wait_for: Option<WaitFor>,
    image: Option<String>,
    registry_mirror: Option<String>,
    dotfiles: Option<DotfilesFile>,
    credentials: Option<CredentialsFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CredentialsFile {
    ssh_agent: Option<bool>,
    git_identity: Option<bool>,
    git_credentials: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DotfilesFile {
    repository: Option<String>,
    install_command: Option<String>,
    target_path: Option<String>,
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "name")]
pub enum Source {
    /// A command-line flag (its name).
    Flag(String),
    /// An environment variable (its name).
    Env(String),
    /// The settings file (its path).
    File(String),
    /// devboot's own default.
    Default,
}

/// One effective value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// The effective settings.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The settings file, whether or not it exists.
    pub file: PathBuf,
    /// Seconds `up` waits for every port.
    pub wait_timeout: Setting<u64>,
    /// The hook `up` waits for (`--wait-for`, else the file's `wait-for`; see
    /// `Settings::wait_for_in`).
    pub wait_for: Setting<Option<WaitFor>>,
    /// `DEVBOOT_IMAGE`'s value: the image of devboot's built-in config (a folder without
    /// a config) and `init`'s default, if any.
    pub image: Setting<Option<String>>,
    /// `DEVBOOT_REGISTRY_MIRROR`'s value (see `features::oci::mirror`), if any.
    pub registry_mirror: Setting<Option<String>>,
    pub dotfiles_repository: Setting<Option<String>>,
    pub dotfiles_install_command: Setting<Option<String>>,
    pub dotfiles_target_path: Setting<String>,
    /// Lend the host's SSH agent to every workspace (see `credentials`).
    pub forward_ssh_agent: Setting<bool>,
    /// Lend the host's git identity to every workspace.
    pub forward_git_identity: Setting<bool>,
    /// Answer git's credential requests in every workspace from the host's helper.
    pub forward_git_credentials: Setting<bool>,
}

/// What was given on the command line (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub wait_timeout: Option<u64>,
    pub wait_for: Option<WaitFor>,
    pub dotfiles_repository: Option<String>,
    pub dotfiles_install_command: Option<String>,
    pub dotfiles_target_path: Option<String>,
    pub forward_ssh_agent: bool,
    pub forward_git_identity: bool,
    pub forward_git_credentials: bool,
}

/// The last hook `up` waits for; the later ones go on in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
pub enum WaitFor {
    #[serde(rename = "onCreateCommand")]
    #[value(name = "onCreateCommand")]
    OnCreate,
    #[serde(rename = "updateContentCommand")]
    #[value(name = "updateContentCommand")]
    UpdateContent,
    #[serde(rename = "postCreateCommand")]
    #[value(name = "postCreateCommand")]
    PostCreate,
    #[serde(rename = "postStartCommand")]
    #[value(name = "postStartCommand")]
    PostStart,
    #[serde(rename = "postAttachCommand")]
    #[value(name = "postAttachCommand")]
    PostAttach,
    /// Every hook, as the reference CLI's `up`.
    #[serde(rename = "all")]
    All,
}

impl WaitFor {
    /// The phase `up` returns after (`None`: every hook).
    pub fn phase(self) -> Option<Phase> {
        match self {
            WaitFor::OnCreate => Some(Phase::OnCreateCommand),
            WaitFor::UpdateContent => Some(Phase::UpdateContentCommand),
            WaitFor::PostCreate => Some(Phase::PostCreateCommand),
            WaitFor::PostStart => Some(Phase::PostStartCommand),
            WaitFor::PostAttach | WaitFor::All => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            WaitFor::OnCreate => "onCreateCommand",
            WaitFor::UpdateContent => "updateContentCommand",
            WaitFor::PostCreate => "postCreateCommand",
            WaitFor::PostStart => "postStartCommand",
            WaitFor::PostAttach => "postAttachCommand",
            WaitFor::All => "all",
        }
    }
}

/// `up`'s wait when neither a flag nor the file says.
pub const DEFAULT_WAIT_SECS: u64 = 60;
/// Where dotfiles go when nothing says.
pub const DEFAULT_DOTFILES_TARGET: &str = "~/dotfiles";
/// The variable that names the registry mirror.
pub const MIRROR_VAR: &str = "DEVBOOT_REGISTRY_MIRROR";

/// The settings file's path.
pub fn path(host_env: &EnvMap) -> PathBuf {
    crate::dirs::config_dir(host_env).join("config.toml")
}

/// Reads the settings file (none is fine) and lays the flags and the environment over it.
pub fn load(host_env: &EnvMap, flags: &Flags) -> Result<Settings> {
    let file_path = path(host_env);
    let file = read(&file_path)?;
    let from_file = Source::File(crate::config::source::display_path(&file_path));
    let layer = |flag: Option<(&str, String)>, value: Option<String>| {
        layered(flag, value, &from_file).map_or(
            Setting {
                value: None,
                source: Source::Default,
            },
            |s| Setting {
                value: Some(s.value),
                source: s.source,
            },
        )
    };
    let flag = |name: &'static str, value: &Option<String>| value.clone().map(|v| (name, v));
    let switch = |on: bool, name: &'static str, value: Option<bool>| {
        layered(on.then_some((name, true)), value, &from_file).unwrap_or(Setting {
            value: false,
            source: Source::Default,
        })
    };
    let dotfiles = file.dotfiles.unwrap_or_default();
    let credentials = file.credentials.unwrap_or_default();
    // An empty variable is one not set.
    let from_env =
        |var: &str, file: Option<String>| match host_env.get(var).filter(|v| !v.is_empty()) {
            Some(value) => Setting {
                value: Some(value.clone()),
                source: Source::Env(var.into()),
            },
            None => layer(None, file),
        };
    let registry_mirror = from_env(MIRROR_VAR, file.registry_mirror);
    let image = from_env(crate::template::IMAGE_VAR, file.image);
    Ok(Settings {
        wait_timeout: layered(
            flags.wait_timeout.map(|secs| ("--wait-timeout", secs)),
            file.wait_timeout,
            &from_file,
        )
        .unwrap_or(Setting {
            value: DEFAULT_WAIT_SECS,
            source: Source::Default,
        }),
        wait_for: layered(
            flags.wait_for.map(|w| ("--wait-for", Some(w))),
            file.wait_for.map(Some),
            &from_file,
        )
        .unwrap_or(Setting {
            value: None,
            source: Source::Default,
        }),
        image,
        registry_mirror,
        dotfiles_repository: layer(
            flag("--dotfiles-repository", &flags.dotfiles_repository),
            dotfiles.repository,
        ),
        dotfiles_install_command: layer(
            flag(
                "--dotfiles-install-command",
                &flags.dotfiles_install_command,
            ),
            dotfiles.install_command,
        ),
        dotfiles_target_path: layered(
            flag("--dotfiles-target-path", &flags.dotfiles_target_path),
            dotfiles.target_path,
            &from_file,
        )
        .unwrap_or(Setting {
            value: DEFAULT_DOTFILES_TARGET.into(),
            source: Source::Default,
        }),
        forward_ssh_agent: switch(
            flags.forward_ssh_agent,
            "--forward-ssh-agent",
            credentials.ssh_agent,
        ),
        forward_git_credentials: switch(
            flags.forward_git_credentials,
            "--forward-git-credentials",
            credentials.git_credentials,
        ),
        forward_git_identity: switch(
            flags.forward_git_identity,
            "--forward-git-identity",
            credentials.git_identity,
        ),
        file: file_path,
    })
}

/// A flag's value over the file's, each with where it came from; `None` when neither
/// says (the caller's default then).
fn layered<T>(flag: Option<(&str, T)>, file: Option<T>, from_file: &Source) -> Option<Setting<T>> {
    match (flag, file) {
        (Some((name, value)), _) => Some(Setting {
            value,
            source: Source::Flag(name.into()),
        }),
        (None, Some(value)) => Some(Setting {
            value,
            source: from_file.clone(),
        }),
        (None, None) => None,
    }
}

impl Settings {
    /// The last hook `up` waits for in `ws` (`None`: every one): `--wait-for`'s, else the
    /// config's `waitFor`, else the file's `wait-for`, else the spec's default for a
    /// devcontainer.json, `updateContentCommand` (the rest goes on in the background,
    /// as VS Code and Codespaces do). A Gitpod config's tasks are all waited for.
    pub fn wait_for_in(&self, ws: &Workspace) -> Option<Phase> {
        match (&self.wait_for.source, self.wait_for.value) {
            (Source::Flag(_), Some(flag)) => flag.phase(),
            _ if ws.wait_for.is_some() => ws.wait_for,
            (_, Some(file)) => file.phase(),
            _ if ws.format == Format::Devcontainer => Some(Phase::UpdateContentCommand),
            _ => None,
        }
    }

    /// The host environment with the file's registry mirror and image in it when the
    /// environment names none (the Features code and the built-in config read them there).
    pub fn apply_to_env(&self, host_env: &mut EnvMap) {
        for (var, value) in [
            (MIRROR_VAR, &self.registry_mirror.value),
            (crate::template::IMAGE_VAR, &self.image.value),
        ] {
            if let Some(value) = value
                && host_env.get(var).is_none_or(String::is_empty)
            {
                host_env.insert(var.into(), value.clone());
            }
        }
    }

    /// What of the host's credentials the workspace is lent.
    pub fn lend(&self) -> crate::credentials::Lend {
        crate::credentials::Lend {
            ssh_agent: self.forward_ssh_agent.value,
            git_identity: self.forward_git_identity.value,
            git_credentials: self.forward_git_credentials.value,
        }
    }

    /// The dotfiles to install into every new container, if any.
    pub fn dotfiles(&self) -> Option<crate::dotfiles::Dotfiles> {
        let repository = self.dotfiles_repository.value.as_deref()?;
        Some(crate::dotfiles::Dotfiles::new(
            repository,
            self.dotfiles_install_command.value.clone(),
            self.dotfiles_target_path.value.clone(),
        ))
    }
}

/// The file's content; a missing file is empty settings, a bad one an error at its line
/// and column.
fn read(path: &Path) -> Result<File> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    toml::from_str(&text).map_err(|err| {
        let file: Arc<SourceFile> = SourceFile::new(path, text.clone());
        let mut diagnostic = Diagnostic::error(err.message().to_string()).help(
            "fix or remove the line; `devboot config --settings` lists the keys devboot reads",
        );
        if let Some(range) = err.span() {
            diagnostic = diagnostic.at(Location::new(&file, Span::new(range.start, range.end)));
        }
        Error::Config(Diagnostics(vec![diagnostic]))
    })
}

/// The settings as lines for people: `name = value   (where from)`.
pub fn describe(settings: &Settings) -> String {
    fn source(s: &Source) -> String {
        match s {
            Source::Flag(name) => format!("flag {name}"),
            Source::Env(name) => format!("environment {name}"),
            Source::File(path) => format!("file {path}"),
            Source::Default => "default".into(),
        }
    }
    fn shown(value: Option<&str>) -> String {
        value.map_or_else(|| "(not set)".into(), |v| format!("{v:?}"))
    }
    let rows = [
        (
            "wait-timeout",
            settings.wait_timeout.value.to_string(),
            &settings.wait_timeout.source,
        ),
        (
            "wait-for",
            settings.wait_for.value.map_or_else(
                || "(not set: the config's waitFor, else updateContentCommand)".into(),
                |w| format!("{:?}", w.name()),
            ),
            &settings.wait_for.source,
        ),
        (
            "image",
            shown(settings.image.value.as_deref()),
            &settings.image.source,
        ),
        (
            "registry-mirror",
            shown(settings.registry_mirror.value.as_deref()),
            &settings.registry_mirror.source,
        ),
        (
            "dotfiles.repository",
            shown(settings.dotfiles_repository.value.as_deref()),
            &settings.dotfiles_repository.source,
        ),
        (
            "dotfiles.install-command",
            shown(settings.dotfiles_install_command.value.as_deref()),
            &settings.dotfiles_install_command.source,
        ),
        (
            "dotfiles.target-path",
            format!("{:?}", settings.dotfiles_target_path.value),
            &settings.dotfiles_target_path.source,
        ),
        (
            "credentials.ssh-agent",
            settings.forward_ssh_agent.value.to_string(),
            &settings.forward_ssh_agent.source,
        ),
        (
            "credentials.git-identity",
            settings.forward_git_identity.value.to_string(),
            &settings.forward_git_identity.source,
        ),
        (
            "credentials.git-credentials",
            settings.forward_git_credentials.value.to_string(),
            &settings.forward_git_credentials.source,
        ),
    ];
    let mut out = format!(
        "settings file: {}{}\n",
        crate::config::source::display_path(&settings.file),
        if settings.file.exists() {
            ""
        } else {
            " (none yet)"
        }
    );
    for (name, value, from) in rows {
        let _ = writeln!(out, "  {name:<26} {value:<40} {}", source(from));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(dir: &Path, extra: &[(&str, &str)]) -> EnvMap {
        let mut env = EnvMap::from([("XDG_CONFIG_HOME".into(), dir.display().to_string())]);
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        env
    }

    fn write(dir: &Path, text: &str) {
        std::fs::create_dir_all(dir.join("devboot")).unwrap();
        std::fs::write(dir.join("devboot/config.toml"), text).unwrap();
    }

    #[test]
    fn no_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(&env_with(dir.path(), &[]), &Flags::default()).unwrap();
        assert_eq!(s.wait_timeout.value, DEFAULT_WAIT_SECS);
        assert_eq!(s.wait_timeout.source, Source::Default);
        assert_eq!(s.dotfiles_target_path.value, "~/dotfiles");
        assert!(s.dotfiles().is_none());
    }

    #[test]
    fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "wait-timeout = 5\nregistry-mirror = \"ghcr.io=127.0.0.1:1\"\n[dotfiles]\nrepository = \"/tmp/dots\"\n",
        );
        let env = env_with(dir.path(), &[(MIRROR_VAR, "ghcr.io=127.0.0.1:2")]);
        let flags = Flags {
            wait_timeout: Some(9),
            ..Flags::default()
        };
        let s = load(&env, &flags).unwrap();
        assert_eq!(s.wait_timeout.value, 9);
        assert_eq!(s.wait_timeout.source, Source::Flag("--wait-timeout".into()));
        assert_eq!(
            s.registry_mirror.value.as_deref(),
            Some("ghcr.io=127.0.0.1:2")
        );
        assert_eq!(s.dotfiles_repository.value.as_deref(), Some("/tmp/dots"));
        assert!(matches!(s.dotfiles_repository.source, Source::File(_)));
        let s = load(&env_with(dir.path(), &[]), &Flags::default()).unwrap();
        assert_eq!(s.wait_timeout.value, 5);
        let mut env = EnvMap::new();
        s.apply_to_env(&mut env);
        assert_eq!(env[MIRROR_VAR], "ghcr.io=127.0.0.1:1");
        assert!(!env.contains_key(crate::template::IMAGE_VAR));
    }

    #[test]
    fn the_image_comes_from_the_environment_else_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "image = \"from/file:1\"\n");
        let s = load(&env_with(dir.path(), &[]), &Flags::default()).unwrap();
        assert_eq!(s.image.value.as_deref(), Some("from/file:1"));
        assert!(matches!(s.image.source, Source::File(_)));
        let mut env = EnvMap::new();
        s.apply_to_env(&mut env);
        assert_eq!(env[crate::template::IMAGE_VAR], "from/file:1");
        let env = env_with(dir.path(), &[(crate::template::IMAGE_VAR, "from/env:2")]);
        let s = load(&env, &Flags::default()).unwrap();
        assert_eq!(s.image.value.as_deref(), Some("from/env:2"));
        assert_eq!(
            s.image.source,
            Source::Env(crate::template::IMAGE_VAR.into())
        );
    }

    #[test]
    fn an_unknown_key_is_an_error_at_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "wait-timeout = 5\n[dotfiles]\nrepo = \"x\"\n");
        let Err(Error::Config(d)) = load(&env_with(dir.path(), &[]), &Flags::default()) else {
            panic!("not a config error");
        };
        let first = &d.0[0];
        assert!(
            first.message.contains("unknown field `repo`"),
            "{}",
            first.message
        );
        assert!(
            first.position().unwrap().ends_with("config.toml:3:1"),
            "{:?}",
            first.position()
        );
    }
}
