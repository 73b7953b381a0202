//! How long an engine command may take before devboot stops waiting for the daemon.
//!
//! One base (`--engine-timeout`, default 30 s) for the commands that look or change little
//! (inspect, ps, start, rm, an exec of a bookkeeping script); 4× for those that make or stop
//! a container (`run`, `create`, `stop`, which waits for the container's own grace time);
//! 120× (an hour by default) for builds, pulls and `compose up`, which do real work. A
//! frozen daemon then ends a warm `up` in seconds instead of never.

use std::ffi::OsStr;
use std::time::Duration;

/// The base limit when none is chosen.
pub const DEFAULT: Duration = Duration::from_secs(30);

/// The limit of `engine ARGS` for a base limit of `base`.
pub(super) fn limit<S: AsRef<OsStr>>(base: Duration, args: &[S]) -> Duration {
    let verb = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy())
        .find(|a| !a.starts_with('-'));
    let factor = match verb.as_deref() {
        Some("build" | "buildx" | "pull" | "compose" | "load" | "import" | "cp") => LONG,
        Some("run" | "create" | "stop" | "restart") => 4,
        _ => 1,
    };
    base.saturating_mul(factor)
}

/// The factor of the long commands: builds, pulls, `compose up`.
pub(super) const LONG: u32 = 120;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_command_gets_its_own_limit() {
        let base = Duration::from_secs(2);
        let secs = |args: &[&str]| limit(base, args).as_secs();
        assert_eq!(secs(&["container", "inspect", "x"]), 2);
        assert_eq!(secs(&["ps", "-a", "-q"]), 2);
        assert_eq!(secs(&["exec", "x", "sh"]), 2);
        assert_eq!(secs(&["run", "-d", "img"]), 8);
        assert_eq!(secs(&["stop", "--time", "5", "x"]), 8);
        assert_eq!(secs(&["build", "-t", "x", "."]), 240);
        assert_eq!(secs(&["pull", "img"]), 240);
    }
}
