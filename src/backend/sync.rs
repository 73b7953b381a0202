//! Copying the workspace folder into its container on a remote engine, and keeping it up
//! to date: what `up` does before it runs anything there, and `devboot sync`.
//!
//! The folder is walked as git sees it (`.gitignore`, `.git/info/exclude`) plus devboot's
//! own `.devbootignore` (same syntax); `.git` itself is copied. What is copied is recorded
//! in a manifest on this machine (path → kind, size, modification time, mode, link
//! target), so the next sync sends only what changed (one archive through `docker cp -`)
//! and deletes only what is gone (one `docker exec`). Modes and symbolic links are kept;
//! files belong to the container's user. What the container changes itself stays there.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};

/// One entry of the folder, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// `f` file, `d` folder, `l` symbolic link.
    kind: char,
    size: u64,
    mtime_ns: i128,
    mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

type Manifest = BTreeMap<String, Entry>;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Synced {
    /// Files, folders and links sent.
    pub sent: usize,
    /// Paths deleted in the container.
    pub deleted: usize,
    /// Bytes of file content sent.
    pub bytes: u64,
}

/// The copy of one workspace folder in one container.
pub struct Sync<'a> {
    pub engine: &'a Engine,
    pub container: &'a str,
    /// The folder on this machine.
    pub local: &'a Path,
    /// Where it is mounted in the container.
    pub target: &'a str,
    /// Where the manifest of what was sent is kept (devboot's cache).
    pub manifest: PathBuf,
    /// The user who owns the files in the container (`None`: root).
    pub owner: Option<&'a str>,
    /// Folders never sent: devboot's own cache and settings, when they are inside the
    /// workspace folder (they change with every sync).
    pub skip: Vec<PathBuf>,
}

impl Sync<'_> {
    /// Sends what changed since the last sync, deletes what is gone. `full` sends
    /// everything (a new container, or one the manifest does not describe) and deletes
    /// nothing.
    pub fn run(&self, full: bool) -> Result<Synced> {
        let now = walk(self.local, &self.skip)?;
        let before = if full {
            Manifest::new()
        } else {
            load(&self.manifest)
        };
        let changed: Vec<&String> = now
            .iter()
            .filter(|(path, entry)| before.get(*path) != Some(entry))
            .map(|(path, _)| path)
            .collect();
        let gone = gone(&before, &now);
        let mut synced = Synced::default();
        if !changed.is_empty() {
            let (archive, bytes) = self.archive(&now, &changed)?;
            let to = format!("{}:{}", self.container, self.target);
            self.engine
                .call_with_input(&["cp", "-", to.as_str()], archive)?;
            synced.sent = changed.len();
            synced.bytes = bytes;
        }
        // A full copy gives the whole folder to the user at once; otherwise what was sent.
        let chown: Vec<&String> = if self.owner_is_user() && !full {
            changed.clone()
        } else {
            Vec::new()
        };
        if !gone.is_empty() || !chown.is_empty() || (full && self.owner_is_user()) {
            self.fix_up(&gone, &chown, full)?;
        }
        synced.deleted = gone.len();
        save(&self.manifest, &now)?;
        Ok(synced)
    }

    fn owner_is_user(&self) -> bool {
        self.owner.is_some_and(|o| o != "root" && o != "0")
    }

    /// One archive of the changed entries (folders before what is in them, as the sorted
    /// manifest has them), owned by root: `docker cp` gives them to root anyway.
    fn archive(&self, now: &Manifest, changed: &[&String]) -> Result<(Vec<u8>, u64)> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        let mut bytes = 0;
        for path in changed {
            let entry = &now[*path];
            let mut header = tar::Header::new_gnu();
            header.set_mode(entry.mode & 0o7777);
            header.set_mtime(u64::try_from(entry.mtime_ns / 1_000_000_000).unwrap_or(0));
            header.set_uid(0);
            header.set_gid(0);
            let full = self.local.join(path);
            let io = |e| Error::io("read", &full, e);
            // The whole modification time (a PAX record; the header holds seconds): a
            // server's reloader that compares times sees an edit made within the second.
            let mtime = format!(
                "{}.{:09}",
                entry.mtime_ns.div_euclid(1_000_000_000),
                entry.mtime_ns.rem_euclid(1_000_000_000)
            );
            builder
                .append_pax_extensions([("mtime", mtime.as_bytes())])
                .map_err(io)?;
            match entry.kind {
                'd' => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder
                        .append_data(&mut header, path.as_str(), std::io::empty())
                        .map_err(io)?;
                }
                'l' => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    let link = entry.link.as_deref().unwrap_or_default();
                    builder
                        .append_link(&mut header, path.as_str(), link)
                        .map_err(io)?;
                }
                _ => {
                    let file = std::fs::File::open(&full).map_err(io)?;
                    let size = file.metadata().map_err(io)?.len();
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(size);
                    builder
                        .append_data(&mut header, path.as_str(), file)
                        .map_err(io)?;
                    bytes += size;
                }
            }
        }
        let archive = builder
            .into_inner()
            .map_err(|e| Error::io("write", "the archive of the workspace folder", e))?;
        Ok((archive, bytes))
    }

    /// Deletes what is gone and gives what was sent to the container's user, in one exec as
    /// root (paths as arguments, never in the script).
    fn fix_up(&self, gone: &[&String], chown: &[&String], full: bool) -> Result<()> {
        const SCRIPT: &str = r#"cd "$1" || exit 1; owner=$2; shift 2
mode=rm
for p in "$@"; do
  case $mode:$p in
    rm:--chown) mode=chown ;;
    rm:*) rm -rf -- "./$p" ;;
    chown:*) chown -h "$owner": -- "./$p" 2>/dev/null || chown -h "$owner" -- "./$p" ;;
  esac
done
[ "$DEVBOOT_ALL" = 1 ] && { chown -R "$owner": . 2>/dev/null || chown -R "$owner" .; }
exit 0"#;
        let owner = self.owner.unwrap_or("root");
        let all = if full && self.owner_is_user() {
            "1"
        } else {
            "0"
        };
        let env = format!("DEVBOOT_ALL={all}");
        let mut args: Vec<&str> = vec![
            "exec",
            "-u",
            "root",
            "-e",
            &env,
            self.container,
            "sh",
            "-c",
            SCRIPT,
            "sh",
            self.target,
            owner,
        ];
        args.extend(gone.iter().map(|p| p.as_str()));
        args.push("--chown");
        args.extend(chown.iter().map(|p| p.as_str()));
        self.engine.call(&args)?;
        Ok(())
    }
}

/// Copies `path` (relative to the workspace folder) from the container back here: what the
/// container changed or made. The archive is the container's, so it is unpacked through
/// the boundary (`boundary::archive`): folders and regular files only, never through a link.
pub fn pull(
    engine: &Engine,
    container: &str,
    local: &Path,
    target: &str,
    path: &str,
) -> Result<crate::boundary::archive::Unpacked> {
    let Some(rel) = crate::boundary::archive::plain(path) else {
        return Err(Error::Usage {
            message: format!("`{path}` is not a path inside the workspace folder"),
            help: Some(
                "name a file or folder relative to the workspace folder, e.g. `backend-flask/out`"
                    .into(),
            ),
        });
    };
    let from = format!("{container}:{target}/{rel}");
    let archive = engine.call_bytes(&["cp", from.as_str(), "-"])?;
    let door = crate::boundary::Door::open(local).ok_or_else(|| {
        Error::io(
            "open",
            local,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })?;
    let under = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
    crate::boundary::archive::unpack(&door, &archive, under)
        .map_err(|e| Error::io("write", local.join(&rel), e))
}

/// The paths in `before` that `now` lacks; not those inside a folder that is gone itself.
fn gone<'a>(before: &'a Manifest, now: &Manifest) -> Vec<&'a String> {
    let mut out: Vec<&String> = Vec::new();
    for path in before.keys().filter(|p| !now.contains_key(*p)) {
        let inside_gone = out
            .last()
            .is_some_and(|g| path.starts_with(g.as_str()) && path[g.len()..].starts_with('/'));
        if !inside_gone {
            out.push(path);
        }
    }
    out
}

/// The folder as git sees it, plus `.devbootignore`: path (relative, `/`-separated) → entry.
fn walk(root: &Path, skip: &[PathBuf]) -> Result<Manifest> {
    let mut out = Manifest::new();
    let skip = skip.to_vec();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(".devbootignore")
        .filter_entry(move |e| !skip.iter().any(|s| e.path() == s))
        .build();
    for item in walker {
        let item = item.map_err(|e| Error::Unsupported {
            what: format!("reading the workspace folder {}", root.display()),
            help: format!("{e}; fix the folder's permissions or add the path to .devbootignore"),
        })?;
        if item.depth() == 0 {
            continue;
        }
        let Ok(rel) = item.path().strip_prefix(root) else {
            continue;
        };
        let Some(rel) = rel.to_str() else {
            crate::ui::warning(&format!(
                "{} is not copied to the remote engine: its name is not UTF-8",
                item.path().display()
            ));
            continue;
        };
        let meta = item
            .path()
            .symlink_metadata()
            .map_err(|e| Error::io("read", item.path(), e))?;
        let kind = if meta.file_type().is_symlink() {
            'l'
        } else if meta.is_dir() {
            'd'
        } else if meta.is_file() {
            'f'
        } else {
            continue; // sockets, fifos, devices: nothing to copy
        };
        let link = (kind == 'l')
            .then(|| std::fs::read_link(item.path()).ok())
            .flatten()
            .map(|l| l.to_string_lossy().into_owned());
        out.insert(
            rel.to_string(),
            Entry {
                kind,
                size: if kind == 'f' { meta.len() } else { 0 },
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                mode: meta.mode(),
                link,
            },
        );
    }
    Ok(out)
}

fn load(path: &Path) -> Manifest {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn save(path: &Path, manifest: &Manifest) -> Result<()> {
    if let Some(dir) = path.parent() {
        crate::dirs::private(dir)?;
    }
    let text = serde_json::to_vec(manifest).expect("a manifest serializes");
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}

/// Where the manifest of a workspace's remote copy is kept.
pub fn manifest_path(cache_dir: &Path, devcontainer_id: &str) -> PathBuf {
    cache_dir
        .join("sync")
        .join(format!("{devcontainer_id}.json"))
}

/// Forgets what was sent (the volume went with `down --remove`).
pub fn forget(cache_dir: &Path, devcontainer_id: &str) -> Result<bool> {
    let path = manifest_path(cache_dir, devcontainer_id);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", &path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_follows_gitignore_and_devbootignore_and_keeps_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/node_modules/x")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref").unwrap();
        std::fs::write(root.join(".gitignore"), "node_modules/\n*.log\n").unwrap();
        std::fs::write(root.join(".devbootignore"), "big.bin\n").unwrap();
        std::fs::write(root.join("src/app.py"), "print()").unwrap();
        std::fs::write(root.join("src/run.log"), "x").unwrap();
        std::fs::write(root.join("src/node_modules/x/i.js"), "x").unwrap();
        std::fs::write(root.join("big.bin"), "x").unwrap();
        std::os::unix::fs::symlink("src/app.py", root.join("app")).unwrap();
        std::fs::create_dir_all(root.join(".cache/devboot")).unwrap();
        let walked = walk(root, &[root.join(".cache")]).unwrap();
        let paths: Vec<&str> = walked.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                ".devbootignore",
                ".git",
                ".git/HEAD",
                ".gitignore",
                "app",
                "src",
                "src/app.py"
            ]
        );
        assert_eq!(walked["app"].link.as_deref(), Some("src/app.py"));
        assert_eq!(walked["src"].kind, 'd');
    }

    #[test]
    fn what_is_gone_is_named_once_per_gone_folder() {
        let entry = |kind| Entry {
            kind,
            size: 0,
            mtime_ns: 0,
            mode: 0o644,
            link: None,
        };
        let before: Manifest = [
            ("a".to_string(), entry('d')),
            ("a/x".to_string(), entry('f')),
            ("a/y".to_string(), entry('f')),
            ("ab".to_string(), entry('f')),
            ("b".to_string(), entry('f')),
        ]
        .into();
        let now: Manifest = [("b".to_string(), entry('f'))].into();
        assert_eq!(gone(&before, &now), ["a", "ab"]);
    }
}
