//! One SSH connection for every engine call to an `ssh://` engine. The docker CLI opens a
//! new SSH connection for each command (two for `exec`), ~250 ms each here, so a warm `up`
//! that makes 4 calls spent 2 s on handshakes. Docker's own advice is an SSH
//! `ControlMaster` in `~/.ssh/config`; devboot applies it to its own calls only, without
//! touching the user's files: the engine CLI it runs finds first on its `PATH` an `ssh`
//! that adds `ControlMaster=auto`, a `ControlPath` in devboot's private cache folder and
//! `ControlPersist=60` (the shared connection ends a minute after the last call), then runs
//! the user's own `ssh` with everything else (their config, keys, agent).
//!
//! The port forward (`forward`) does not use it: it must own its forwards, so that stopping
//! it stops them.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment the engine CLI runs with: `PATH` with the shim's folder first. `None`
/// when there is no `ssh` on `PATH` (the engine CLI then fails as it would anyway).
pub fn engine_env(
    cache_dir: &Path,
    runtime_dir: Option<&str>,
    path_env: Option<&str>,
) -> Result<Option<(OsString, OsString)>> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let Ok(real) = which::which_in("ssh", path_env, &cwd) else {
        return Ok(None);
    };
    let Some(sockets) = control_dir(runtime_dir) else {
        return Ok(None);
    };
    let dir = cache_dir.join("ssh-mux");
    crate::dirs::private(cache_dir)?;
    crate::dirs::private(&dir)?;
    let shim = dir.join("ssh");
    let text = script(&real, &sockets);
    if std::fs::read_to_string(&shim).ok().as_deref() != Some(text.as_str()) {
        // Written under another name, then renamed: a concurrent call never runs half a file.
        let part = dir.join(format!("ssh.{}", std::process::id()));
        std::fs::write(&part, &text).map_err(|e| Error::io("write", &part, e))?;
        std::fs::set_permissions(&part, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("set the mode of", &part, e))?;
        std::fs::rename(&part, &shim).map_err(|e| Error::io("write", &shim, e))?;
    }
    let mut path = OsString::from(dir.as_os_str());
    if let Some(rest) = path_env.filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(rest);
    }
    Ok(Some((OsString::from("PATH"), path)))
}

/// Where the shared connections' sockets go: a socket's path has at most ~100 bytes, so
/// not in the cache folder (often long) but in `$XDG_RUNTIME_DIR/devboot` (the user's own),
/// else `/tmp/devboot-ssh-<uid>`, made private and checked to be this user's own folder
/// (not a link, nobody else's, no one else may enter). `None` when neither can be had: the
/// engine CLI then opens a connection per call, as without devboot.
fn control_dir(runtime_dir: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt as _;
    let uid = nix::unistd::getuid().as_raw();
    let dir = match runtime_dir.filter(|d| d.starts_with('/')) {
        Some(runtime) => PathBuf::from(runtime).join("devboot"),
        None => PathBuf::from(format!("/tmp/devboot-ssh-{uid}")),
    };
    match std::fs::create_dir(&dir) {
        Ok(()) => {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    let own = meta.is_dir() && meta.uid() == uid && meta.mode() & 0o777 == meta.mode() & 0o700;
    // `%C` is 40 characters, and ssh adds a temporary suffix of 17 while it makes one.
    (own && dir.as_os_str().len() + 1 + 40 + 17 < 104).then_some(dir)
}

fn script(real: &Path, dir: &Path) -> String {
    let quote = |p: &Path| shell_words::quote(&p.display().to_string()).into_owned();
    // %C: a hash of the destination, so the path stays short whatever the host's name.
    let control = quote(&PathBuf::from(dir).join("%C"));
    format!(
        "#!/bin/sh\n# devboot: the engine CLI's ssh, one shared connection per destination.\nexec {} -o ControlMaster=auto -o ControlPath={control} -o ControlPersist=60 \"$@\"\n",
        quote(real)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shim_shares_a_connection_and_runs_the_users_ssh() {
        let cache = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let ssh = bin.path().join("ssh");
        std::fs::write(&ssh, "#!/bin/sh\necho \"$@\"\n").unwrap();
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:/usr/bin:/bin", bin.path().display());
        let runtime = tempfile::tempdir().unwrap();
        let runtime_dir = runtime.path().display().to_string();
        let (key, value) = engine_env(cache.path(), Some(&runtime_dir), Some(&path))
            .unwrap()
            .unwrap();
        assert_eq!(key, "PATH");
        let value = value.to_string_lossy().into_owned();
        let dir = cache.path().join("ssh-mux");
        assert_eq!(value, format!("{}:{path}", dir.display()));
        let out = std::process::Command::new(dir.join("ssh"))
            .args(["-p", "22", "box", "docker", "system", "dial-stdio"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.starts_with("-o ControlMaster=auto -o ControlPath="),
            "{said}"
        );
        let sockets = format!("{runtime_dir}/devboot/%C");
        assert!(
            said.contains(&format!(
                "ControlPath={sockets} -o ControlPersist=60 -p 22 box docker system dial-stdio"
            )),
            "{said}"
        );
    }
}
