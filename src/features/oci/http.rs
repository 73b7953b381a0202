//! The transport under the registry client: HTTP(S) requests with time limits, the proxy
//! chosen per host from the environment map, and the scheme rule (plain HTTP only to
//! loopback). What comes back is the status, the few headers the client reads, and the body
//! up to a limit.

use std::time::Duration;

use ureq::Agent;

use crate::workspace::EnvMap;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);

/// `http://` for a loopback registry, `https://` for any other.
pub(super) fn base_url(registry: &str) -> String {
    let scheme = if is_loopback(host_of(registry)) {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{registry}")
}

/// `localhost`, `127.0.0.1`, `::1` (bracketed or not).
pub fn is_loopback(host: &str) -> bool {
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1" | "[::1]"
    )
}

/// The host of `host[:port]` (`[::1]` keeps its brackets).
fn host_of(authority: &str) -> &str {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// The host of a URL (`https://user@host:port/path` → `host`).
pub fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(host_of(authority).to_string())
}

/// `Ok` for `https://` URLs and `http://` ones to loopback.
pub fn check_scheme(url: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("https") => Ok(()),
        Some("http") if url_host(url).is_some_and(|h| is_loopback(&h)) => Ok(()),
        Some("http") => Err("plain HTTP is used only for localhost, 127.0.0.1 and [::1]".into()),
        _ => Err("only https:// URLs can be fetched".into()),
    }
}

/// What a request got back (the headers the client uses, and the whole body).
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) www_authenticate: Option<String>,
    pub(super) digest: Option<String>,
    pub(super) link: Option<String>,
    pub(super) body: Vec<u8>,
}

/// The HTTP agents: one direct, one through the proxy when one is set.
pub(super) struct Http {
    direct: Agent,
    proxied: Option<Agent>,
    no_proxy: Vec<String>,
}

impl Http {
    pub(super) fn new(env: &EnvMap) -> Http {
        let lookup = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env.get(*n).filter(|v| !v.trim().is_empty()))
                .cloned()
        };
        let proxy = lookup(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
            .and_then(|p| ureq::Proxy::new(&p).ok());
        let no_proxy = lookup(&["NO_PROXY", "no_proxy"])
            .map(|v| {
                v.split(',')
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Http {
            direct: agent(None),
            proxied: proxy.map(|p| agent(Some(p))),
            no_proxy,
        }
    }

    fn agent_for(&self, url: &str) -> &Agent {
        let host = url_host(url).unwrap_or_default();
        match &self.proxied {
            Some(proxied)
                if url.starts_with("https://")
                    && !is_loopback(&host)
                    && !no_proxy_matches(&self.no_proxy, &host) =>
            {
                proxied
            }
            _ => &self.direct,
        }
    }

    pub(super) fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        authorization: Option<&str>,
        limit: u64,
    ) -> Result<Reply, String> {
        check_scheme(url)?;
        let mut request = self.agent_for(url).get(url);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        reply(request.call(), limit)
    }

    pub(super) fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Reply, String> {
        check_scheme(url)?;
        let request = self.agent_for(url).post(url);
        reply(request.send_form(form.iter().copied()), super::SMALL)
    }
}

fn agent(proxy: Option<ureq::Proxy>) -> Agent {
    Agent::config_builder()
        // The proxy is chosen here from the map handed in, never from the process env.
        .proxy(proxy)
        .http_status_as_error(false)
        .timeout_resolve(Some(CONNECT_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(REQUEST_TIMEOUT))
        .user_agent(concat!("devboot/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    limit: u64,
) -> Result<Reply, String> {
    let mut response = result.map_err(|e| transport_reason(&e))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let www_authenticate = header("www-authenticate");
    let digest = header("docker-content-digest");
    let link = header("link");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| transport_reason(&e))?;
    Ok(Reply {
        status,
        www_authenticate,
        digest,
        link,
        body,
    })
}

fn transport_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::HostNotFound => "its name does not resolve".into(),
        ureq::Error::Timeout(_) => format!("no answer in time ({e})"),
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// `NO_PROXY` as curl reads it: `*` is everything; `example.com` and `.example.com` match
/// the host and its subdomains.
fn no_proxy_matches(entries: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    entries.iter().any(|raw| {
        let entry = host_of(raw.trim_start_matches("*.").trim_start_matches('.'));
        raw == "*" || !entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_loopback_registries_only() {
        assert_eq!(base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost"), "http://localhost");
        assert_eq!(base_url("[::1]:5000"), "http://[::1]:5000");
        assert_eq!(base_url("ghcr.io"), "https://ghcr.io");
        assert_eq!(
            base_url("localhost.example:80"),
            "https://localhost.example:80"
        );
        assert!(check_scheme("http://127.0.0.1:8000/devcontainer-feature-x.tgz").is_ok());
        assert!(check_scheme("https://example.com/x.tgz").is_ok());
        assert!(check_scheme("http://example.com/x.tgz").is_err());
        assert!(check_scheme("http://127.0.0.1.example.com/x").is_err());
        assert!(check_scheme("file:///etc/passwd").is_err());
    }

    #[test]
    fn a_url_names_its_host() {
        assert_eq!(
            url_host("https://user:pw@ghcr.io:443/token?x").as_deref(),
            Some("ghcr.io")
        );
        assert_eq!(url_host("http://[::1]:80/x").as_deref(), Some("[::1]"));
        assert_eq!(url_host("no-scheme"), None);
    }

    #[test]
    fn no_proxy_matches_hosts_and_their_subdomains() {
        let entries: Vec<String> = ["corp.example", ".internal", "10.0.0.1:3128"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        assert!(no_proxy_matches(&entries, "corp.example"));
        assert!(no_proxy_matches(&entries, "reg.corp.example"));
        assert!(no_proxy_matches(&entries, "a.internal"));
        assert!(no_proxy_matches(&entries, "10.0.0.1"));
        assert!(!no_proxy_matches(&entries, "ghcr.io"));
        assert!(!no_proxy_matches(&entries, "notcorp.example"));
        assert!(no_proxy_matches(&["*".to_string()], "ghcr.io"));
    }
}
