//! What `up` and `down` do beside the container when it runs on a remote engine (see
//! `crate::backend`): copy the workspace folder into it before anything runs there, bring
//! its ports home over SSH, and clean both up.

use crate::backend::{self, Backend, forward, sync};
use crate::engine::Engine;
use crate::error::Result;

use super::Target;

/// Copies the workspace folder into the container (all of it when `full`, else what
/// changed since the last copy); nothing for a local engine, or a workspace mount the
/// config wrote itself (that path is the remote machine's).
pub fn sync(
    engine: &Engine,
    target: &Target,
    container: &str,
    full: bool,
) -> Result<Option<sync::Synced>> {
    let (Backend::Remote(_), Some((local, at))) = (&target.backend, &target.source) else {
        return Ok(None);
    };
    let manifest = sync::manifest_path(&target.cache_dir, &target.devcontainer_id);
    let full = full || !manifest.exists();
    let copy = sync::Sync {
        engine,
        container,
        local,
        target: at,
        manifest,
        owner: target.exec.user.as_deref(),
        skip: vec![
            target.cache_dir.clone(),
            crate::dirs::config_dir(target.host_env()),
        ],
    };
    copy.run(full).map(Some)
}

/// The host ports a forward brings home: every published one (each of a range).
pub fn forwarded_ports(target: &Target) -> Vec<u16> {
    let mut ports: Vec<u16> = target
        .bindings
        .iter()
        .filter(|b| b.port.publish)
        .flat_map(|b| b.host_port..=b.last_host_port())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Starts (or keeps) the background forward of the workspace's ports over SSH.
pub(super) fn forward(target: &Target) -> Result<()> {
    let Some(ssh) = target.backend.remote().and_then(|r| r.ssh.as_ref()) else {
        return Ok(());
    };
    let record = forward::record_path(&target.cache_dir, &target.devcontainer_id);
    forward::ensure(ssh, &forwarded_ports(target), &record)
}

/// For `status`: whether the ports of a workspace on an SSH engine are forwarded here.
pub fn forward_state(target: &Target) -> Option<String> {
    target.backend.remote()?.ssh.as_ref()?;
    let record = forward::record_path(&target.cache_dir, &target.devcontainer_id);
    Some(match forward::running(&record) {
        Some(ports) if !ports.is_empty() => {
            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
            format!("ports {} forwarded here over SSH", list.join(", "))
        }
        _ => "ports not forwarded here: `devboot up` or `devboot ports forward` does it".into(),
    })
}

/// Stops the workspace's forward (`down`); what it stopped, for the message.
pub fn stop_forward(target: &Target) -> Result<Option<String>> {
    let record = forward::record_path(&target.cache_dir, &target.devcontainer_id);
    Ok(forward::stop(&record)?.then(|| "the port forward".to_string()))
}

/// Removes the workspace's source volume and the record of what was copied into it
/// (`down --remove`, once the container is gone).
pub(super) fn forget(engine: &Engine, target: &Target) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    if let Some(what) = stop_forward(target)? {
        removed.push(what);
    }
    if !matches!(target.backend, Backend::Remote(_)) || target.source.is_none() {
        return Ok(removed);
    }
    let volume = backend::source_volume(&target.devcontainer_id);
    match engine.call(["volume", "rm", volume.as_str()]) {
        Ok(_) => removed.push(format!("volume {volume}")),
        Err(crate::engine::EngineError::Failed { stderr, .. })
            if stderr.to_lowercase().contains("no such volume") => {}
        Err(err) => return Err(err.into()),
    }
    sync::forget(&target.cache_dir, &target.devcontainer_id)?;
    Ok(removed)
}
