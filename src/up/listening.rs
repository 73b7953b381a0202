//! Whether something listens on a container's port, read rather than waited for: the kernel's
//! socket table of the container's network namespace (`/proc/net/tcp{,6}` as seen from
//! inside it, which `gp ports await` reads too).
//!
//! With a local engine the table is read from the host, through `/proc/<container pid>/net`
//! (no engine call, a fraction of a millisecond). Otherwise (a remote engine, a pid devboot
//! cannot see) one `exec` reads it for every port at once. Connecting to the published port
//! cannot tell: docker's userland proxy accepts there while nothing listens inside, so a
//! connection has to be held open a while to see whether it is closed.

use crate::engine::Engine;
use crate::workspace::EnvMap;

/// Reads a container's socket table.
pub(super) struct Listening<'a> {
    engine: &'a Engine,
    id: String,
    user: Option<String>,
    /// `/proc/<pid>/net`, once known to be readable; `None` before the first look.
    proc_net: std::cell::OnceCell<Option<std::path::PathBuf>>,
    pid: Option<i64>,
    local: bool,
    /// The last reads (`tcp`, `tcp6`, both through an exec), and when.
    last: std::cell::RefCell<[Option<(std::time::Instant, String)>; 3]>,
}

/// How long a socket table read from the host stays good for another port's look.
const FRESH: std::time::Duration = std::time::Duration::from_millis(25);

impl<'a> Listening<'a> {
    /// For a container whose pid is known (from an inspect), or not yet (one inspect, when
    /// first needed, finds it).
    pub(super) fn new(
        engine: &'a Engine,
        host_env: &EnvMap,
        id: &str,
        user: Option<&str>,
        pid: Option<i64>,
    ) -> Listening<'a> {
        Listening {
            engine,
            id: id.to_string(),
            user: user.map(String::from),
            proc_net: std::cell::OnceCell::new(),
            pid: pid.filter(|p| *p > 0),
            local: engine_is_local(host_env),
            last: std::cell::RefCell::new([None, None, None]),
        }
    }

    /// The socket table's text (IPv4 and IPv6), or `None` when it cannot be read at all.
    pub(super) fn table(&self) -> Option<String> {
        if self.readable_here() {
            let mut text = self.part(0)?;
            text.push_str(&self.part(1).unwrap_or_default());
            return Some(text);
        }
        self.cached(2, || {
            self.engine
                .exec_capture(
                    &self.id,
                    self.user.as_deref(),
                    &EnvMap::new(),
                    &["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null"],
                )
                .ok()
        })
    }

    /// Whether something listens on `port` where the published port reaches it (any
    /// address but loopback); `None` when the table cannot be read. From the host, the IPv6
    /// table is read only when the IPv4 one does not tell (each read walks the kernel's
    /// whole socket hash: milliseconds).
    pub(super) fn reachable(&self, port: u16) -> Option<bool> {
        let listens = |text: &str| {
            crate::ports::listening_addresses(text, port)
                .iter()
                .any(|a| !a.is_loopback())
        };
        if self.readable_here() {
            if listens(&self.part(0)?) {
                return Some(true);
            }
            return Some(self.part(1).is_some_and(|text| listens(&text)));
        }
        Some(listens(&self.table()?))
    }

    /// `tcp` (0) or `tcp6` (1) of the container's namespace, read from the host.
    fn part(&self, which: usize) -> Option<String> {
        let dir = self.proc_net()?;
        let name = if which == 0 { "tcp" } else { "tcp6" };
        self.cached(which, || std::fs::read_to_string(dir.join(name)).ok())
    }

    /// What `read` gives, read again only after [`FRESH`]: several ports looked at
    /// together share one read.
    fn cached(&self, slot: usize, read: impl FnOnce() -> Option<String>) -> Option<String> {
        if let Some((at, text)) = &self.last.borrow()[slot]
            && at.elapsed() < FRESH
        {
            return Some(text.clone());
        }
        let text = read()?;
        self.last.borrow_mut()[slot] = Some((std::time::Instant::now(), text.clone()));
        Some(text)
    }

    /// Whether the table can be read from the host (a local engine, a visible pid).
    pub(super) fn readable_here(&self) -> bool {
        self.proc_net().is_some()
    }

    fn proc_net(&self) -> Option<std::path::PathBuf> {
        if !self.local {
            return None;
        }
        self.proc_net
            .get_or_init(|| {
                let pid = self.pid.or_else(|| {
                    let info = self.engine.inspect_container(&self.id).ok()??;
                    Some(info.state.pid).filter(|p| *p > 0)
                })?;
                // The pid must be this container's here (a docker context may name a
                // remote engine even without DOCKER_HOST): its cgroup names the container.
                let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
                if !cgroup.contains(&self.id) {
                    return None;
                }
                let dir = std::path::PathBuf::from(format!("/proc/{pid}/net"));
                dir.join("tcp").is_file().then_some(dir)
            })
            .clone()
    }
}

/// Whether the engine runs on this machine: no `DOCKER_HOST`/`CONTAINER_HOST`, or a unix
/// socket (a pid the engine reports is then one of this machine's).
fn engine_is_local(host_env: &EnvMap) -> bool {
    ["DOCKER_HOST", "CONTAINER_HOST"].iter().all(|key| {
        host_env
            .get(*key)
            .is_none_or(|v| v.is_empty() || v.starts_with("unix://"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_unix_socket_or_nothing_is_local() {
        let env = |k: &str, v: &str| -> EnvMap { [(k.to_string(), v.to_string())].into() };
        assert!(engine_is_local(&EnvMap::new()));
        assert!(engine_is_local(&env(
            "DOCKER_HOST",
            "unix:///run/docker.sock"
        )));
        assert!(!engine_is_local(&env("DOCKER_HOST", "ssh://me@box")));
        assert!(!engine_is_local(&env(
            "CONTAINER_HOST",
            "tcp://10.0.0.1:2375"
        )));
    }
}
