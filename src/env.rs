//! The workspace environment as devboot hands it out: the layers, the persisted variables
//! (`devboot env set`, like `gp env`), shell-safe rendering for `eval`, and which values are
//! secrets.
//!
//! Layers, later wins: the config's container env (Gitpod top-level `env`, devcontainer
//! `containerEnv`), then persisted variables (global, then this workspace's), then what
//! applies to commands devboot runs (a task's `env`, devcontainer `remoteEnv`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::workspace::{EnvMap, Workspace};

/// Output formats of `devboot env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellFormat {
    /// `export NAME='value'`, for `eval "$(devboot env)"` in bash, zsh and sh.
    Sh,
    /// `set -gx NAME 'value'`, for `devboot env --format fish | source`.
    Fish,
    /// `NAME="value"`, for a `.env` file docker compose reads.
    Dotenv,
    /// One JSON object.
    Json,
}

/// Renders variables so that the target reads back exactly the same values.
pub fn render(vars: &EnvMap, format: ShellFormat) -> String {
    if format == ShellFormat::Json {
        let mut text = serde_json::to_string_pretty(vars).expect("a map of strings serializes");
        text.push('\n');
        return text;
    }
    let mut out = String::new();
    for (name, value) in vars {
        let line = match format {
            ShellFormat::Sh => format!("export {name}={}", quote_sh(value)),
            ShellFormat::Fish => format!("set -gx {name} {}", quote_fish(value)),
            ShellFormat::Dotenv => format!("{name}={}", quote_dotenv(value)),
            ShellFormat::Json => unreachable!("handled above"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// POSIX single quotes: nothing inside is special; a `'` is closed, escaped and reopened.
fn quote_sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// fish single quotes: only `\\` and `\'` are escapes inside.
fn quote_fish(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// A `.env` value docker compose reads back as written: single quotes (literal, no
/// interpolation, newlines allowed) when the value has no `'`, `\` or carriage return;
/// otherwise double quotes with `\\`, `\"`, `\n`, `\r` and `\$` escapes, as compose v2
/// reads them. (A carriage return is escaped because readers that open the file as text,
/// like python-dotenv under docker-compose 1.x, turn a raw one into a newline.)
///
/// docker-compose 1.x (python-dotenv) reads every value the same except one with a `$`
/// that needs double quotes: it keeps the backslash of `\$`. No spelling satisfies both
/// there; compose v2 is the one in use.
fn quote_dotenv(value: &str) -> String {
    if !value.contains(['\'', '\\', '\r']) {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '$' => out.push_str(r"\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`, the names every shell accepts.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Names that look like they hold a secret: `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*_KEY`.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.contains("TOKEN")
        || upper.contains("SECRET")
        || upper.contains("PASSWORD")
        || upper.ends_with("_KEY")
}

/// What a secret value is shown as.
pub const MASK: &str = "****";

/// A copy of `vars` with secret values masked.
pub fn masked(vars: &EnvMap, secret_names: &[String]) -> EnvMap {
    vars.iter()
        .map(|(k, v)| {
            let secret = looks_secret(k) || secret_names.contains(k);
            (k.clone(), if secret { MASK.to_string() } else { v.clone() })
        })
        .collect()
}

/// Values to mask in everything devboot prints: persisted values set with `--secret` or
/// with a secret-looking name, and values of secret-looking names anywhere in the
/// workspace's environment (container env, remote env, every task's env) or in `more`
/// (e.g. the running container's own environment).
pub fn secret_values<'a>(
    ws: &Workspace,
    persisted: &EnvMap,
    secret_names: &[String],
    more: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<String> {
    let mut values: Vec<String> = persisted
        .iter()
        .filter(|(k, _)| secret_names.contains(k) || looks_secret(k))
        .map(|(_, v)| v.clone())
        .collect();
    let lanes = ws.stages.iter().flat_map(|s| &s.lanes).flat_map(|l| &l.env);
    let config = ws.container_env.iter().chain(&ws.remote_env).chain(lanes);
    for (k, v) in config {
        if looks_secret(k) {
            values.push(v.clone());
        }
    }
    for (k, v) in more {
        if looks_secret(k) {
            values.push(v.clone());
        }
    }
    // Longest first, so that a secret containing another one is masked whole.
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup();
    values
}

/// One persisted variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub value: String,
    /// Set with `--secret`: masked in everything devboot prints.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// The persisted variables: global ones, and per workspace folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    #[serde(default)]
    pub global: BTreeMap<String, Stored>,
    #[serde(default)]
    pub workspaces: BTreeMap<String, BTreeMap<String, Stored>>,
}

impl Store {
    /// The store's file under the user's config folder.
    pub fn path(config_dir: &Path) -> PathBuf {
        config_dir.join("env.json")
    }

    /// Reads the store; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<Store> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::io(
                    "read",
                    path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// Writes the store readable by its owner only (the folder 0700, the file 0600).
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("create", dir, e))?;
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io("write", &tmp, e))?;
        // An existing file keeps its mode on open: make sure.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("protect", &tmp, e))?;
        let text = serde_json::to_string_pretty(self).expect("the store serializes");
        file.write_all(text.as_bytes())
            .map_err(|e| Error::io("write", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("write", path, e))
    }

    /// The variables of `folder` (global ones first, the workspace's on top).
    pub fn for_workspace(&self, folder: &Path) -> BTreeMap<String, Stored> {
        let mut vars = self.global.clone();
        if let Some(own) = self.workspaces.get(&folder.display().to_string()) {
            vars.extend(own.clone());
        }
        vars
    }

    /// The scope a command acts on.
    pub fn scope_mut(&mut self, folder: Option<&Path>) -> &mut BTreeMap<String, Stored> {
        match folder {
            None => &mut self.global,
            Some(folder) => self
                .workspaces
                .entry(folder.display().to_string())
                .or_default(),
        }
    }
}

/// Values of `stored` as a plain map, and the names of the secret ones.
pub fn split_stored(stored: &BTreeMap<String, Stored>) -> (EnvMap, Vec<String>) {
    let values = stored
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    let secrets = stored
        .iter()
        .filter(|(_, v)| v.secret)
        .map(|(k, _)| k.clone())
        .collect();
    (values, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("BACKEND_URL") && valid_name("_x1"));
        assert!(!valid_name("1A") && !valid_name("A-B") && !valid_name(""));
        assert!(
            looks_secret("GITHUB_TOKEN")
                && looks_secret("aws_secret_access")
                && looks_secret("API_KEY")
        );
        assert!(!looks_secret("KEYBOARD") && !looks_secret("BACKEND_URL"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_sh("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(quote_fish(r"a\b'c"), r"'a\\b\'c'");
        assert_eq!(quote_dotenv("a b\n$c"), "'a b\n$c'");
        assert_eq!(quote_dotenv("it's\n$c\\"), r#""it's\n\$c\\""#);
        assert_eq!(quote_dotenv("a\r\nb"), r#""a\r\nb""#);
    }

    #[test]
    fn store_layers_and_saves_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = Store::path(dir.path());
        let mut store = Store::default();
        store.scope_mut(None).insert(
            "A".into(),
            Stored {
                value: "global".into(),
                secret: false,
            },
        );
        let ws = Path::new("/w");
        store.scope_mut(Some(ws)).insert(
            "A".into(),
            Stored {
                value: "mine".into(),
                secret: true,
            },
        );
        store.save(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let back = Store::load(&path).unwrap();
        assert_eq!(back, store);
        let (values, secrets) = split_stored(&back.for_workspace(ws));
        assert_eq!(values["A"], "mine");
        assert_eq!(secrets, vec!["A".to_string()]);
    }
}
