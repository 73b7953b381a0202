//! Where the engine runs: on this machine, or on another one (`DOCKER_HOST=ssh://…`,
//! `tcp://` to another host, a docker context naming one, `CONTAINER_HOST` for podman).
//! Told from the environment and the docker CLI's own config files, without an engine
//! call, so every command can know it for free.
//!
//! A remote engine cannot see this machine's folders: a bind mount of the workspace would
//! fail there ("bind source path does not exist"), or worse, mount an empty folder the
//! engine made. What devboot does instead is `crate::backend`'s.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::EngineKind;
use crate::workspace::EnvMap;

/// Where the engine is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// On this machine (its own socket, or TCP on loopback).
    Local,
    /// On another machine: the address, and where it was named (a variable, a context).
    Remote { host: String, from: String },
}

impl Location {
    /// Reads it from `host_env` for the engine `kind`.
    pub fn of(kind: EngineKind, host_env: &EnvMap) -> Location {
        let (var, named) = match kind {
            EngineKind::Docker => ("DOCKER_HOST", docker_host(host_env)),
            EngineKind::Podman => ("CONTAINER_HOST", None),
        };
        let (host, from) = match host_env.get(var).filter(|h| !h.is_empty()) {
            Some(host) => (host.clone(), var.to_string()),
            None => match named {
                Some(found) => found,
                None => return Location::Local,
            },
        };
        if is_local(&host) {
            Location::Local
        } else {
            Location::Remote { host, from }
        }
    }

    /// What a remote engine cannot do for `ws`: a Docker Compose config's own mounts name
    /// this machine's folders, which that engine cannot see (devboot copies only the
    /// workspace folder of an image or Dockerfile config there).
    pub fn can_run(&self, ws: &crate::workspace::Workspace) -> crate::error::Result<()> {
        let Location::Remote { host, from } = self else {
            return Ok(());
        };
        if !matches!(ws.image, crate::workspace::ImageSource::Compose { .. }) {
            return Ok(());
        }
        Err(crate::error::Error::Usage {
            message: format!(
                "the engine is on another machine ({host}, from {from}): a Docker Compose config mounts this machine's folders itself, which that engine cannot see"
            ),
            help: Some(format!(
                "use an engine on this machine for it (unset {from}, or `docker context use default`); a devcontainer.json with an image or a Dockerfile runs there, its folder copied over"
            )),
        })
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Remote { .. })
    }

    /// For people: `local` or `remote (ssh://… from DOCKER_HOST)`.
    pub fn describe(&self) -> String {
        match self {
            Location::Local => "local".into(),
            Location::Remote { host, from } => format!("remote ({host}, from {from})"),
        }
    }
}

/// Whether an engine address is this machine: a unix socket or named pipe, or TCP to a
/// loopback address. `ssh://` is always another machine (even to localhost: its folders
/// are those that machine's user sees, not necessarily these).
fn is_local(host: &str) -> bool {
    let Some((scheme, rest)) = host.split_once("://") else {
        return true;
    };
    match scheme {
        "unix" | "npipe" | "fd" => true,
        "tcp" | "http" | "https" => {
            let name = host_of(rest);
            name == "localhost"
                || name == "::1"
                || name
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// The host of an engine address: `box` of `tcp://box:2375/` or `ssh://me@box:22` (a
/// scheme, a user, a port and a path left out; an IPv6 address without its brackets).
pub fn host_of(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let name = match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    };
    name.trim_start_matches('[').trim_end_matches(']')
}

/// The docker CLI's current context, when it is not the default: `DOCKER_CONTEXT`, else
/// `currentContext` in its config; its endpoint from the context's meta file.
fn docker_host(host_env: &EnvMap) -> Option<(String, String)> {
    let config_dir = host_env
        .get("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| {
            host_env
                .get("HOME")
                .map(|h| PathBuf::from(h).join(".docker"))
        })?;
    let (name, from) = if let Some(name) = host_env.get("DOCKER_CONTEXT").filter(|c| !c.is_empty())
    {
        (name.clone(), "DOCKER_CONTEXT".to_string())
    } else {
        let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
        let config: serde_json::Value = serde_json::from_str(&text).ok()?;
        let name = config.get("currentContext")?.as_str()?.to_string();
        (name, "the docker CLI's current context".to_string())
    };
    if name == "default" {
        return None;
    }
    let digest = crate::container::hex(&Sha256::digest(name.as_bytes()));
    let meta = config_dir
        .join("contexts/meta")
        .join(digest)
        .join("meta.json");
    let text = std::fs::read_to_string(meta).ok()?;
    let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
    let host = meta
        .pointer("/Endpoints/docker/Host")?
        .as_str()?
        .to_string();
    Some((host, format!("{from} `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workspace::env_map as env;

    #[test]
    fn addresses_on_this_machine_are_local() {
        for host in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2376",
            "tcp://[::1]:2375",
            "npipe:////./pipe/docker_engine",
        ] {
            assert!(is_local(host), "{host}");
        }
        for host in [
            "ssh://root@127.0.0.1:2222",
            "ssh://me@box",
            "tcp://10.0.0.5:2375",
            "tcp://build-box:2376",
        ] {
            assert!(!is_local(host), "{host}");
        }
    }

    #[test]
    fn docker_host_or_a_context_names_a_remote_engine() {
        let remote = Location::of(EngineKind::Docker, &env(&[("DOCKER_HOST", "ssh://me@box")]));
        assert_eq!(
            remote,
            Location::Remote {
                host: "ssh://me@box".into(),
                from: "DOCKER_HOST".into()
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let digest = crate::container::hex(&Sha256::digest(b"box"));
        let meta = dir.path().join("contexts/meta").join(digest);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"box","Endpoints":{"docker":{"Host":"tcp://10.1.2.3:2376"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"box"}"#,
        )
        .unwrap();
        let docker_config = dir.path().display().to_string();
        let by_context = Location::of(
            EngineKind::Docker,
            &env(&[("DOCKER_CONFIG", &docker_config)]),
        );
        assert!(by_context.is_remote(), "{by_context:?}");
        assert!(by_context.describe().contains("current context `box`"));
        // DOCKER_HOST wins over the context, as for the docker CLI.
        let local = Location::of(
            EngineKind::Docker,
            &env(&[
                ("DOCKER_CONFIG", &docker_config),
                ("DOCKER_HOST", "unix:///run/docker.sock"),
            ]),
        );
        assert_eq!(local, Location::Local);
        assert_eq!(Location::of(EngineKind::Podman, &env(&[])), Location::Local);
    }
}
