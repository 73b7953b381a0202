//! Where the workspace runs, and what that changes: the one place that knows whether the
//! engine can see this machine's folders and ports.
//!
//! - [`Backend::Local`]: an engine on this machine. The workspace folder and devboot's state
//!   folder are bind-mounted; published ports are this machine's.
//! - [`Backend::Remote`]: an engine on another machine (`DOCKER_HOST=ssh://…`, `tcp://` to
//!   another host, a docker context naming one, `CONTAINER_HOST` for podman). It cannot see
//!   this machine's folders, so the workspace folder is copied into a named volume there
//!   ([`sync`]) and no state folder is shared: the container is driven the way devboot
//!   drives one another tool made (`lifecycle::exec`: its lane state lives in the container,
//!   read through `docker exec`). Its published ports are the remote machine's: over SSH
//!   they are forwarded to this machine's loopback ([`forward`]); over TCP their URLs name
//!   the remote host.
//!
//! A Kubernetes backend would be a third variant here (see the README's design notes): the
//! source copied into a volume the same way, lanes run through `kubectl exec`, ports through
//! `kubectl port-forward`.

pub mod forward;
pub mod mux;
pub mod sync;

use crate::engine::EngineKind;
use crate::engine::location::{self, Location};
use crate::workspace::EnvMap;

/// Where the workspace runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Local,
    Remote(Remote),
}

/// An engine on another machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The engine's address (`ssh://root@box:2222`, `tcp://box:2375`).
    pub address: String,
    /// Where it was named (`DOCKER_HOST`, a docker context).
    pub from: String,
    /// The SSH destination, for an `ssh://` engine: ports are forwarded through it.
    pub ssh: Option<forward::Ssh>,
    /// The remote machine's host name or address, for the URLs of a `tcp://` engine.
    pub host: String,
}

impl Backend {
    /// Tells it from the environment, without an engine call: the docker CLI's
    /// `DOCKER_HOST` or current context, else podman's `CONTAINER_HOST`.
    pub fn detect(host_env: &EnvMap) -> Backend {
        [EngineKind::Docker, EngineKind::Podman]
            .into_iter()
            .find_map(|kind| match Location::of(kind, host_env) {
                Location::Local => None,
                Location::Remote { host, from } => Some(Backend::Remote(Remote::new(host, from))),
            })
            .unwrap_or(Backend::Local)
    }

    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Backend::Local => None,
            Backend::Remote(remote) => Some(remote),
        }
    }

    /// Whether the container shares devboot's state folder (a bind mount of it).
    pub fn shares_state(&self) -> bool {
        matches!(self, Backend::Local)
    }

    /// The `--mount` value of the workspace folder at `target`: a bind mount of `source`
    /// here, the workspace's source volume there.
    pub fn workspace_mount(
        &self,
        source: &std::path::Path,
        target: &str,
        devcontainer_id: &str,
    ) -> Result<String, crate::mount::MountError> {
        match self {
            Backend::Local => crate::mount::bind(source, target, false),
            Backend::Remote(_) => crate::mount::join(&[
                "type=volume".to_string(),
                format!("source={}", source_volume(devcontainer_id)),
                format!("target={target}"),
            ]),
        }
    }
}

impl Remote {
    fn new(address: String, from: String) -> Remote {
        let ssh = forward::Ssh::parse(&address);
        let host = location::host_of(&address).to_string();
        Remote {
            address,
            from,
            ssh,
            host,
        }
    }

    /// The host part of URLs to the workspace's ports: the remote host's for a `tcp://`
    /// engine; `None` over SSH, whose ports are forwarded to this machine's loopback.
    pub fn url_host(&self) -> Option<&str> {
        self.ssh.is_none().then_some(self.host.as_str())
    }
}

/// The named volume holding a remote workspace's copy of its folder.
pub fn source_volume(devcontainer_id: &str) -> String {
    format!(
        "devboot-src-{}",
        &devcontainer_id[..devcontainer_id.len().min(16)]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workspace::env_map as env;

    #[test]
    fn an_ssh_engine_forwards_and_a_tcp_engine_names_its_host() {
        let ssh = Backend::detect(&env(&[("DOCKER_HOST", "ssh://root@10.0.0.2:2222")]));
        let remote = ssh.remote().unwrap();
        assert_eq!(remote.host, "10.0.0.2");
        assert_eq!(remote.url_host(), None);
        assert_eq!(remote.ssh.as_ref().unwrap().port, Some(2222));
        assert!(!ssh.shares_state());

        let tcp = Backend::detect(&env(&[("DOCKER_HOST", "tcp://box.lan:2375")]));
        assert_eq!(tcp.remote().unwrap().url_host(), Some("box.lan"));
        let podman = Backend::detect(&env(&[("CONTAINER_HOST", "ssh://me@box/run/p.sock")]));
        assert_eq!(podman.remote().unwrap().host, "box");

        assert_eq!(Backend::detect(&env(&[])), Backend::Local);
        let local = Backend::detect(&env(&[("DOCKER_HOST", "unix:///run/docker.sock")]));
        assert!(local.shares_state());
    }

    #[test]
    fn a_remote_workspace_mounts_its_source_volume() {
        let remote = Backend::detect(&env(&[("DOCKER_HOST", "tcp://box:2375")]));
        let spec = remote
            .workspace_mount(
                std::path::Path::new("/src/app"),
                "/workspaces/app",
                "0123456789abcdefXYZ",
            )
            .unwrap();
        assert_eq!(
            spec,
            "type=volume,source=devboot-src-0123456789abcdef,target=/workspaces/app"
        );
    }
}
