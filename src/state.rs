//! A workspace's state folder on the host, shared with the container in two halves:
//!
//! - `host/`, mounted read-only at [`MOUNT`]: what devboot writes for the container (the
//!   runner, the plans, the container's timestamps, the hold, the workspace it is for). The
//!   container cannot change a byte of it.
//! - `run/`, mounted read-write at [`RUN_MOUNT`]: what the runner writes (each lane's state
//!   and log, the plans' results, the start it recorded). devboot only reads it, through
//!   [`crate::boundary::Door`], as untrusted input.
//!
//! The folder itself (`<cache>/state/<devcontainer id>`) is private to its owner (0700), so
//! no other local user can reach either half, though `run/` must be writable for whatever
//! user the container runs as.
//!
//! Because devboot reads it directly, knowing what runs (a warm `up`, `status`, `logs`)
//! costs no engine call, and a plan started by the container's own entrypoint needs no
//! `docker exec` at all. Containers another tool made have no such folder; for them the
//! lifecycle falls back to asking the container (`lifecycle::exec`).

mod log;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use log::{LogReader, tail_lines};

use crate::boundary::Door;
use crate::error::{Error, Result};

/// Where the host half is mounted in the container (read-only).
pub const MOUNT: &str = "/.devboot";
/// Where the container's half is mounted (read-write), inside [`MOUNT`].
pub const RUN_MOUNT: &str = "/.devboot/run";

/// The host side of a state folder.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub path: PathBuf,
    /// What the container is told about the workspace it was made for
    /// (`up::in_place` reads it inside, as [`WORKSPACE`]).
    workspace: Option<String>,
}

/// Where the container finds the workspace folder and config it was made for.
pub const WORKSPACE: &str = "/.devboot/workspace";

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
            workspace: None,
        }
    }

    /// The same, telling the container which workspace it is for (see [`WORKSPACE`]).
    #[must_use]
    pub fn for_workspace(self, text: Option<String>) -> StateDir {
        StateDir {
            workspace: text,
            ..self
        }
    }

    fn host(&self) -> PathBuf {
        self.path.join("host")
    }

    fn run(&self) -> PathBuf {
        self.path.join("run")
    }

    /// The container's half, which must be there (just made).
    fn open_door(&self) -> Result<Door> {
        self.door().ok_or_else(|| {
            Error::io(
                "open",
                self.run(),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )
        })
    }

    /// The door to the container's half; `None` before [`StateDir::prepare`].
    fn door(&self) -> Option<Door> {
        Door::open(&self.run())
    }

    /// The two `--mount` values that put it in the container (the read-only half first:
    /// the other is mounted inside it).
    pub fn mount_specs(&self) -> Result<[String; 2], crate::mount::MountError> {
        Ok([
            crate::mount::bind(&self.host(), MOUNT, true)?,
            crate::mount::bind(&self.run(), RUN_MOUNT, false)?,
        ])
    }

    /// Creates both halves and writes the runner. The folder and everything above it that
    /// devboot owns is made private; `run/` and its folders are writable for any container
    /// user (the user inside is not known here), which only the owner can reach.
    pub fn prepare(&self, runner: &str) -> Result<()> {
        for dir in self
            .path
            .ancestors()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            crate::dirs::private(dir)?;
        }
        for dir in [
            self.host(),
            self.host().join("plans"),
            self.host().join("run"),
        ] {
            make_dir(&dir, 0o755)?;
        }
        make_dir(&self.run(), 0o777)?;
        let door = self.open_door()?;
        door.make_dir("lanes", 0o777);
        door.make_dir("plans", 0o777);
        if let Some(text) = &self.workspace {
            write(&self.host().join("workspace"), text)?;
        }
        write(&self.host().join("runner.sh"), runner)
    }

    /// Writes files of the host half (`(path under it, text)`), their folders made first.
    pub fn write_host_files(&self, files: &[(&str, String)]) -> Result<()> {
        for (rel, text) in files {
            let path = self.host().join(rel);
            if let Some(dir) = path.parent() {
                make_dir(dir, 0o755)?;
            }
            write(&path, text)?;
        }
        Ok(())
    }

    /// A path in the host half (read-only in the container), for what devboot copies there
    /// whole (the dotfiles).
    pub fn host_path(&self, rel: &str) -> PathBuf {
        self.host().join(rel)
    }

    /// What `gp env` recorded in the container (see `gp::env_changes`): untrusted.
    pub fn gp_env(&self) -> Option<String> {
        self.door()?.read_small("gp/env")
    }

    /// What `gp ports expose`/`visibility` recorded in the container: untrusted.
    pub fn gp_port_requests(&self) -> Option<String> {
        self.door()?.read_small("gp/requests")
    }

    /// What `gp` recorded that outlives a container (`gp env`, `gp ports`), to be written
    /// back after [`StateDir::reset`] with [`StateDir::restore_gp_records`].
    pub fn gp_records(&self) -> Vec<(&'static str, String)> {
        let Some(door) = self.door() else {
            return Vec::new();
        };
        ["gp/env", "gp/requests"]
            .into_iter()
            .filter_map(|rel| door.read_small(rel).map(|text| (rel, text)))
            .collect()
    }

    /// Writes back what [`StateDir::gp_records`] read, into a new container's state.
    pub fn restore_gp_records(&self, records: &[(&str, String)]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let door = self.open_door()?;
        door.make_dir("gp", 0o777);
        for (rel, text) in records {
            door.write_file(rel, format!("{text}\n").as_bytes())
                .map_err(|e| Error::io("write", door.shown(rel), e))?;
        }
        Ok(())
    }

    /// Forgets what `gp env` recorded, once the user took it.
    pub fn forget_gp_env(&self) -> Result<()> {
        match self.door() {
            Some(door) => door
                .remove("gp/env")
                .map_err(|e| Error::io("remove", door.shown("gp/env"), e)),
            None => Ok(()),
        }
    }

    /// Forgets everything: for a new container, nothing has run yet. (`remove_dir_all`
    /// never follows a link it meets inside.)
    pub fn reset(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &self.path, e)),
        }
    }

    /// The container start the entrypoint last recorded, if any.
    pub fn boot(&self) -> Option<String> {
        self.door()?.read_small("boot")
    }

    /// A lane's log relative to the container's half.
    fn log_rel(id: &str) -> String {
        format!("lanes/{id}/log")
    }

    /// The lane's log, opened for reading from `offset` on (see [`LogReader`]).
    pub fn open_log(&self, id: &str) -> Option<(std::fs::File, u64)> {
        self.door()?.open_file(&Self::log_rel(id))
    }

    /// The last `n` lines of a lane's log (read from its end, whatever its size).
    pub fn log_tail(&self, id: &str, n: usize) -> Vec<String> {
        self.open_log(id)
            .map(|(file, size)| tail_lines(&file, size, n))
            .unwrap_or_default()
    }

    /// The size of the lane's log (one `fstatat`), for "has it grown".
    pub fn log_len(&self, id: &str) -> Option<u64> {
        self.door()?.file_len(&Self::log_rel(id))
    }

    /// The host path of a lane's log, for messages.
    pub fn log_shown(&self, id: &str) -> PathBuf {
        self.run().join(Self::log_rel(id))
    }

    pub fn lane(&self, id: &str) -> LaneFiles {
        let Some(door) = self.door() else {
            return LaneFiles::default();
        };
        let file = |name: &str| format!("lanes/{id}/{name}");
        LaneFiles {
            boot: door.read_small(&file("boot")),
            exit: door.read_small(&file("exit")).and_then(|c| c.parse().ok()),
            phase: door.read_small(&file("phase")),
            ready: door.has_file(&file("ready")),
            background: door.has_file(&file("background")),
            gone: door.has_file(&file("gone")),
            once: door.has_file(&file("once")),
            launched: door.has_file(&file("pid")),
        }
    }

    /// Clears what a lane's last run left, so that what appears next belongs to the run
    /// about to start. Its `once` stays, and so do `pid` and `boot`: a restart first ends
    /// what is left of the old run, and needs them to find it.
    pub fn clear_lane(&self, id: &str) -> Result<()> {
        let Some(door) = self.door() else {
            return Ok(());
        };
        let dir = format!("lanes/{id}");
        if !door.make_dir(&dir, 0o777) {
            return Ok(());
        }
        for name in ["exit", "ready", "background", "gone", "phase", "log"] {
            let rel = format!("{dir}/{name}");
            door.remove(&rel)
                .map_err(|e| Error::io("remove", door.shown(&rel), e))?;
        }
        // What stays must at least be a file the runner can write again.
        for name in ["once", "pid", "boot"] {
            let rel = format!("{dir}/{name}");
            door.remove_if_odd(&rel)
                .map_err(|e| Error::io("remove", door.shown(&rel), e))?;
        }
        Ok(())
    }

    /// The requests waiting in the container's folder `rel` (`<id>.req`, at most `limit`),
    /// each read as a small file: untrusted.
    pub fn requests(&self, rel: &str, limit: usize) -> Vec<(String, String)> {
        let Some(door) = self.door() else {
            return Vec::new();
        };
        door.names(rel, limit)
            .into_iter()
            .filter_map(|name| {
                let id = name.strip_suffix(".req")?.to_string();
                let text = door
                    .read_small(&format!("{rel}/{name}"))
                    .unwrap_or_default();
                Some((id, text))
            })
            .collect()
    }

    /// Removes a request once answered (the entry itself, whatever it is).
    pub fn drop_request(&self, rel: &str, id: &str) {
        if let Some(door) = self.door() {
            let _ = door.remove(&format!("{rel}/{id}.req"));
        }
    }

    /// The state folder at `path` (a server given it on its command line).
    pub fn at(path: PathBuf) -> StateDir {
        StateDir {
            path,
            workspace: None,
        }
    }

    /// Writes a plan; `next` is the one the entrypoint runs at the next container start.
    pub fn write_plan(&self, name: &str, script: &str) -> Result<PathBuf> {
        // A `started` left from the last plan of this name would keep this one from running.
        if let Some(door) = self.door() {
            for end in ["result", "started"] {
                let rel = format!("plans/{name}.{end}");
                door.remove(&rel)
                    .map_err(|e| Error::io("remove", door.shown(&rel), e))?;
            }
        }
        let path = self.host().join("plans").join(format!("{name}.sh"));
        write(&path, script)?;
        Ok(path)
    }

    /// Sets (`true`) or lifts the hold on the next plan: while `plans/hold` exists, a
    /// starting container waits before it runs `plans/next.sh` (see `up::overlap`).
    pub fn hold(&self, on: bool) -> Result<()> {
        let path = self.host().join("plans").join("hold");
        if on {
            return write(&path, "");
        }
        remove(&path)
    }

    /// Takes a plan away before anything ran it.
    pub fn drop_plan(&self, name: &str) -> Result<()> {
        remove(&self.host().join("plans").join(format!("{name}.sh")))
    }

    /// What a plan said when it ended: `done`, or `failed` with the failed lanes' ids.
    pub fn plan_result(&self, name: &str) -> Option<String> {
        self.door()?.read_small(&format!("plans/{name}.result"))
    }

    /// Whether a plan has begun (it writes `<name>.started` first).
    pub fn plan_started(&self, name: &str) -> bool {
        self.door()
            .is_some_and(|d| d.has_file(&format!("plans/{name}.started")))
    }

    /// Gives the container's creation and start times to plans that write the reference
    /// CLI's markers.
    pub fn write_stamps(&self, created: &str, started: &str) -> Result<()> {
        write(
            &self.host().join("stamps"),
            &format!("{created}\n{started}\n"),
        )
    }

    /// Stamps of an earlier start must not be mistaken for this one's.
    pub fn clear_stamps(&self) -> Result<()> {
        remove(&self.host().join("stamps"))
    }
}

/// Makes a folder of devboot's own (not reachable by the container) with `mode`.
fn make_dir(dir: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set the mode of", dir, e))
}

/// Removes a file of the host half; one already gone is fine.
fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Writes a file of the host half whole (through a temporary name, so a reader never sees
/// half of it). Readable, and the runner executable, for whatever user the container runs
/// as; the private folder above keeps other local users out.
fn write(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io("write", &tmp, e))?;
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
        let dir = state.run().join("lanes/x");
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
        let [host, run] = state.mount_specs().unwrap();
        assert!(
            host.contains("target=/.devboot") && host.contains("readonly"),
            "{host}"
        );
        assert!(
            run.contains("target=/.devboot/run") && !run.contains("readonly"),
            "{run}"
        );
    }

    #[test]
    fn the_folder_is_private_and_the_host_half_is_not_the_containers() {
        let cache = tempfile::tempdir().unwrap();
        let state = StateDir::new(cache.path(), "abc");
        state.prepare("echo runner").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state.path), 0o700);
        assert_eq!(mode(state.path.parent().unwrap()), 0o700);
        assert_eq!(mode(cache.path()), 0o700, "devboot's cache folder");
        assert_eq!(mode(&state.host()), 0o755);
        assert_eq!(mode(&state.run()), 0o777);
        assert!(state.host().join("runner.sh").is_file());
        assert!(state.host().join("run").is_dir(), "the mount point of run/");
        assert!(!state.host().join("workspace").exists());
        let told = state.for_workspace(Some("/workspaces/w\n.devcontainer.json\n".into()));
        told.prepare("echo runner").unwrap();
        assert_eq!(
            std::fs::read_to_string(told.host().join("workspace")).unwrap(),
            "/workspaces/w\n.devcontainer.json\n",
            "the container is told which workspace it is for"
        );
    }
}
