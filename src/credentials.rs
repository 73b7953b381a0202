//! The host's credentials, lent to the workspace only when the user asks
//! (`up --forward-ssh-agent`, `--forward-git-identity`, `--forward-git-credentials`, or `[credentials]` in the
//! settings file): off by default, since whatever runs in the container can use them.
//!
//! - The SSH agent: the host's agent socket (`SSH_AUTH_SOCK`) is mounted into the container
//!   and `SSH_AUTH_SOCK` names it for tasks, hooks and `exec`; the keys never leave the
//!   agent (`ssh`, `git` over SSH inside sign through it). The socket is fixed when the
//!   container is made: a new agent (a new login) needs `up --recreate`.
//! - git credentials: git's requests inside answered by the host's credential helper, see
//!   [`git_helper`].
//! - The git identity: the host's `git config user.name`/`user.email` as
//!   `GIT_AUTHOR_*`/`GIT_COMMITTER_*` for tasks, hooks and `exec` (no `git` needed in the
//!   image, nothing written into it).

pub mod git_helper;

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::workspace::{EnvMap, Workspace};

/// Where the agent's socket is in the container.
pub const AGENT_IN_CONTAINER: &str = "/tmp/devboot-ssh-agent.sock";

/// What the user asked to lend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lend {
    pub ssh_agent: bool,
    pub git_identity: bool,
    /// git's credential requests answered by the host's helper (see `git_credentials`).
    pub git_credentials: bool,
}

impl Lend {
    pub fn any(self) -> bool {
        self.ssh_agent || self.git_identity || self.git_credentials
    }
}

/// The workspace with what is lent in it: the agent's mount and variables in its
/// `remoteEnv` layer (they never go on the container itself).
pub fn apply(ws: &Workspace, host_env: &EnvMap, lend: Lend) -> Result<Workspace> {
    let mut out = ws.clone();
    if lend.ssh_agent {
        let socket = agent_socket(host_env)?;
        let mount =
            crate::mount::bind(&socket, AGENT_IN_CONTAINER, false).map_err(|e| Error::Usage {
                message: format!("cannot lend the SSH agent at {}: {e}", socket.display()),
                help: None,
            })?;
        out.options.mounts.push(mount);
        out.remote_env
            .insert("SSH_AUTH_SOCK".into(), AGENT_IN_CONTAINER.into());
    }
    if lend.git_credentials {
        git_helper::env(&mut out.remote_env);
    }
    if lend.git_identity {
        for (key, vars) in [
            ("user.name", ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"]),
            ("user.email", ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"]),
        ] {
            let value = git_config(key, host_env).ok_or_else(|| Error::Usage {
                message: format!(
                    "--forward-git-identity: `git config {key}` is not set on this machine"
                ),
                help: Some(format!("set it: git config --global {key} \"...\"")),
            })?;
            for var in vars {
                out.remote_env.insert(var.into(), value.clone());
            }
        }
    }
    Ok(out)
}

/// The host agent's socket, which must be there.
fn agent_socket(host_env: &EnvMap) -> Result<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let help = Some(
        "start an agent and add your key (eval \"$(ssh-agent)\"; ssh-add), then run devboot from that shell".to_string(),
    );
    let Some(path) = host_env.get("SSH_AUTH_SOCK").filter(|p| !p.is_empty()) else {
        return Err(Error::Usage {
            message: "--forward-ssh-agent: no SSH agent here (SSH_AUTH_SOCK is not set)".into(),
            help,
        });
    };
    let path = PathBuf::from(path);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.file_type().is_socket() => Ok(path),
        _ => Err(Error::Usage {
            message: format!(
                "--forward-ssh-agent: SSH_AUTH_SOCK names {}, which is not a socket (the agent is gone?)",
                path.display()
            ),
            help,
        }),
    }
}

/// `git config --get KEY` on the host, if set.
fn git_config(key: &str, host_env: &EnvMap) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "--get", key])
        .env_clear()
        .envs(host_env)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let value = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_lent_unless_asked() {
        let ws = crate::workspace::tests::workspace();
        let same = apply(&ws, &EnvMap::new(), Lend::default()).unwrap();
        assert_eq!(
            serde_json::to_value(&same).unwrap(),
            serde_json::to_value(&ws).unwrap()
        );
    }

    #[test]
    fn a_missing_agent_is_an_error_that_says_how_to_start_one() {
        let ws = crate::workspace::tests::workspace();
        let lend = Lend {
            ssh_agent: true,
            ..Lend::default()
        };
        let err = apply(&ws, &EnvMap::new(), lend).unwrap_err();
        assert!(
            err.to_string().contains("SSH_AUTH_SOCK is not set"),
            "{err}"
        );
        let env = EnvMap::from([("SSH_AUTH_SOCK".into(), "/nonexistent/agent".into())]);
        let err = apply(&ws, &env, lend).unwrap_err();
        assert!(err.to_string().contains("not a socket"), "{err}");
    }

    #[test]
    fn the_git_identity_comes_from_the_hosts_git_config() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".gitconfig"),
            "[user]\n\tname = Ada L\n\temail = ada@example.test\n",
        )
        .unwrap();
        let env = EnvMap::from([
            ("HOME".into(), home.path().display().to_string()),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ]);
        let ws = apply(
            &crate::workspace::tests::workspace(),
            &env,
            Lend {
                ssh_agent: false,
                git_identity: true,
                ..Lend::default()
            },
        )
        .unwrap();
        assert_eq!(ws.remote_env["GIT_AUTHOR_NAME"], "Ada L");
        assert_eq!(ws.remote_env["GIT_COMMITTER_EMAIL"], "ada@example.test");
    }
}
