//! `.gitpod.yml` -> `devcontainer.json`.
//!
//! Each task becomes one entry, named after the task, in the object form of the hooks it
//! needs (object entries run in parallel, as Gitpod's task terminals do): `init` in
//! `onCreateCommand` (once per container), `before` and `command` in `postStartCommand` (at
//! every start), the command backgrounded with `nohup` since a hook must end. The exact
//! shape of that entry is what [`super::to_gitpod`] reads back as `before` and `command`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Conversion, gitpod_only, header, on_auto_forward, relative};
use crate::config::Loaded;
use crate::config::gitpod::DEFAULT_IMAGE;
use crate::container::slug;
use crate::workspace::{Command, ImageSource, OnOpen, Phase, Visibility};

/// Gitpod keys with no place in devcontainer.json: key, why.
const NOT_CARRIED: &[(&str, &str)] = &[
    ("github", "Gitpod prebuild settings"),
    ("jetbrains", "JetBrains IDE settings"),
    ("gitConfig", "git settings Gitpod applies"),
    (
        "checkoutLocation",
        "devcontainer.json mounts the repository at /workspaces/<name>",
    ),
    (
        "workspaceLocation",
        "devcontainer.json opens the repository folder",
    ),
    (
        "additionalRepositories",
        "devcontainer.json has one repository",
    ),
    ("mainConfiguration", "devcontainer.json has one repository"),
    ("coreDump", "Gitpod core dump limits"),
    ("experimentalNetwork", "deprecated in Gitpod too"),
];

/// Variables the container sets itself, which a task's env changes only for that task.
const OWN_VARS: &[&str] = &["PATH", "HOME", "USER", "SHELL", "PWD", "HOSTNAME"];

/// Variables Gitpod sets for the checkout; the same folder is `${containerWorkspaceFolder}`.
const ROOT_VARS: [&str; 2] = ["GITPOD_REPO_ROOT", "THEIA_WORKSPACE_ROOT"];

pub(super) fn convert(loaded: &Loaded, output: &Path) -> Conversion {
    let ws = &loaded.workspace;
    let raw = &loaded.document.value;
    let mut warnings = Vec::new();
    let mut root = Map::new();
    let output_dir = output.parent().unwrap_or(output);

    root.insert("name".into(), ws.name.clone().into());
    match (&ws.image, raw.get("image")) {
        (
            ImageSource::Dockerfile {
                dockerfile,
                context,
                ..
            },
            _,
        ) => {
            root.insert(
                "build".into(),
                json!({
                    "dockerfile": relative(output_dir, dockerfile),
                    // Written out: Gitpod's default context is the repository root, the
                    // devcontainer default is the Dockerfile's folder.
                    "context": relative(output_dir, context),
                }),
            );
        }
        (ImageSource::Reference { image }, Some(Value::String(written)))
            if !written.trim().is_empty() =>
        {
            root.insert("image".into(), image.clone().into());
        }
        (ImageSource::Reference { image }, _) => {
            warnings.push(format!(
                "`image` is not set, so Gitpod uses its default image; devcontainer.json needs one, so it names that default ({DEFAULT_IMAGE})"
            ));
            root.insert("image".into(), image.clone().into());
        }
        (ImageSource::Compose { .. }, _) => {}
    }

    // Tasks.
    let mut on_create = Map::new();
    let mut post_start = Map::new();
    let mut task_env: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut scripts = String::new();
    let lanes = ws.stages.iter().flat_map(|s| &s.lanes);
    for lane in lanes {
        let mut name = lane.name.clone();
        let mut n = 2;
        while on_create.contains_key(&name) || post_start.contains_key(&name) {
            name = format!("{} ({n})", lane.name);
            n += 1;
        }
        if name != lane.name {
            warnings.push(format!(
                "two tasks are called `{}`; the second is `{name}` here (hook entries need distinct names)",
                lane.name
            ));
        }
        let text = |phase: Phase| {
            lane.steps
                .iter()
                .find(|s| s.phase == phase)
                .map(|s| match &s.command {
                    Command::Shell(s) => s.clone(),
                    c @ Command::Exec(_) => c.to_string(),
                })
        };
        let (before, init, command) =
            (text(Phase::Before), text(Phase::Init), text(Phase::Command));
        for script in [&before, &init, &command].into_iter().flatten() {
            scripts.push_str(script);
            scripts.push('\n');
            if let Some(what) = gitpod_only(script) {
                warnings.push(format!("task `{name}` uses {what}"));
            }
            if let Some(bashism) = bash_only(script) {
                warnings.push(format!(
                    "task `{name}` uses {bashism}, which is bash; Gitpod runs tasks in bash, devcontainer hooks run with /bin/sh"
                ));
            }
            if refers_to_gitpod_folder(script) {
                warnings.push(format!(
                    "task `{name}` refers to /workspace, Gitpod's checkout folder; a dev container has the repository at /workspaces/<name> (${{containerWorkspaceFolder}})"
                ));
            }
        }
        if command.is_some()
            && init.as_deref().is_some_and(|init| {
                init.split(['\n', ';', '&', '|'])
                    .any(|part| part.trim_start().starts_with("cd "))
            })
        {
            warnings.push(format!(
                "task `{name}`: a `cd` in `init` carries over to `command` in a Gitpod terminal (on the first start only); here each hook starts in the workspace folder"
            ));
        }
        if before.is_some() && init.is_some() {
            warnings.push(format!(
                "task `{name}`: Gitpod runs `before` ahead of `init`; here `init` is in onCreateCommand, which runs ahead of postStartCommand, which has `before`"
            ));
        }
        if let Some(init) = init {
            on_create.insert(name.clone(), init.into());
        }
        if let Some(entry) = post_start_entry(&name, before.as_deref(), command.as_deref()) {
            post_start.insert(name.clone(), entry.into());
        }
        for (key, value) in &lane.env {
            task_env
                .entry(key.clone())
                .or_default()
                .push((name.clone(), value.clone()));
        }
    }
    for (index, task) in raw
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let shown = task
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("tasks[{index}]"), |n| format!("task `{n}`"));
        for (key, why) in [
            ("prebuild", "it runs only in Gitpod prebuilds"),
            ("openIn", "it places a terminal in Gitpod's IDE"),
            ("openMode", "it places a terminal in Gitpod's IDE"),
        ] {
            if task.get(key).is_some_and(|v| !v.is_null()) {
                warnings.push(format!("{shown}: `{key}` is left out: {why}"));
            }
        }
    }

    // Variables: the top-level env as written, and what task env can go in remoteEnv.
    let mut container_env = Map::new();
    for (key, value) in raw
        .get("env")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if ROOT_VARS.contains(&key.as_str()) {
            continue;
        }
        container_env.insert(key.clone(), value.clone());
    }
    for var in ROOT_VARS {
        if scripts.contains(var) {
            container_env.insert(var.into(), "${containerWorkspaceFolder}".into());
        }
    }
    let mut remote_env = Map::new();
    let mut moved: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, sets) in task_env {
        let first = &sets[0].1;
        let clash_task = sets.iter().find(|(_, v)| v != first);
        let clash_env = container_env
            .get(&key)
            .and_then(Value::as_str)
            .filter(|v| v != first);
        if let Some((other, value)) = clash_task {
            warnings.push(format!(
                "task env `{key}` is left out: task `{}` sets it to {first:?} and task `{other}` to {value:?}, and devcontainer.json has one remoteEnv for every hook",
                sets[0].0
            ));
        } else if let Some(value) = clash_env {
            warnings.push(format!(
                "task env `{key}` of task `{}` is left out: the top-level env sets it to {value:?}, and devcontainer.json has one remoteEnv for every hook",
                sets[0].0
            ));
        } else if OWN_VARS.contains(&key.as_str()) {
            warnings.push(format!(
                "task env `{key}` of task `{}` is left out: in remoteEnv it would replace the container's own {key} for every hook",
                sets[0].0
            ));
        } else if container_env.get(&key).is_none() {
            for (task, _) in &sets {
                moved.entry(task.clone()).or_default().push(key.clone());
            }
            remote_env.insert(key, first.clone().into());
        }
    }
    for (task, keys) in moved {
        warnings.push(format!(
            "the env of task `{task}` ({}) is in remoteEnv, which every hook sees: devcontainer.json has no env for one hook",
            keys.join(", ")
        ));
    }

    // Ports.
    let mut forward = Vec::new();
    let mut attributes = Map::new();
    for port in &ws.ports {
        if !port.is_range() && port.on_open != OnOpen::Ignore {
            forward.push(json!(port.port));
        }
        let mut attrs = Map::new();
        if let Some(label) = &port.label {
            attrs.insert("label".into(), label.clone().into());
        }
        attrs.insert("onAutoForward".into(), on_auto_forward(port.on_open).into());
        if port.visibility == Visibility::Public {
            attrs.insert("visibility".into(), "public".into());
        }
        if let Some(protocol) = port.protocol {
            attrs.insert(
                "protocol".into(),
                serde_json::to_value(protocol).expect("serializes"),
            );
        }
        if port.description.is_some() {
            warnings.push(format!(
                "port {port}: `description` is left out: portsAttributes has no such attribute"
            ));
        }
        attributes.insert(port.to_string(), attrs.into());
    }

    if !container_env.is_empty() {
        root.insert("containerEnv".into(), container_env.into());
    }
    if !remote_env.is_empty() {
        root.insert("remoteEnv".into(), remote_env.into());
    }
    if !forward.is_empty() {
        root.insert("forwardPorts".into(), forward.into());
    }
    if !attributes.is_empty() {
        root.insert("portsAttributes".into(), attributes.into());
    }
    if !on_create.is_empty() {
        root.insert("onCreateCommand".into(), on_create.into());
    }
    if !post_start.is_empty() {
        root.insert("postStartCommand".into(), post_start.into());
    }
    if let Some(extensions) = raw
        .pointer("/vscode/extensions")
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
    {
        root.insert(
            "customizations".into(),
            json!({ "vscode": { "extensions": extensions } }),
        );
    }
    for (key, why) in NOT_CARRIED {
        if raw.get(key).is_some_and(|v| !v.is_null()) {
            warnings.push(format!("`{key}` is left out: {why}"));
        }
    }

    let mut text = header(loaded, "//", &warnings);
    text.push_str(&serde_json::to_string_pretty(&Value::Object(root)).expect("JSON"));
    text.push('\n');
    Conversion { text, warnings }
}

/// The `postStartCommand` entry of a task: `before`, then the long-running `command` in the
/// background with its output in `/tmp/<task>.log`. Gitpod chains phases with `&&`, so a
/// failing `before` keeps the command from starting here too.
pub(super) fn post_start_entry(
    task: &str,
    before: Option<&str>,
    command: Option<&str>,
) -> Option<String> {
    let background = command.map(|command| {
        if backgrounded(command) {
            command.to_string()
        } else {
            format!(
                "nohup sh -c {} > /tmp/{}.log 2>&1 &",
                shell_words::quote(command),
                slug(task)
            )
        }
    });
    // `before` goes in braces, as Gitpod runs it: that also marks it as `before` for the
    // way back.
    match (before, background) {
        (None, None) => None,
        (Some(before), None) => Some(format!("{{\n{before}\n}}")),
        (None, Some(background)) => Some(background),
        (Some(before), Some(background)) => Some(format!("{{\n{before}\n}} && {{ {background} }}")),
    }
}

/// Whether a script already sends itself to the background (ends with `&`): it is used as
/// it is, and read back as it is.
pub(super) fn backgrounded(script: &str) -> bool {
    let end = script.trim_end();
    end.ends_with('&') && !end.ends_with("&&")
}

/// A bash-only construct in a script, for a warning.
fn bash_only(script: &str) -> Option<&'static str> {
    if script.split_whitespace().any(|w| w == "[[") {
        Some("`[[`")
    } else if script
        .split(['\n', ';', '&', '|'])
        .any(|part| part.trim_start().starts_with("source "))
    {
        Some("`source`")
    } else if script.contains("<(") {
        Some("process substitution `<(...)`")
    } else if script.contains("shopt ") {
        Some("`shopt`")
    } else {
        None
    }
}

/// Whether a script names Gitpod's `/workspace` folder (not `/workspaces`).
fn refers_to_gitpod_folder(script: &str) -> bool {
    script.match_indices("/workspace").any(|(i, m)| {
        let before = script[..i].chars().next_back();
        let after = script[i + m.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_start_shapes() {
        assert_eq!(post_start_entry("t", None, None), None);
        assert_eq!(post_start_entry("t", Some("a"), None).unwrap(), "{\na\n}");
        assert_eq!(
            post_start_entry("My Task", None, Some("npm start")).unwrap(),
            "nohup sh -c 'npm start' > /tmp/my-task.log 2>&1 &"
        );
        assert_eq!(
            post_start_entry("t", Some("a\nb\n"), Some("it's")).unwrap(),
            "{\na\nb\n\n} && { nohup sh -c 'it'\\''s' > /tmp/t.log 2>&1 & }"
        );
        assert_eq!(
            post_start_entry("t", None, Some("flask run &")).unwrap(),
            "flask run &"
        );
    }

    #[test]
    fn finds_bash_and_gitpod_folders() {
        assert!(bash_only("source ~/.nvm/nvm.sh").is_some());
        assert!(bash_only("if [[ -f x ]]; then y; fi").is_some());
        assert!(bash_only("echo open source").is_none());
        assert!(refers_to_gitpod_folder("cd /workspace && ls"));
        assert!(refers_to_gitpod_folder("cd /workspace/app"));
        assert!(!refers_to_gitpod_folder("cd /workspaces/app"));
    }
}
