//! What a Feature id as written names: an OCI reference, a local folder or a tarball URL,
//! with the reference CLI's legacy short ids and renames mapped. No network here.

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
}
