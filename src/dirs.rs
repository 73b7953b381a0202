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

/// Makes `dir` (and what is missing above it) and makes it private to its owner (0700):
/// devboot's folders hold state, plans and secrets no other local user may read or change.
pub fn private(dir: &std::path::Path) -> crate::error::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io("create", dir, e))?;
    let meta =
        std::fs::symlink_metadata(dir).map_err(|e| crate::error::Error::io("read", dir, e))?;
    if meta.permissions().mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| crate::error::Error::io("set the mode of", dir, e))?;
    }
    Ok(())
}
