//! One lock per workspace, held by `up` for its whole run and by `down` while it stops or
//! removes the container: a second `up` waits for the first, and `down` never removes a
//! container under an `up` that is still bringing it up. Also what `down --remove` forgets
//! of a workspace: devboot's own files for it on the host.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ui;
use crate::workspace::EnvMap;

use super::{LABEL_IMAGE_FOLDER, Target};

fn path(host_env: &EnvMap, id: &str) -> std::path::PathBuf {
    crate::dirs::cache_dir(host_env)
        .join("locks")
        .join(format!("{id}.lock"))
}

/// Holds the workspace's lock until the file is dropped; waits (saying so) while another
/// devboot holds it.
pub fn lock(host_env: &EnvMap, id: &str) -> Result<std::fs::File> {
    let cache = crate::dirs::cache_dir(host_env);
    crate::dirs::private(&cache)?;
    crate::dirs::private(&cache.join("locks"))?;
    let path = path(host_env, id);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            ui::note("another devboot is working on this workspace; waiting for it");
            file.lock().map_err(|e| Error::io("lock", &path, e))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

/// Removes what devboot keeps on the host for a workspace whose container is gone: its
/// state folder, its Compose override file, its lock, and with `images` the images it
/// built for it. Returns what it removed, for the message.
pub fn forget(
    engine: &Engine,
    target: &Target,
    host_env: &EnvMap,
    images: bool,
) -> Result<Vec<String>> {
    let mut removed = super::remote::forget(engine, target)?;
    if target.state.path.exists() {
        target.state.reset()?;
        removed.push(format!("state folder {}", target.state.path.display()));
    }
    let compose = super::compose::override_path(target);
    if remove_file(&compose)? {
        removed.push(format!("Compose override {}", compose.display()));
    }
    if images {
        let filter = format!(
            "label={LABEL_IMAGE_FOLDER}={}",
            target
                .id_labels
                .get(crate::container::LABEL_LOCAL_FOLDER)
                .map_or("", String::as_str)
        );
        let tags = engine.call([
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            filter.as_str(),
        ])?;
        for tag in tags.lines().filter(|t| !t.trim().is_empty()) {
            engine.call(["rmi", tag.trim()])?;
            removed.push(format!("image {}", tag.trim()));
        }
    }
    // Last: the lock this `down` holds is released when it ends (flock outlives the name).
    remove_file(&path(host_env, &target.devcontainer_id))?;
    Ok(removed)
}

fn remove_file(path: &std::path::Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}
