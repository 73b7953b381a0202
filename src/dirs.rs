//! Where devboot keeps its own files on the host, from the environment it was given (never
//! from the process environment directly, so tests can point it elsewhere).

use std::path::PathBuf;

use crate::workspace::EnvMap;

/// `$XDG_CACHE_HOME/devboot`, else `~/.cache/devboot`: locks and build logs.
pub fn cache_dir(host_env: &EnvMap) -> PathBuf {
    base(host_env, "XDG_CACHE_HOME", ".cache").join("devboot")
}

/// `$XDG_CONFIG_HOME/devboot`, else `~/.config/devboot`: persisted variables.
pub fn config_dir(host_env: &EnvMap) -> PathBuf {
    base(host_env, "XDG_CONFIG_HOME", ".config").join("devboot")
}

fn base(host_env: &EnvMap, xdg: &str, fallback: &str) -> PathBuf {
    match host_env.get(xdg).filter(|v| v.starts_with('/')) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(host_env.get("HOME").map_or("/tmp", String::as_str)).join(fallback),
    }
}
