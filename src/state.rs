//! A workspace's state folder: a folder on the host, bind-mounted into the container at
//! [`MOUNT`], where the runner keeps each lane's state and log and devboot leaves the plan
//! the container runs at its next start.
//!
//! Because devboot reads it directly, knowing what runs (a warm `up`, `status`, `logs`)
//! costs no engine call, and a plan started by the container's own entrypoint needs no
//! `docker exec` at all. Containers another tool made have no such folder; for them the
//! lifecycle falls back to asking the container (`lifecycle::exec`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where the state folder is mounted in the container.
pub const MOUNT: &str = "/.devboot";

/// The host side of a state folder.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub path: PathBuf,
}

/// A lane's state as its files tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneFiles {
    /// The container start it ran in (PID 1's start time).
    pub boot: Option<String>,
    pub exit: Option<i32>,
    pub phase: Option<String>,
    pub ready: bool,
    pub background: bool,
    pub gone: bool,
    pub once: bool,
    /// Whether its wrapper has written its pid (it was launched).
    pub launched: bool,
}

impl StateDir {
    /// The state folder of the workspace with this devcontainer id.
    pub fn new(cache_dir: &Path, devcontainer_id: &str) -> StateDir {
        StateDir {
            path: cache_dir.join("state").join(devcontainer_id),
        }
    }

    /// The `--mount` value that puts it in the container.
    pub fn mount_spec(&self) -> String {
        format!("type=bind,source={},target={MOUNT}", self.path.display())
    }

    /// Creates the folder (writable by any container user: the user inside is not known
    /// here) and writes the runner into it.
    pub fn prepare(&self, runner: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for dir in [
            self.path.clone(),
            self.path.join("lanes"),
            self.path.join("plans"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                .map_err(|e| Error::io("open up", &dir, e))?;
        }
        write(&self.path.join("runner.sh"), runner)
    }

    /// Forgets everything: for a new container, nothing has run yet.
    pub fn reset(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &self.path, e)),
        }
    }

    /// The container start the entrypoint last recorded, if any.
    pub fn boot(&self) -> Option<String> {
        read(&self.path.join("boot"))
    }

    pub fn lane_dir(&self, id: &str) -> PathBuf {
        self.path.join("lanes").join(id)
    }

    /// The lane's log file on the host.
    pub fn log(&self, id: &str) -> PathBuf {
        self.lane_dir(id).join("log")
    }

    pub fn lane(&self, id: &str) -> LaneFiles {
        let dir = self.lane_dir(id);
        LaneFiles {
            boot: read(&dir.join("boot")),
            exit: read(&dir.join("exit")).and_then(|c| c.parse().ok()),
            phase: read(&dir.join("phase")),
            ready: dir.join("ready").exists(),
            background: dir.join("background").exists(),
            gone: dir.join("gone").exists(),
            once: dir.join("once").exists(),
            launched: dir.join("pid").exists(),
        }
    }

    /// Clears what a lane's last run left, so that what appears next belongs to the run
    /// about to start. Its `once` stays, and so do `pid` and `boot`: a restart first ends
    /// what is left of the old run, and needs them to find it.
    pub fn clear_lane(&self, id: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.lane_dir(id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| Error::io("open up", &dir, e))?;
        for name in ["exit", "ready", "background", "gone", "phase", "log"] {
            remove(&dir.join(name))?;
        }
        Ok(())
    }

    /// Writes a plan; `next` is the one the entrypoint runs at the next container start.
    pub fn write_plan(&self, name: &str, script: &str) -> Result<PathBuf> {
        let path = self.path.join("plans").join(format!("{name}.sh"));
        // A `started` left from the last plan of this name would keep this one from running.
        for end in ["result", "started"] {
            remove(&self.path.join("plans").join(format!("{name}.{end}")))?;
        }
        write(&path, script)?;
        Ok(path)
    }

    /// Sets (`true`) or lifts the hold on the next plan: while `plans/hold` exists, a
    /// starting container waits before it runs `plans/next.sh` (see `up::overlap`).
    pub fn hold(&self, on: bool) -> Result<()> {
        let path = self.path.join("plans").join("hold");
        if on {
            return write(&path, "");
        }
        remove(&path)
    }

    /// Takes a plan away before anything ran it.
    pub fn drop_plan(&self, name: &str) -> Result<()> {
        remove(&self.path.join("plans").join(format!("{name}.sh")))
    }

    /// What a plan said when it ended: `done`, or `failed` with the failed lanes' ids.
    pub fn plan_result(&self, name: &str) -> Option<String> {
        read(&self.path.join("plans").join(format!("{name}.result")))
    }

    /// Whether a plan has begun (it writes `<name>.started` first).
    pub fn plan_started(&self, name: &str) -> bool {
        self.path
            .join("plans")
            .join(format!("{name}.started"))
            .exists()
    }

    /// Gives the container's creation and start times to plans that write the reference
    /// CLI's markers.
    pub fn write_stamps(&self, created: &str, started: &str) -> Result<()> {
        write(
            &self.path.join("stamps"),
            &format!("{created}\n{started}\n"),
        )
    }

    /// Stamps of an earlier start must not be mistaken for this one's.
    pub fn clear_stamps(&self) -> Result<()> {
        remove(&self.path.join("stamps"))
    }
}

/// A file's text, trimmed; `None` when it is missing or empty (the runner writes small
/// files like `boot` in place, so a reader may see one just truncated).
fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Removes a file; one already gone is fine.
fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Writes a file whole (through a temporary name, so a reader never sees half of it).
fn write(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io("write", &tmp, e))?;
    // Readable (and the runner executable) for whatever user the container runs as.
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_runner_writes() {
        let cache = tempfile::tempdir().unwrap();
        let state = StateDir::new(cache.path(), "abc");
        state.prepare("echo runner").unwrap();
        assert_eq!(state.lane("x"), LaneFiles::default());
        let dir = state.lane_dir("x");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("boot"), "123").unwrap();
        std::fs::write(dir.join("exit"), "3").unwrap();
        std::fs::write(dir.join("once"), "").unwrap();
        let lane = state.lane("x");
        assert_eq!(
            (lane.boot.as_deref(), lane.exit, lane.once),
            (Some("123"), Some(3), true)
        );
        state.clear_lane("x").unwrap();
        let lane = state.lane("x");
        assert_eq!(
            (lane.boot.as_deref(), lane.exit, lane.once),
            (Some("123"), None, true),
            "once and boot survive: a restart needs them"
        );
        assert!(state.mount_spec().ends_with("state/abc,target=/.devboot"));
    }
}
