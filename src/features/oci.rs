//! A small client for the OCI registry v2 API: exactly the calls Features need (a manifest, a
//! blob, the tag list, the token service) and the plain downloads of tarball Features.
//!
//! - Scheme: plain HTTP only to `localhost`, `127.0.0.1` and `[::1]` (any port), HTTPS
//!   everywhere else, for registries, token services and tarball URLs alike.
//! - Every request has a connect and a total time limit; HTTPS goes through `HTTPS_PROXY`
//!   (or `ALL_PROXY`) unless `NO_PROXY` names the host; loopback never goes through a proxy.
//! - Auth (see [`auth`]): anonymous first, then what a 401/403 asks for. An `Authorization`
//!   that worked is kept per repository for the next requests.
//! - Integrity: a manifest's digest is the sha256 of the bytes served (and must equal the
//!   `Docker-Content-Digest` header when there is one, and the digest asked for); a blob must
//!   hash to its digest.
//!
//! The environment (proxies, credentials) comes in as a map; the process's is never read.

mod auth;
mod http;
pub mod mirror;

use std::collections::HashMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::FeatureError;
use crate::workspace::EnvMap;

use http::{Http, Reply, base_url};
pub use http::{check_scheme, is_loopback, url_host};
pub use mirror::{Mirrors, Route};

/// What a Feature's manifest is asked for as.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config media type that marks a Feature (or Template) artifact.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.devcontainers";
/// The manifest annotation holding the whole `devcontainer-feature.json`.
pub const METADATA_ANNOTATION: &str = "dev.containers.metadata";

/// Body limits: manifests, tag lists and tokens are small; a layer may be large.
const SMALL: u64 = 8 << 20;
const LARGE: u64 = 512 << 20;

/// One Feature's repository as requests reach it, and as the user knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where the requests go (after the mirror setting).
    pub route: Route,
    /// The Feature as the user wrote it (`ghcr.io/devcontainers/features/node:1`): what
    /// messages name.
    pub feature: String,
}

/// A Feature's manifest: its digest, its one layer, and the metadata annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:<hex>` of the manifest bytes.
    pub digest: String,
    /// The first layer: the Feature's files as a tar (plain or gzip).
    pub layer: Layer,
    /// The `dev.containers.metadata` annotation: the whole `devcontainer-feature.json`.
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Deserialize)]
struct RawManifest {
    config: Layer,
    #[serde(default)]
    layers: Vec<Layer>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

/// Talks to registries and tarball servers for one run.
pub struct Client {
    http: Http,
    env: EnvMap,
    /// `registry/path` → the `Authorization` value that worked there.
    auth: HashMap<String, String>,
}

impl Client {
    pub fn new(env: &EnvMap) -> Client {
        Client {
            http: Http::new(env),
            env: env.clone(),
            auth: HashMap::new(),
        }
    }

    /// The manifest for `reference` (a tag, or `sha256:<hex>`, which the manifest must then
    /// hash to).
    pub fn manifest(&mut self, t: &Target, reference: &str) -> Result<Manifest, FeatureError> {
        let url = format!(
            "{}/v2/{}/manifests/{reference}",
            base_url(&t.route.registry),
            t.route.path
        );
        let reply = self.get(t, &url, Some(MANIFEST_MEDIA_TYPE), SMALL)?;
        let what = match reference.strip_prefix("sha256:") {
            Some(_) => format!("no manifest `{reference}`"),
            None => format!("no tag `{reference}`"),
        };
        let reply = check_status(t, reply, &what)?;
        let digest = sha256_digest(&reply.body);
        if let Some(header) = reply.digest.as_deref().filter(|h| *h != digest) {
            return Err(invalid(
                t,
                &format!(
                    "the registry says the manifest is {header}, but what it sent is {digest}"
                ),
            ));
        }
        if reference.starts_with("sha256:") && reference != digest {
            return Err(invalid(
                t,
                &format!("the manifest asked for as {reference} is {digest}: digest did not match"),
            ));
        }
        let mut raw: RawManifest = serde_json::from_slice(&reply.body).map_err(|e| {
            invalid(
                t,
                &format!("its manifest is not an OCI image manifest: {e}"),
            )
        })?;
        if raw.config.media_type != CONFIG_MEDIA_TYPE {
            return Err(invalid(
                t,
                &format!(
                    "it is not a Dev Container Feature: its config's media type is `{}`, not `{CONFIG_MEDIA_TYPE}`",
                    raw.config.media_type
                ),
            ));
        }
        let Some(layer) = raw.layers.drain(..).next() else {
            return Err(invalid(t, "its manifest has no layer"));
        };
        Ok(Manifest {
            digest,
            layer,
            metadata: raw.annotations.remove(METADATA_ANNOTATION),
        })
    }

    /// The blob `digest` (`sha256:<hex>`), checked against it.
    pub fn blob(&mut self, t: &Target, digest: &str) -> Result<Vec<u8>, FeatureError> {
        if !is_sha256_digest(digest) {
            return Err(invalid(
                t,
                &format!("its layer's digest `{digest}` is not a sha256 digest"),
            ));
        }
        let url = format!(
            "{}/v2/{}/blobs/{digest}",
            base_url(&t.route.registry),
            t.route.path
        );
        let reply = self.get(t, &url, None, LARGE)?;
        let reply = check_status(t, reply, &format!("no layer `{digest}`"))?;
        check_digest(&reply.body, digest).map_err(|reason| invalid(t, &reason))?;
        Ok(reply.body)
    }

    /// Every tag of the repository (following `Link: <...>; rel="next"` pages).
    pub fn tags(&mut self, t: &Target) -> Result<Vec<String>, FeatureError> {
        #[derive(Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let base = base_url(&t.route.registry);
        let mut url = format!("{base}/v2/{}/tags/list", t.route.path);
        let mut tags = Vec::new();
        // A bound, so a registry that links in circles cannot keep devboot busy.
        for _ in 0..100 {
            let reply = self.get(t, &url, Some("application/json"), SMALL)?;
            let reply = check_status(t, reply, "no such Feature")?;
            let list: TagList = serde_json::from_slice(&reply.body)
                .map_err(|e| invalid(t, &format!("its tag list is not JSON: {e}")))?;
            tags.extend(list.tags.unwrap_or_default());
            match reply.link.as_deref().and_then(next_link) {
                Some(next) if next.starts_with('/') => url = format!("{base}{next}"),
                Some(next) if next.starts_with(&base) => url = next,
                _ => break,
            }
        }
        Ok(tags)
    }

    /// The bytes at a tarball Feature's URL (`https://`, or `http://` to loopback).
    /// GitHub URLs carry `GITHUB_TOKEN` when it is set, as the reference CLI sends it.
    pub fn download(&self, url: &str, feature: &str) -> Result<Vec<u8>, FeatureError> {
        let host = url_host(url).unwrap_or_default();
        let unreachable = |reason: String| FeatureError::Unreachable {
            id: feature.to_string(),
            host: host.clone(),
            reason,
            help: "check the network and the proxy (HTTPS_PROXY, NO_PROXY); or download the \
                   tarball, unpack it under .devcontainer/ and use the folder"
                .into(),
        };
        let token = self.env.get("GITHUB_TOKEN").filter(|t| !t.is_empty());
        let bearer = token
            .filter(|_| {
                url.starts_with("https://github.com/") || url.starts_with("https://api.github.com/")
            })
            .map(|t| format!("Bearer {t}"));
        let reply = self
            .http
            .get(url, None, bearer.as_deref(), LARGE)
            .map_err(&unreachable)?;
        match reply.status {
            200..=299 => Ok(reply.body),
            404 => Err(FeatureError::NotFound {
                id: feature.to_string(),
                reason: format!("{url} answered 404: no such file"),
                help: "check the URL in devcontainer.json".into(),
            }),
            status => Err(unreachable(format!("{url} answered HTTP {status}"))),
        }
    }

    /// A GET with the registry's auth dance: anonymous (or what worked before) first, then
    /// what a 401/403 asks for.
    fn get(
        &mut self,
        t: &Target,
        url: &str,
        accept: Option<&str>,
        limit: u64,
    ) -> Result<Reply, FeatureError> {
        let key = format!("{}/{}", t.route.registry, t.route.path);
        let known = self.auth.get(&key).cloned();
        let reply = self
            .http
            .get(url, accept, known.as_deref(), limit)
            .map_err(|e| unreachable(t, e))?;
        if !matches!(reply.status, 401 | 403) {
            return Ok(reply);
        }
        let Some(challenge) = reply
            .www_authenticate
            .as_deref()
            .and_then(auth::parse_challenge)
        else {
            return Ok(reply);
        };
        let Some(authorization) = self.authorize(t, &challenge)? else {
            return Ok(reply);
        };
        let again = self
            .http
            .get(url, accept, Some(&authorization), limit)
            .map_err(|e| unreachable(t, e))?;
        if !matches!(again.status, 401 | 403) {
            self.auth.insert(key, authorization);
        }
        Ok(again)
    }

    /// The `Authorization` value that answers `challenge`, or `None` when there is none to
    /// offer (no credentials for Basic, no token given).
    fn authorize(
        &self,
        t: &Target,
        challenge: &auth::Challenge,
    ) -> Result<Option<String>, FeatureError> {
        let credential = auth::credential(&t.route.registry, &self.env);
        let (realm, service, scope) = match challenge {
            auth::Challenge::Basic => {
                return Ok(match credential {
                    Some(auth::Credential::Basic(b)) => Some(format!("Basic {b}")),
                    _ => None,
                });
            }
            auth::Challenge::Bearer {
                realm,
                service,
                scope,
            } => (realm, service.clone().unwrap_or_default(), scope.clone()),
        };
        // Credentials go to the token service the registry names only over HTTPS (or to
        // loopback): a registry cannot send them anywhere in clear text.
        check_scheme(realm).map_err(|reason| {
            unreachable(
                t,
                format!("its token service {realm} cannot be used: {reason}"),
            )
        })?;
        let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", t.route.path));
        let ask = |credential: Option<&auth::Credential>| -> Result<Reply, FeatureError> {
            let reply = match credential {
                Some(auth::Credential::Refresh(token)) => self.http.post_form(
                    realm,
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", "devboot"),
                        ("service", &service),
                        ("scope", &scope),
                        ("refresh_token", token),
                    ],
                ),
                Some(auth::Credential::Basic(b)) => {
                    let url = token_url(realm, &service, &scope);
                    self.http
                        .get(&url, None, Some(&format!("Basic {b}")), SMALL)
                }
                None => self
                    .http
                    .get(&token_url(realm, &service, &scope), None, None, SMALL),
            };
            reply.map_err(|e| unreachable(t, format!("its token service {realm}: {e}")))
        };
        let mut reply = ask(credential.as_ref())?;
        // Expired or wrong credentials: a public Feature still comes anonymously.
        if matches!(reply.status, 401 | 403) && credential.is_some() {
            reply = ask(None)?;
        }
        if !(200..=299).contains(&reply.status) {
            return Ok(None);
        }
        Ok(auth::token_of(&reply.body).map(|token| format!("Bearer {token}")))
    }
}

fn token_url(realm: &str, service: &str, scope: &str) -> String {
    // RFC 3986 unreserved characters stay as they are.
    const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, QUERY).to_string();
    let join = if realm.contains('?') { '&' } else { '?' };
    let mut url = format!("{realm}{join}scope={}", enc(scope));
    if !service.is_empty() {
        url.push_str("&service=");
        url.push_str(&enc(service));
    }
    url
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::container::hex(&Sha256::digest(bytes)))
}

/// `sha256:` and 64 lower-case hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Checks that `bytes` hash to `expected`; the error says both digests.
pub fn check_digest(bytes: &[u8], expected: &str) -> Result<(), String> {
    let actual = sha256_digest(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "digest did not match: expected {expected}, got {actual}"
        ))
    }
}

/// The target of `Link: <...>; rel="next"`.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

fn check_status(t: &Target, reply: Reply, what: &str) -> Result<Reply, FeatureError> {
    match reply.status {
        200..=299 => Ok(reply),
        404 => {
            let body = String::from_utf8_lossy(&reply.body);
            let reason = if body.contains("NAME_UNKNOWN") {
                format!("{} has no such Feature (404)", place(t))
            } else {
                format!("{} has {what} (404)", place(t))
            };
            Err(FeatureError::NotFound {
                id: t.feature.clone(),
                reason,
                help: "check the Feature's name and version in devcontainer.json".into(),
            })
        }
        401 | 403 => Err(FeatureError::Unreachable {
            id: t.feature.clone(),
            host: t.route.registry.clone(),
            reason: format!(
                "the registry refused access (HTTP {}): the Feature is private, or does not exist",
                reply.status
            ),
            help: format!(
                "log in with `docker login {0}`, or set DEVCONTAINERS_OCI_AUTH={0}|<user>|<token>",
                t.route.registry
            ),
        }),
        status => Err(unreachable(t, format!("it answered HTTP {status}"))),
    }
}

/// `127.0.0.1:5000/devcontainers/features/node (the mirror of ghcr.io)`.
fn place(t: &Target) -> String {
    let at = format!("{}/{}", t.route.registry, t.route.path);
    match &t.route.mirror_of {
        Some(original) => format!("{at} (the mirror of {original})"),
        None => at,
    }
}

fn unreachable(t: &Target, reason: String) -> FeatureError {
    let help = match &t.route.mirror_of {
        Some(original) => format!(
            "check that the mirror {} answers, or change the `{original}=` entry of DEVBOOT_REGISTRY_MIRROR",
            t.route.registry
        ),
        None => format!(
            "check the network and the proxy (HTTPS_PROXY, NO_PROXY), or fetch from a mirror: \
             DEVBOOT_REGISTRY_MIRROR={}=<host:port>",
            t.route.registry
        ),
    };
    let reason = match &t.route.mirror_of {
        Some(original) => format!("{reason} (it is the mirror of {original})"),
        None => reason,
    };
    FeatureError::Unreachable {
        id: t.feature.clone(),
        host: t.route.registry.clone(),
        reason,
        help,
    }
}

fn invalid(t: &Target, reason: &str) -> FeatureError {
    FeatureError::Invalid {
        id: t.feature.clone(),
        reason: format!("{}: {reason}", place(t)),
        help: "the registry serves something that is not this Feature; check the mirror, or \
               ask the Feature's publisher"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_check_names_both_digests() {
        let good = sha256_digest(b"feature");
        assert!(check_digest(b"feature", &good).is_ok());
        let err = check_digest(b"featurE", &good).unwrap_err();
        assert!(
            err.contains(&good) && err.contains("did not match"),
            "{err}"
        );
        assert!(is_sha256_digest(&good));
        assert!(!is_sha256_digest("sha256:abc"));
        assert!(!is_sha256_digest(&good.to_uppercase()));
        assert!(!is_sha256_digest(&good.replace("sha256", "sha512")));
    }

    #[test]
    fn the_next_page_of_tags_comes_from_the_link_header() {
        assert_eq!(
            next_link(r#"</v2/x/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?n=2&last=b")
        );
        assert_eq!(next_link(r#"<https://a/b>; rel="prev""#), None);
    }

    #[test]
    fn the_token_url_keeps_the_realm_query_and_encodes_the_scope() {
        assert_eq!(
            token_url("https://ghcr.io/token", "ghcr.io", "repository:a/b:pull"),
            "https://ghcr.io/token?scope=repository%3Aa%2Fb%3Apull&service=ghcr.io"
        );
        assert!(token_url("https://r/t?x=1", "", "s").starts_with("https://r/t?x=1&scope=s"));
    }
}
