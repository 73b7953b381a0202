//! Advice about the URLs in a compose file's `environment`: a Gitpod or Codespaces URL
//! formula (outside that service it becomes `https://3000-.`) and a `localhost` URL of a
//! published port (wrong in Gitpod and Codespaces). Both are right wherever the workspace
//! runs when written as `${portUrl:N}` in devcontainer.json's `containerEnv`, which devboot
//! (and the reference CLI) give the service devcontainer.json names.

use std::ops::Range;

use super::{find_port_urls, url_location, url_starts};
use crate::config::compose::{EnvEntry, Published, environment};
use crate::config::source::Document;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::EnvMap;

/// What `validate` knows of the devcontainer.json that uses a compose file.
#[derive(Debug, Clone, Copy)]
pub struct ComposeUse<'a> {
    /// The service devboot works in (`service`): `containerEnv` reaches it only.
    pub service: &'a str,
    /// `containerEnv`: its variables win over the compose file's for `service`.
    pub container_env: &'a EnvMap,
}

/// Warnings for hard-coded port URLs in the services' `environment`. `published` are the
/// ports the compose files publish, `forwarded` the ones devcontainer.json does: a
/// `localhost` URL of another port is the services' own business.
pub fn compose_environment_urls(
    doc: &Document,
    used_by: Option<ComposeUse<'_>>,
    published: &[Published],
    forwarded: &[u16],
) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    let reachable = |port: u16| {
        forwarded.contains(&port)
            || published
                .iter()
                .any(|p| p.host == Some(port) || (p.container..=p.end).contains(&port))
    };
    for entry in environment(doc) {
        let Some(value) = &entry.value else { continue };
        // devboot's override gives the service `containerEnv`, which wins over this value.
        if used_by.is_some_and(|u| {
            u.service == entry.service && u.container_env.contains_key(&entry.name)
        }) {
            continue;
        }
        for found in find_port_urls(value) {
            let hosted = found.service.name();
            let finding = Finding {
                range: found.range,
                port: found.port,
                what: format!("hard-codes the {hosted} URL of port {}", found.port),
                label: format!("right only inside {hosted}"),
            };
            diagnostics.push(warning(doc, &entry, value, &finding, used_by));
        }
        for (range, port) in find_local_urls(value) {
            if reachable(port) {
                let finding = Finding {
                    range,
                    port,
                    what: format!("is the URL of port {port} on this machine only"),
                    label: "wrong in Gitpod and Codespaces".into(),
                };
                diagnostics.push(warning(doc, &entry, value, &finding, used_by));
            }
        }
    }
    diagnostics
}

/// A hard-coded URL found in a value.
struct Finding {
    range: Range<usize>,
    port: u16,
    what: String,
    label: String,
}

fn warning(
    doc: &Document,
    entry: &EnvEntry,
    value: &str,
    found: &Finding,
    used_by: Option<ComposeUse<'_>>,
) -> Diagnostic {
    let (name, port) = (&entry.name, found.port);
    let set = format!("`\"{name}\": \"${{portUrl:{port}}}\"`");
    let everywhere = format!(
        "devboot puts the URL of port {port} there wherever the workspace runs (Gitpod, Codespaces or http://localhost)"
    );
    let help = match used_by {
        Some(u) if u.service == entry.service => format!(
            "set {set} in devcontainer.json's `containerEnv` instead (it wins over this value): {everywhere}"
        ),
        Some(u) => format!(
            "`containerEnv` reaches service `{}` only: for service `{}`, set {set} in devcontainer.json's `containerEnv`, write `{name}: ${{{name}}}` here, and let `devboot env --format dotenv > .env` (beside this file) give Compose the value; {everywhere}",
            u.service, entry.service
        ),
        None => format!(
            "set {set} in the `containerEnv` of the devcontainer.json that uses this file: devboot gives it to the service that file names, with the URL of port {port} wherever the workspace runs (Gitpod, Codespaces or http://localhost); for another service, write `{name}: ${{{name}}}` here and let `devboot env --format dotenv > .env` (beside this file) give Compose the value"
        ),
    };
    Diagnostic::warning(format!(
        "`{}` in `{name}` of service `{}` {}",
        &value[found.range.clone()],
        entry.service,
        found.what
    ))
    .at(url_location(
        doc,
        &entry.pointer,
        value,
        found.range.clone(),
    ))
    .label(found.label.clone())
    .help(help)
}

/// `http://localhost:N` (and `127.0.0.1`, `0.0.0.0`, `[::1]`) URLs with a port: their
/// scheme-to-port range and the port.
fn find_local_urls(text: &str) -> Vec<(Range<usize>, u16)> {
    let mut out = Vec::new();
    for (start, host_start) in url_starts(text) {
        let rest = &text[host_start..];
        let Some(after_host) = ["localhost:", "127.0.0.1:", "0.0.0.0:", "[::1]:"]
            .iter()
            .find_map(|host| rest.strip_prefix(host))
        else {
            continue;
        };
        let digits = after_host
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_host.len());
        if let Some(port) = crate::workspace::Port::number(&after_host[..digits]) {
            let end = text.len() - after_host.len() + digits;
            out.push((start..end, port));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::compose::published;
    use crate::config::source::SourceFile;

    const COMPOSE: &str = r#"services:
  app:
    ports:
      - "4567:4567"
    environment:
      FRONTEND_URL: "https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}"
      BACKEND_URL: http://localhost:4567
      DB_URL: http://localhost:8000
  web:
    environment:
      - REACT_APP_BACKEND_URL=http://127.0.0.1:4567/api
"#;

    fn lint(used_by: Option<ComposeUse<'_>>) -> Vec<(String, String)> {
        let file = SourceFile::new("/w/docker-compose.yml", COMPOSE);
        let doc = crate::config::yaml::parse(&file, &mut Diagnostics::default()).unwrap();
        let ports = published(&doc, &EnvMap::new());
        compose_environment_urls(&doc, used_by, &ports, &[3000])
            .0
            .into_iter()
            .map(|d| {
                let at = d.position().unwrap();
                (
                    format!("{} @{}", d.message, at.rsplit_once("yml:").unwrap().1),
                    d.help.unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn formulas_and_localhost_urls_of_published_ports() {
        let env = EnvMap::new();
        let found = lint(Some(ComposeUse {
            service: "app",
            container_env: &env,
        }));
        let messages: Vec<&str> = found.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}` in `FRONTEND_URL` of service `app` hard-codes the Gitpod URL of port 3000 @6:22",
                "`http://localhost:4567` in `BACKEND_URL` of service `app` is the URL of port 4567 on this machine only @7:20",
                "`http://127.0.0.1:4567` in `REACT_APP_BACKEND_URL` of service `web` is the URL of port 4567 on this machine only @11:31",
            ]
        );
        assert!(
            found[0].1.starts_with(
                "set `\"FRONTEND_URL\": \"${portUrl:3000}\"` in devcontainer.json's `containerEnv` instead"
            ),
            "{}",
            found[0].1
        );
        assert!(
            found[2]
                .1
                .starts_with("`containerEnv` reaches service `app` only: for service `web`"),
            "{}",
            found[2].1
        );
    }

    #[test]
    fn container_env_wins_so_its_names_are_not_warned_about() {
        let env: EnvMap = [("FRONTEND_URL".to_string(), "${portUrl:3000}".to_string())].into();
        let found = lint(Some(ComposeUse {
            service: "app",
            container_env: &env,
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            lint(None)[0]
                .1
                .contains("the devcontainer.json that uses this file")
        );
    }

    #[test]
    fn local_urls() {
        assert_eq!(
            find_local_urls(
                "a http://localhost:3000/x https://[::1]:8443 http://localhost/ ftp://localhost:21"
            ),
            [(2..23, 3000), (26..44, 8443)]
        );
    }
}
