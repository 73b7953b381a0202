//! Registry authentication as the reference CLI does it (`httpOCIRegistry.ts`): a request
//! goes out anonymously; a 401/403 names a scheme in `WWW-Authenticate` — `Basic` (resend
//! with credentials) or `Bearer` (ask the named token service for a token, with credentials
//! when there are some, and anonymously when they are refused).
//!
//! Credentials, first found wins: `DEVCONTAINERS_OCI_AUTH` (`registry|user|token,...`), the
//! docker `config.json` (`$DOCKER_CONFIG` or `~/.docker`: `credHelpers`, `credsStore`,
//! `auths`), `GITHUB_TOKEN` for ghcr.io. Everything comes from the environment map handed in.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::workspace::EnvMap;

/// What a 401/403 asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Credential {
    /// base64 of `user:secret`, as sent after `Basic `.
    Basic(String),
    /// An `OAuth2` refresh token (`identitytoken`, or a helper's `<token>` user), traded at the
    /// token service for an access token.
    Refresh(String),
}

// Never print a secret, not even in a debug dump.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic(_) => f.write_str("Basic(..)"),
            Credential::Refresh(_) => f.write_str("Refresh(..)"),
        }
    }
}

/// Reads a `WWW-Authenticate` header; `None` for a scheme devboot cannot answer.
pub(super) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let params = parse_params(params);
            let get = |key: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.clone())
            };
            Some(Challenge::Bearer {
                realm: get("realm")?,
                service: get("service"),
                scope: get("scope"),
            })
        }
        _ => None,
    }
}

/// `key="value", key=value` pairs; a quoted value may hold commas (`scope="a:pull,push"`).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (
                quoted[..end].to_string(),
                quoted.get(end + 1..).unwrap_or(""),
            )
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((key, value));
        rest = next.trim_start().trim_start_matches(',');
    }
    out
}

/// The credentials for `registry` (`host[:port]`), or `None` to go anonymously.
pub(super) fn credential(registry: &str, env: &EnvMap) -> Option<Credential> {
    from_oci_auth(registry, env)
        .or_else(|| from_docker_config(registry, env))
        .or_else(|| from_github_token(registry, env))
}

fn basic(user: &str, secret: &str) -> Credential {
    Credential::Basic(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}")))
}

/// `DEVCONTAINERS_OCI_AUTH=registry|user|token,registry2|user2|token2`.
fn from_oci_auth(registry: &str, env: &EnvMap) -> Option<Credential> {
    env.get("DEVCONTAINERS_OCI_AUTH")?
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.splitn(3, '|');
            Some((parts.next()?, parts.next()?, parts.next()?))
        })
        .find(|(r, _, _)| r.trim() == registry)
        .map(|(_, user, token)| basic(user, token))
}

/// ghcr.io takes `GITHUB_TOKEN` (any user name) unless `GITHUB_HOST` points elsewhere.
fn from_github_token(registry: &str, env: &EnvMap) -> Option<Credential> {
    let token = env.get("GITHUB_TOKEN").filter(|t| !t.is_empty())?;
    let host = env.get("GITHUB_HOST").map_or("", String::as_str);
    (registry == "ghcr.io" && (host.is_empty() || host == "github.com"))
        .then(|| basic("USERNAME", token))
}

fn docker_config_path(env: &EnvMap) -> Option<PathBuf> {
    let dir = match env.get("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env.get("HOME")?).join(".docker"),
    };
    Some(dir.join("config.json"))
}

/// `credHelpers[registry]`, else `credsStore`, then `auths[registry]`.
fn from_docker_config(registry: &str, env: &EnvMap) -> Option<Credential> {
    let text = std::fs::read_to_string(docker_config_path(env)?).ok()?;
    let config: Value = serde_json::from_str(&text).ok()?;
    let helper = config
        .get("credHelpers")
        .and_then(|h| h.get(registry))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str);
    if let Some(found) = helper.and_then(|h| from_helper(h, registry, env)) {
        return Some(found);
    }
    let auths = config.get("auths")?;
    // `docker login` writes the bare host; older tools wrote a URL.
    let entry = [
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
    .iter()
    .find_map(|key| auths.get(key))?;
    if let Some(token) = entry.get("identitytoken").and_then(Value::as_str) {
        return Some(Credential::Refresh(token.to_string()));
    }
    entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .map(|a| Credential::Basic(a.to_string()))
}

/// Asks `docker-credential-<helper> get` (the registry on its stdin) for the credentials.
fn from_helper(helper: &str, registry: &str, env: &EnvMap) -> Option<Credential> {
    // The name comes from a file: it must stay a program name.
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return None;
    }
    let cwd = std::env::temp_dir();
    let program =
        which::which_in(format!("docker-credential-{helper}"), env.get("PATH"), &cwd).ok()?;
    // The helper reads the registry from stdin; `output_within` closes stdin, so a shell
    // pipes it in (both as positional arguments, never as code).
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "printf '%s' \"$1\" | exec \"$2\" get", "sh", registry])
        .arg(&program)
        .env_clear()
        .envs(env)
        .current_dir(&cwd);
    let output = crate::process::output_within(&mut cmd, Duration::from_secs(30)).ok()?;
    if !output.status.success() {
        return None;
    }
    let reply: Value = serde_json::from_slice(&output.stdout).ok()?;
    let user = reply.get("Username").and_then(Value::as_str)?;
    let secret = reply.get("Secret").and_then(Value::as_str)?;
    if user == "<token>" {
        Some(Credential::Refresh(secret.to_string()))
    } else {
        Some(basic(user, secret))
    }
}

/// The token in a token service's JSON answer: `token` (ghcr, Docker Hub) or `access_token`
/// (`OAuth2`, Azure).
pub(super) fn token_of(body: &[u8]) -> Option<String> {
    let reply: Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .find_map(|k| reply.get(*k).and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workspace::env_map as env;

    #[test]
    fn a_bearer_challenge_gives_realm_service_and_a_scope_with_commas() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:samalba/my-app:pull,push".into()),
            })
        );
        let c = parse_challenge("bearer realm=https://ghcr.io/token, service=ghcr.io");
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: None,
            })
        );
    }

    #[test]
    fn basic_is_understood_and_other_schemes_or_a_realmless_bearer_are_not() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn oci_auth_comes_first_then_the_docker_config_then_github_token() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"auths": {"127.0.0.1:5000": {"auth": "dTpw"}, "https://ghcr.io": {"auth": "Z2g6dA=="}, "acr.example": {"auth": "", "identitytoken": "refresh"}}}"#,
        )
        .unwrap();
        let dir_s = dir.path().to_str().unwrap();
        let e = env(&[
            ("DOCKER_CONFIG", dir_s),
            ("DEVCONTAINERS_OCI_AUTH", "other|a|b,127.0.0.1:5000|me|tok"),
            ("GITHUB_TOKEN", "gh"),
        ]);
        assert_eq!(credential("127.0.0.1:5000", &e), Some(basic("me", "tok")));
        assert_eq!(
            credential("ghcr.io", &e),
            Some(Credential::Basic("Z2g6dA==".into()))
        );
        assert_eq!(
            credential("acr.example", &e),
            Some(Credential::Refresh("refresh".into()))
        );
        let e = env(&[("HOME", dir_s), ("GITHUB_TOKEN", "gh")]);
        assert_eq!(credential("ghcr.io", &e), Some(basic("USERNAME", "gh")));
        assert_eq!(credential("quay.io", &e), None);
        let e = env(&[("GITHUB_TOKEN", "gh"), ("GITHUB_HOST", "ghe.example")]);
        assert_eq!(credential("ghcr.io", &e), None);
    }

    #[test]
    fn a_credential_helper_is_asked_with_the_registry_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-fake");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread -r reg\n[ \"$1\" = get ] && printf '{\"Username\":\"u-%s\",\"Secret\":\"s\"}' \"$reg\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"credHelpers": {"r.example": "fake"}, "credsStore": "missing-one"}"#,
        )
        .unwrap();
        let dir_s = dir.path().to_str().unwrap();
        let path = format!("{dir_s}:/usr/bin:/bin");
        let e = env(&[("DOCKER_CONFIG", dir_s), ("PATH", &path)]);
        assert_eq!(credential("r.example", &e), Some(basic("u-r.example", "s")));
        // The store's helper is not installed: anonymous.
        assert_eq!(credential("other.example", &e), None);
    }

    #[test]
    fn a_token_is_read_from_token_or_access_token() {
        assert_eq!(token_of(br#"{"token":"a"}"#), Some("a".into()));
        assert_eq!(
            token_of(br#"{"access_token":"b","expires_in":300}"#),
            Some("b".into())
        );
        assert_eq!(token_of(br#"{"token":""}"#), None);
        assert_eq!(token_of(b"<html>"), None);
    }

    #[test]
    fn a_credential_never_shows_its_secret() {
        assert_eq!(format!("{:?}", basic("u", "secret")), "Basic(..)");
    }
}
