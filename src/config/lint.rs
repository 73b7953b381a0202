//! Advice `devboot validate` gives beyond what the schemas and the model check: a value
//! that hard-codes the URL of a port in Gitpod or Codespaces (here), the same and
//! `localhost` URLs in a compose file's `environment` (`compose.rs`); the options given to
//! Dev Container Features (`features.rs`); and the VS Code extensions a config lists, named
//! in the warning that says devboot ignores them.
//!
//! Configs written for one hosted service build port URLs by hand, e.g.
//! `https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}` (the cruddur
//! bootcamp's `BACKEND_URL`) or `https://${CODESPACE_NAME}-4567.${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}`.
//! Such a URL is wrong everywhere else (outside Gitpod it becomes `https://4567-.`), while
//! `${portUrl:4567}` is right wherever the workspace runs. Only those two shapes are
//! recognised (the port next to the workspace's id or name, or a literal `*.gitpod.io` /
//! `*.github.dev` host of that shape): any other URL is none of this module's business.

use std::fmt::Write as _;
use std::ops::Range;

use crate::config::source::{Document, Location, Span, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::Format;

mod compose;
mod features;
pub use compose::{ComposeUse, compose_environment_urls};
pub use features::feature_options;

/// A hard-coded port URL found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUrl {
    /// Byte range of the URL's scheme and host in the string.
    pub range: Range<usize>,
    pub port: u16,
    pub service: Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Gitpod,
    Codespaces,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Gitpod => "Gitpod",
            Service::Codespaces => "Codespaces",
        }
    }
}

/// Warnings for every hard-coded port URL in the document's string values.
pub fn hard_coded_port_urls(doc: &Document, format: Format) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    walk(doc, format, &doc.value, "", &mut diagnostics);
    diagnostics
}

fn walk(
    doc: &Document,
    format: Format,
    value: &serde_json::Value,
    pointer: &str,
    diagnostics: &mut Diagnostics,
) {
    match value {
        serde_json::Value::String(text) => {
            for found in find_port_urls(text) {
                diagnostics.push(warning(doc, format, pointer, text, &found));
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(
                    doc,
                    format,
                    item,
                    &pointer_push(pointer, &i.to_string()),
                    diagnostics,
                );
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                walk(doc, format, item, &pointer_push(pointer, key), diagnostics);
            }
        }
        _ => {}
    }
}

/// Where devboot expands `${portUrl:N}`: Gitpod's top-level and task `env`, devcontainer
/// `containerEnv` and `remoteEnv`.
fn is_env_value(format: Format, pointer: &str) -> bool {
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    match format {
        Format::Gitpod => matches!(parts.as_slice(), ["env", _] | ["tasks", _, "env", _]),
        Format::Devcontainer => {
            matches!(parts.as_slice(), ["containerEnv" | "remoteEnv", _])
        }
    }
}

fn warning(
    doc: &Document,
    format: Format,
    pointer: &str,
    text: &str,
    found: &PortUrl,
) -> Diagnostic {
    let written = &text[found.range.clone()];
    let port = found.port;
    let help = if is_env_value(format, pointer) {
        format!(
            "write `${{portUrl:{port}}}` instead: devboot puts the URL of port {port} there \
             wherever the workspace runs (Gitpod, Codespaces or http://localhost)"
        )
    } else {
        let place = match format {
            Format::Gitpod => "the task's `env`",
            Format::Devcontainer => "`containerEnv` or `remoteEnv`",
        };
        format!(
            "set a variable to `${{portUrl:{port}}}` in {place} (devboot puts the URL of \
             port {port} there wherever the workspace runs) and use that variable here"
        )
    };
    Diagnostic::warning(format!(
        "`{written}` hard-codes the {} URL of port {port}",
        found.service.name()
    ))
    .at(url_location(doc, pointer, text, found.range.clone()))
    .label(format!("right only inside {}", found.service.name()))
    .help(help)
}

/// The URL's place in the file when the value is written there as is (plain, quoted without
/// escapes, or a block scalar); else the whole value.
fn url_location(doc: &Document, pointer: &str, text: &str, range: Range<usize>) -> Location {
    let span = doc.spans.value_or_parent(pointer);
    let written = &text[range.clone()];
    let nth = text[..range.start].matches(written).count();
    let source = doc.file.text.get(span.start..span.end).unwrap_or_default();
    match source.match_indices(written).nth(nth) {
        Some((at, _)) => Location::new(
            &doc.file,
            Span::new(span.start + at, span.start + at + written.len()),
        ),
        None => Location::new(&doc.file, span),
    }
}

/// Where each format lists VS Code extensions: the key whose "ignored" warning names
/// them, and the list.
const EXTENSION_LISTS: [(Format, &str, &str); 3] = [
    (
        Format::Devcontainer,
        "/customizations",
        "/customizations/vscode/extensions",
    ),
    (Format::Devcontainer, "/extensions", "/extensions"),
    (Format::Gitpod, "/vscode", "/vscode/extensions"),
];

/// Adds the VS Code extensions a config lists to the warning that says devboot ignores the
/// key holding them, so the user knows what to install in the editor.
pub fn name_ide_extensions(doc: &Document, format: Format, diagnostics: &mut Diagnostics) {
    for (_, key, list) in EXTENSION_LISTS.iter().filter(|(f, ..)| *f == format) {
        let names: Vec<&str> = doc
            .value
            .pointer(list)
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .collect();
        if names.is_empty() {
            continue;
        }
        let at = doc.key_location(key);
        let about_key = |d: &&mut Diagnostic| {
            !d.is_error()
                && d.location
                    .as_ref()
                    .is_some_and(|l| l.span == at.span && std::sync::Arc::ptr_eq(&l.file, &at.file))
        };
        if let Some(warning) = diagnostics.0.iter_mut().find(about_key) {
            let _ = write!(
                warning.message,
                " (it lists the VS Code extensions {}: install them in your editor)",
                names.join(", ")
            );
        }
    }
}

/// A piece of a URL's host: literal text, or a variable reference.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'t> {
    Text(&'t str),
    Var(&'t str),
}

/// Where each `http://` or `https://` URL of `text` starts, and where its host starts.
fn url_starts(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    text.match_indices("://").filter_map(|(at, _)| {
        let scheme_start = if text[..at].ends_with("https") {
            at - 5
        } else if text[..at].ends_with("http") {
            at - 4
        } else {
            return None;
        };
        // `xhttps://` is not a URL start.
        let glued = text[..scheme_start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        (!glued).then_some((scheme_start, at + 3))
    })
}

/// Every hard-coded Gitpod or Codespaces port URL in `text`.
pub fn find_port_urls(text: &str) -> Vec<PortUrl> {
    let mut out = Vec::new();
    for (scheme_start, host_start) in url_starts(text) {
        let (pieces, host_end) = host_pieces(&text[host_start..]);
        if let Some((port, service)) = classify(&pieces) {
            out.push(PortUrl {
                range: scheme_start..host_start + host_end,
                port,
                service,
            });
        }
    }
    out
}

/// Splits a URL's host (from its start to the first character that ends a host) into
/// literal text and variable references: `$NAME`, `${NAME}`, `${NAME:-default}` and
/// devcontainer.json's `${localEnv:NAME}`, `${containerEnv:NAME}`, `${env:NAME}`.
fn host_pieces(rest: &str) -> (Vec<Piece<'_>>, usize) {
    let mut pieces = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    let bytes = rest.as_bytes();
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'$' {
            let reference = if bytes.get(i + 1) == Some(&b'{') {
                rest[i + 2..].find('}').map(|close| {
                    let inner = &rest[i + 2..i + 2 + close];
                    let inner = ["localEnv:", "containerEnv:", "env:"]
                        .iter()
                        .find_map(|p| inner.strip_prefix(p))
                        .unwrap_or(inner);
                    (name_prefix(inner), close + 3)
                })
            } else {
                let name = name_prefix(&rest[i + 1..]);
                (!name.is_empty()).then_some((name, name.len() + 1))
            };
            if let Some((name, len)) = reference {
                if text_start < i {
                    pieces.push(Piece::Text(&rest[text_start..i]));
                }
                pieces.push(Piece::Var(name));
                i += len;
                text_start = i;
                continue;
            }
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_') {
            i += 1;
        } else {
            break;
        }
    }
    if text_start < i {
        pieces.push(Piece::Text(&rest[text_start..i]));
    }
    (pieces, i)
}

/// The leading `[A-Za-z_][A-Za-z0-9_]*` of `text`.
fn name_prefix(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())))
        .map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// Recognises `<port>-<workspace id>.…` (Gitpod) and `<codespace name>-<port>.…`
/// (Codespaces), with the id or name as a variable or, for the hosts themselves, literal.
fn classify(pieces: &[Piece<'_>]) -> Option<(u16, Service)> {
    match pieces {
        [Piece::Text(prefix), Piece::Var("GITPOD_WORKSPACE_ID"), ..] => Some((
            crate::workspace::Port::number(prefix.strip_suffix('-')?)?,
            Service::Gitpod,
        )),
        [Piece::Var("CODESPACE_NAME"), Piece::Text(rest), ..] => {
            let after = rest.strip_prefix('-')?;
            let digits = after.split('.').next()?;
            Some((crate::workspace::Port::number(digits)?, Service::Codespaces))
        }
        [Piece::Text(host)] => literal_host(host),
        _ => None,
    }
}

/// `4567-owner-repo-abc123.ws-eu11.gitpod.io` or `name-4567.app.github.dev`.
fn literal_host(host: &str) -> Option<(u16, Service)> {
    let (first, domain) = host.split_once('.')?;
    let domain = domain.to_ascii_lowercase();
    if domain == "gitpod.io" || domain.ends_with(".gitpod.io") {
        let (port, id) = first.split_once('-')?;
        if id.is_empty() {
            return None;
        }
        return Some((crate::workspace::Port::number(port)?, Service::Gitpod));
    }
    if domain == "app.github.dev"
        || domain.ends_with(".app.github.dev")
        || domain == "githubpreview.dev"
        || domain.ends_with(".githubpreview.dev")
    {
        let (name, port) = first.rsplit_once('-')?;
        if name.is_empty() {
            return None;
        }
        return Some((crate::workspace::Port::number(port)?, Service::Codespaces));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The warnings of a config file, with the extensions named.
    fn warnings_of(name: &str, text: &str, format: Format) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let context = crate::config::Context {
            local_folder: dir.path().to_path_buf(),
            config_file: path.clone(),
            host_env: crate::workspace::EnvMap::new(),
        };
        let mut loaded = crate::config::load_file(&path, format, &context).unwrap();
        name_ide_extensions(&loaded.document, format, &mut loaded.diagnostics);
        loaded
            .diagnostics
            .warnings()
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn the_ignored_ide_settings_name_their_extensions() {
        assert_eq!(
            warnings_of(
                ".gitpod.yml",
                "image: x\nvscode:\n  extensions:\n    - ms-python.python\n    - esbenp.prettier-vscode\n",
                Format::Gitpod
            ),
            [
                "vscode: ignored, devboot does not install IDE extensions (it lists the VS Code extensions ms-python.python, esbenp.prettier-vscode: install them in your editor)"
            ]
        );
        assert_eq!(
            warnings_of(
                ".devcontainer/devcontainer.json",
                r#"{"image": "x", "customizations": {"vscode": {"extensions": ["ms-python.python"], "settings": {}}}}"#,
                Format::Devcontainer
            ),
            [
                "`customizations` is ignored: tool-specific settings are not used by devboot (it lists the VS Code extensions ms-python.python: install them in your editor)"
            ]
        );
        // Settings without extensions: nothing to name.
        assert_eq!(
            warnings_of(
                ".devcontainer/devcontainer.json",
                r#"{"image": "x", "customizations": {"vscode": {"settings": {}}}}"#,
                Format::Devcontainer
            ),
            ["`customizations` is ignored: tool-specific settings are not used by devboot"]
        );
    }

    fn found(text: &str) -> Vec<(String, u16, Service)> {
        find_port_urls(text)
            .into_iter()
            .map(|f| (text[f.range].to_string(), f.port, f.service))
            .collect()
    }

    #[test]
    fn gitpod_shapes() {
        let url = "https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}";
        assert_eq!(found(url), vec![(url.to_string(), 4567, Service::Gitpod)]);
        assert_eq!(
            found("export U=https://3000-$GITPOD_WORKSPACE_ID.$GITPOD_WORKSPACE_CLUSTER_HOST/api"),
            vec![(
                "https://3000-$GITPOD_WORKSPACE_ID.$GITPOD_WORKSPACE_CLUSTER_HOST".to_string(),
                3000,
                Service::Gitpod
            )]
        );
        assert_eq!(
            found("echo URL=https://8080-${GITPOD_WORKSPACE_ID}.${region}.gitpod.io > .env")[0].1,
            8080
        );
        assert_eq!(
            found("http://4567-${containerEnv:GITPOD_WORKSPACE_ID}.x")[0].1,
            4567
        );
        assert_eq!(
            found("https://3000-me-cruddur-8tcok2iab13.ws-us88.gitpod.io/x")[0].1,
            3000
        );
    }

    #[test]
    fn codespaces_shapes() {
        let url = "https://${CODESPACE_NAME}-4567.${GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}";
        assert_eq!(
            found(url),
            vec![(url.to_string(), 4567, Service::Codespaces)]
        );
        assert_eq!(
            found("https://${localEnv:CODESPACE_NAME}-3000.${localEnv:GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN}")[0].1,
            3000
        );
        assert_eq!(
            found("https://octo-literate-space-3000.app.github.dev")[0].1,
            3000
        );
    }

    #[test]
    fn other_urls_are_left_alone() {
        for text in [
            "https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip",
            "http://localhost:4567/api",
            "https://www.gitpod.io/docs/configure/workspaces/tasks",
            "https://${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}",
            "${portUrl:4567}",
            "https://github.com/gitpod-io/gitpod/issues/4567",
            "https://4567-${OTHER}.example.com",
            "https://${CODESPACE_NAME}.github.dev",
            "https://docs.github.dev/x-1",
            "xhttps://4567-${GITPOD_WORKSPACE_ID}.x",
            "https://ws-eu11.gitpod.io",
        ] {
            assert_eq!(found(text), vec![], "{text}");
        }
    }
}
