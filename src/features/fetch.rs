//! Getting a Feature's folder and metadata, whatever its source, through devboot's cache.
//!
//! - **Registry** (OCI): the manifest (by tag, by the reference's digest, or by a digest
//!   pinned from the lockfile), then its layer, unpacked into `<cache>/features/<hex>/` where
//!   `<hex>` is the manifest digest. A cached digest is never downloaded again; a digest
//!   known in advance (pinned, or `@sha256:`) that is cached makes no request at all.
//! - **Tarball**: `https://…/devcontainer-feature-<id>.tgz` (or `http://` to loopback, the
//!   same rule as registries, which is how the tests serve one), its sha256 the digest; a
//!   pinned digest that is cached makes no request.
//! - **Local folder**: digested over its entries' paths, modes and contents, then copied to
//!   `<cache>/features/<hex>/` (once per digest), so what is built is exactly what was
//!   digested, and an edit to the folder gives a new digest.
//!
//! The mirror setting (`DEVBOOT_REGISTRY_MIRROR`, see [`oci::mirror`]) decides where registry
//! requests go. Messages name the Feature as written, plus the mirror it was asked from;
//! `resolved` keeps the original registry, so the lockfile is the same with or without a
//! mirror. The cache key is the digest, so a mirror and the original share cache entries.

mod unpack;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::metadata::Metadata;
use super::oci::{self, Mirrors, Target};
use super::reference::{OciRef, Version};
use super::{FeatureError, Fetched, Resolve, Source};
use crate::workspace::EnvMap;

use unpack::{Failure, METADATA_FILE};

/// Fetches Features for one run: one registry client (its tokens kept), the cache folder,
/// the mirror setting and the digests pinned by the lockfile.
pub struct Fetcher {
    features: PathBuf,
    client: oci::Client,
    mirrors: Result<Mirrors, String>,
    pins: HashMap<Source, String>,
}

impl Fetcher {
    /// A fetcher caching under `<cache_dir>/features` (`cache_dir` is devboot's cache folder,
    /// [`crate::dirs::cache_dir`]), with proxies, credentials and the mirror setting from
    /// `env`.
    pub fn new(cache_dir: &Path, env: &EnvMap) -> Fetcher {
        Fetcher {
            features: cache_dir.join("features"),
            client: oci::Client::new(env),
            mirrors: Mirrors::parse(
                env.get("DEVBOOT_REGISTRY_MIRROR")
                    .map_or("", String::as_str),
            ),
            pins: HashMap::new(),
        }
    }

    /// Fetch `source` as exactly `digest` (`sha256:<hex>`, the lockfile's `integrity`): a
    /// registry Feature by that manifest digest instead of its tag, a tarball only if it
    /// hashes to it. Local folders are not pinned.
    pub fn pin(&mut self, source: &Source, digest: &str) {
        self.pins.insert(source.clone(), digest.to_string());
    }

    /// Every tag the registry has for the Feature (for `features outdated`).
    pub fn tags(&mut self, r: &OciRef) -> Result<Vec<String>, FeatureError> {
        let target = self.target(r)?;
        self.client.tags(&target)
    }

    /// Where `r`'s requests go, with the name messages use.
    fn target(&self, r: &OciRef) -> Result<Target, FeatureError> {
        let shown = shown(r);
        let mirrors = self
            .mirrors
            .as_ref()
            .map_err(|reason| FeatureError::BadId {
                id: shown.clone(),
                reason: format!("DEVBOOT_REGISTRY_MIRROR cannot be used: {reason}"),
                help: "set it to comma-separated `from=to` pairs, e.g. \
                   DEVBOOT_REGISTRY_MIRROR=ghcr.io=127.0.0.1:5000"
                    .into(),
            })?;
        Ok(Target {
            route: mirrors.route(r),
            feature: shown,
        })
    }

    fn fetch_oci(&mut self, r: &OciRef) -> Result<Fetched, FeatureError> {
        let target = self.target(r)?;
        let reference = match (self.pins.get(&Source::Oci(r.clone())), &r.version) {
            (Some(pin), _) => pin.clone(),
            (None, Version::Digest(digest)) => digest.clone(),
            (None, Version::Tag(tag)) => tag.clone(),
        };
        let resolved = |digest: &str| Some(format!("{}/{}@{digest}", r.registry, r.path()));
        if reference.starts_with("sha256:") {
            if !oci::is_sha256_digest(&reference) {
                return Err(bad_pin(&target.feature, &reference));
            }
            if let Some(folder) = unpack::cached(&self.features, &reference) {
                return finish(
                    folder,
                    reference.clone(),
                    resolved(&reference),
                    &target.feature,
                );
            }
        }
        let manifest = self.client.manifest(&target, &reference)?;
        let folder = if let Some(folder) = unpack::cached(&self.features, &manifest.digest) {
            folder
        } else {
            let blob = self.client.blob(&target, &manifest.layer.digest)?;
            unpack::into_cache(&self.features, &manifest.digest, |tmp| {
                unpack::unpack(&blob, tmp, false)
            })
            .map_err(|f| failed(&target.feature, f))?
        };
        let digest = manifest.digest;
        finish(folder, digest.clone(), resolved(&digest), &target.feature)
    }

    fn fetch_tarball(
        &mut self,
        source: &Source,
        url: &str,
        id: &str,
    ) -> Result<Fetched, FeatureError> {
        let bad = |reason: String, help: &str| FeatureError::BadId {
            id: url.to_string(),
            reason,
            help: help.into(),
        };
        oci::check_scheme(url).map_err(|reason| {
            bad(
                format!("{url} cannot be fetched: {reason}"),
                "use an https:// URL",
            )
        })?;
        let name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or_default();
        if name != format!("devcontainer-feature-{id}.tgz") {
            return Err(bad(
                format!(
                    "a tarball Feature's file must be named devcontainer-feature-{id}.tgz, not `{name}`"
                ),
                "point the URL at the `devcontainer-feature-<id>.tgz` file the Feature's release has",
            ));
        }
        let pin = self.pins.get(source).cloned();
        if let Some(pin) = &pin {
            if !oci::is_sha256_digest(pin) {
                return Err(bad_pin(url, pin));
            }
            if let Some(folder) = unpack::cached(&self.features, pin) {
                return finish(folder, pin.clone(), Some(url.to_string()), url);
            }
        }
        let bytes = self.client.download(url, url)?;
        let digest = oci::sha256_digest(&bytes);
        if let Some(pin) = &pin {
            oci::check_digest(&bytes, pin).map_err(|reason| FeatureError::Invalid {
                id: url.to_string(),
                reason: format!("the tarball is not the one devcontainer-lock.json pins: {reason}"),
                help:
                    "if the new tarball is trusted, update the lockfile (`devboot up --lockfile`)"
                        .into(),
            })?;
        }
        let folder = match unpack::cached(&self.features, &digest) {
            Some(folder) => folder,
            None => unpack::into_cache(&self.features, &digest, |tmp| {
                unpack::unpack(&bytes, tmp, true)
            })
            .map_err(|f| failed(url, f))?,
        };
        finish(folder, digest, Some(url.to_string()), url)
    }

    fn fetch_local(&mut self, path: &Path) -> Result<Fetched, FeatureError> {
        let shown = path.display().to_string();
        if !path.is_dir() {
            return Err(FeatureError::NotFound {
                id: shown.clone(),
                reason: format!("the folder {shown} does not exist"),
                help: "a local Feature's path is relative to the folder of devcontainer.json"
                    .into(),
            });
        }
        let digest = unpack::scan_folder(path, None).map_err(|f| failed(&shown, f))?;
        let folder = match unpack::cached(&self.features, &digest) {
            Some(folder) => folder,
            None => unpack::into_cache(&self.features, &digest, |tmp| {
                // Copied and digested again in one walk: what is cached is what was digested.
                if unpack::scan_folder(path, Some(tmp))? == digest {
                    Ok(())
                } else {
                    Err(Failure::Content(
                        "it changed while devboot copied it; run devboot again".into(),
                    ))
                }
            })
            .map_err(|f| failed(&shown, f))?,
        };
        finish(folder, digest, None, &shown)
    }
}

impl Resolve for Fetcher {
    fn resolve(&mut self, source: &Source) -> Result<Fetched, FeatureError> {
        match source {
            Source::Oci(r) => self.fetch_oci(r),
            Source::Tarball { url, id } => self.fetch_tarball(source, url, id),
            Source::Local { path, .. } => self.fetch_local(path),
        }
    }
}

/// `registry/namespace/id:tag` or `…@sha256:…`, as the user knows it.
fn shown(r: &OciRef) -> String {
    match &r.version {
        Version::Tag(tag) => format!("{}:{tag}", r.resource()),
        Version::Digest(digest) => format!("{}@{digest}", r.resource()),
    }
}

/// The [`Fetched`] for a cached folder: its metadata read from the folder.
fn finish(
    folder: PathBuf,
    digest: String,
    resolved: Option<String>,
    shown: &str,
) -> Result<Fetched, FeatureError> {
    let file = folder.join(METADATA_FILE);
    let text = std::fs::read_to_string(&file).map_err(|error| {
        failed(
            shown,
            Failure::Io {
                action: "read",
                path: file.clone(),
                error,
            },
        )
    })?;
    Ok(Fetched {
        metadata: Metadata::parse(&text, shown)?,
        folder,
        digest,
        resolved,
    })
}

fn bad_pin(shown: &str, pin: &str) -> FeatureError {
    FeatureError::Invalid {
        id: shown.to_string(),
        reason: format!("its pinned digest `{pin}` is not `sha256:` and 64 hex digits"),
        help: "fix or delete its entry in devcontainer-lock.json".into(),
    }
}

fn failed(shown: &str, failure: Failure) -> FeatureError {
    match failure {
        Failure::Content(reason) => FeatureError::Invalid {
            id: shown.to_string(),
            reason,
            help: "the Feature's files cannot be used as they are; ask its publisher, or pin \
                   an older version"
                .into(),
        },
        Failure::Io {
            action,
            path,
            error,
        } => FeatureError::Invalid {
            id: shown.to_string(),
            reason: format!("cannot {action} {}: {error}", path.display()),
            help: "check that the path is readable and devboot's cache folder \
                   ($XDG_CACHE_HOME/devboot or ~/.cache/devboot) is writable"
                .into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(setting: &str) -> EnvMap {
        EnvMap::from([("DEVBOOT_REGISTRY_MIRROR".into(), setting.into())])
    }

    fn node(version: Version) -> OciRef {
        OciRef {
            registry: "ghcr.io".into(),
            namespace: "devcontainers/features".into(),
            id: "node".into(),
            version,
        }
    }

    #[test]
    fn a_bad_mirror_setting_is_an_error_naming_the_feature_and_the_setting() {
        let cache = tempfile::tempdir().unwrap();
        let mut f = Fetcher::new(cache.path(), &mirror("ghcr.io"));
        let err = f
            .resolve(&Source::Oci(node(Version::Tag("1".into()))))
            .unwrap_err();
        let FeatureError::BadId { id, reason, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(id, "ghcr.io/devcontainers/features/node:1");
        assert!(reason.contains("DEVBOOT_REGISTRY_MIRROR"), "{reason}");
    }

    #[test]
    fn a_cached_pinned_digest_makes_no_request() {
        let cache = tempfile::tempdir().unwrap();
        let digest = format!("sha256:{}", "cd".repeat(32));
        let folder = cache.path().join("features").join("cd".repeat(32));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(METADATA_FILE), r#"{"id":"node"}"#).unwrap();
        // A closed port: any request would fail.
        let mut f = Fetcher::new(cache.path(), &mirror("ghcr.io=127.0.0.1:1"));
        let source = Source::Oci(node(Version::Tag("1".into())));
        f.pin(&source, &digest);
        let fetched = f.resolve(&source).unwrap();
        assert_eq!(fetched.folder, folder);
        assert_eq!(fetched.metadata.id, "node");
        assert_eq!(
            fetched.resolved.as_deref(),
            Some(format!("ghcr.io/devcontainers/features/node@{digest}").as_str())
        );
    }

    #[test]
    fn a_tarball_must_be_https_or_loopback_and_named_for_its_id() {
        let cache = tempfile::tempdir().unwrap();
        let mut f = Fetcher::new(cache.path(), &EnvMap::new());
        for (url, says) in [
            (
                "http://example.com/devcontainer-feature-x.tgz",
                "plain HTTP",
            ),
            ("https://example.com/x.tgz", "devcontainer-feature-x.tgz"),
        ] {
            let err = f
                .resolve(&Source::Tarball {
                    url: url.into(),
                    id: "x".into(),
                })
                .unwrap_err();
            assert!(matches!(err, FeatureError::BadId { .. }), "{err:?}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn a_local_folder_is_copied_under_its_digest_and_a_change_gives_a_new_one() {
        let cache = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let path = work.path().join(".devcontainer/local");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(
            path.join(METADATA_FILE),
            r#"{"id":"local","version":"1.0.0"}"#,
        )
        .unwrap();
        std::fs::write(path.join("install.sh"), "echo 1").unwrap();
        let source = Source::Local {
            path: path.clone(),
            id: "local".into(),
        };
        let mut f = Fetcher::new(cache.path(), &EnvMap::new());
        let first = f.resolve(&source).unwrap();
        assert!(first.folder.starts_with(cache.path().join("features")));
        assert_eq!(
            std::fs::read(first.folder.join("install.sh")).unwrap(),
            b"echo 1"
        );
        assert_eq!(first.resolved, None);
        assert_eq!(first.metadata.version.as_deref(), Some("1.0.0"));
        assert_eq!(f.resolve(&source).unwrap(), first);
        std::fs::write(path.join("install.sh"), "echo 2").unwrap();
        let second = f.resolve(&source).unwrap();
        assert_ne!(second.digest, first.digest);
        assert_eq!(
            std::fs::read(second.folder.join("install.sh")).unwrap(),
            b"echo 2"
        );
        // The old copy is still whole: a build that started with it is not disturbed.
        assert_eq!(
            std::fs::read(first.folder.join("install.sh")).unwrap(),
            b"echo 1"
        );
    }

    #[test]
    fn a_missing_local_folder_or_metadata_file_is_named() {
        let cache = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let mut f = Fetcher::new(cache.path(), &EnvMap::new());
        let missing = work.path().join("nope");
        let err = f
            .resolve(&Source::Local {
                path: missing.clone(),
                id: "nope".into(),
            })
            .unwrap_err();
        assert!(matches!(err, FeatureError::NotFound { .. }), "{err:?}");
        std::fs::create_dir(&missing).unwrap();
        std::fs::write(missing.join("install.sh"), "x").unwrap();
        let err = f
            .resolve(&Source::Local {
                path: missing,
                id: "nope".into(),
            })
            .unwrap_err();
        assert!(err.to_string().contains(METADATA_FILE), "{err}");
    }
}
