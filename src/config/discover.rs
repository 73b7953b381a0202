//! Finding the config file in a workspace folder.
//!
//! Order (the spec's, which the reference CLI only half follows, devcontainers/cli#457):
//! `.devcontainer/devcontainer.json`, `.devcontainer.json`, the single
//! `.devcontainer/<name>/devcontainer.json`, then `.gitpod.yml` and the legacy `.gitpod`.
//! When both formats are present the devcontainer config wins unless `--format gitpod`.
//!
//! The border: a path and a format; the file is read and parsed by `config.rs`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::workspace::Format;

/// The config file chosen for a workspace folder.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// Absolute path of the config file.
    pub path: PathBuf,
    pub format: Format,
    /// Why this file was chosen when another was also there; shown to the user.
    pub note: Option<String>,
}

/// Chooses the config file. `config` (from `--config`) wins; `format` (from `--format`)
/// restricts the search to one format.
pub fn discover(
    folder: &Path,
    config: Option<&Path>,
    format: Option<Format>,
) -> Result<Discovered> {
    if let Some(config) = config {
        let path = if config.is_absolute() {
            config.to_path_buf()
        } else {
            folder.join(config)
        };
        if !path.is_file() {
            return Err(Error::Usage {
                message: format!("config file {} does not exist", path.display()),
                help: Some("check the path given to --config".into()),
            });
        }
        let format = format.unwrap_or_else(|| format_of(&path));
        return Ok(Discovered {
            path,
            format,
            note: None,
        });
    }

    let devcontainer = find_devcontainer(folder)?;
    let gitpod = [".gitpod.yml", ".gitpod"]
        .iter()
        .map(|name| folder.join(name))
        .find(|p| p.is_file());

    match (format, devcontainer, gitpod) {
        (Some(Format::Gitpod), _, Some(path)) | (None, None, Some(path)) => Ok(Discovered {
            path,
            format: Format::Gitpod,
            note: None,
        }),
        (Some(Format::Devcontainer), Some(path), gitpod) => Ok(Discovered {
            path,
            format: Format::Devcontainer,
            note: gitpod.map(|_| "using devcontainer.json as --format devcontainer asks".into()),
        }),
        (None, Some(path), gitpod) => {
            let note = gitpod.map(|g| {
                format!(
                    "both {} and {} exist; using {} (devcontainer.json is preferred: it describes the container; pass --format gitpod to use {})",
                    rel(folder, &path),
                    rel(folder, &g),
                    rel(folder, &path),
                    rel(folder, &g),
                )
            });
            Ok(Discovered {
                path,
                format: Format::Devcontainer,
                note,
            })
        }
        _ => Err(Error::NoConfig {
            folder: folder.to_path_buf(),
        }),
    }
}

/// Guesses a file's format from its name: YAML names are Gitpod, anything else devcontainer.
pub fn format_of(path: &Path) -> Format {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.starts_with(".gitpod")
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
    {
        Format::Gitpod
    } else {
        Format::Devcontainer
    }
}

fn find_devcontainer(folder: &Path) -> Result<Option<PathBuf>> {
    for candidate in [".devcontainer/devcontainer.json", ".devcontainer.json"] {
        let path = folder.join(candidate);
        if path.is_file() {
            return Ok(Some(path));
        }
    }
    let Ok(entries) = std::fs::read_dir(folder.join(".devcontainer")) else {
        return Ok(None);
    };
    let mut nested: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .map(|e| e.path().join("devcontainer.json"))
        .filter(|p| p.is_file())
        .collect();
    nested.sort();
    match nested.len() {
        0 => Ok(None),
        1 => Ok(nested.pop()),
        _ => Err(Error::AmbiguousConfig {
            folder: folder.to_path_buf(),
            candidates: nested,
        }),
    }
}

fn rel(folder: &Path, path: &Path) -> String {
    path.strip_prefix(folder)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, rel: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "{}").unwrap();
    }

    #[test]
    fn prefers_devcontainer_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), ".gitpod.yml");
        touch(dir.path(), ".devcontainer/devcontainer.json");
        let found = discover(dir.path(), None, None).unwrap();
        assert_eq!(found.format, Format::Devcontainer);
        assert!(found.note.unwrap().contains("--format gitpod"));
        let found = discover(dir.path(), None, Some(Format::Gitpod)).unwrap();
        assert!(found.path.ends_with(".gitpod.yml"));
    }

    #[test]
    fn single_nested_config_is_found_and_several_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), ".devcontainer/python/devcontainer.json");
        let found = discover(dir.path(), None, None).unwrap();
        assert!(
            found
                .path
                .ends_with(".devcontainer/python/devcontainer.json")
        );
        touch(dir.path(), ".devcontainer/node/devcontainer.json");
        let err = discover(dir.path(), None, None).unwrap_err();
        assert!(
            matches!(err, Error::AmbiguousConfig { ref candidates, .. } if candidates.len() == 2)
        );
    }

    #[test]
    fn legacy_gitpod_file_and_nothing_at_all() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            discover(dir.path(), None, None),
            Err(Error::NoConfig { .. })
        ));
        touch(dir.path(), ".gitpod");
        assert_eq!(
            discover(dir.path(), None, None).unwrap().format,
            Format::Gitpod
        );
    }
}
