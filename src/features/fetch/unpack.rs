//! Putting a Feature's files into devboot's cache: unpacking a layer or tarball safely,
//! digesting (and copying) a local folder, and installing the result under its digest
//! atomically.
//!
//! The archive is input from the network: no entry may land outside the folder (absolute
//! paths and `..` are refused), symbolic links may only point down into the folder (relative,
//! no `..`) and are made last, so nothing is ever written through one; hard links and device
//! files are refused; set-id bits are dropped; the unpacked size is bounded. A folder is
//! built under a temporary name and renamed into place, so a cache entry is whole or absent.

use std::ffi::OsStr;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The file every Feature folder has.
pub(super) const METADATA_FILE: &str = "devcontainer-feature.json";

/// Unpacked bytes allowed per Feature: far above any real one, far below a full disk.
const MAX_UNPACKED: u64 = 1 << 30;

/// Why a folder could not be made.
#[derive(Debug)]
pub(super) enum Failure {
    /// What was fetched is not a Feature folder devboot accepts.
    Content(String),
    /// The host's file system failed us.
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

fn io_failure(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Failure {
    let path = path.to_path_buf();
    move |error| Failure::Io {
        action,
        path,
        error,
    }
}

/// `<features>/<hex>` when that cache entry is whole.
pub(super) fn cached(features: &Path, digest: &str) -> Option<PathBuf> {
    let folder = features.join(digest.strip_prefix("sha256:")?);
    folder.join(METADATA_FILE).is_file().then_some(folder)
}

/// Makes `<features>/<hex of digest>` with `fill`, which writes into a fresh private
/// folder; it is renamed into place only when `fill` succeeded and left a
/// `devcontainer-feature.json`. Another devboot filling the same digest at the same time is
/// fine: the first rename wins, the other's copy is dropped.
pub(super) fn into_cache(
    features: &Path,
    digest: &str,
    fill: impl FnOnce(&Path) -> Result<(), Failure>,
) -> Result<PathBuf, Failure> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let dest = features.join(hex);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(features)
        .map_err(io_failure("create", features))?;
    let tmp = features.join(format!(
        ".tmp-{hex}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    DirBuilder::new()
        .mode(0o700)
        .create(&tmp)
        .map_err(io_failure("create", &tmp))?;
    let filled = fill(&tmp).and_then(|()| {
        if tmp.join(METADATA_FILE).is_file() {
            Ok(())
        } else {
            Err(Failure::Content(format!("it has no {METADATA_FILE}")))
        }
    });
    let placed = filled.and_then(|()| {
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))
            .map_err(io_failure("change the mode of", &tmp))?;
        // A folder left half-made by an older devboot is replaced.
        if dest.exists() && cached(features, digest).is_none() {
            fs::remove_dir_all(&dest).map_err(io_failure("remove", &dest))?;
        }
        match fs::rename(&tmp, &dest) {
            Ok(()) => Ok(()),
            Err(_) if cached(features, digest).is_some() => Ok(()),
            Err(e) => Err(io_failure("rename into", &dest)(e)),
        }
    });
    if tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    placed.map(|()| dest)
}

/// Unpacks a tar archive (plain, or gzip by its magic bytes) into `dest`, an empty folder.
/// `skip_dot_entries` drops entries starting `./.` as the reference CLI does for tarballs.
pub(super) fn unpack(bytes: &[u8], dest: &Path, skip_dot_entries: bool) -> Result<(), Failure> {
    let reader: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let not_tar = |e: io::Error| Failure::Content(format!("its archive cannot be read: {e}"));
    let mut archive = tar::Archive::new(reader);
    let mut links = Vec::new();
    let mut left = MAX_UNPACKED;
    for entry in archive.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        if skip_dot_entries && raw.starts_with(b"./.") {
            continue;
        }
        let Some(rel) = inside(&raw).map_err(|why| entry_refused(&shown, why))? else {
            continue;
        };
        let path = dest.join(&rel);
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(mode | 0o700)
                    .create(&path)
                    .map_err(io_failure("create", &path))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = path.parent() {
                    DirBuilder::new()
                        .recursive(true)
                        .mode(0o755)
                        .create(parent)
                        .map_err(io_failure("create", parent))?;
                }
                let mut file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(io_failure("write", &path))?;
                let n = io::copy(&mut (&mut entry).take(left + 1), &mut file).map_err(not_tar)?;
                if n > left {
                    return Err(Failure::Content(format!(
                        "its files unpack to more than {} MiB",
                        MAX_UNPACKED >> 20
                    )));
                }
                left -= n;
                file.flush().map_err(io_failure("write", &path))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode | 0o600))
                    .map_err(io_failure("change the mode of", &path))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(std::borrow::Cow::into_owned)
                    .unwrap_or_default();
                link_stays_inside(&target).map_err(|why| entry_refused(&shown, why))?;
                links.push((path, target));
            }
            // Metadata records (long names, pax headers) that describe the next entry.
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => {}
            other => {
                return Err(entry_refused(
                    &shown,
                    &format!("it is a {other:?} entry, which a Feature cannot hold"),
                ));
            }
        }
    }
    // Links last: no entry above was written through one.
    for (path, target) in links {
        std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
            .map_err(io_failure("make the link", &path))?;
    }
    Ok(())
}

fn entry_refused(shown: &str, why: &str) -> Failure {
    Failure::Content(format!("its archive has an entry `{shown}` that {why}"))
}

/// The relative path an entry names, `None` for the folder itself (`.`, `./`), or why it is
/// refused.
fn inside(raw: &[u8]) -> Result<Option<PathBuf>, &'static str> {
    let path = Path::new(OsStr::from_bytes(raw));
    let mut rel = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("climbs out of the folder with `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

/// A link may only point down: relative, without `..` (even a `..` that seems to stay
/// inside can climb out through another link).
fn link_stays_inside(target: &[u8]) -> Result<(), &'static str> {
    let path = Path::new(OsStr::from_bytes(target));
    if target.is_empty() || path.is_absolute() {
        return Err("is a link to an absolute path");
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err("is a link that climbs out with `..`");
    }
    Ok(())
}

/// The digest of a local Feature folder: every entry's relative path, kind, mode and
/// contents (or link target), in name order, so any change to the folder changes it. With
/// `copy_to`, the same walk also copies the folder there (links stay links, never followed).
pub(super) fn scan_folder(root: &Path, copy_to: Option<&Path>) -> Result<String, Failure> {
    let mut hasher = Sha256::new();
    hasher.update(b"devboot local feature v1\0");
    walk(root, Path::new(""), &mut hasher, copy_to)?;
    Ok(format!(
        "sha256:{}",
        crate::container::hex(&hasher.finalize())
    ))
}

fn walk(
    root: &Path,
    rel: &Path,
    hasher: &mut Sha256,
    copy_to: Option<&Path>,
) -> Result<(), Failure> {
    let dir = root.join(rel);
    let mut names = fs::read_dir(&dir)
        .and_then(|entries| {
            entries
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(io_failure("read", &dir))?;
    names.sort();
    for name in names {
        let rel = rel.join(&name);
        let path = root.join(&rel);
        let meta = fs::symlink_metadata(&path).map_err(io_failure("read", &path))?;
        let mode = meta.permissions().mode() & 0o777;
        let kind = meta.file_type();
        let copy = copy_to.map(|to| to.join(&rel));
        if kind.is_dir() {
            record(hasher, b'd', &rel, mode, b"");
            if let Some(copy) = &copy {
                DirBuilder::new()
                    .mode(mode | 0o700)
                    .create(copy)
                    .map_err(io_failure("create", copy))?;
            }
            walk(root, &rel, hasher, copy_to)?;
        } else if kind.is_file() {
            let bytes = read_no_follow(&path).map_err(io_failure("read", &path))?;
            record(hasher, b'f', &rel, mode, &bytes);
            if let Some(copy) = &copy {
                fs::write(copy, &bytes).map_err(io_failure("write", copy))?;
                fs::set_permissions(copy, fs::Permissions::from_mode(mode))
                    .map_err(io_failure("change the mode of", copy))?;
            }
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(io_failure("read", &path))?;
            record(hasher, b'l', &rel, 0, target.as_os_str().as_bytes());
            if let Some(copy) = &copy {
                std::os::unix::fs::symlink(&target, copy)
                    .map_err(io_failure("make the link", copy))?;
            }
        }
        // Sockets, pipes and devices are not part of a Feature: left out of both.
    }
    Ok(())
}

fn record(hasher: &mut Sha256, kind: u8, rel: &Path, mode: u32, data: &[u8]) {
    let name = rel.as_os_str().as_bytes();
    hasher.update([kind]);
    hasher.update((name.len() as u64).to_be_bytes());
    hasher.update(name);
    hasher.update(mode.to_be_bytes());
    hasher.update((data.len() as u64).to_be_bytes());
    hasher.update(data);
}

/// A file's bytes, refusing to follow a link swapped in since it was listed.
fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar entry written byte for byte, so names `tar::Builder` refuses can be made.
    fn raw_entry(
        builder: &mut tar::Builder<Vec<u8>>,
        name: &str,
        kind: tar::EntryType,
        link: &str,
        data: &[u8],
    ) {
        let mut header = tar::Header::new_old();
        let field = &mut header.as_old_mut().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        let field = &mut header.as_old_mut().linkname;
        field[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(0o755);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }

    fn archive(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, link, data) in entries {
            raw_entry(&mut builder, name, *kind, link, data);
        }
        builder.into_inner().unwrap()
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn a_plain_tar_and_a_gzip_one_unpack_the_same() {
        let tar = archive(&[
            ("./", tar::EntryType::Directory, "", b""),
            ("./devcontainer-feature.json", FILE, "", b"{\"id\":\"x\"}"),
            ("./lib/run.sh", FILE, "", b"echo hi"),
            ("./run", tar::EntryType::Symlink, "lib/run.sh", b""),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        for bytes in [&tar, &gz] {
            let dir = tempfile::tempdir().unwrap();
            unpack(bytes, dir.path(), false).unwrap();
            assert_eq!(fs::read(dir.path().join("lib/run.sh")).unwrap(), b"echo hi");
            let mode = fs::metadata(dir.path().join("lib/run.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
            assert_eq!(
                fs::read_link(dir.path().join("run")).unwrap(),
                Path::new("lib/run.sh")
            );
        }
    }

    #[test]
    fn entries_outside_the_folder_are_refused_and_nothing_lands_there() {
        for (name, kind, link, says) in [
            ("../x", FILE, "", "climbs out"),
            ("./a/../../x", FILE, "", "climbs out"),
            ("/tmp/devboot-unpack-abs", FILE, "", "absolute path"),
            (
                "./l",
                tar::EntryType::Symlink,
                "/etc/passwd",
                "absolute path",
            ),
            ("./l", tar::EntryType::Symlink, "a/../../x", "climbs out"),
            (
                "./h",
                tar::EntryType::Link,
                "devcontainer-feature.json",
                "Link entry",
            ),
            ("./dev", tar::EntryType::Char, "", "Char entry"),
        ] {
            let parent = tempfile::tempdir().unwrap();
            let dest = parent.path().join("dest");
            fs::create_dir(&dest).unwrap();
            let bytes = archive(&[(name, kind, link, b"bad")]);
            let Err(Failure::Content(reason)) = unpack(&bytes, &dest, false) else {
                panic!("{name} was accepted");
            };
            assert!(
                reason.contains(says) && reason.contains(name),
                "{name}: {reason}"
            );
            assert!(!parent.path().join("x").exists());
        }
        assert!(!Path::new("/tmp/devboot-unpack-abs").exists());
    }

    #[test]
    fn tarball_dot_entries_are_skipped_as_the_reference_cli_does() {
        let bytes = archive(&[
            ("./.git/config", FILE, "", b"x"),
            ("./install.sh", FILE, "", b"x"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        unpack(&bytes, dir.path(), true).unwrap();
        assert!(!dir.path().join(".git").exists());
        assert!(dir.path().join("install.sh").is_file());
    }

    #[test]
    fn bytes_that_are_not_a_tar_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let Err(Failure::Content(reason)) = unpack(&[0x1f, 0x8b, 1, 2, 3], dir.path(), false)
        else {
            panic!("accepted");
        };
        assert!(reason.contains("cannot be read"), "{reason}");
    }

    #[test]
    fn a_cache_entry_needs_a_metadata_file_and_is_whole_or_absent() {
        let cache = tempfile::tempdir().unwrap();
        let features = cache.path().join("features");
        let digest = format!("sha256:{}", "ab".repeat(32));
        let err = into_cache(&features, &digest, |tmp| {
            fs::write(tmp.join("install.sh"), "x").map_err(io_failure("write", tmp))
        })
        .unwrap_err();
        assert!(
            matches!(err, Failure::Content(ref r) if r.contains(METADATA_FILE)),
            "{err:?}"
        );
        assert_eq!(
            fs::read_dir(&features).unwrap().count(),
            0,
            "temp folder left behind"
        );
        assert_eq!(cached(&features, &digest), None);
        let folder = into_cache(&features, &digest, |tmp| {
            fs::write(tmp.join(METADATA_FILE), "{}").map_err(io_failure("write", tmp))
        })
        .unwrap();
        assert_eq!(cached(&features, &digest), Some(folder.clone()));
        // A second fill of the same digest keeps the first.
        let again = into_cache(&features, &digest, |tmp| {
            fs::write(tmp.join(METADATA_FILE), "{\"second\":1}").map_err(io_failure("write", tmp))
        })
        .unwrap();
        assert_eq!(again, folder);
        assert_eq!(fs::read_dir(&features).unwrap().count(), 1);
    }

    #[test]
    fn a_folder_digest_changes_with_contents_mode_and_names_and_the_copy_matches() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("feature");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join(METADATA_FILE), "{\"id\":\"x\"}").unwrap();
        fs::write(root.join("sub/install.sh"), "echo 1").unwrap();
        std::os::unix::fs::symlink("sub/install.sh", root.join("link")).unwrap();
        let first = scan_folder(&root, None).unwrap();
        assert_eq!(scan_folder(&root, None).unwrap(), first);

        let copy = dir.path().join("copy");
        fs::create_dir(&copy).unwrap();
        assert_eq!(scan_folder(&root, Some(&copy)).unwrap(), first);
        assert_eq!(scan_folder(&copy, None).unwrap(), first);
        assert!(
            fs::symlink_metadata(copy.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );

        fs::write(root.join("sub/install.sh"), "echo 2").unwrap();
        let second = scan_folder(&root, None).unwrap();
        assert_ne!(second, first);
        fs::set_permissions(
            root.join("sub/install.sh"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let third = scan_folder(&root, None).unwrap();
        assert_ne!(third, second);
        fs::rename(root.join("sub"), root.join("sub2")).unwrap();
        assert_ne!(scan_folder(&root, None).unwrap(), third);
    }
}
