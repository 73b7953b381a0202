//! `${...}` variables in `devcontainer.json`, resolved the way the reference CLI resolves them
//! (`src/spec-common/variableSubstitution.ts`, `reference/devcontainer.md` §c), and the
//! `${devcontainerId}` derived from the container's id labels.
//!
//! Quirks kept on purpose, so a config means the same here as there:
//! - a variable is the shortest `${...}` on one line (`/\$\{(.*?)\}/`), so a default cannot
//!   hold `}`;
//! - its arguments are split on `:` and only the second one is the default, so
//!   `${localEnv:URL:http://x}` defaults to `http`;
//! - an unset variable without a default is the empty string;
//! - object keys are never substituted;
//! - the passes run one after another on the result of the previous one: local variables, then
//!   `${devcontainerId}`, then (once the container runs) `${containerEnv:...}`.
//!
//! Unknown variables stay as written; devboot warns about them, except in commands (where
//! `${NAME}` is the shell's) and in properties it ignores. `${localEnv}` without a name is an
//! error everywhere, as in the reference.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::devcontainer::HOOKS;
use crate::config::source::{Document, Location, Span, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{Command, EnvMap, Format, Phase, Workspace};

/// What the load-time passes substitute.
#[derive(Debug, Clone, Copy)]
pub struct Variables<'a> {
    /// The host's environment, for `${localEnv:NAME}` and `${env:NAME}`.
    pub host_env: &'a EnvMap,
    /// `${localWorkspaceFolder}`: the absolute workspace folder on the host.
    pub local_folder: &'a Path,
    /// `${containerWorkspaceFolder}`, once known.
    pub container_folder: Option<&'a str>,
    /// `${devcontainerId}`, once known.
    pub devcontainer_id: Option<&'a str>,
}

/// The names the reference CLI knows, in any pass.
pub(crate) const KNOWN: [&str; 8] = [
    "localEnv",
    "env",
    "localWorkspaceFolder",
    "localWorkspaceFolderBasename",
    "containerWorkspaceFolder",
    "containerWorkspaceFolderBasename",
    "devcontainerId",
    "containerEnv",
];

/// Top-level properties used after the container started, where `${containerEnv:NAME}` can be
/// resolved ([`resolve_container_env`]). Elsewhere it stays as written.
const AFTER_START: [&str; 8] = [
    "remoteEnv",
    "remoteUser",
    "workspaceFolder",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
];

/// One `${...}` occurrence: its byte range in the text, the name and the `:`-separated
/// arguments (empty when there is no `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Occurrence<'t> {
    range: Range<usize>,
    name: &'t str,
    args: Vec<&'t str>,
}

/// The `${...}` occurrences of `text`, as the reference CLI's regex `/\$\{(.*?)\}/g` finds
/// them: the shortest match, never across a line break (JavaScript's `.` stops there).
fn occurrences(text: &str) -> Vec<Occurrence<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("${") {
        let start = at + found;
        let inner_start = start + 2;
        let rest = &text[inner_start..];
        let close = rest.find('}');
        let line_end = rest.find(['\n', '\r', '\u{2028}', '\u{2029}']);
        match close {
            Some(close) if line_end.is_none_or(|end| close < end) => {
                let inner = &rest[..close];
                let mut parts = inner.split(':');
                let name = parts.next().unwrap_or_default();
                out.push(Occurrence {
                    range: start..inner_start + close + 1,
                    name,
                    args: parts.collect(),
                });
                at = inner_start + close + 1;
            }
            // No match starting here; the regex tries again one character later.
            _ => at = start + 1,
        }
    }
    out
}

/// Replaces every occurrence for which `replace` gives a value; the others stay as written.
fn replace_with(text: &str, mut replace: impl FnMut(&Occurrence<'_>) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for occurrence in occurrences(text) {
        if let Some(value) = replace(&occurrence) {
            out.push_str(&text[last..occurrence.range.start]);
            out.push_str(&value);
            last = occurrence.range.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// `lookupValue` of the reference CLI: the variable, else the default (second argument), else
/// the empty string. `None` when no name is given.
fn lookup(env: &EnvMap, args: &[&str]) -> Option<String> {
    let name = args.first().filter(|name| !name.is_empty())?;
    Some(match env.get(*name) {
        Some(value) => value.clone(),
        None => args.get(1).map(ToString::to_string).unwrap_or_default(),
    })
}

/// The first pass: `${localEnv:...}`, `${env:...}`, the local folder, and the container folder
/// when known.
pub fn resolve_local(text: &str, vars: &Variables<'_>) -> String {
    replace_with(text, |o| match o.name {
        "env" | "localEnv" => lookup(vars.host_env, &o.args),
        "localWorkspaceFolder" => Some(vars.local_folder.to_string_lossy().into_owned()),
        "localWorkspaceFolderBasename" => Some(basename(&vars.local_folder.to_string_lossy())),
        "containerWorkspaceFolder" => vars.container_folder.map(ToString::to_string),
        "containerWorkspaceFolderBasename" => vars.container_folder.map(basename),
        _ => None,
    })
}

/// The second pass: `${devcontainerId}`.
pub fn resolve_devcontainer_id(text: &str, id: &str) -> String {
    replace_with(text, |o| {
        (o.name == "devcontainerId").then(|| id.to_string())
    })
}

/// The pass after the container started: `${containerEnv:NAME[:default]}` from the
/// container's environment (`docker inspect` `Config.Env`, not a shell's).
pub fn resolve_container_env_text(text: &str, container_env: &EnvMap) -> String {
    replace_with(text, |o| {
        (o.name == "containerEnv")
            .then(|| lookup(container_env, &o.args))
            .flatten()
    })
}

/// Resolves `${containerEnv:...}` in what is used after the container started: `remoteEnv`,
/// `remoteUser`, the workspace folder and the in-container hooks. `initializeCommand` runs on
/// the host before there is a container, so it keeps the text, as in the reference CLI.
pub fn resolve_container_env(workspace: &mut Workspace, container_env: &EnvMap) {
    if workspace.format != Format::Devcontainer {
        return;
    }
    let resolve = |text: &mut String| *text = resolve_container_env_text(text, container_env);
    workspace.remote_env.values_mut().for_each(resolve);
    if let Some(user) = &mut workspace.options.remote_user {
        resolve(user);
    }
    resolve(&mut workspace.folder);
    let steps = workspace
        .stages
        .iter_mut()
        .flat_map(|stage| &mut stage.lanes)
        .flat_map(|lane| &mut lane.steps)
        .filter(|step| step.phase != Phase::InitializeCommand);
    for step in steps {
        match &mut step.command {
            Command::Shell(script) => resolve(script),
            Command::Exec(argv) => argv.iter_mut().for_each(resolve),
        }
    }
}

/// Substitutes the load-time variables in every string of the document (keys excepted), as
/// the reference CLI does, and reports, located: a variable without a name (an error, as
/// there) anywhere; unknown variables and `${containerEnv:...}` where it cannot be resolved
/// only in the top-level properties for which `used` is true (the others are ignored, and
/// warned about as a whole by the caller).
pub fn substitute_document(
    doc: &Document,
    vars: &Variables<'_>,
    used: &dyn Fn(&str) -> bool,
    diagnostics: &mut Diagnostics,
) -> serde_json::Value {
    let walker = Walker { doc, vars, used };
    walker.walk(&doc.value, "", None, diagnostics)
}

struct Walker<'a> {
    doc: &'a Document,
    vars: &'a Variables<'a>,
    used: &'a dyn Fn(&str) -> bool,
}

impl Walker<'_> {
    fn walk(
        &self,
        value: &serde_json::Value,
        pointer: &str,
        top: Option<&str>,
        diagnostics: &mut Diagnostics,
    ) -> serde_json::Value {
        let top_key = top.unwrap_or_default();
        match value {
            serde_json::Value::String(text) => {
                let place = Place {
                    top: top_key,
                    used: (self.used)(top_key),
                };
                check(self.doc, pointer, text, &place, diagnostics);
                let local = resolve_local(text, self.vars);
                serde_json::Value::String(match self.vars.devcontainer_id {
                    Some(id) => resolve_devcontainer_id(&local, id),
                    None => local,
                })
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let at = pointer_push(pointer, &i.to_string());
                        self.walk(item, &at, top, diagnostics)
                    })
                    .collect(),
            ),
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        let at = pointer_push(pointer, key);
                        let top = top.or(Some(key.as_str()));
                        (key.clone(), self.walk(item, &at, top, diagnostics))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The top-level property a string is in, and whether the caller uses it.
struct Place<'a> {
    top: &'a str,
    used: bool,
}

/// Reports the problems of the variables in one string value, found on the text as written
/// (not on what a variable's value brought in).
fn check(
    doc: &Document,
    pointer: &str,
    text: &str,
    place: &Place<'_>,
    diagnostics: &mut Diagnostics,
) {
    let top = place.top;
    for o in occurrences(text) {
        let written = &text[o.range.clone()];
        let location = || occurrence_location(doc, pointer, text, &o.range);
        match o.name {
            "env" | "localEnv" | "containerEnv" if o.args.first().is_none_or(|n| n.is_empty()) => {
                diagnostics.push(
                    Diagnostic::error(format!("`{written}` names no environment variable"))
                        .at(location())
                        .label("no variable name")
                        .help(format!(
                            "write `${{{}:NAME}}` or `${{{}:NAME:default}}`",
                            o.name, o.name
                        )),
                );
            }
            _ if !place.used => {}
            "containerEnv" if !AFTER_START.contains(&top) => {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "`{written}` is not known when `{top}` is used, so it stays as written"
                    ))
                    .at(location())
                    .help(
                        "the container's variables are only known once it runs; \
                         use `${containerEnv:NAME}` in `remoteEnv` or in a hook after \
                         `initializeCommand`",
                    ),
                );
            }
            // devboot's own: the URL of a port wherever the workspace runs, resolved by
            // `up` in the environment it gives the container and the commands it runs.
            "portUrl" => {
                let port = o.args.first().and_then(|a| a.trim().parse::<u16>().ok());
                if port.is_none_or(|p| p == 0) {
                    diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{written}` names no port, so it stays as written"
                        ))
                        .at(location())
                        .help("write `${portUrl:4567}` with the port number in the container"),
                    );
                } else if !matches!(top, "containerEnv" | "remoteEnv") {
                    diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{written}` is only resolved in `containerEnv` and `remoteEnv`, so here it stays as written"
                        ))
                        .at(location())
                        .help("set a variable to it in `containerEnv` and use that variable here"),
                    );
                }
            }
            name if KNOWN.contains(&name) => {}
            name => {
                let suggestion = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name));
                // The hooks run through a shell: there `${NAME}` is usually the shell's own
                // syntax, so an unknown name is not worth a warning.
                if suggestion.is_none() && HOOKS.iter().any(|(hook, _)| *hook == top) {
                    continue;
                }
                let mut d =
                    Diagnostic::warning(format!("unknown variable `{written}` is left as written"))
                        .at(location());
                d = match suggestion {
                    Some(known) => d.help(format!("did you mean `${{{known}}}`?")),
                    None if looks_like_env_var(name) && o.args.is_empty() => d.help(format!(
                        "for the container's variable write `${{containerEnv:{name}}}`, \
                         for the host's `${{localEnv:{name}}}`"
                    )),
                    None if name == "templateOption" => d.help(
                        "`${templateOption:...}` is filled in when a Dev Container Template \
                         is applied; this file looks like a template source",
                    ),
                    None => d.help(
                        "devcontainer.json knows localEnv, localWorkspaceFolder, \
                         localWorkspaceFolderBasename, containerWorkspaceFolder, \
                         containerWorkspaceFolderBasename, devcontainerId and containerEnv, \
                         and devboot adds portUrl",
                    ),
                };
                diagnostics.push(d);
            }
        }
    }
}

/// `PATH`, `JAVA_HOME`: what a shell variable is usually called.
fn looks_like_env_var(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The location of one `${...}` inside a string value: exact when the string literal has no
/// escapes (its text is the value), else the whole string.
fn occurrence_location(
    doc: &Document,
    pointer: &str,
    text: &str,
    range: &Range<usize>,
) -> Location {
    let span = doc.spans.value_or_parent(pointer);
    let literal = doc
        .file
        .text
        .get(span.start + 1..span.end.saturating_sub(1));
    if span.end >= span.start + 2 && literal == Some(text) {
        let start = span.start + 1;
        return Location::new(&doc.file, Span::new(start + range.start, start + range.end));
    }
    Location::new(&doc.file, span)
}

/// POSIX basename, as `path.posix.basename` gives it (trailing slashes ignored).
fn basename(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            String::new()
        } else {
            "/".into()
        };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// The labels the reference CLI puts on a container to find it again, and from which it
/// derives `${devcontainerId}` (`findContainerAndIdLabels`): the absolute workspace folder
/// and the absolute config file.
pub fn id_labels(local_folder: &Path, config_file: &Path) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "devcontainer.local_folder".to_string(),
            normalize(local_folder).to_string_lossy().into_owned(),
        ),
        (
            "devcontainer.config_file".to_string(),
            normalize(config_file).to_string_lossy().into_owned(),
        ),
    ])
}

/// `path.resolve` without the file system: `.` dropped, `..` applied, no trailing slash.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The container's environment as `docker inspect` gives it (`Config.Env`, `NAME=value`
/// strings), for [`resolve_container_env`]. An entry without `=` is a variable set to "".
pub fn container_env_from_config(entries: &[String]) -> EnvMap {
    entries
        .iter()
        .map(|entry| {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// `${devcontainerId}` (spec `devcontainer-id-variable.md`): the SHA-256 of the labels as
/// compact JSON with sorted keys, written in JavaScript's radix 32 (digits `0-9a-v`, not RFC
/// 4648 base32) and left-padded with `0` to 52 digits.
pub fn devcontainer_id(labels: &BTreeMap<String, String>) -> String {
    // A BTreeMap serializes with sorted keys and no whitespace, and serde_json escapes
    // exactly what `JSON.stringify` escapes.
    let json = serde_json::to_string(labels).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    radix32(digest.as_slice())
}

/// The big-endian number `bytes` in radix 32, `0-9a-v`, padded to `ceil(8 * len / 5)` digits
/// (52 for a SHA-256). 32 is a power of two, so each digit is five bits of the number.
fn radix32(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let bits = bytes.len() * 8;
    let bit = |i: usize| -> u8 {
        // Bit `i` counted from the least significant end.
        if i >= bits {
            return 0;
        }
        (bytes[bytes.len() - 1 - i / 8] >> (i % 8)) & 1
    };
    let count = bits.div_ceil(5);
    (0..count)
        .rev()
        .map(|digit| {
            let value = (0..5).fold(0u8, |acc, j| acc | (bit(digit * 5 + j) << j));
            char::from(DIGITS[usize::from(value)])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;
    use crate::config::source::SourceFile;

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn local(text: &str, host: &EnvMap, container_folder: Option<&str>) -> String {
        let vars = Variables {
            host_env: host,
            local_folder: Path::new("/home/me/project"),
            container_folder,
            devcontainer_id: None,
        };
        resolve_local(text, &vars)
    }

    #[test]
    fn every_local_variable() {
        let host = env(&[("HOME", "/home/me"), ("EMPTY", "")]);
        let folder = Some("/workspaces/project");
        let cases = [
            ("${localEnv:HOME}", "/home/me"),
            ("${env:HOME}/x", "/home/me/x"),
            ("${localEnv:EMPTY:dflt}", ""),
            ("${localEnv:UNSET}", ""),
            ("${localEnv:UNSET:dflt}", "dflt"),
            ("${localWorkspaceFolder}", "/home/me/project"),
            ("${localWorkspaceFolderBasename}", "project"),
            ("${containerWorkspaceFolder}", "/workspaces/project"),
            ("${containerWorkspaceFolderBasename}", "project"),
            (
                "a${localWorkspaceFolderBasename}b${localEnv:HOME}c",
                "aprojectb/home/mec",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(local(text, &host, folder), want, "{text}");
        }
    }

    #[test]
    fn reference_quirks_are_kept() {
        let host = env(&[]);
        // Only the second argument is the default: a URL default is cut at its `:`.
        assert_eq!(local("${localEnv:U:http://x}", &host, None), "http");
        // Non-greedy: the first `}` ends the variable.
        assert_eq!(local("${localEnv:U:a}b}", &host, None), "ab}");
        assert_eq!(local("${localEnv:U:{x}", &host, None), "{x");
        // A variable never spans a line break; a later one on the line still resolves.
        assert_eq!(
            local(
                "${localEnv:U\n} ${localWorkspaceFolderBasename}",
                &host,
                None
            ),
            "${localEnv:U\n} project"
        );
        // Unknown names and not-yet-known values stay as written.
        assert_eq!(local("${foo} ${HOME}", &host, None), "${foo} ${HOME}");
        assert_eq!(
            local("${containerWorkspaceFolder}", &host, None),
            "${containerWorkspaceFolder}"
        );
        assert_eq!(
            local("${containerEnv:PATH}", &host, None),
            "${containerEnv:PATH}"
        );
        // Arguments after a name that takes none are ignored.
        assert_eq!(
            local("${localWorkspaceFolderBasename:x}", &host, None),
            "project"
        );
        assert_eq!(local("$${localEnv:U:a}", &host, None), "$a");
        assert_eq!(local("${", &host, None), "${");
    }

    #[test]
    fn passes_run_on_the_previous_result() {
        // A host variable holding `${devcontainerId}` is resolved by the next pass, as in
        // the reference CLI.
        let host = env(&[("X", "${devcontainerId}")]);
        let first = local("${localEnv:X}", &host, None);
        assert_eq!(resolve_devcontainer_id(&first, "abc"), "abc");
    }

    #[test]
    fn container_env_is_resolved_later() {
        let container = env(&[("PATH", "/usr/bin")]);
        assert_eq!(
            resolve_container_env_text("${containerEnv:PATH}:/x", &container),
            "/usr/bin:/x"
        );
        assert_eq!(
            resolve_container_env_text("${containerEnv:NOPE:d}|${containerEnv:NOPE}", &container),
            "d|"
        );
        assert_eq!(
            resolve_container_env_text("${containerEnv} ${localEnv:X}", &container),
            "${containerEnv} ${localEnv:X}"
        );
    }

    #[test]
    fn container_env_comes_from_docker_inspect_entries() {
        let entries = ["PATH=/usr/bin:/bin", "EMPTY=", "EQ=a=b", "BARE"].map(String::from);
        assert_eq!(
            container_env_from_config(&entries),
            env(&[
                ("PATH", "/usr/bin:/bin"),
                ("EMPTY", ""),
                ("EQ", "a=b"),
                ("BARE", "")
            ])
        );
    }

    #[test]
    fn devcontainer_id_matches_the_reference_test_vector() {
        let labels = BTreeMap::from([
            (
                "devcontainer.local_folder".to_string(),
                "/home/user/project".to_string(),
            ),
            (
                "devcontainer.config_file".to_string(),
                "/home/user/project/.devcontainer/devcontainer.json".to_string(),
            ),
        ]);
        assert_eq!(
            devcontainer_id(&labels),
            "0ns9efvs2cg80a2avksvk7nqv06jrab7n2918j79h49700ucligl"
        );
        let from_paths = id_labels(
            Path::new("/home/user/project/"),
            Path::new("/home/user/project/./.devcontainer/devcontainer.json"),
        );
        assert_eq!(from_paths, labels);
    }

    #[test]
    fn radix32_pads_and_uses_javascript_digits() {
        assert_eq!(radix32(&[0, 0, 0, 0, 0]), "00000000");
        assert_eq!(radix32(&[0, 0, 0, 0, 31]), "0000000v");
        assert_eq!(radix32(&[0, 0, 0, 0, 32]), "00000010");
        assert_eq!(radix32(&[0xff; 5]), "vvvvvvvv");
        assert_eq!(radix32(&[0x80]), "40");
    }

    #[test]
    fn basenames_follow_posix() {
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(basename("/"), "/");
        assert_eq!(basename("b"), "b");
        assert_eq!(basename(""), "");
    }

    fn substitute(text: &str) -> (serde_json::Value, Diagnostics, String) {
        let file = SourceFile::new("/w/.devcontainer/devcontainer.json", text);
        let mut diagnostics = Diagnostics::default();
        let doc = jsonc::parse(&file, &mut diagnostics).unwrap();
        let host = env(&[("USER", "me")]);
        let vars = Variables {
            host_env: &host,
            local_folder: Path::new("/w"),
            container_folder: Some("/workspaces/w"),
            devcontainer_id: Some("ID"),
        };
        let used = |key: &str| key != "customizations";
        let value = substitute_document(&doc, &vars, &used, &mut diagnostics);
        (value, diagnostics, text.to_string())
    }

    fn located(diagnostics: &Diagnostics, text: &str) -> Vec<(String, String)> {
        diagnostics
            .0
            .iter()
            .map(|d| {
                let span = d.location.as_ref().unwrap().span;
                (d.message.clone(), text[span.start..span.end].to_string())
            })
            .collect()
    }

    #[test]
    fn documents_are_substituted_in_values_not_keys() {
        let (value, diagnostics, _) = substitute(
            r#"{"name": "${localEnv:USER}-${devcontainerId}", "containerEnv": {"${localEnv:USER}": "${containerWorkspaceFolder}"}, "runArgs": ["${localWorkspaceFolderBasename}", 1]}"#,
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(
            value,
            serde_json::json!({
                "name": "me-ID",
                "containerEnv": {"${localEnv:USER}": "/workspaces/w"},
                "runArgs": ["w", 1],
            })
        );
    }

    #[test]
    fn unknown_variables_warn_at_the_variable() {
        let (value, diagnostics, text) = substitute(
            r#"{"name": "x ${localWorkspaceFolderBaseName}", "remoteEnv": {"P": "${PATH}"}, "postCreateCommand": "echo ${HOME} ${localenv:X}", "customizations": {"s": "${task}"}}"#,
        );
        assert_eq!(value["remoteEnv"]["P"], "${PATH}");
        assert_eq!(
            located(&diagnostics, &text),
            [
                (
                    "unknown variable `${localWorkspaceFolderBaseName}` is left as written".into(),
                    "${localWorkspaceFolderBaseName}".into()
                ),
                (
                    "unknown variable `${PATH}` is left as written".into(),
                    "${PATH}".into()
                ),
                (
                    "unknown variable `${localenv:X}` is left as written".into(),
                    "${localenv:X}".into()
                ),
            ]
        );
        assert_eq!(
            diagnostics.0[0].help.as_deref(),
            Some("did you mean `${localWorkspaceFolderBasename}`?")
        );
        assert_eq!(
            diagnostics.0[1].help.as_deref(),
            Some(
                "for the container's variable write `${containerEnv:PATH}`, for the host's `${localEnv:PATH}`"
            )
        );
        assert!(diagnostics.0.iter().all(|d| !d.is_error()));
    }

    #[test]
    fn ignored_properties_get_errors_but_no_warnings() {
        let (_, diagnostics, _) = substitute(
            r#"{"customizations": {"a": "${nope}", "b": "${containerEnv:X}", "c": "${env}"}}"#,
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics.0[0].message,
            "`${env}` names no environment variable"
        );
    }

    #[test]
    fn variables_without_a_name_are_errors() {
        let (_, diagnostics, text) = substitute(
            r#"{"a": "${localEnv}", "b": "${localEnv:}", "c": "${env::d}", "remoteEnv": {"x": "${containerEnv}"}}"#,
        );
        let found = located(&diagnostics, &text);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(diagnostics.0.iter().all(Diagnostic::is_error));
        assert_eq!(
            found[0],
            (
                "`${localEnv}` names no environment variable".into(),
                "${localEnv}".into()
            )
        );
        assert_eq!(found[2].1, "${env::d}");
    }

    #[test]
    fn escaped_strings_are_located_as_a_whole() {
        let (_, diagnostics, text) = substitute(r#"{"name": "\"${nope}\""}"#);
        assert_eq!(located(&diagnostics, &text)[0].1, r#""\"${nope}\"""#);
    }

    #[test]
    fn container_env_outside_runtime_properties_warns() {
        let (value, diagnostics, _) = substitute(
            r#"{"containerEnv": {"P": "${containerEnv:PATH}:/x"}, "remoteEnv": {"P": "${containerEnv:PATH}:/x"}}"#,
        );
        assert_eq!(value["containerEnv"]["P"], "${containerEnv:PATH}:/x");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics.0[0].message,
            "`${containerEnv:PATH}` is not known when `containerEnv` is used, so it stays as written"
        );
    }
}
