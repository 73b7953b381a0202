//! Stand-ins, in place, for the container facts the run-once rules key on, which devboot
//! cannot ask an engine for here: when the container was created, when it last started,
//! and its id. Markers another tool wrote here (the platform's CLI, or devboot's own runner
//! in a container devboot made) hold the engine's real timestamps: they are taken as they
//! are whenever they belong to this container (created) or to its current start (started),
//! so a hook the platform already ran is not run again.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::lifecycle::{self, ContainerFacts};
use crate::workspace::{Phase, Timing, Workspace};

/// Clock ticks per second in `/proc/<pid>/stat`: the kernel's `USER_HZ`, 100 on every
/// architecture Linux containers run on.
const TICKS_PER_SECOND: u64 = 100;

/// The container facts in place. `markers` is what the workspace's marker files hold;
/// `home` is where `~/` is (for the markers' times).
///
/// - created: the stamp already in a once-per-container marker (the platform's CLI wrote
///   the container's creation time there, or devboot's runner, or an earlier in-place `up`
///   its stand-in; the home folder lives as long as the container), else the current start,
///   which the markers then keep;
/// - started: the stamp in the `postStartCommand` marker when that file was written during
///   this start, else this machine's current start (its boot time and PID 1's start time:
///   new at every container start, the same for every `up` in between);
/// - id: the container's id, as its mounts tell it (a Gitpod task's `init` marker in a
///   container devboot made holds it).
pub fn stand_in_facts(
    ws: &Workspace,
    markers: &HashMap<String, String, impl BuildHasher>,
    home: Option<&Path>,
) -> ContainerFacts {
    let start = machine_start();
    let created = ws
        .stages
        .iter()
        .flat_map(|s| &s.lanes)
        .flat_map(|l| &l.steps)
        .filter(|st| st.phase.timing() == Timing::OncePerContainer)
        .filter_map(|st| lifecycle::hook_marker(st.phase))
        .filter_map(|m| markers.get(&m))
        .filter(|stamp| !stamp.is_empty())
        .min()
        .cloned()
        .unwrap_or_else(|| start.clone());
    let post_start = lifecycle::hook_marker(Phase::PostStartCommand).unwrap_or_default();
    let started = markers
        .get(&post_start)
        .filter(|stamp| !stamp.is_empty())
        .filter(|_| home.is_some_and(|h| written_since_start(&h.join(strip_home(&post_start)))))
        .cloned()
        .unwrap_or(start);
    ContainerFacts {
        id: container_id(),
        created,
        started,
    }
}

fn strip_home(path: &str) -> &str {
    path.trim_start_matches("~/")
}

/// This machine's boot time and PID 1's start time, as one stamp.
pub(super) fn machine_start() -> String {
    let (boot, pid1) = (
        boot_time().unwrap_or_default(),
        pid1_ticks().unwrap_or_default(),
    );
    format!("in-place {boot} {pid1}")
}

/// Seconds since the epoch at which this machine booted.
fn boot_time() -> Option<u64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ").map(|v| v.trim().parse().ok()))?
}

/// When PID 1 started, in clock ticks after the boot: field 22 of `/proc/1/stat` (the
/// command name before it may hold spaces, so count from the closing parenthesis).
fn pid1_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/1/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the file was written during this container start (after its PID 1 started).
fn written_since_start(path: &Path) -> bool {
    let (Some(boot), Some(ticks)) = (boot_time(), pid1_ticks()) else {
        return false;
    };
    let started = SystemTime::UNIX_EPOCH
        + Duration::from_secs(boot)
        + Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND);
    // The boot time is given to the second: a file written in the first second counts.
    let since = started
        .checked_sub(Duration::from_secs(1))
        .unwrap_or(started);
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|written| written >= since)
}

/// This container's id, from where the engine mounted its `/etc/hostname`; empty when
/// that does not tell (not a container, or an engine that mounts it elsewhere).
fn container_id() -> String {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|text| container_id_in(&text))
        .unwrap_or_default()
}

/// The id in a mount table: the mount on `/etc/hostname` comes from
/// `.../containers/<id>/hostname` (docker) or `.../<id>/userdata/hostname` (podman).
fn container_id_in(mountinfo: &str) -> Option<String> {
    let root = mountinfo.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(4) == Some(&"/etc/hostname")).then(|| fields.get(3).copied())?
    })?;
    let dir = root.strip_suffix("/hostname")?;
    let dir = dir.strip_suffix("/userdata").unwrap_or(dir);
    let id = dir.rsplit('/').next()?;
    (id.len() >= 12 && id.chars().all(|c| c.is_ascii_hexdigit())).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_start_is_the_same_twice() {
        assert_eq!(machine_start(), machine_start());
        assert_ne!(machine_start(), "in-place  ");
    }

    #[test]
    fn the_container_id_is_read_from_the_hostname_mount() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let docker = format!(
            "1 0 8:1 / / rw - overlay overlay rw\n\
             700 690 8:1 /var/lib/docker/containers/{id}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n"
        );
        assert_eq!(container_id_in(&docker).as_deref(), Some(id));
        let podman = format!(
            "700 690 0:50 /containers/overlay-containers/{id}/userdata/hostname /etc/hostname rw - tmpfs tmpfs rw\n"
        );
        assert_eq!(container_id_in(&podman).as_deref(), Some(id));
        assert_eq!(
            container_id_in("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"),
            None
        );
        assert_eq!(
            container_id_in("7 6 8:1 /etc/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n"),
            None
        );
    }

    #[test]
    fn a_post_start_marker_of_this_start_is_taken_as_it_is() {
        let home = tempfile::tempdir().unwrap();
        let marker = home.path().join(".devcontainer/.postStartCommandMarker");
        std::fs::create_dir_all(marker.parent().unwrap()).unwrap();
        std::fs::write(&marker, "2024-05-01T10:00:00.5Z").unwrap();
        let ws = super::super::tests::workspace();
        let markers: HashMap<String, String> = [(
            "~/.devcontainer/.postStartCommandMarker".to_string(),
            "2024-05-01T10:00:00.5Z".to_string(),
        )]
        .into();
        // Written just now, so during this machine's current start.
        let facts = stand_in_facts(&ws, &markers, Some(home.path()));
        assert_eq!(facts.started, "2024-05-01T10:00:00.5Z");
        assert_eq!(
            facts.created,
            machine_start(),
            "no once-per-container marker"
        );
        // Written before this start: the start is a new one.
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&marker)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let facts = stand_in_facts(&ws, &markers, Some(home.path()));
        assert_eq!(facts.started, machine_start());
    }
}
