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

/// Writes `bytes` to `path` readable by its owner only (0600, its folder made private):
/// through a new file opened without following a link, then renamed into place, so a
/// reader never sees half of it and a link or an older, wider file there is replaced,
/// never written through.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> crate::error::Result<()> {
    use crate::error::Error;
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    private(dir)?;
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover of a killed run, or anything put there: removed (a link itself, not what
    // it points to), then made anew.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io("remove", &tmp, e));
        }
        _ => {}
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", path, e)
    })
}

/// Copies a folder into `to` (made when missing): regular files with their modes, folders,
/// and links as links (never followed), as `cp -R` would.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_and_its_folder_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("compose");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = folder.join("x.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"{}").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&folder), mode(&path)), (0o700, 0o600));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
    }
}
