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
//!
//! Here: finding the variables in a string and the passes that resolve them. Walking a whole
//! document and reporting its variables is `substitute/document.rs`'s; the id and its labels
//! are `substitute/id.rs`'s. The border: which properties are used (and so warned about) is
//! the caller's to say.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use crate::workspace::{Command, EnvMap, Format, Phase, Workspace};

mod document;
mod id;

pub use document::substitute_document;
pub use id::{devcontainer_id, id_labels};

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

/// The load-time passes on one string: the local variables, then `${devcontainerId}` when
/// it is known.
pub fn resolve_load_time(text: &str, vars: &Variables<'_>) -> String {
    let local = resolve_local(text, vars);
    match vars.devcontainer_id {
        Some(id) => resolve_devcontainer_id(&local, id),
        None => local,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn env(pairs: &[(&str, &str)]) -> EnvMap {
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
    fn basenames_follow_posix() {
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(basename("/"), "/");
        assert_eq!(basename("b"), "b");
        assert_eq!(basename(""), "");
    }
}
