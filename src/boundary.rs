//! The one door to paths a container (or another local user) can write: every host-side
//! read of such a path, and every removal or write in one, goes through a [`Door`]: the
//! state folder's container half, and the workspace folder where `devboot init` writes.
//!
//! What a container writes is input, like a config file. A process in the container — root
//! included — can replace any entry of a folder it can write with a symbolic link to a host
//! file, a FIFO, a device or a huge sparse file, at any moment. So a `Door`:
//! - walks paths one component at a time from a directory handle, never following a link
//!   (`openat` with `O_NOFOLLOW`; a link is refused, not resolved);
//! - opens only regular files (checked with `fstat` on the opened handle), without blocking
//!   (`O_NONBLOCK`: a FIFO cannot hang devboot), and reads small state files up to a cap;
//! - never writes, changes the mode of, or deletes anything through a path: a removal is
//!   `unlinkat` of the entry itself (a link is removed, not what it points to);
//! - reports each odd entry once, as a warning naming it, and goes on as if it were missing.
//!
//! runc and dockerd learned this the hard way (their symlink-swap fixes: `securejoin`,
//! `openat2(RESOLVE_IN_ROOT)`); podman's conmon keeps its exit files out of the container's
//! reach. devboot keeps what it writes for the container on a read-only mount instead
//! (see `state`), and reads what the container writes only through here.

pub mod archive;

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fchmod, fstat, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// The most a small state file (an exit code, a pid, a start time) may hold.
pub const SMALL_FILE_CAP: u64 = 4096;

/// Entries already warned about, so a poll loop says it once.
static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A directory handle on a container-writable folder.
#[derive(Debug)]
pub struct Door {
    dir: OwnedFd,
    /// The folder's host path, for messages only: never opened by name again.
    root: PathBuf,
}

/// What a path inside the door turned out to be.
enum Found {
    Missing,
    File(File, FileStat),
}

impl Door {
    /// Opens a folder devboot made (its own path is the host's: the container cannot
    /// replace the folder it is given, only what is in it). `None` when it does not exist.
    pub fn open(root: &Path) -> Option<Door> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match nix::fcntl::open(root, flags, Mode::empty()) {
            Ok(dir) => Some(Door {
                dir,
                root: root.to_path_buf(),
            }),
            Err(Errno::ENOENT) => None,
            Err(errno) => {
                warn_once(
                    root,
                    &format!("cannot be opened as a folder ({})", errno.desc()),
                );
                None
            }
        }
    }

    /// The host path of an entry, for messages.
    pub fn shown(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The text of a small regular file, trimmed; `None` when missing, empty, or odd (a
    /// link, a FIFO, a device, a folder, over [`SMALL_FILE_CAP`]: warned about once).
    pub fn read_small(&self, rel: &str) -> Option<String> {
        let Found::File(file, stat) = self.find(rel)? else {
            return None;
        };
        if u64::try_from(stat.st_size).unwrap_or(u64::MAX) > SMALL_FILE_CAP {
            self.odd(rel, &format!("larger than {SMALL_FILE_CAP} bytes"));
            return None;
        }
        let mut text = String::new();
        // Bounded even if it grows after the check.
        let read = file.take(SMALL_FILE_CAP).read_to_string(&mut text);
        read.ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    /// The names in the folder `rel` (at most `limit`, sorted), without following a link to
    /// it; entries are not looked at: reading one goes through the door as usual.
    pub fn names(&self, rel: &str, limit: usize) -> Vec<String> {
        let Some((parent, name)) = self.parent(rel) else {
            return Vec::new();
        };
        let Some(dir) = self.open_dir(&parent, name, rel) else {
            return Vec::new();
        };
        let Ok(mut listing) = nix::dir::Dir::from_fd(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = listing
            .iter()
            .filter_map(std::result::Result::ok)
            .filter_map(|e| e.file_name().to_str().ok().map(String::from))
            .filter(|n| n != "." && n != "..")
            .take(limit)
            .collect();
        names.sort();
        names
    }

    /// Whether a regular file is there (a flag file such as `ready`).
    pub fn has_file(&self, rel: &str) -> bool {
        matches!(self.find(rel), Some(Found::File(..)))
    }

    /// A regular file opened for reading (a log), and its size when opened.
    pub fn open_file(&self, rel: &str) -> Option<(File, u64)> {
        match self.find(rel)? {
            Found::File(file, stat) => Some((file, u64::try_from(stat.st_size).unwrap_or(0))),
            Found::Missing => None,
        }
    }

    /// The size of a regular file, without opening it; `None` when missing or odd.
    pub fn file_len(&self, rel: &str) -> Option<u64> {
        let (parent, name) = self.parent(rel)?;
        let Ok(stat) = fstatat(&parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) else {
            return None;
        };
        (kind(&stat) == SFlag::S_IFREG).then(|| u64::try_from(stat.st_size).unwrap_or(0))
    }

    /// Removes an entry that is not a folder (the entry itself: a link is removed, never
    /// what it points to). A missing entry is fine; a folder is warned about and kept.
    pub fn remove(&self, rel: &str) -> std::io::Result<()> {
        let Some((parent, name)) = self.parent(rel) else {
            return Ok(());
        };
        match unlinkat(&parent, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(Errno::EISDIR | Errno::EPERM) if is_dir_entry(&parent, name) => {
                self.odd(rel, "a folder");
                Ok(())
            }
            Err(errno) => Err(std::io::Error::from(errno)),
        }
    }

    /// Removes an entry that is there but is not a regular file (a link, a FIFO, a
    /// device: the entry itself), so that the runner can make a real one again.
    pub fn remove_if_odd(&self, rel: &str) -> std::io::Result<()> {
        let Some((parent, name)) = self.parent(rel) else {
            return Ok(());
        };
        match fstatat(&parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) if !matches!(kind(&stat), SFlag::S_IFREG | SFlag::S_IFDIR) => self.remove(rel),
            _ => Ok(()),
        }
    }

    /// Makes sure `rel` is a folder (made with `mode` when missing; its mode set through
    /// the opened handle, never by name). Something else in its place (a link, a file) is
    /// warned about and removed — the entry itself, never what a link points to — and the
    /// folder made. `false` when that fails.
    pub fn make_dir(&self, rel: &str, mode: u32) -> bool {
        let Some((parent, name)) = self.parent(rel) else {
            return false;
        };
        let mode = Mode::from_bits_truncate(mode);
        match mkdirat(&parent, name, mode) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(_) => return false,
        }
        if !is_dir_entry(&parent, name) {
            self.odd(rel, describe(&parent, name, "not a folder"));
            if unlinkat(&parent, name, UnlinkatFlags::NoRemoveDir).is_err()
                || mkdirat(&parent, name, mode).is_err()
            {
                return false;
            }
        }
        let Some(dir) = self.open_dir(&parent, name, rel) else {
            return false;
        };
        // Made by the container's user it may not be ours to change: fine, it is theirs.
        let _ = fchmod(&dir, mode);
        true
    }

    /// Writes a whole file at `rel` (a config `devboot init` writes into the workspace
    /// folder, which a container may have changed): missing folders are made, a link in
    /// place of one is refused (never written through), and the file is written under a new
    /// name then renamed over `rel`, which replaces whatever entry is there (a link itself,
    /// never what it points to).
    pub fn write_file(&self, rel: &str, contents: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let name = parts.pop().ok_or(std::io::ErrorKind::InvalidInput)?;
        if parts.iter().chain([&name]).any(|p| *p == ".." || *p == ".") {
            return Err(std::io::ErrorKind::InvalidInput.into());
        }
        let mut dir = self.dir.try_clone()?;
        for part in parts {
            match mkdirat(&dir, part, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => return Err(errno.into()),
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            dir = openat(&dir, part, flags, Mode::empty()).map_err(|errno| match errno {
                Errno::ELOOP | Errno::ENOTDIR => std::io::Error::other(format!(
                    "{part} is {}, and devboot does not write through one",
                    describe(&dir, part, "not a folder")
                )),
                errno => errno.into(),
            })?;
        }
        let tmp = format!(".{name}.devboot-new");
        let _ = unlinkat(&dir, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&dir, tmp.as_str(), flags, Mode::from_bits_truncate(0o644))?;
        let mut file = File::from(fd);
        let written = file.write_all(contents).and_then(|()| file.sync_all());
        if let Err(e) = written
            .and_then(|()| nix::fcntl::renameat(&dir, tmp.as_str(), &dir, name).map_err(Into::into))
        {
            let _ = unlinkat(&dir, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
            return Err(e);
        }
        Ok(())
    }

    /// Opens the folder holding `rel`'s last component, walking without following links.
    fn parent<'a>(&self, rel: &'a str) -> Option<(OwnedFd, &'a str)> {
        let mut parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let name = parts.pop()?;
        if parts.iter().chain([&name]).any(|p| *p == ".." || *p == ".") {
            self.odd(rel, "a path that leaves its folder");
            return None;
        }
        let mut dir = self.dir.try_clone().ok()?;
        let mut walked = String::new();
        for part in parts {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(part);
            dir = self.open_dir(&dir, part, &walked)?;
        }
        Some((dir, name))
    }

    fn open_dir(&self, parent: &OwnedFd, name: &str, rel: &str) -> Option<OwnedFd> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(parent, name, flags, Mode::empty()) {
            Ok(dir) => Some(dir),
            Err(Errno::ELOOP | Errno::ENOTDIR) => {
                self.odd(rel, describe(parent, name, "not a folder"));
                None
            }
            Err(_) => None,
        }
    }

    /// Finds a regular file: checked before opening (so a device is never opened) and
    /// again on the handle (in case it was swapped in between).
    fn find(&self, rel: &str) -> Option<Found> {
        let Some((parent, name)) = self.parent(rel) else {
            return Some(Found::Missing);
        };
        let before = match fstatat(&parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::ENOENT) => return Some(Found::Missing),
            Err(_) => return None,
        };
        if kind(&before) != SFlag::S_IFREG {
            self.odd(rel, kind_name(&before));
            return None;
        }
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC;
        let fd = match openat(&parent, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Some(Found::Missing),
            Err(Errno::ELOOP) => {
                self.odd(rel, "a symbolic link");
                return None;
            }
            Err(_) => return None,
        };
        let stat = fstat(&fd).ok()?;
        if kind(&stat) != SFlag::S_IFREG || stat.st_ino != before.st_ino {
            self.odd(rel, "swapped while devboot opened it");
            return None;
        }
        Some(Found::File(File::from(fd), stat))
    }

    fn odd(&self, rel: &str, what: &str) {
        warn_once(&self.root.join(rel), what);
    }
}

fn is_dir_entry(parent: &OwnedFd, name: &str) -> bool {
    fstatat(parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|s| kind(&s) == SFlag::S_IFDIR)
}

fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
}

fn kind_name(stat: &FileStat) -> &'static str {
    match kind(stat) {
        SFlag::S_IFLNK => "a symbolic link",
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFCHR | SFlag::S_IFBLK => "a device",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFDIR => "a folder",
        _ => "not a regular file",
    }
}

fn describe(parent: &OwnedFd, name: &str, fallback: &'static str) -> &'static str {
    fstatat(parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_or(fallback, |s| kind_name(&s))
}

/// Says once per entry that it was ignored, and why.
fn warn_once(path: &Path, what: &str) {
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if warned
        .get_or_insert_with(HashSet::new)
        .insert(path.to_path_buf())
    {
        crate::ui::warning(&format!(
            "ignored {}: it is {what} where devboot expects a file it can read \
             (something in the container put it there; devboot never follows it)",
            path.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn door() -> (tempfile::TempDir, Door) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lanes/a")).unwrap();
        let door = Door::open(dir.path()).unwrap();
        (dir, door)
    }

    #[test]
    fn reads_regular_small_files_only() {
        let (dir, door) = door();
        std::fs::write(dir.path().join("lanes/a/exit"), " 3\n").unwrap();
        assert_eq!(door.read_small("lanes/a/exit").as_deref(), Some("3"));
        assert_eq!(door.read_small("lanes/a/missing"), None);
        std::fs::write(dir.path().join("big"), vec![b'1'; 5000]).unwrap();
        assert_eq!(door.read_small("big"), None, "over the cap");
        assert_eq!(door.file_len("big"), Some(5000));
    }

    #[test]
    fn never_follows_links() {
        let (dir, door) = door();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "host only").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        symlink(&secret, dir.path().join("lanes/a/exit")).unwrap();
        symlink(outside.path(), dir.path().join("lanes/b")).unwrap();
        std::fs::write(outside.path().join("log"), "x").unwrap();
        assert_eq!(door.read_small("lanes/a/exit"), None);
        assert!(!door.has_file("lanes/b/log"));
        assert!(door.open_file("lanes/b/log").is_none());
        // Removing through the door removes the link, never its target.
        door.remove("lanes/a/exit").unwrap();
        door.remove("lanes/b/log").unwrap();
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "host only");
        assert!(outside.path().join("log").exists());
        let mode = std::fs::metadata(outside.path())
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(mode & 0o777, 0o777, "the linked folder's mode is untouched");
        assert!(!dir.path().join("lanes/a/exit").exists());
        // A link in place of a folder is replaced by a folder; its target stays as it was.
        assert!(door.make_dir("lanes/b", 0o777));
        assert!(
            std::fs::symlink_metadata(dir.path().join("lanes/b"))
                .unwrap()
                .is_dir()
        );
        let mode = std::fs::metadata(outside.path())
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(mode & 0o777, 0o777, "the linked folder's mode is untouched");
    }

    #[test]
    fn fifos_and_parent_escapes_do_not_hang_or_leave() {
        let (dir, door) = door();
        nix::unistd::mkfifo(&dir.path().join("lanes/a/pid"), Mode::S_IRWXU).unwrap();
        assert_eq!(door.read_small("lanes/a/pid"), None);
        assert!(door.open_file("lanes/a/pid").is_none());
        assert_eq!(door.read_small("../etc/passwd"), None);
    }

    #[test]
    fn writes_files_without_writing_through_links() {
        let (dir, door) = door();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("bashrc");
        std::fs::write(&target, "mine").unwrap();
        // A link in place of the file: replaced, its target untouched.
        symlink(&target, dir.path().join(".gitpod.yml")).unwrap();
        door.write_file(".gitpod.yml", b"tasks: []\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitpod.yml")).unwrap(),
            "tasks: []\n"
        );
        // A link in place of a folder: refused.
        symlink(outside.path(), dir.path().join(".devcontainer")).unwrap();
        let err = door
            .write_file(".devcontainer/devcontainer.json", b"{}")
            .unwrap_err();
        assert!(err.to_string().contains("a symbolic link"), "{err}");
        assert!(!outside.path().join("devcontainer.json").exists());
        // Folders that are missing are made.
        door.write_file("a/b/c.json", b"{}").unwrap();
        assert!(dir.path().join("a/b/c.json").is_file());
    }

    #[test]
    fn makes_folders_with_their_mode() {
        let (dir, door) = door();
        assert!(door.make_dir("lanes/new", 0o777));
        let mode = std::fs::metadata(dir.path().join("lanes/new"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o777);
    }
}
