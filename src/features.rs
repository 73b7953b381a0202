//! Dev Container Features: the tools a `devcontainer.json` asks for under `features`,
//! installed into an image derived from the workspace's, with the result the reference CLI
//! gets.
//!
//! Data flows one way, one file per step:
//! - [`reference`], what an id as written names (an OCI reference, a local folder, a
//!   tarball URL; legacy short ids mapped), without touching the network;
//! - [`oci`] and [`fetch`], getting a Feature's folder and metadata (registry v2 API, tarball,
//!   local copy), cached by digest, through the registry mirror when one is set;
//! - [`metadata`], a Feature's `devcontainer-feature.json`;
//! - [`options`], the user's options as the install script's environment;
//! - [`order`], the install order (`dependsOn`, `installsAfter`,
//!   `overrideFeatureInstallOrder`);
//! - [`lockfile`], `devcontainer-lock.json`;
//! - [`build`], the derived image (staging folder, Dockerfile, tag);
//! - [`label`], the `devcontainer.metadata` image label, written and read.

pub mod build;
pub mod fetch;
pub mod label;
pub mod lockfile;
pub mod metadata;
pub mod oci;
pub mod options;
pub mod order;
pub mod reference;
pub mod resolve;

pub use resolve::{Wanted, resolve};

use std::path::PathBuf;

/// One entry of the config's `features`: the id as written and its value (an options
/// object, a version string, or a boolean).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: String,
    pub value: serde_json::Value,
}

/// Where a Feature comes from, decided from its id alone (see [`reference::classify`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Source {
    /// A registry artifact.
    Oci(reference::OciRef),
    /// A folder under the config's `.devcontainer` folder; `path` is absolute.
    Local { path: PathBuf, id: String },
    /// A `devcontainer-feature-<id>.tgz` URL.
    Tarball { url: String, id: String },
}

impl Source {
    /// The Feature's own id (the last segment of a reference, the folder's or file's name).
    pub fn id(&self) -> &str {
        match self {
            Source::Oci(r) => &r.id,
            Source::Local { id, .. } | Source::Tarball { id, .. } => id,
        }
    }
}

/// A Feature fetched to a folder on the host, with what identifies its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The folder holding `install.sh` and `devcontainer-feature.json` (in devboot's cache
    /// for registry and tarball Features; a copy for local ones).
    pub folder: PathBuf,
    /// `sha256:<hex>`: the manifest digest (OCI), the tarball's sha256, or a digest of a
    /// local folder's files.
    pub digest: String,
    /// What the lockfile records as `resolved`: `<registry>/<path>@sha256:<hex>` or the URL;
    /// `None` for a local folder.
    pub resolved: Option<String>,
    /// The parsed `devcontainer-feature.json`.
    pub metadata: metadata::Metadata,
}

/// Why a Feature could not be named, fetched, read or ordered. Each says which Feature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    /// The id names nothing devboot can fetch (bad syntax, an unknown short id, a local path
    /// outside `.devcontainer`).
    #[error("feature `{id}`: {reason}")]
    BadId {
        id: String,
        reason: String,
        help: String,
    },
    /// The registry (or the tarball's server) did not answer, or refused.
    #[error("feature `{id}`: cannot reach {host}: {reason}")]
    Unreachable {
        id: String,
        host: String,
        reason: String,
        help: String,
    },
    /// The registry answered but has no such Feature, tag or digest.
    #[error("feature `{id}`: {reason}")]
    NotFound {
        id: String,
        reason: String,
        help: String,
    },
    /// What was fetched is not a Feature (wrong media type, digest mismatch, no
    /// `devcontainer-feature.json`, bad JSON in it).
    #[error("feature `{id}`: {reason}")]
    Invalid {
        id: String,
        reason: String,
        help: String,
    },
    /// `dependsOn`/`installsAfter` form a cycle; `cycle` names the Features in it.
    #[error("features depend on each other in a cycle: {}", cycle.join(" -> "))]
    Cycle { cycle: Vec<String> },
    /// `devcontainer-lock.json` would change under `--frozen-lockfile`, or cannot be read.
    #[error("{reason}")]
    Lockfile {
        path: PathBuf,
        reason: String,
        help: String,
    },
}

impl FeatureError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<&str> {
        match self {
            FeatureError::BadId { help, .. }
            | FeatureError::Unreachable { help, .. }
            | FeatureError::NotFound { help, .. }
            | FeatureError::Invalid { help, .. }
            | FeatureError::Lockfile { help, .. } => Some(help),
            FeatureError::Cycle { .. } => None,
        }
    }
}

/// Gets a Feature's folder and metadata: the seam between ordering (which asks for each
/// Feature it meets, dependencies included) and fetching (network, cache, local copies).
pub trait Resolve {
    fn resolve(&mut self, source: &Source) -> Result<Fetched, FeatureError>;
}
