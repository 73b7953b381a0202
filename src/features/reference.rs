//! What a Feature id as written names: an OCI reference, a local folder or a tarball URL,
//! with the reference CLI's legacy short ids and renames mapped. No network here.
//!
//! The steps are the reference CLI's (`getBackwardCompatibleFeatureId`, `getFeatureIdType`,
//! `processFeatureIdentifier`, `getRef`), with two differences: the deprecated form
//! `owner/repo/id[@tag]` (a GitHub release, tried by the CLI when no registry answers) is an
//! error here, and a malformed digest is refused instead of logged.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::{FeatureError, Request, Source};

/// A parsed OCI reference (`registry/namespace/id[:tag|@sha256:hex]`), lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciRef {
    /// `ghcr.io`, `localhost:5000`.
    pub registry: String,
    /// `devcontainers/features`.
    pub namespace: String,
    /// `node`.
    pub id: String,
    /// A tag (`1`, `latest`) or a digest (`sha256:<hex>`).
    pub version: Version,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Version {
    Tag(String),
    Digest(String),
}

impl OciRef {
    /// `namespace/id`: the repository path in the registry's API.
    pub fn path(&self) -> String {
        format!("{}/{}", self.namespace, self.id)
    }

    /// `registry/namespace/id`, without the version: what soft matches compare.
    pub fn resource(&self) -> String {
        format!("{}/{}", self.registry, self.path())
    }

    /// The tag, when the reference names one (not a digest).
    pub fn tag(&self) -> Option<&str> {
        match &self.version {
            Version::Tag(tag) => Some(tag),
            Version::Digest(_) => None,
        }
    }
}

/// `registry/namespace/id:tag` or `registry/namespace/id@sha256:<hex>`.
impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Version::Tag(tag) => write!(f, "{}:{tag}", self.resource()),
            Version::Digest(digest) => write!(f, "{}@{digest}", self.resource()),
        }
    }
}

/// Where the official Features live; legacy short ids map here, at major version 1.
const OFFICIAL: &str = "ghcr.io/devcontainers/features";

/// The short ids of `microsoft/vscode-dev-containers` that moved to [`OFFICIAL`] unchanged.
const MIGRATED: [&str; 18] = [
    "aws-cli",
    "azure-cli",
    "desktop-lite",
    "docker-in-docker",
    "docker-from-docker",
    "dotnet",
    "git",
    "git-lfs",
    "github-cli",
    "java",
    "kubectl-helm-minikube",
    "node",
    "powershell",
    "python",
    "ruby",
    "rust",
    "sshd",
    "terraform",
];

/// Short ids that moved under another name.
const RENAMED: [(&str, &str); 2] = [("golang", "go"), ("common", "common-utils")];

/// Short ids that became an option of another Feature: (id, Feature, option set to `true`).
const FOLDED: [(&str, &str, &str); 3] = [
    ("gradle", "java", "installGradle"),
    ("maven", "java", "installMaven"),
    ("jupyterlab", "python", "installJupyterlab"),
];

/// What [`classify`] makes of an id: its source, and a warning when the id is a legacy
/// short id the user should replace (the reference CLI prints the same advice).
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub source: Source,
    pub warning: Option<String>,
}

/// What the config's own entry `request` gets said about it before anything is fetched: a
/// warning (a legacy short id, a deprecated one folded into another Feature), or the error
/// that its id names nothing. `plan` says the same warnings again when it orders: callers
/// that showed these already skip them there.
pub fn check_request(
    request: &Request,
    config_file: &Path,
) -> Result<Option<String>, FeatureError> {
    let (_, mut folded) = fold_deprecated(vec![request.clone()]);
    if let Some(warning) = folded.pop() {
        return Ok(Some(warning));
    }
    classify(&request.id, config_file).map(|c| c.warning)
}

/// Names the source of a Feature id as written in `features` (or in a Feature's
/// `dependsOn`/`installsAfter`, or in `overrideFeatureInstallOrder`). Local paths are resolved
/// against the folder of `config_file` and must stay inside [`devcontainer_folder`].
///
/// `gradle`, `maven` and `jupyterlab` are refused here: in the config's `features` they are
/// folded into another Feature's options first, by [`fold_deprecated`].
pub fn classify(id: &str, config_file: &Path) -> Result<Classified, FeatureError> {
    let (mapped, warning) = match legacy_mapping(id) {
        Some(full) => {
            let warning = format!(
                "Feature `{id}` is a deprecated short id: devboot installs `{full}`; write that \
                 instead"
            );
            (full, Some(warning))
        }
        None => (id.to_string(), None),
    };
    let source = classify_mapped(id, &mapped, config_file)?;
    Ok(Classified { source, warning })
}

/// The full reference a legacy short id stands for.
fn legacy_mapping(id: &str) -> Option<String> {
    if MIGRATED.contains(&id) {
        return Some(format!("{OFFICIAL}/{id}:1"));
    }
    RENAMED
        .iter()
        .find(|(old, _)| *old == id)
        .map(|(_, new)| format!("{OFFICIAL}/{new}:1"))
}

fn classify_mapped(written: &str, id: &str, config_file: &Path) -> Result<Source, FeatureError> {
    if !id.contains('/') {
        return Err(short_id_error(written));
    }
    if id.starts_with("https://") || id.starts_with("http://") {
        // Plain HTTP only to this machine, as for registries.
        super::oci::check_scheme(id).map_err(|reason| bad(written, reason, TARBALL_HELP))?;
        let feature_id = tarball_id(id).map_err(|reason| bad(written, reason, TARBALL_HELP))?;
        return Ok(Source::Tarball {
            url: id.to_string(),
            id: feature_id,
        });
    }
    if id.starts_with("./") || id.starts_with("../") || id.starts_with('/') {
        return local(written, id, config_file);
    }
    // The reference CLI asks no registry without a `.` (but `localhost…`) and falls back to
    // the GitHub release form.
    let host = id.split('/').next().unwrap_or_default().to_lowercase();
    if !host.contains('.') && !host.starts_with("localhost") {
        return Err(bad(
            written,
            format!(
                "`{host}` is not a registry host, so this names a Feature published as a GitHub \
                 release (`owner/repo/id`), a deprecated form devboot does not fetch"
            ),
            "use the Feature's OCI reference (e.g. `ghcr.io/<owner>/<repo>/<id>:<version>`), or \
             the release's `https://…/devcontainer-feature-<id>.tgz` URL",
        ));
    }
    Ok(Source::Oci(parse_oci(id)?))
}

const TARBALL_HELP: &str =
    "point at a Feature tarball: `https://<host>/<path>/devcontainer-feature-<id>.tgz`";

fn bad(id: &str, reason: String, help: &str) -> FeatureError {
    FeatureError::BadId {
        id: id.to_string(),
        reason,
        help: help.to_string(),
    }
}

fn short_id_error(id: &str) -> FeatureError {
    if let Some((_, feature, option)) = FOLDED.iter().find(|(old, ..)| *old == id) {
        return bad(
            id,
            format!("`{id}` is now an option of the `{feature}` Feature"),
            &format!("write `\"{OFFICIAL}/{feature}:1\": {{ \"{option}\": true }}`"),
        );
    }
    bad(
        id,
        "a short id names no Feature (only the reference CLI's legacy ones are still mapped)"
            .into(),
        &format!(
            "write the Feature's full reference, e.g. `ghcr.io/<owner>/<repo>/{id}:<version>` (look \
             it up at https://containers.dev/features), or `./{id}` for a folder under \
             .devcontainer"
        ),
    )
}

/// The id in a tarball URL's file name, `devcontainer-feature-<id>.tgz`, matched as the
/// reference CLI's unanchored `devcontainer-feature-(.*).tgz` matches it.
fn tarball_id(url: &str) -> Result<String, String> {
    let rest = &url["https://".len()..];
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    let prefix = "devcontainer-feature-";
    let shape = || format!("`{name}` is not named `devcontainer-feature-<id>.tgz`");
    let start = name.find(prefix).ok_or_else(shape)? + prefix.len();
    let tail = &name[start..];
    // Greedy `(.*)` then any one character then `tgz`: the last `tgz` preceded by a character.
    let end = tail
        .rmatch_indices("tgz")
        .map(|(i, _)| i)
        .find(|i| *i >= 1)
        .ok_or_else(shape)?;
    let id = &tail[..end - 1];
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        return Err(format!(
            "the Feature id `{id}` in `{name}` may hold only letters, digits, `-` and `_`"
        ));
    }
    Ok(id.to_string())
}

/// A local Feature folder: relative to the config's folder, inside `.devcontainer`.
fn local(written: &str, id: &str, config_file: &Path) -> Result<Source, FeatureError> {
    let help = "put the Feature's folder under the `.devcontainer` folder and write `./<folder>` \
                (relative to the devcontainer.json)";
    if id.starts_with('/') {
        return Err(bad(
            written,
            "an absolute path cannot name a local Feature".into(),
            help,
        ));
    }
    let base = config_file.parent().unwrap_or(Path::new(""));
    let path = normalize(&base.join(id));
    let folder = devcontainer_folder(config_file);
    if !path.starts_with(&folder) {
        return Err(bad(
            written,
            format!(
                "`{}` is outside `{}`, where local Features must be",
                path.display(),
                folder.display()
            ),
            help,
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Source::Local { path, id: name })
}

/// The `.devcontainer` folder local Features must stay in: the nearest folder of that name
/// holding the config (`.devcontainer/devcontainer.json`, `.devcontainer/<name>/…`), else
/// `.devcontainer` next to it (a `.devcontainer.json` at the workspace's root). The
/// reference CLI takes `<workspace>/.devcontainer`, which is the same folder for these
/// layouts.
pub fn devcontainer_folder(config_file: &Path) -> PathBuf {
    let dir = normalize(config_file.parent().unwrap_or(Path::new("")));
    dir.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == ".devcontainer"))
        .map_or_else(|| dir.join(".devcontainer"), Path::to_path_buf)
}

/// `a/./b/../c` → `a/c`, without touching the file system (as Node's `path.join` does).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Parses an OCI reference as the reference CLI's `getRef` does: lowercased; `@sha256:<hex>`
/// is a digest, else a `:tag` after the last `/`, else the tag `latest`; the first segment is
/// the registry, the last the id, those between the namespace; `devcontainers-contrib` is
/// now `devcontainers-extra`.
pub fn parse_oci(reference: &str) -> Result<OciRef, FeatureError> {
    let fail = |reason: String| {
        bad(
            reference,
            reason,
            "write `<registry>/<namespace>/<id>[:<tag>]`, e.g. `ghcr.io/devcontainers/features/node:1`",
        )
    };
    let input = reference.to_lowercase();
    if input.starts_with('.') {
        return Err(fail("a reference cannot start with `.`".into()));
    }
    let (resource, version) = if let Some(at) = input.rfind('@') {
        let digest = &input[at + 1..];
        let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
            fail(format!(
                "`{digest}` is not a digest (`sha256:` and 64 hex digits)"
            ))
        })?;
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(fail(format!(
                "`{digest}` is not a digest (`sha256:` and 64 hex digits)"
            )));
        }
        (&input[..at], Version::Digest(digest.to_string()))
    } else {
        match input.rfind(':') {
            Some(colon) if input.rfind('/').is_none_or(|slash| colon > slash) => {
                let tag = &input[colon + 1..];
                if !is_tag(tag) {
                    return Err(fail(format!(
                        "`{tag}` is not a tag (letters, digits, `.`, `_`, `-`; at most 128)"
                    )));
                }
                (&input[..colon], Version::Tag(tag.to_string()))
            }
            _ => (input.as_str(), Version::Tag("latest".into())),
        }
    };
    let mut segments: Vec<&str> = resource.split('/').collect();
    if segments.get(1) == Some(&"devcontainers-contrib") {
        segments[1] = "devcontainers-extra";
    }
    let path = segments[1..].join("/");
    if segments.len() < 3 || !path.split('/').all(is_path_component) {
        return Err(fail(format!(
            "`{resource}` is not `<registry>/<namespace>/<id>` (lowercase letters and digits, \
             single `.`, `_` or `-` between them)"
        )));
    }
    Ok(OciRef {
        registry: segments[0].to_string(),
        namespace: segments[1..segments.len() - 1].join("/"),
        id: segments[segments.len() - 1].to_string(),
        version,
    })
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && tag.len() <= 128
}

/// `[a-z0-9]+([._-][a-z0-9]+)*`.
fn is_path_component(part: &str) -> bool {
    let is_sep = |c: u8| b"._-".contains(&c);
    let bytes = part.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || is_sep(*c))
        && !is_sep(bytes[0])
        && !is_sep(bytes[bytes.len() - 1])
        && !bytes.windows(2).any(|w| is_sep(w[0]) && is_sep(w[1]))
}

/// The config's `features` with `gradle`, `maven` and `jupyterlab` folded into the Feature
/// that replaced them, as the reference CLI does before anything else: the replacing Feature
/// (`java`, `ghcr.io/devcontainers/features/java` or `…/java:<tag>`) gets the option set to
/// `true` (a version string becomes `version`); when it is not listed,
/// `ghcr.io/devcontainers/features/<Feature>:1` is appended with that option. The folded
/// entry's own value is dropped. Returns the new list and a warning per folded id.
pub fn fold_deprecated(mut requests: Vec<Request>) -> (Vec<Request>, Vec<String>) {
    let mut warnings = Vec::new();
    let folded: Vec<_> = requests
        .iter()
        .filter_map(|r| FOLDED.iter().find(|(old, ..)| *old == r.id))
        .collect();
    for (old, feature, option) in folded {
        warnings.push(format!(
            "Feature `{old}` is deprecated: it is now the `{option}` option of `{feature}`; \
             devboot installs `{OFFICIAL}/{feature}:1` with `{option}: true`"
        ));
        let full = format!("{OFFICIAL}/{feature}");
        let target = requests
            .iter_mut()
            .find(|r| r.id == *feature || r.id == full || r.id.starts_with(&format!("{full}:")));
        match target {
            Some(request) => {
                let mut options = match &request.value {
                    Value::Object(map) => map.clone(),
                    Value::String(version) => {
                        Map::from_iter([("version".to_string(), Value::String(version.clone()))])
                    }
                    _ => Map::new(),
                };
                options.insert((*option).to_string(), Value::Bool(true));
                request.value = Value::Object(options);
            }
            None => requests.push(Request {
                id: format!("{full}:1"),
                value: Value::Object(Map::from_iter([((*option).to_string(), Value::Bool(true))])),
            }),
        }
    }
    requests.retain(|r| !FOLDED.iter().any(|(old, ..)| *old == r.id));
    (requests, warnings)
}

#[cfg(test)]
mod tests;
