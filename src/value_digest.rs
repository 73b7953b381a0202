//! What stands for a variable's value in a container label: a keyed digest (HMAC-SHA-256),
//! so the `devboot.spec` label can say "env X changed" without holding the value. A plain
//! hash of a short secret could be guessed back by trying values; the key, random bytes
//! readable by their owner only (`label.key`, 0600 in devboot's 0700 config folder), is
//! what makes that impossible for anyone who sees the label (`docker inspect`).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use hmac::{KeyInit as _, Mac as _};

use crate::error::{Error, Result};
use crate::workspace::EnvMap;

const KEY_LEN: usize = 32;

/// The key of the digests.
#[derive(Clone)]
pub struct DigestKey([u8; KEY_LEN]);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(..)")
    }
}

impl DigestKey {
    /// The file under devboot's config folder.
    pub fn path(config_dir: &Path) -> PathBuf {
        config_dir.join("label.key")
    }

    /// Reads the key, making it the first time.
    pub fn load(config_dir: &Path) -> Result<DigestKey> {
        let path = Self::path(config_dir);
        match read_key(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(config_dir, &path),
            read => read.map_err(|e| Error::io("read", &path, e)),
        }
    }

    /// A fixed key, for tests.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> DigestKey {
        DigestKey(bytes)
    }

    /// The digest of one variable (its name is in it, so two variables with one value do
    /// not show that they share it).
    pub fn digest(&self, name: &str, value: &str) -> String {
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        crate::container::hex(&mac.finalize().into_bytes()[..12])
    }

    /// The digest of each variable of `env`.
    pub fn digests(&self, env: &EnvMap) -> BTreeMap<String, String> {
        env.iter()
            .map(|(k, v)| (k.clone(), self.digest(k, v)))
            .collect()
    }
}

fn read_key(path: &Path) -> std::io::Result<DigestKey> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    let mut bytes = Vec::new();
    file.take(KEY_LEN as u64 + 1).read_to_end(&mut bytes)?;
    let key: [u8; KEY_LEN] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it holds {} bytes, not {KEY_LEN}; delete it and devboot makes a new one (each container is then made again once)",
                bytes.len()
            ),
        )
    })?;
    Ok(DigestKey(key))
}

/// Writes a new key beside its place and links it there: of two devboots making it at
/// once, both end up with the one that was linked first.
fn create_key(config_dir: &Path, path: &Path) -> Result<DigestKey> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(config_dir)
        .map_err(|e| Error::io("create", config_dir, e))?;
    let mut bytes = [0u8; KEY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::io(
            "make",
            path,
            std::io::Error::other(format!("no random bytes: {e}")),
        )
    })?;
    let tmp = path.with_extension(format!("key.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| file.write_all(&bytes));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp, e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(DigestKey(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path).map_err(|e| Error::io("read", path, e))
        }
        Err(e) => Err(Error::io("write", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("devboot");
        let a = DigestKey::load(&config).unwrap();
        let b = DigestKey::load(&config).unwrap();
        assert_eq!(a.0, b.0);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&DigestKey::path(&config)), 0o600);
        assert_eq!(mode(&config), 0o700);
        std::fs::write(DigestKey::path(&config), b"short").unwrap();
        assert!(DigestKey::load(&config).is_err());
    }

    #[test]
    fn digests_depend_on_key_name_and_value() {
        let key = DigestKey::from_bytes([7; KEY_LEN]);
        let other = DigestKey::from_bytes([8; KEY_LEN]);
        let d = key.digest("API_TOKEN", "s3cret");
        assert_eq!(d.len(), 24);
        assert!(!d.contains("s3cret"));
        assert_eq!(d, key.digest("API_TOKEN", "s3cret"));
        assert_ne!(d, key.digest("API_TOKEN", "s3cret2"));
        assert_ne!(d, key.digest("OTHER", "s3cret"));
        assert_ne!(d, other.digest("API_TOKEN", "s3cret"));
    }
}
