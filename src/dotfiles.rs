//! The user's dotfiles, installed into every new container as the reference CLI, Gitpod,
//! Codespaces and `DevPod` do: a repository (a URL, `owner/repo` on GitHub, or a local
//! folder) copied to a target path in the container (`~/dotfiles`), then its install
//! command, else the first usual install script, else its dot-files linked into the home
//! folder. Once per container, after `postCreateCommand` (devcontainer) or before the tasks
//! (Gitpod).
//!
//! The repository is fetched on the host (`git clone`, so no `git` is needed in the image
//! and the host's credentials reach private repositories) into the read-only half of the
//! container's state folder; the install, a lane of its own, copies it from there as the
//! workspace's user. A failure is a warning naming the lane's log, never a failed `up`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::workspace::{Command, EnvMap, Lane, Phase, Stage, Step, Workspace};

/// The scripts tried, in order, when no install command is given (as the reference CLI).
pub const INSTALL_SCRIPTS: [&str; 8] = [
    "install.sh",
    "install",
    "bootstrap.sh",
    "bootstrap",
    "script/bootstrap",
    "setup.sh",
    "setup",
    "script/setup",
];

/// The stage's and its lane's name.
pub const NAME: &str = "dotfiles";

/// The line the lane prints when the install failed (read back for the warning).
pub const FAILED: &str = "devboot: the dotfiles install failed";

/// Where the host puts the copy, under the state folder's host half.
pub const IN_STATE: &str = "dotfiles/repo";

/// Where the copy is put in a container that has no state folder of devboot's (one
/// another tool made, a Compose service): `docker cp` at their install's first `up`.
pub const COPIED_IN: &str = "/tmp/devboot-dotfiles";

/// Where a repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repository {
    /// Cloned with `git clone --depth 1`.
    Url(String),
    /// Copied as it is (a checkout, or any folder).
    Folder(PathBuf),
}

/// What to install and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dotfiles {
    pub repository: Repository,
    /// A file in the repository (run as `./FILE`) or a shell command run in it.
    pub install_command: Option<String>,
    /// Where the copy goes in the container (`~` is the user's home).
    pub target_path: String,
}

impl Dotfiles {
    /// `repository` as the reference CLI reads it: a URL (`scheme://`, `git@host:`), a
    /// local folder (absolute, `./`, `../`, `~/`), else `owner/repo` on GitHub.
    pub fn new(repository: &str, install_command: Option<String>, target_path: String) -> Self {
        let repository = if repository.contains("://") || repository.starts_with("git@") {
            Repository::Url(repository.to_string())
        } else if repository.starts_with('/')
            || repository.starts_with("./")
            || repository.starts_with("../")
            || repository.starts_with('~')
            || Path::new(repository).is_dir()
        {
            Repository::Folder(PathBuf::from(repository))
        } else {
            let trimmed = repository.trim_end_matches(".git");
            Repository::Url(format!("https://github.com/{trimmed}.git"))
        };
        Dotfiles {
            repository,
            install_command: install_command.filter(|c| !c.trim().is_empty()),
            target_path,
        }
    }

    /// The workspace with the install's stage in it: after the last once-per-container
    /// hook of a devcontainer (so after `postCreateCommand`), first for Gitpod tasks.
    pub fn with_stage(&self, ws: &Workspace) -> Workspace {
        let mut out = ws.clone();
        let stage = Stage {
            name: NAME.into(),
            lanes: vec![Lane {
                name: NAME.into(),
                env: EnvMap::new(),
                steps: vec![Step {
                    phase: Phase::Dotfiles,
                    command: Command::Shell(self.script()),
                }],
            }],
        };
        let phase_of = |s: &Stage| {
            s.lanes
                .first()
                .and_then(|l| l.steps.first())
                .map(|s| s.phase)
        };
        let at = out
            .stages
            .iter()
            .position(|s| phase_of(s).is_some_and(|p| p > Phase::Dotfiles))
            .unwrap_or(out.stages.len());
        out.stages.insert(at, stage);
        out
    }

    /// The lane's script: copy from the read-only state folder, then install. Always exits
    /// 0 (a failure is reported by the line [`FAILED`], read back by `up`).
    fn script(&self) -> String {
        let target = match self.target_path.strip_prefix('~') {
            Some(rest) => format!("\"$HOME\"{}", sh_quote(rest)),
            None => sh_quote(&self.target_path),
        };
        let install = match &self.install_command {
            Some(command) => format!(
                "if [ -f {q} ]; then chmod +x {q} 2>/dev/null; ./{q}; else sh -c {q}; fi",
                q = sh_quote(command)
            ),
            None => format!(
                "found=\nfor f in {}; do\n  if [ -f \"$f\" ]; then found=$f; break; fi\ndone\n\
                 if [ -n \"$found\" ]; then\n  echo \"devboot: running $found\"\n  chmod +x \"$found\" 2>/dev/null; \"./$found\"\n\
                 else\n  echo \"devboot: no install script; linking the dot-files into $HOME\"\n  \
                 for f in .[!.]* ..?*; do\n    case $f in .git|.gitignore|.gitmodules|.github|'.[!.]*'|'..?*') continue ;; esac\n    \
                 [ -e \"$f\" ] || continue\n    \
                 if [ -d \"$HOME/$f\" ] && [ ! -L \"$HOME/$f\" ]; then echo \"devboot: $HOME/$f is a folder: left as it is\"; continue; fi\n    \
                 ln -sfn \"$target/$f\" \"$HOME/$f\" && echo \"devboot: linked $HOME/$f\"\n  done\nfi",
                INSTALL_SCRIPTS.join(" ")
            ),
        };
        format!(
            "target={target}\n\
             src={mount}/{IN_STATE}\n\
             [ -d \"$src\" ] || src={COPIED_IN}\n\
             if [ ! -d \"$src\" ]; then\n  echo \"devboot: no copy of the dotfiles repository was made (see devboot up's warning)\"\n  echo {failed}\n  exit 0\nfi\n\
             if [ ! -e \"$target\" ]; then\n  mkdir -p \"$(dirname \"$target\")\" && cp -R \"$src\" \"$target\" || {{ echo {failed}; exit 0; }}\nfi\n\
             echo \"devboot: dotfiles in $target\"\n\
             cd \"$target\" || {{ echo {failed}; exit 0; }}\n\
             ( set -e\n{install}\n) || {{ echo \"{FAILED} (exit $?)\"; exit 0; }}\n",
            mount = crate::state::MOUNT,
            failed = sh_quote(FAILED),
        )
    }

    /// Makes the copy the container's lane starts from, at `to` (which must not exist):
    /// a folder is copied, a URL cloned.
    pub fn fetch(&self, to: &Path, host_env: &EnvMap) -> Result<()> {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        match &self.repository {
            Repository::Folder(folder) => {
                let folder = expand_home(folder, host_env);
                if !folder.is_dir() {
                    return Err(Error::Usage {
                        message: format!(
                            "the dotfiles repository {} is not a folder",
                            folder.display()
                        ),
                        help: Some(
                            "fix --dotfiles-repository or `[dotfiles] repository` in devboot's settings (devboot config --settings)".into(),
                        ),
                    });
                }
                crate::dirs::copy_tree(&folder, to).map_err(|e| Error::io("copy", &folder, e))
            }
            Repository::Url(url) => clone(url, to),
        }
    }
}

/// The workspace with the dotfiles' stage when `up` made their copy for the container of
/// `state` (the commands after `up` do not know the flags it was given).
pub fn recorded(ws: &Workspace, state: &crate::state::StateDir) -> Option<Workspace> {
    let copy = state.host_path(IN_STATE);
    copy.is_dir().then(|| {
        Dotfiles {
            repository: Repository::Folder(copy),
            install_command: None,
            target_path: DEFAULT_TARGET.into(),
        }
        .with_stage(ws)
    })
}

/// Where the copy goes when nothing says.
const DEFAULT_TARGET: &str = crate::settings::DEFAULT_DOTFILES_TARGET;

/// `git clone --depth 1 URL TO`, without asking for credentials on a terminal.
fn clone(url: &str, to: &Path) -> Result<()> {
    let output = std::process::Command::new("git")
        .args(["clone", "--quiet", "--depth", "1", "--", url])
        .arg(to)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("run git to clone", PathBuf::from(url), e))?;
    if output.status.success() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(to);
    let said = String::from_utf8_lossy(&output.stderr);
    Err(Error::Usage {
        message: format!(
            "could not clone the dotfiles repository {url}: {}",
            said.trim()
        ),
        help: Some(
            "check the URL and your access to it (`git clone` it yourself), or name a local folder"
                .into(),
        ),
    })
}

fn expand_home(path: &Path, host_env: &EnvMap) -> PathBuf {
    match (path.strip_prefix("~"), host_env.get("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotfiles(repo: &str) -> Dotfiles {
        Dotfiles::new(repo, None, "~/dotfiles".into())
    }

    #[test]
    fn repositories_are_read_as_the_reference_cli_reads_them() {
        assert_eq!(
            dotfiles("me/dots").repository,
            Repository::Url("https://github.com/me/dots.git".into())
        );
        assert_eq!(
            dotfiles("https://example.test/d.git").repository,
            Repository::Url("https://example.test/d.git".into())
        );
        assert_eq!(
            dotfiles("git@example.test:me/d.git").repository,
            Repository::Url("git@example.test:me/d.git".into())
        );
        assert_eq!(
            dotfiles("/srv/dots").repository,
            Repository::Folder("/srv/dots".into())
        );
        assert_eq!(
            dotfiles("~/dots").repository,
            Repository::Folder("~/dots".into())
        );
    }

    fn stage(name: &str, phase: Phase) -> Stage {
        Stage {
            name: name.into(),
            lanes: vec![Lane {
                name: name.into(),
                env: EnvMap::new(),
                steps: vec![Step {
                    phase,
                    command: Command::Shell("true".into()),
                }],
            }],
        }
    }

    fn names(ws: &Workspace) -> Vec<&str> {
        ws.stages.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn the_stage_goes_after_post_create_and_before_gitpod_tasks() {
        let mut ws = crate::workspace::tests::workspace();
        ws.stages = vec![
            stage("initializeCommand", Phase::InitializeCommand),
            stage("onCreateCommand", Phase::OnCreateCommand),
            stage("postCreateCommand", Phase::PostCreateCommand),
            stage("postStartCommand", Phase::PostStartCommand),
        ];
        let with = dotfiles("/d").with_stage(&ws);
        assert_eq!(
            names(&with),
            [
                "initializeCommand",
                "onCreateCommand",
                "postCreateCommand",
                "dotfiles",
                "postStartCommand"
            ]
        );
        ws.stages = vec![stage("tasks", Phase::Before)];
        assert_eq!(
            names(&dotfiles("/d").with_stage(&ws)),
            ["dotfiles", "tasks"]
        );
        ws.stages = vec![stage("onCreateCommand", Phase::OnCreateCommand)];
        assert_eq!(
            names(&dotfiles("/d").with_stage(&ws)),
            ["onCreateCommand", "dotfiles"]
        );
    }

    #[test]
    fn a_folder_is_copied_with_its_modes_and_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        std::fs::create_dir_all(from.join("script")).unwrap();
        std::fs::write(from.join("script/setup"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            from.join("script/setup"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("script/setup", from.join("link")).unwrap();
        let to = dir.path().join("state/dotfiles/repo");
        dotfiles(from.to_str().unwrap())
            .fetch(&to, &EnvMap::new())
            .unwrap();
        let mode = std::fs::metadata(to.join("script/setup"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            Path::new("script/setup")
        );
    }

    #[test]
    fn a_missing_folder_or_an_unreachable_url_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = dotfiles("/nonexistent/dots")
            .fetch(&dir.path().join("a"), &EnvMap::new())
            .unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
        let err = dotfiles("file:///nonexistent/dots.git")
            .fetch(&dir.path().join("b"), &EnvMap::new())
            .unwrap_err();
        assert!(err.to_string().contains("could not clone"), "{err}");
        assert!(!dir.path().join("b").exists());
    }
}
