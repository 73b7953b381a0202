//! `devcontainer-lock.json`: the registry and tarball Features a config installs, pinned to
//! what was fetched, in the reference CLI's format (`lockfile.ts`, spec
//! `devcontainer-lockfile.md`), so the two tools read and write the same file.
//!
//! ```json
//! {
//!   "features": {
//!     "<id as written>": {
//!       "version": "<the Feature's version>",
//!       "resolved": "<registry>/<namespace>/<id>@sha256:<hex>",
//!       "integrity": "sha256:<hex>",
//!       "dependsOn": ["<id as written in its dependsOn>"]
//!     }
//!   }
//! }
//! ```
//!
//! Ids are sorted in JavaScript's locale order; the text is `JSON.stringify(…, null, 2)`
//! and a newline. The file is rewritten only when its normalized JSON differs.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::order::{Planned, locale_cmp};
use super::{FeatureError, Source};
use crate::boundary::Door;

/// The largest lockfile read; a real one is a few KiB.
const MAX_LEN: u64 = 4 << 20;

/// One pinned Feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// The Feature's own `version` (from its `devcontainer-feature.json`), when it has one.
    pub version: Option<String>,
    /// `<registry>/<namespace>/<id>@sha256:<hex>` for a registry Feature, the URL for a
    /// tarball.
    pub resolved: String,
    /// `sha256:<hex>`: the manifest digest, or the tarball's.
    pub integrity: String,
    /// The keys of the Feature's `dependsOn`, in its order.
    pub depends_on: Vec<String>,
}

/// A `devcontainer-lock.json`: ids as written, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lockfile {
    pub features: Vec<(String, Locked)>,
}

/// What `up` does with the lockfile when it builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Honour its pins; leave it as it is.
    #[default]
    Read,
    /// Honour its pins, then write what was resolved (`--lockfile`).
    Write,
    /// Fail when what was resolved differs from it, or it is missing (`--frozen-lockfile`).
    Frozen,
}

/// `devcontainer-lock.json` next to the config, `.devcontainer-lock.json` next to a config
/// whose name starts with `.` (`.devcontainer.json`).
pub fn path_for(config_file: &Path) -> PathBuf {
    let hidden = config_file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
    let name = if hidden {
        ".devcontainer-lock.json"
    } else {
        "devcontainer-lock.json"
    };
    config_file.with_file_name(name)
}

impl Lockfile {
    /// The lockfile for an install order: its registry and tarball Features (local folders
    /// are not pinned), less `leave_out` (ids given only on the command line, which the
    /// reference CLI does not record). Of two Features under one id, the later one's entry
    /// is kept, at the first one's place (as the CLI's object assignment does).
    pub fn from_plan(features: &[Planned], leave_out: &[String]) -> Lockfile {
        let mut entries: Vec<(String, Locked)> = features
            .iter()
            .filter(|p| !leave_out.contains(&p.user_id))
            .filter_map(|p| {
                let resolved = match &p.source {
                    Source::Oci(r) => format!("{}/{}@{}", r.registry, r.path(), p.fetched.digest),
                    Source::Tarball { url, .. } => url.clone(),
                    Source::Local { .. } => return None,
                };
                let metadata = &p.fetched.metadata;
                let locked = Locked {
                    version: metadata.version.clone(),
                    resolved,
                    integrity: p.fetched.digest.clone(),
                    depends_on: metadata
                        .depends_on
                        .iter()
                        .map(|(id, _)| id.clone())
                        .collect(),
                };
                Some((p.user_id.clone(), locked))
            })
            .collect();
        entries.sort_by(|a, b| locale_cmp(&a.0, &b.0));
        let mut lockfile = Lockfile::default();
        for (id, locked) in entries {
            match lockfile.features.iter_mut().find(|(k, _)| *k == id) {
                Some(slot) => slot.1 = locked,
                None => lockfile.features.push((id, locked)),
            }
        }
        lockfile
    }

    /// The pinned digest (`integrity`) for an id as written in the config.
    pub fn pinned(&self, id: &str) -> Option<&str> {
        self.features
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, l)| l.integrity.as_str())
            .filter(|i| !i.is_empty())
    }

    /// The JSON value, keys in the reference CLI's order.
    pub fn to_json(&self) -> Value {
        let features: Map<String, Value> = self
            .features
            .iter()
            .map(|(id, l)| {
                let mut entry = Map::new();
                if let Some(version) = &l.version {
                    entry.insert("version".into(), Value::String(version.clone()));
                }
                entry.insert("resolved".into(), Value::String(l.resolved.clone()));
                entry.insert("integrity".into(), Value::String(l.integrity.clone()));
                if !l.depends_on.is_empty() {
                    let deps = l.depends_on.iter().cloned().map(Value::String).collect();
                    entry.insert("dependsOn".into(), Value::Array(deps));
                }
                (id.clone(), Value::Object(entry))
            })
            .collect();
        Value::Object(Map::from_iter([(
            "features".to_string(),
            Value::Object(features),
        )]))
    }

    /// The file's text, as the reference CLI writes it.
    pub fn to_text(&self) -> String {
        text_of(&self.to_json())
    }

    /// Reads a lockfile's text; `None` for an empty file (the reference CLI's marker for
    /// "write one on the next build"). Entries are read leniently: a missing field is empty.
    pub fn parse(text: &str, path: &Path) -> Result<Option<Lockfile>, FeatureError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let invalid = |reason: String| FeatureError::Lockfile {
            path: path.to_path_buf(),
            reason,
            help: "fix it, or delete it and let `devboot up` write it again".into(),
        };
        let value: Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("{} is not JSON: {e}", shown(path))))?;
        let Some(Value::Object(features)) = value.get("features") else {
            return Err(invalid(format!("{} has no `features` object", shown(path))));
        };
        let text_at =
            |entry: &Value, key: &str| entry.get(key).and_then(Value::as_str).map(String::from);
        let features = features
            .iter()
            .map(|(id, entry)| {
                let locked = Locked {
                    version: text_at(entry, "version"),
                    resolved: text_at(entry, "resolved").unwrap_or_default(),
                    integrity: text_at(entry, "integrity").unwrap_or_default(),
                    depends_on: match entry.get("dependsOn") {
                        Some(Value::Array(ids)) => ids
                            .iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect(),
                        _ => Vec::new(),
                    },
                };
                (id.clone(), locked)
            })
            .collect();
        Ok(Some(Lockfile { features }))
    }

    /// The lockfile of a config ([`path_for`]); `None` when there is none or it is empty.
    pub fn read(config_file: &Path) -> Result<Option<Lockfile>, FeatureError> {
        let path = path_for(config_file);
        match read_text(&path)? {
            Some(text) => Lockfile::parse(&text, &path),
            None => Ok(None),
        }
    }
}

fn shown(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `JSON.stringify(value, null, 2) + "\n"`.
fn text_of(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// The text the reference CLI compares an existing file by: parsed and written again;
/// `None` when it is not JSON.
pub fn normalized(text: &str) -> Option<String> {
    serde_json::from_str::<Value>(text)
        .ok()
        .map(|v| text_of(&v))
}

/// The file's text, read through the config folder without following a link in its place
/// (the workspace is the container's to write); `None` when there is no file.
fn read_text(path: &Path) -> Result<Option<String>, FeatureError> {
    let unreadable = |reason: String| FeatureError::Lockfile {
        path: path.to_path_buf(),
        reason,
        help: "make it a regular file devboot can read, or delete it".into(),
    };
    let (dir, name) = split(path);
    let Some(door) = Door::open(dir) else {
        return Ok(None);
    };
    let Some((file, len)) = door.open_file(name) else {
        return Ok(None);
    };
    if len > MAX_LEN {
        return Err(unreadable(format!(
            "{name} is larger than {} MiB",
            MAX_LEN >> 20
        )));
    }
    let mut text = String::new();
    file.take(MAX_LEN)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(format!("{name} cannot be read: {e}")))?;
    Ok(Some(text))
}

fn split(path: &Path) -> (&Path, &str) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    (dir, name)
}

/// Writes a config's lockfile when its normalized JSON differs from `lockfile`, as the
/// reference CLI does after each build. With `frozen` (`--frozen-lockfile`) nothing is
/// written: a missing or different file is an error saying which entries differ. Returns
/// whether the file was written.
pub fn write(config_file: &Path, lockfile: &Lockfile, frozen: bool) -> Result<bool, FeatureError> {
    let path = path_for(config_file);
    let text = lockfile.to_text();
    let old = read_text(&path)?;
    let frozen_error = |reason: String| FeatureError::Lockfile {
        path: path.clone(),
        reason,
        help:
            "run `devboot features lock` (or `devboot up --lockfile`) to update it, and commit it"
                .into(),
    };
    if old.as_deref().and_then(normalized).as_deref() == Some(text.as_str()) {
        return Ok(false);
    }
    if frozen {
        let Some(old) = old else {
            return Err(frozen_error(format!(
                "{} does not exist, and it must not change",
                shown(&path)
            )));
        };
        let before = Lockfile::parse(&old, &path)
            .ok()
            .flatten()
            .unwrap_or_default();
        return Err(frozen_error(format!(
            "{} would change, and it must not: {}",
            shown(&path),
            differences(&before, lockfile)
        )));
    }
    let (dir, name) = split(&path);
    let door = Door::open(dir).ok_or_else(|| FeatureError::Lockfile {
        path: path.clone(),
        reason: format!("the folder of {} cannot be opened", shown(&path)),
        help: "check that the config's folder exists and is a folder".into(),
    })?;
    door.write_file(name, text.as_bytes())
        .map_err(|e| FeatureError::Lockfile {
            path: path.clone(),
            reason: format!("{} cannot be written: {e}", shown(&path)),
            help: "check the folder's permissions, or pass `--no-lockfile`".into(),
        })?;
    Ok(true)
}

/// `added a, b; removed c; changed d` (or `its formatting` when only that differs).
fn differences(before: &Lockfile, after: &Lockfile) -> String {
    let get = |l: &'_ Lockfile, id: &str| {
        l.features
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.clone())
    };
    let ids = |l: &Lockfile| {
        l.features
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    let added: Vec<String> = ids(after)
        .into_iter()
        .filter(|id| get(before, id).is_none())
        .collect();
    let removed: Vec<String> = ids(before)
        .into_iter()
        .filter(|id| get(after, id).is_none())
        .collect();
    let changed: Vec<String> = ids(after)
        .into_iter()
        .filter(|id| get(before, id).is_some_and(|b| Some(b) != get(after, id)))
        .collect();
    let parts: Vec<String> = [("added", added), ("removed", removed), ("changed", changed)]
        .into_iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(what, ids)| format!("{what} {}", ids.join(", ")))
        .collect();
    if parts.is_empty() {
        "its entries are the same but not in the order or form devboot writes".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests;
