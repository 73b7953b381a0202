//! `devcontainer.json` -> `.gitpod.yml`.
//!
//! Hooks become task phases: the create hooks (`onCreate`, `updateContent`, `postCreate`)
//! `init`, `postStartCommand` `command` (both run at every start after the create work,
//! and not in prebuilds), `postAttachCommand` `before`. An entry of a hook's object form
//! belongs to the task of its name; the string and array forms to one task, `app`. A
//! `postStartCommand` entry in the shape [`super::to_devcontainer`] writes (`{ before } &&
//! { nohup sh -c 'command' ... & }`) gives back its `before` and `command`.
//!
//! Commands and variables are read from the file as written: `${containerWorkspaceFolder}`
//! in a command becomes `${GITPOD_REPO_ROOT}`; other devcontainer variables have no Gitpod
//! meaning and are reported.

use serde_json::{Map, Value};

use super::to_devcontainer::backgrounded;
use super::yaml_out::{self, Yaml};
use super::{Conversion, header, on_open_gitpod, relative};
use crate::config::devcontainer::HOOKS;
use crate::config::{Loaded, substitute};
use crate::workspace::{ImageSource, OnOpen, Visibility};

/// The task that string- and array-form hooks go to.
const DEFAULT_TASK: &str = "app";

/// Properties read here (all others are reported as left out).
const READ: &[&str] = &[
    "$schema",
    "image",
    "build",
    "dockerFile",
    "context",
    "forwardPorts",
    "portsAttributes",
    "appPort",
    "containerEnv",
    "remoteEnv",
    "customizations",
    // And the lifecycle hooks of HOOKS.
];

#[derive(Default)]
struct Task {
    name: String,
    before: Vec<String>,
    init: Vec<String>,
    command: Vec<String>,
}

pub(super) fn convert(loaded: &Loaded) -> Conversion {
    let ws = &loaded.workspace;
    let empty = Map::new();
    let raw = loaded.document.value.as_object().unwrap_or(&empty);
    let mut warnings = Vec::new();
    let mut out: Vec<(String, Yaml)> = Vec::new();

    // Image.
    match &ws.image {
        ImageSource::Reference { image } => {
            let written = raw.get("image").and_then(Value::as_str).unwrap_or(image);
            if let Some(var) = variable_in(written) {
                warnings.push(format!(
                    "`image` uses `{var}`, which Gitpod does not substitute; it is written as it is"
                ));
            }
            out.push(("image".into(), Yaml::str(written)));
        }
        ImageSource::Dockerfile {
            dockerfile,
            context,
            args,
            target,
            cache_from,
            options,
        } => {
            let file = relative(&ws.local_folder, dockerfile);
            let context = relative(&ws.local_folder, context);
            for (path, what) in [(&file, "the Dockerfile"), (&context, "the build context")] {
                if path.starts_with("..") {
                    warnings.push(format!(
                        "{what} ({path}) is outside the repository, where Gitpod cannot build from"
                    ));
                }
            }
            let mut build = vec![("file".to_string(), Yaml::str(file))];
            if context != "." {
                build.push(("context".into(), Yaml::str(context)));
            }
            out.push(("image".into(), Yaml::Map(build)));
            for (set, what) in [
                (!args.is_empty(), "build.args"),
                (target.is_some(), "build.target"),
                (!cache_from.is_empty(), "build.cacheFrom"),
                (!options.is_empty(), "build.options"),
            ] {
                if set {
                    warnings.push(format!(
                        "`{what}` is left out: Gitpod builds image.file with no build options"
                    ));
                }
            }
        }
        ImageSource::Compose { .. } => warnings.push(
            "`dockerComposeFile` is left out: Gitpod runs one image, so there is no `image` (Gitpod's default has docker: start the services with `docker compose up` in a task)"
                .into(),
        ),
    }

    // Variables: containerEnv, then remoteEnv on top (as the hooks see them).
    let mut env: Vec<(String, String)> = Vec::new();
    for key in ["containerEnv", "remoteEnv"] {
        for (name, value) in raw
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => {
                    warnings.push(format!("`{key}.{name}` is null: left out"));
                    continue;
                }
                other => other.to_string(),
            };
            if text == "${containerWorkspaceFolder}"
                && ["GITPOD_REPO_ROOT", "THEIA_WORKSPACE_ROOT"].contains(&name.as_str())
            {
                // What Gitpod sets these to anyway.
                continue;
            }
            if let Some(var) = variable_in(&text) {
                warnings.push(format!(
                    "`{key}.{name}` is left out: it uses `{var}`, which Gitpod does not substitute"
                ));
                continue;
            }
            match env.iter_mut().find(|(n, _)| n == name) {
                Some((_, old)) if *old != text => {
                    warnings.push(format!(
                        "`containerEnv.{name}` ({old:?}) is left out: remoteEnv sets it to {text:?}, which is what commands see"
                    ));
                    *old = text;
                }
                Some(_) => {}
                None => env.push((name.clone(), text)),
            }
        }
    }
    if !env.is_empty() {
        out.push((
            "env".into(),
            Yaml::Map(env.into_iter().map(|(k, v)| (k, Yaml::Str(v))).collect()),
        ));
    }

    // Tasks.
    let mut tasks: Vec<Task> = Vec::new();
    for (hook, _) in HOOKS {
        let Some(value) = raw.get(hook).filter(|v| !v.is_null()) else {
            continue;
        };
        let entries: Vec<(&str, &Value)> = match value {
            Value::Object(map) => map.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            other => vec![(DEFAULT_TASK, other)],
        };
        for (name, value) in entries {
            let Some(text) = command_text(value) else {
                continue;
            };
            if hook == "initializeCommand" {
                warnings.push(format!(
                    "`initializeCommand` is left out: it runs on the host, before the container, and a Gitpod workspace has no host to run it on ({text:?})"
                ));
                continue;
            }
            let text = commands_for_gitpod(hook, name, &text, &mut warnings);
            let index = tasks
                .iter()
                .position(|t| t.name == name)
                .unwrap_or_else(|| {
                    tasks.push(Task {
                        name: name.to_string(),
                        ..Task::default()
                    });
                    tasks.len() - 1
                });
            let task = &mut tasks[index];
            match hook {
                "postStartCommand" => {
                    let (before, command) = split_post_start(&text);
                    task.before.extend(before);
                    task.command.extend(command);
                }
                "postAttachCommand" => {
                    warnings.push(format!(
                        "postAttachCommand of `{name}` is in the task's `before`, which Gitpod runs at every start, not at every attach"
                    ));
                    task.before.push(text);
                }
                _ => task.init.push(text),
            }
        }
    }
    let mut task_items = Vec::new();
    for task in tasks {
        if !task.before.is_empty() && !task.init.is_empty() {
            warnings.push(format!(
                "task `{}`: Gitpod runs `before` ahead of `init`, where the dev container ran it after the create hooks",
                task.name
            ));
        }
        let mut entries = vec![("name".to_string(), Yaml::Str(task.name))];
        for (phase, parts) in [
            ("before", task.before),
            ("init", task.init),
            ("command", task.command),
        ] {
            if !parts.is_empty() {
                entries.push((phase.into(), Yaml::Str(parts.join("\n"))));
            }
        }
        task_items.push(Yaml::Map(entries));
    }
    if !task_items.is_empty() {
        out.push(("tasks".into(), Yaml::List(task_items)));
    }

    // Ports.
    let mut ports = Vec::new();
    for port in &ws.ports {
        let mut entries = vec![(
            "port".to_string(),
            if port.is_range() {
                Yaml::Str(format!("{}-{}", port.port, port.end))
            } else {
                Yaml::Int(port.port.into())
            },
        )];
        if let Some(label) = &port.label {
            entries.push(("name".into(), Yaml::str(label.clone())));
        }
        if let Some(description) = &port.description {
            entries.push(("description".into(), Yaml::str(description.clone())));
        }
        entries.push(("onOpen".into(), Yaml::str(on_open_gitpod(port.on_open))));
        if port.visibility == Visibility::Public {
            entries.push(("visibility".into(), Yaml::str("public")));
        }
        if let Some(protocol) = port.protocol {
            let text = serde_json::to_value(protocol).expect("serializes");
            entries.push((
                "protocol".into(),
                Yaml::str(text.as_str().unwrap_or_default()),
            ));
        }
        if port.on_open == OnOpen::OpenBrowserOnce {
            warnings.push(format!(
                "port {port}: `openBrowserOnce` is `open-browser`: Gitpod has no once"
            ));
        }
        if port.host_port.is_some_and(|h| h != port.port) {
            warnings.push(format!(
                "port {port}: the host port of `appPort` is left out: Gitpod serves each port at its own URL"
            ));
        }
        ports.push(Yaml::Map(entries));
    }
    if !ports.is_empty() {
        out.push(("ports".into(), Yaml::List(ports)));
    }

    // Customizations: VS Code extensions have a Gitpod key.
    if let Some(customizations) = raw.get("customizations").and_then(Value::as_object) {
        for (tool, value) in customizations {
            let mut rest = value.as_object().cloned().unwrap_or_default();
            if tool == "vscode"
                && let Some(extensions) = rest.remove("extensions").and_then(|e| match e {
                    Value::Array(items) => Some(items),
                    _ => None,
                })
            {
                let items: Vec<Yaml> = extensions
                    .iter()
                    .filter_map(Value::as_str)
                    .map(Yaml::str)
                    .collect();
                if !items.is_empty() {
                    out.push((
                        "vscode".into(),
                        Yaml::Map(vec![("extensions".into(), Yaml::List(items))]),
                    ));
                }
            }
            if !rest.is_empty() || !value.is_object() {
                let what = if tool == "vscode" {
                    "customizations.vscode (but its extensions)".to_string()
                } else {
                    format!("customizations.{tool}")
                };
                warnings.push(format!(
                    "`{what}` is left out: .gitpod.yml has no place for it"
                ));
            }
        }
    }
    for key in raw.keys() {
        if READ.contains(&key.as_str()) || HOOKS.iter().any(|(hook, _)| hook == key) {
            continue;
        }
        let why = match key.as_str() {
            "name" => "Gitpod names a workspace after its repository",
            "features" => "Gitpod has no Dev Container Features: install the tools in the image",
            "dockerComposeFile" | "service" | "runServices" => continue,
            "workspaceFolder" | "workspaceMount" => {
                "Gitpod checks the repository out at /workspace/<name>"
            }
            "containerUser" | "remoteUser" => "Gitpod runs everything as the user `gitpod`",
            _ => ".gitpod.yml has no such setting",
        };
        warnings.push(format!("`{key}` is left out: {why}"));
    }

    let mut text = header(loaded, "#", &warnings);
    text.push('\n');
    text.push_str(&yaml_out::render(&out));
    Conversion { text, warnings }
}

/// A hook command as one shell script: a string as it is, an array quoted word by word.
/// `None` for an empty one (which the reference CLI skips).
fn command_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Array(items) if !items.is_empty() => {
            let words: Vec<String> = items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            Some(shell_words::join(words))
        }
        _ => None,
    }
}

/// A command with `${containerWorkspaceFolder}` said the Gitpod way; other devcontainer
/// variables are reported.
fn commands_for_gitpod(hook: &str, task: &str, text: &str, warnings: &mut Vec<String>) -> String {
    let text = text.replace("${containerWorkspaceFolder}", "${GITPOD_REPO_ROOT}");
    if let Some(var) = variable_in(&text) {
        warnings.push(format!(
            "{hook} of `{task}` uses `{var}`, which Gitpod does not substitute (the shell sees it as a variable)"
        ));
    }
    text
}

/// The first devcontainer variable (`${localEnv:HOME}`...) in `text`.
fn variable_in(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let inner = &after[..end];
        let name = inner.split(':').next().unwrap_or_default();
        // devcontainer.json's own variables; Gitpod knows none of them.
        if substitute::KNOWN.contains(&name) {
            return Some(format!("${{{inner}}}"));
        }
        rest = &after[end..];
    }
    None
}

/// A `postStartCommand` entry as (`before`, `command`). The shapes written by
/// [`super::to_devcontainer::post_start_entry`] are read back exactly; anything else is the
/// task's `command` (it runs at every start after the create work, as it did).
fn split_post_start(text: &str) -> (Option<String>, Option<String>) {
    const JOIN: &str = "\n} && { ";
    if let Some(inner) = text.strip_prefix("{\n") {
        if let Some(at) = inner.rfind(JOIN) {
            let (before, rest) = (&inner[..at], &inner[at + JOIN.len()..]);
            if let Some(rest) = rest.strip_suffix(" }") {
                if let Some(command) = background_command(rest) {
                    return (Some(before.to_string()), Some(command));
                }
                if backgrounded(rest) {
                    return (Some(before.to_string()), Some(rest.to_string()));
                }
            }
        }
        if let Some(before) = inner.strip_suffix("\n}") {
            return (Some(before.to_string()), None);
        }
    }
    match background_command(text) {
        Some(command) => (None, Some(command)),
        None => (None, Some(text.to_string())),
    }
}

/// The command of `nohup sh -c '<command>' > /tmp/<name>.log 2>&1 &`.
fn background_command(text: &str) -> Option<String> {
    let words = shell_words::split(text).ok()?;
    match words.as_slice() {
        [nohup, sh, c, command, redirect, log, both, amp]
            if nohup == "nohup"
                && sh == "sh"
                && c == "-c"
                && redirect == ">"
                && log.starts_with("/tmp/")
                && both == "2>&1"
                && amp == "&" =>
        {
            Some(command.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::to_devcontainer::post_start_entry;
    use super::*;

    #[test]
    fn post_start_entries_read_back() {
        for (before, command) in [
            (None, Some("npm start")),
            (Some("a\nb\n"), None),
            (Some("x() {\n y\n}"), Some("it's\nmulti\n")),
            (Some("echo"), Some("cd a && run")),
            (None, Some("cd a && nohup run > /tmp/a.log 2>&1 &")),
            (Some("echo"), Some("run &\n")),
        ] {
            let entry = post_start_entry("t", before, command).unwrap();
            assert_eq!(
                split_post_start(&entry),
                (before.map(String::from), command.map(String::from)),
                "{entry}"
            );
        }
    }

    #[test]
    fn other_post_start_is_the_command() {
        let text = "cd backend && nohup flask run > /tmp/flask.log 2>&1 &";
        assert_eq!(split_post_start(text), (None, Some(text.into())));
    }

    #[test]
    fn variables() {
        assert_eq!(
            variable_in("a ${localEnv:HOME} b").as_deref(),
            Some("${localEnv:HOME}")
        );
        assert_eq!(variable_in("${HOME} ${portUrl:3000}"), None);
        assert_eq!(
            command_text(&serde_json::json!(["echo", "a b"])).as_deref(),
            Some("echo 'a b'")
        );
        assert_eq!(command_text(&serde_json::json!([])), None);
    }
}
