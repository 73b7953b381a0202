//! `.gitpod.yml` -> [`Workspace`]: the raw serde structs of Gitpod's schema
//! (`gitpod-schema.json`), and the lowering of what they say into the shared model.
//!
//! What Gitpod does is the reference (`shared/reference/gitpod.md`): defaults, task names,
//! the `/workspace/<checkoutLocation>` layout, how task `env` values become text. A key the
//! model cannot act on (IDE settings, prebuild settings...) is never dropped silently: it is
//! a warning at the key. Every problem is collected; one bad task or port does not hide the
//! next.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::config::Context;
use crate::config::source::{Document, pointer_push};
use crate::config::typed::{self, display_pointer};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{
    Command, ContainerOptions, EnvMap, Format, ImageSource, Lane, Mount, OnOpen, Phase, Port,
    Protocol, Stage, Step, Visibility, Workspace,
};

/// The image Gitpod falls back to when `image` is absent (`gp validate` does the same).
pub const DEFAULT_IMAGE: &str = "gitpod/workspace-full:latest";

/// Where Gitpod checks repositories out; `checkoutLocation` is relative to it.
const WORKSPACE_BASE: &str = "/workspace";

const REFERENCE: &str = "https://www.gitpod.io/docs/references/gitpod-yml";

// ---------------------------------------------------------------------------------------
// Raw structs: the schema, one field per key. `deny_unknown_fields` wherever the schema has
// `additionalProperties: false`.

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    image: Option<RawImage>,
    /// Each item is read as a [`RawTask`] on its own, so one bad task does not hide the rest.
    tasks: Option<Vec<Value>>,
    /// Each item is read as a [`RawPort`] on its own.
    ports: Option<Vec<Value>>,
    env: Option<BTreeMap<String, String>>,
    vscode: Option<RawVscode>,
    jetbrains: Option<RawJetbrains>,
    github: Option<RawGithub>,
    git_config: Option<BTreeMap<String, String>>,
    checkout_location: Option<String>,
    workspace_location: Option<String>,
    additional_repositories: Option<Vec<RawRepository>>,
    main_configuration: Option<String>,
    core_dump: Option<RawCoreDump>,
    experimental_network: Option<bool>,
}

impl RawConfig {
    /// Takes the fields `other` sets; each part read by [`read_config`] sets one.
    fn merge(&mut self, other: RawConfig) {
        macro_rules! take {
            ($($field:ident),*) => { $( if other.$field.is_some() { self.$field = other.$field; } )* };
        }
        take!(
            image,
            tasks,
            ports,
            env,
            vscode,
            jetbrains,
            github,
            git_config,
            checkout_location,
            workspace_location,
            additional_repositories,
            main_configuration,
            core_dump,
            experimental_network
        );
    }
}

/// `image: gitpod/workspace-full` or `image: {file: .gitpod.Dockerfile, context: .}`.
enum RawImage {
    Reference(String),
    Dockerfile(RawImageFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImageFile {
    file: String,
    context: Option<String>,
}

impl<'de> Deserialize<'de> for RawImage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ImageVisitor;
        impl<'de> Visitor<'de> for ImageVisitor {
            type Value = RawImage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an image name, or a mapping with `file` (and `context`)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawImage, E> {
                Ok(RawImage::Reference(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawImage, A::Error> {
                RawImageFile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawImage::Dockerfile)
            }
        }
        deserializer.deserialize_any(ImageVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTask {
    name: Option<String>,
    before: Option<String>,
    init: Option<String>,
    command: Option<String>,
    prebuild: Option<String>,
    /// Any JSON values: Gitpod passes strings as they are and JSON-encodes the rest.
    env: Option<Map<String, Value>>,
    open_in: Option<OpenIn>,
    open_mode: Option<OpenMode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum OpenIn {
    Bottom,
    Main,
    Left,
    Right,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum OpenMode {
    SplitLeft,
    SplitRight,
    TabBefore,
    TabAfter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPort {
    port: PortSpec,
    on_open: Option<RawOnOpen>,
    visibility: Option<RawVisibility>,
    protocol: Option<RawProtocol>,
    name: Option<String>,
    description: Option<String>,
}

/// `port:` as written: a number, or a string holding a range (`3000-3010`, `3000:3010`).
enum PortSpec {
    Number(serde_json::Number),
    Text(String),
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number like 3000, or a range like 3000-3010")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortSpec, E> {
                Ok(PortSpec::Number(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortSpec, E> {
                Ok(PortSpec::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PortSpec, E> {
                serde_json::Number::from_f64(v)
                    .map(PortSpec::Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortSpec, E> {
                Ok(PortSpec::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Number(n) => write!(f, "{n}"),
            PortSpec::Text(s) => write!(f, "{}", Value::String(s.clone())),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawOnOpen {
    OpenBrowser,
    OpenPreview,
    Notify,
    Ignore,
    IgnoreCompletely,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawVisibility {
    Private,
    Public,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawProtocol {
    Http,
    Https,
}

// The structs below are read only to check them against the schema: devboot does not act on
// what they say, and lowering turns their presence into a warning.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawVscode {
    extensions: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawJetbrains {
    plugins: Option<Vec<String>>,
    intellij: Option<RawJetbrainsProduct>,
    goland: Option<RawJetbrainsProduct>,
    pycharm: Option<RawJetbrainsProduct>,
    phpstorm: Option<RawJetbrainsProduct>,
    rubymine: Option<RawJetbrainsProduct>,
    webstorm: Option<RawJetbrainsProduct>,
    rider: Option<RawJetbrainsProduct>,
    clion: Option<RawJetbrainsProduct>,
    rustrover: Option<RawJetbrainsProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawJetbrainsProduct {
    plugins: Option<Vec<String>>,
    prebuilds: Option<RawJetbrainsPrebuilds>,
    vmoptions: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawJetbrainsPrebuilds {
    version: Option<RawJetbrainsVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawJetbrainsVersion {
    Stable,
    Latest,
    Both,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawGithub {
    prebuilds: Option<RawPrebuilds>,
}

/// `github.prebuilds`: a boolean, or a mapping of settings.
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
enum RawPrebuilds {
    Enabled(bool),
    Settings(RawGithubPrebuilds),
}

impl<'de> Deserialize<'de> for RawPrebuilds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrebuildsVisitor;
        impl<'de> Visitor<'de> for PrebuildsVisitor {
            type Value = RawPrebuilds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean, or a mapping of prebuild settings")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawPrebuilds, E> {
                Ok(RawPrebuilds::Enabled(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawPrebuilds, A::Error> {
                RawGithubPrebuilds::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawPrebuilds::Settings)
            }
        }
        deserializer.deserialize_any(PrebuildsVisitor)
    }
}

/// `github.prebuilds` settings. Unknown keys are allowed: the schema does not forbid them,
/// and many files carry the old `addComment`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawGithubPrebuilds {
    master: Option<bool>,
    branches: Option<bool>,
    pull_requests: Option<bool>,
    pull_requests_from_forks: Option<bool>,
    add_badge: Option<bool>,
    add_check: Option<BoolOrText>,
    add_label: Option<BoolOrText>,
}

/// `addCheck` (`true`, `false` or `"prevent-merge-on-error"`) and `addLabel` (a boolean or
/// a label name).
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

impl<'de> Deserialize<'de> for BoolOrText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoolOrTextVisitor;
        impl Visitor<'_> for BoolOrTextVisitor {
            type Value = BoolOrText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or a string")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<BoolOrText, E> {
                Ok(BoolOrText::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BoolOrText, E> {
                Ok(BoolOrText::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(BoolOrTextVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawRepository {
    url: String,
    checkout_location: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "checked against the schema only; devboot does not act on it"
)]
struct RawCoreDump {
    enabled: Option<bool>,
    soft_limit: Option<f64>,
    hard_limit: Option<f64>,
}

/// Top-level keys devboot reads but cannot act on: (key, why, what to do instead).
const IGNORED_KEYS: &[(&str, &str, Option<&str>)] = &[
    ("vscode", "devboot does not install IDE extensions", None),
    ("jetbrains", "devboot does not set up JetBrains IDEs", None),
    (
        "github",
        "it configures Gitpod's GitHub app, which devboot does not use",
        None,
    ),
    (
        "gitConfig",
        "devboot does not change git's config in the container",
        Some(
            "run `git config --global <key> <value>` in a task's `before` if the workspace needs it",
        ),
    ),
    (
        "additionalRepositories",
        "devboot mounts only this repository",
        Some("clone the other repositories in a task's `init` if the workspace needs them"),
    ),
    (
        "mainConfiguration",
        "devboot reads the config of this repository only",
        None,
    ),
    ("coreDump", "devboot does not set core dump limits", None),
    (
        "experimentalNetwork",
        "it is deprecated and Gitpod ignores it too",
        None,
    ),
];

// ---------------------------------------------------------------------------------------
// Lowering.

/// Lowers a parsed `.gitpod.yml` into a workspace. Returns `None` when the file has an error
/// (all of them are pushed to `diagnostics`, with the warnings).
pub fn lower(
    doc: &Document,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> Option<Workspace> {
    let errors_before = diagnostics.errors().count();
    let (raw, failed) = read_config(doc, diagnostics);
    warn_ignored_keys(doc, &failed, diagnostics);

    let local_folder = context.local_folder.clone();
    let name = local_folder.file_name().map_or_else(
        || "workspace".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let image = lower_image(doc, raw.image.as_ref(), &local_folder, diagnostics);

    let checkout = raw
        .checkout_location
        .as_deref()
        .and_then(|location| workspace_path(doc, "/checkoutLocation", location, diagnostics));
    let repo_root = checkout.unwrap_or_else(|| format!("{WORKSPACE_BASE}/{name}"));
    let workspace_root = raw
        .workspace_location
        .as_deref()
        .and_then(|location| workspace_path(doc, "/workspaceLocation", location, diagnostics));
    // Tasks run in THEIA_WORKSPACE_ROOT when it is a folder; a `.code-workspace` file is not.
    let folder = match &workspace_root {
        Some(root) if !root.ends_with(".code-workspace") => root.clone(),
        _ => repo_root.clone(),
    };

    let mut container_env = EnvMap::new();
    for (key, value) in raw.env.unwrap_or_default() {
        if key == "GITPOD_REPO_ROOT" || key == "THEIA_WORKSPACE_ROOT" {
            let pointer = pointer_push("/env", &key);
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{}: ignored, devboot sets {key} from the checkout and workspace locations",
                    display_pointer(&pointer)
                ))
                .at(doc.key_location(&pointer))
                .help("set `checkoutLocation` or `workspaceLocation` instead"),
            );
            continue;
        }
        container_env.insert(key, value);
    }
    container_env.insert("GITPOD_REPO_ROOT".into(), repo_root.clone());
    container_env.insert(
        "THEIA_WORKSPACE_ROOT".into(),
        workspace_root.unwrap_or_else(|| repo_root.clone()),
    );

    let lanes = lower_tasks(doc, raw.tasks.as_deref().unwrap_or_default(), diagnostics);
    let stages = if lanes.is_empty() {
        Vec::new()
    } else {
        vec![Stage {
            name: "tasks".into(),
            lanes,
        }]
    };
    let ports = lower_ports(doc, raw.ports.as_deref().unwrap_or_default(), diagnostics);

    if diagnostics.errors().count() > errors_before {
        return None;
    }
    Some(Workspace {
        format: Format::Gitpod,
        name,
        config_file: context.config_file.clone(),
        local_folder: local_folder.clone(),
        image,
        mount: Some(Mount {
            source: local_folder,
            target: repo_root,
            spec: None,
        }),
        folder,
        container_env,
        remote_env: EnvMap::new(),
        stages,
        ports,
        options: ContainerOptions {
            // Gitpod's supervisor is PID 1 and keeps the workspace alive whatever the image's
            // command does; `--init` and a keep-alive command are the closest equivalent.
            init: true,
            override_command: true,
            ..ContainerOptions::default()
        },
    })
}

/// Reads the top-level keys, each on its own, so one bad key does not hide problems in
/// the others. Returns what was read and the keys that had an error.
fn read_config<'a>(doc: &'a Document, diagnostics: &mut Diagnostics) -> (RawConfig, Vec<&'a str>) {
    let mut raw = RawConfig::default();
    let mut failed = Vec::new();
    for (key, value) in doc.value.as_object().into_iter().flatten() {
        let mut single = Map::new();
        single.insert(key.clone(), value.clone());
        match typed::deserialize_at::<RawConfig>(doc, "", &Value::Object(single)) {
            Ok(part) => raw.merge(part),
            Err(d) => {
                diagnostics.push(with_help(d));
                failed.push(key.as_str());
            }
        }
    }
    (raw, failed)
}

/// Warns once for each top-level key devboot cannot act on. A key that has an error, or is
/// empty, gets no warning: there is nothing to ignore.
fn warn_ignored_keys(doc: &Document, failed: &[&str], diagnostics: &mut Diagnostics) {
    let Some(object) = doc.value.as_object() else {
        return;
    };
    for (key, value) in object {
        let Some((_, why, help)) = IGNORED_KEYS.iter().find(|(k, ..)| k == key) else {
            continue;
        };
        if value.is_null() || failed.contains(&key.as_str()) {
            continue;
        }
        let mut warning = Diagnostic::warning(format!("{key}: ignored, {why}"))
            .at(doc.key_location(&pointer_push("", key)));
        if let Some(help) = help {
            warning = warning.help(*help);
        }
        diagnostics.push(warning);
    }
}

fn lower_image(
    doc: &Document,
    image: Option<&RawImage>,
    local_folder: &Path,
    diagnostics: &mut Diagnostics,
) -> ImageSource {
    match image {
        // Gitpod treats an empty `image` as no image.
        None => ImageSource::Reference {
            image: DEFAULT_IMAGE.into(),
        },
        Some(RawImage::Reference(image)) if image.trim().is_empty() => ImageSource::Reference {
            image: DEFAULT_IMAGE.into(),
        },
        Some(RawImage::Reference(image)) => ImageSource::Reference {
            image: image.trim().to_string(),
        },
        Some(RawImage::Dockerfile(build)) => {
            let dockerfile = local_folder.join(&build.file);
            check_dockerfile(doc, &dockerfile, diagnostics);
            let context = build
                .context
                .as_deref()
                .map_or_else(|| local_folder.to_path_buf(), |c| local_folder.join(c));
            ImageSource::Dockerfile {
                dockerfile,
                context,
                args: BTreeMap::new(),
                target: None,
                cache_from: Vec::new(),
                options: Vec::new(),
            }
        }
    }
}

/// The model's rule: a Dockerfile that is not there is an error now, not at `up`.
fn check_dockerfile(doc: &Document, dockerfile: &Path, diagnostics: &mut Diagnostics) {
    let shown = crate::config::source::display_path(dockerfile);
    let message = if dockerfile.is_file() {
        return;
    } else if dockerfile.is_dir() {
        format!("image.file: {shown} is a folder, not a Dockerfile")
    } else {
        "image.file: the Dockerfile does not exist".to_string()
    };
    diagnostics.push(
        Diagnostic::error(message)
            .at(doc.value_location("/image/file"))
            .help(format!(
                "devboot looked for {shown}; the path is relative to the repository root"
            )),
    );
}

/// `/workspace/<location>` for `checkoutLocation` / `workspaceLocation`, or `None` when the
/// location is empty (Gitpod's default applies) or not allowed (reported).
fn workspace_path(
    doc: &Document,
    pointer: &str,
    location: &str,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    if location.trim().is_empty() {
        return None;
    }
    let key = display_pointer(pointer);
    // Gitpod's server refuses any location containing `..` (config-provider.ts).
    if location.contains("..") {
        diagnostics.push(
            Diagnostic::error(format!("{key}: the path must not contain `..`"))
                .at(doc.value_location(pointer))
                .help(format!(
                    "write a path inside {WORKSPACE_BASE} without `..`, like `my-repo`"
                )),
        );
        return None;
    }
    if location.starts_with('/') {
        // Gitpod joins it onto /workspace all the same (path.join), so it still works there.
        diagnostics.push(
            Diagnostic::warning(format!(
                "{key}: the path is relative to {WORKSPACE_BASE}; the leading `/` is ignored"
            ))
            .at(doc.value_location(pointer))
            .help("remove the leading `/`"),
        );
    }
    let segments: Vec<&str> = location
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    Some(if segments.is_empty() {
        WORKSPACE_BASE.to_string()
    } else {
        format!("{WORKSPACE_BASE}/{}", segments.join("/"))
    })
}

fn lower_tasks(doc: &Document, tasks: &[Value], diagnostics: &mut Diagnostics) -> Vec<Lane> {
    let mut lanes = Vec::new();
    for (i, value) in tasks.iter().enumerate() {
        let pointer = format!("/tasks/{i}");
        let task: RawTask = match typed::deserialize_at(doc, &pointer, value) {
            Ok(task) => task,
            Err(d) => {
                diagnostics.push(with_help(d));
                continue;
            }
        };
        let shown = display_pointer(&pointer);
        if task.prebuild.is_some() {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{shown}.prebuild: ignored, it runs only in Gitpod prebuilds; devboot does not run it"
                ))
                .at(doc.key_location(&format!("{pointer}/prebuild")))
                .help("move the commands to `init` if they should run when the container is created"),
            );
        }
        for (field, set) in [
            ("openIn", task.open_in.is_some()),
            ("openMode", task.open_mode.is_some()),
        ] {
            if set {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "{shown}.{field}: ignored, it places the task's terminal in Gitpod's IDE"
                    ))
                    .at(doc.key_location(&format!("{pointer}/{field}"))),
                );
            }
        }

        let steps: Vec<Step> = [
            (Phase::Before, &task.before),
            (Phase::Init, &task.init),
            (Phase::Command, &task.command),
        ]
        .into_iter()
        .filter_map(|(phase, text)| {
            let text = text.as_deref().filter(|t| !t.trim().is_empty())?;
            Some(Step {
                phase,
                command: Command::Shell(text.to_string()),
            })
        })
        .collect();
        if steps.is_empty() {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{shown}: skipped, it has no `before`, `init` or `command` to run"
                ))
                .at(doc.value_location(&pointer))
                .help("add a `command`, or remove the task"),
            );
            continue;
        }
        let name = task
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("Gitpod Task {}", i + 1));
        let env = task
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, env_text(value)))
            .collect();
        lanes.push(Lane { name, env, steps });
    }
    lanes
}

/// A task `env` value as Gitpod passes it: a string as it is, anything else as JSON text
/// (`false`, `10`, `{"a":"b"}`), the fix for gitpod-io/gitpod#5887.
fn env_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn lower_ports(doc: &Document, ports: &[Value], diagnostics: &mut Diagnostics) -> Vec<Port> {
    let mut lowered: Vec<Port> = Vec::new();
    // Single port -> index of the entry that configured it first.
    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
    for (i, value) in ports.iter().enumerate() {
        let pointer = format!("/ports/{i}");
        let raw: RawPort = match typed::deserialize_at(doc, &pointer, value) {
            Ok(raw) => raw,
            Err(d) => {
                diagnostics.push(with_help(d));
                continue;
            }
        };
        let port_pointer = format!("{pointer}/port");
        let (start, end) = match port_range(&raw.port) {
            Ok(range) => range,
            Err(problem) => {
                let (message, help) = problem.describe(&raw.port);
                diagnostics.push(
                    Diagnostic::error(format!("{}: {message}", display_pointer(&port_pointer)))
                        .at(doc.value_location(&port_pointer))
                        .help(help),
                );
                continue;
            }
        };
        if start == end {
            if let Some(first) = seen.get(&start) {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "{}: port {start} is already configured by ports[{first}]; this entry is ignored",
                        display_pointer(&port_pointer)
                    ))
                    .at(doc.value_location(&port_pointer))
                    .help("remove this entry or merge it into the first one; the first one wins, as in Gitpod"),
                );
                continue;
            }
            seen.insert(start, i);
        }
        let on_open = match raw.on_open {
            None | Some(RawOnOpen::Notify) => OnOpen::Notify,
            Some(RawOnOpen::OpenBrowser) => OnOpen::OpenBrowser,
            Some(RawOnOpen::OpenPreview) => OnOpen::OpenPreview,
            Some(RawOnOpen::Ignore) => OnOpen::Silent,
            Some(RawOnOpen::IgnoreCompletely) => OnOpen::Ignore,
        };
        lowered.push(Port {
            port: start,
            end,
            host_port: None,
            host_ip: None,
            label: raw.name,
            description: raw.description,
            visibility: match raw.visibility {
                None | Some(RawVisibility::Private) => Visibility::Private,
                Some(RawVisibility::Public) => Visibility::Public,
            },
            publish: on_open != OnOpen::Ignore,
            on_open,
            protocol: raw.protocol.map(|p| match p {
                RawProtocol::Http => Protocol::Http,
                RawProtocol::Https => Protocol::Https,
            }),
        });
    }
    lowered
}

/// Why a `port:` value is not a port or range.
#[derive(Debug, PartialEq)]
enum PortProblem {
    NotANumber,
    OutOfRange,
    Reversed { start: u64, end: u64 },
    SameEnds { port: u64 },
}

impl PortProblem {
    fn describe(&self, spec: &PortSpec) -> (String, String) {
        match self {
            PortProblem::NotANumber => (
                format!("{spec} is not a port number"),
                "write a number like 3000, or a range like 3000-3010".into(),
            ),
            PortProblem::OutOfRange => (
                "port must be between 1 and 65535".into(),
                "use a port number from 1 to 65535".into(),
            ),
            PortProblem::Reversed { start, end } => (
                "range end is below its start".into(),
                format!("write the lower port first: {end}-{start}"),
            ),
            PortProblem::SameEnds { port } => (
                "range start and end are the same port".into(),
                format!("write a single port as a number: {port}"),
            ),
        }
    }
}

/// The first and last port of `port:`. A number is one port; a string is a range
/// `start-end` or `start:end` with `start < end` (what Gitpod's supervisor accepts), or,
/// as the supervisor also takes it, a single port written as a string.
fn port_range(spec: &PortSpec) -> Result<(u16, u16), PortProblem> {
    let (start, end) = match spec {
        PortSpec::Number(n) => {
            let port = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(port), ..) => port,
                (None, Some(_), _) => return Err(PortProblem::OutOfRange),
                (None, None, Some(f)) if f.fract() == 0.0 => return Err(PortProblem::OutOfRange),
                _ => return Err(PortProblem::NotANumber),
            };
            (port, port)
        }
        PortSpec::Text(text) => {
            let number = |s: &str| -> Result<u64, PortProblem> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(PortProblem::NotANumber);
                }
                // All digits: too many of them is a port far out of range.
                Ok(s.parse().unwrap_or(u64::MAX))
            };
            if let Some((start, end)) = text.split_once(['-', ':']) {
                let (start, end) = (number(start)?, number(end)?);
                if end < start {
                    return Err(PortProblem::Reversed { start, end });
                }
                if end == start {
                    return Err(PortProblem::SameEnds { port: start });
                }
                (start, end)
            } else {
                let port = number(text)?;
                (port, port)
            }
        }
    };
    let valid = |p: u64| u16::try_from(p).ok().filter(|p| *p >= 1);
    match (valid(start), valid(end)) {
        (Some(start), Some(end)) => Ok((start, end)),
        _ => Err(PortProblem::OutOfRange),
    }
}

/// Adds a `help:` line to a typed-deserialization error, from what serde said.
fn with_help(diagnostic: Diagnostic) -> Diagnostic {
    let message = &diagnostic.message;
    let help = if message.contains("unknown field") {
        let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
        match names.split_first() {
            Some((unknown, expected)) => match closest(unknown, expected) {
                Some(name) => format!("did you mean `{name}`?"),
                None => "remove it, or check its spelling against the keys listed".into(),
            },
            None => "remove it".into(),
        }
    } else if message.contains("missing field") {
        "add it; see ".to_string() + REFERENCE
    } else if message.contains("unknown variant") {
        "use one of the values listed".into()
    } else if message.contains("expected a sequence") {
        "write a list, one item per line starting with `- `".into()
    } else if message.contains("expected a string") {
        "write a string; put the value in quotes if it looks like a number or a boolean".into()
    } else {
        format!("fix the value; see {REFERENCE}")
    };
    diagnostic.help(help)
}

/// The expected name closest to `unknown`, when it is close enough to be a typo.
fn closest<'a>(unknown: &str, expected: &[&'a str]) -> Option<&'a str> {
    // No key of the schema is this long; a typo of one would not be either.
    if unknown.len() > 64 {
        return None;
    }
    let unknown_lower = unknown.to_lowercase();
    expected
        .iter()
        .map(|name| (edit_distance(&unknown_lower, &name.to_lowercase()), *name))
        .filter(|(distance, name)| *distance <= (name.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`; a swapped
/// pair is one typo, not two.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::source::SourceFile;
    use crate::config::yaml;

    /// Lowers `text` as the `.gitpod.yml` of `folder`.
    fn lower_in(folder: &Path, text: &str) -> (Option<Workspace>, Diagnostics) {
        let file = SourceFile::new(folder.join(".gitpod.yml"), text);
        let mut diagnostics = Diagnostics::default();
        let doc = yaml::parse(&file, &mut diagnostics).expect("valid YAML");
        let context = Context {
            local_folder: folder.to_path_buf(),
            config_file: file.path.clone(),
            host_env: EnvMap::new(),
        };
        let workspace = lower(&doc, &context, &mut diagnostics);
        (workspace, diagnostics)
    }

    fn lower_text(text: &str) -> (Option<Workspace>, Diagnostics) {
        lower_in(Path::new("/home/me/my-app"), text)
    }

    fn workspace(text: &str) -> Workspace {
        let (workspace, diagnostics) = lower_text(text);
        assert!(!diagnostics.has_errors(), "{diagnostics:#?}");
        workspace.expect("a workspace")
    }

    /// (severity-prefixed message, line:col) of every diagnostic.
    fn problems(diagnostics: &Diagnostics) -> Vec<(String, String)> {
        diagnostics
            .0
            .iter()
            .map(|d| {
                let kind = if d.is_error() { "error" } else { "warning" };
                let at = d.location.as_ref().map_or(String::new(), |l| {
                    let (line, col) = l.file.line_col(l.span.start);
                    format!("{line}:{col}")
                });
                (format!("{kind}: {}", d.message), at)
            })
            .collect()
    }

    fn problem(kind: &str, message: &str, at: &str) -> (String, String) {
        (format!("{kind}: {message}"), at.to_string())
    }

    #[test]
    fn an_empty_file_gets_gitpods_defaults() {
        let ws = workspace("");
        assert_eq!(ws.format, Format::Gitpod);
        assert_eq!(ws.name, "my-app");
        assert_eq!(ws.config_file, PathBuf::from("/home/me/my-app/.gitpod.yml"));
        assert_eq!(
            ws.image,
            ImageSource::Reference {
                image: "gitpod/workspace-full:latest".into()
            }
        );
        assert_eq!(
            ws.mount,
            Some(Mount {
                source: PathBuf::from("/home/me/my-app"),
                target: "/workspace/my-app".into(),
                spec: None,
            })
        );
        assert_eq!(ws.folder, "/workspace/my-app");
        assert_eq!(
            ws.container_env,
            EnvMap::from([
                ("GITPOD_REPO_ROOT".into(), "/workspace/my-app".into()),
                ("THEIA_WORKSPACE_ROOT".into(), "/workspace/my-app".into()),
            ])
        );
        assert!(ws.stages.is_empty() && ws.ports.is_empty() && ws.remote_env.is_empty());
        assert!(ws.options.init && ws.options.override_command && !ws.options.privileged);
    }

    #[test]
    fn tasks_become_lanes_of_one_stage() {
        let ws = workspace(
            "tasks:\n  - name: web\n    before: b\n    init: i\n    command: c\n  - command: only\n    init: '  '\n",
        );
        assert_eq!(ws.stages.len(), 1);
        assert_eq!(ws.stages[0].name, "tasks");
        let lanes = &ws.stages[0].lanes;
        assert_eq!(lanes[0].name, "web");
        let phases: Vec<(Phase, String)> = lanes[0]
            .steps
            .iter()
            .map(|s| (s.phase, s.command.to_string()))
            .collect();
        assert_eq!(
            phases,
            [
                (Phase::Before, "b".to_string()),
                (Phase::Init, "i".to_string()),
                (Phase::Command, "c".to_string())
            ]
        );
        // Gitpod numbers unnamed tasks from 1; a blank phase is no phase.
        assert_eq!(lanes[1].name, "Gitpod Task 2");
        assert_eq!(
            lanes[1].steps,
            [Step {
                phase: Phase::Command,
                command: Command::Shell("only".into())
            }]
        );
    }

    #[test]
    fn task_env_values_that_are_not_strings_become_json_text() {
        let ws = workspace(
            "tasks:\n  - command: x\n    env:\n      A: false\n      B: 10\n      C: {\"a\": \"b\"}\n      D: ~\n      E: on\n      F: '10'\n      G: 1.5\n      H: [1, x]\n",
        );
        let env = &ws.stages[0].lanes[0].env;
        let expected = [
            ("A", "false"),
            ("B", "10"),
            ("C", "{\"a\":\"b\"}"),
            ("D", "null"),
            ("E", "on"),
            ("F", "10"),
            ("G", "1.5"),
            ("H", "[1,\"x\"]"),
        ];
        for (key, value) in expected {
            assert_eq!(env[key], value, "{key}");
        }
    }

    #[test]
    fn a_task_with_nothing_to_run_is_skipped_with_a_warning() {
        let (ws, d) = lower_text("tasks:\n  - name: idle\n    prebuild: make\n");
        assert!(ws.unwrap().stages.is_empty());
        assert_eq!(
            problems(&d),
            [
                problem(
                    "warning",
                    "tasks[0].prebuild: ignored, it runs only in Gitpod prebuilds; devboot does not run it",
                    "3:5"
                ),
                problem(
                    "warning",
                    "tasks[0]: skipped, it has no `before`, `init` or `command` to run",
                    "2:5"
                ),
            ]
        );
    }

    #[test]
    fn ports_map_every_on_open_value() {
        let ws = workspace(
            "ports:\n  - port: 1\n  - port: 2\n    onOpen: open-browser\n  - port: 3\n    onOpen: open-preview\n  - port: 4\n    onOpen: notify\n  - port: 5\n    onOpen: ignore\n  - port: 6\n    onOpen: ignore-completely\n",
        );
        let on_open: Vec<(OnOpen, bool)> =
            ws.ports.iter().map(|p| (p.on_open, p.publish)).collect();
        assert_eq!(
            on_open,
            [
                (OnOpen::Notify, true),
                (OnOpen::OpenBrowser, true),
                (OnOpen::OpenPreview, true),
                (OnOpen::Notify, true),
                (OnOpen::Silent, true),
                (OnOpen::Ignore, false),
            ]
        );
    }

    #[test]
    fn ports_keep_their_attributes_and_ranges() {
        let ws = workspace(
            "ports:\n  - port: 3000\n    name: Web\n    description: the app\n    visibility: public\n    protocol: https\n  - port: 6000-6010\n  - port: '7000:7001'\n  - port: \"8080\"\n",
        );
        let p = &ws.ports[0];
        assert_eq!((p.port, p.end), (3000, 3000));
        assert_eq!(p.label.as_deref(), Some("Web"));
        assert_eq!(p.description.as_deref(), Some("the app"));
        assert_eq!(p.visibility, Visibility::Public);
        assert_eq!(p.protocol, Some(Protocol::Https));
        assert_eq!((p.host_port, p.host_ip.as_deref()), (None, None));
        let q = &ws.ports[1];
        assert_eq!(
            (q.port, q.end, q.visibility, q.protocol),
            (6000, 6010, Visibility::Private, None)
        );
        assert_eq!((ws.ports[2].port, ws.ports[2].end), (7000, 7001));
        assert_eq!((ws.ports[3].port, ws.ports[3].end), (8080, 8080));
    }

    #[test]
    fn port_values_are_checked() {
        let spec = |s: &str| PortSpec::Text(s.into());
        let number = |n: f64| PortSpec::Number(serde_json::Number::from_f64(n).unwrap());
        assert_eq!(port_range(&spec("3000-3010")), Ok((3000, 3010)));
        assert_eq!(port_range(&spec("1:65535")), Ok((1, 65535)));
        assert_eq!(
            port_range(&PortSpec::Number(65535.into())),
            Ok((65535, 65535))
        );
        assert_eq!(port_range(&spec("abc")), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&spec("3000-")), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&spec(" 3000")), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&spec("1-2-3")), Err(PortProblem::NotANumber));
        assert_eq!(
            port_range(&spec("5000-3000")),
            Err(PortProblem::Reversed {
                start: 5000,
                end: 3000
            })
        );
        assert_eq!(
            port_range(&spec("3000-3000")),
            Err(PortProblem::SameEnds { port: 3000 })
        );
        assert_eq!(
            port_range(&spec("3000-70000")),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&spec("99999999999999999999999")),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&PortSpec::Number(0.into())),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&PortSpec::Number(70000.into())),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(
            port_range(&PortSpec::Number((-1).into())),
            Err(PortProblem::OutOfRange)
        );
        assert_eq!(port_range(&number(3000.5)), Err(PortProblem::NotANumber));
        assert_eq!(port_range(&number(1e20)), Err(PortProblem::OutOfRange));
    }

    #[test]
    fn bad_ports_are_errors_at_the_value_and_duplicates_warnings() {
        let (ws, d) = lower_text(
            "ports:\n  - port: abc\n  - port: 5000-3000\n  - port: 70000\n  - port: 3000\n  - port: 3000\n    onOpen: ignore\n  - port: true\n  - onOpen: notify\n",
        );
        assert!(ws.is_none());
        assert_eq!(
            problems(&d),
            [
                problem(
                    "error",
                    "ports[0].port: \"abc\" is not a port number",
                    "2:11"
                ),
                problem(
                    "error",
                    "ports[1].port: range end is below its start",
                    "3:11"
                ),
                problem(
                    "error",
                    "ports[2].port: port must be between 1 and 65535",
                    "4:11"
                ),
                problem(
                    "warning",
                    "ports[4].port: port 3000 is already configured by ports[3]; this entry is ignored",
                    "6:11"
                ),
                problem(
                    "error",
                    "ports[5].port: invalid type: boolean `true`, expected a port number like 3000, or a range like 3000-3010",
                    "8:11"
                ),
                problem("error", "ports[6]: missing field `port`", "9:5"),
            ]
        );
        assert_eq!(
            d.0[1].help.as_deref(),
            Some("write the lower port first: 3000-5000")
        );
    }

    #[test]
    fn images_and_dockerfiles() {
        let ws = workspace("image: gitpod/workspace-node\n");
        assert_eq!(
            ws.image,
            ImageSource::Reference {
                image: "gitpod/workspace-node".into()
            }
        );
        assert_eq!(
            workspace("image: ''\n").image,
            ImageSource::Reference {
                image: DEFAULT_IMAGE.into()
            }
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        std::fs::write(dir.path().join("docker/Dockerfile"), "FROM scratch\n").unwrap();
        let (ws, d) = lower_in(dir.path(), "image:\n  file: docker/Dockerfile\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            ws.unwrap().image,
            ImageSource::Dockerfile {
                dockerfile: dir.path().join("docker/Dockerfile"),
                context: dir.path().to_path_buf(),
                args: BTreeMap::new(),
                target: None,
                cache_from: Vec::new(),
                options: Vec::new(),
            }
        );
        let (ws, _) = lower_in(
            dir.path(),
            "image:\n  file: docker/Dockerfile\n  context: docker\n",
        );
        assert!(matches!(
            ws.unwrap().image,
            ImageSource::Dockerfile { context, .. } if context == dir.path().join("docker")
        ));

        let (ws, d) = lower_in(dir.path(), "image:\n  file: .gitpod.Dockerfile\n");
        assert!(ws.is_none());
        assert_eq!(
            problems(&d),
            [problem(
                "error",
                "image.file: the Dockerfile does not exist",
                "2:9"
            )]
        );
        let help = d.0[0].help.as_deref().unwrap();
        assert!(help.contains(".gitpod.Dockerfile"), "{help}");
        let (_, d) = lower_in(dir.path(), "image:\n  file: docker\n");
        assert!(d.0[0].message.ends_with("is a folder, not a Dockerfile"));
    }

    #[test]
    fn image_objects_are_checked_against_the_schema() {
        let (_, d) = lower_text("image:\n  dockerfile: x\n");
        assert_eq!(
            problems(&d),
            [problem(
                "error",
                "image.dockerfile: unknown field `dockerfile`, expected `file` or `context`",
                "2:3"
            )]
        );
        let (_, d) = lower_text("image: 5\n");
        assert_eq!(
            d.0[0].message,
            "image: invalid type: integer `5`, expected an image name, or a mapping with `file` (and `context`)"
        );
    }

    #[test]
    fn checkout_and_workspace_locations() {
        let ws = workspace("checkoutLocation: go/src/app\nworkspaceLocation: go/src/app/cmd\n");
        assert_eq!(ws.mount.unwrap().target, "/workspace/go/src/app");
        assert_eq!(ws.folder, "/workspace/go/src/app/cmd");
        assert_eq!(
            ws.container_env["GITPOD_REPO_ROOT"],
            "/workspace/go/src/app"
        );
        assert_eq!(
            ws.container_env["THEIA_WORKSPACE_ROOT"],
            "/workspace/go/src/app/cmd"
        );

        // A .code-workspace file is not a folder: tasks run in the checkout.
        let ws = workspace("workspaceLocation: my-app/dev.code-workspace\n");
        assert_eq!(ws.folder, "/workspace/my-app");
        assert_eq!(
            ws.container_env["THEIA_WORKSPACE_ROOT"],
            "/workspace/my-app/dev.code-workspace"
        );

        let ws = workspace("checkoutLocation: ./repo/\n");
        assert_eq!(ws.folder, "/workspace/repo");

        let (ws, d) = lower_text("checkoutLocation: ../etc\nworkspaceLocation: a/../../b\n");
        assert!(ws.is_none());
        assert_eq!(
            problems(&d),
            [
                problem(
                    "error",
                    "checkoutLocation: the path must not contain `..`",
                    "1:19"
                ),
                problem(
                    "error",
                    "workspaceLocation: the path must not contain `..`",
                    "2:20"
                ),
            ]
        );

        let (ws, d) = lower_text("checkoutLocation: /app\n");
        assert_eq!(ws.unwrap().folder, "/workspace/app");
        assert_eq!(
            problems(&d),
            [problem(
                "warning",
                "checkoutLocation: the path is relative to /workspace; the leading `/` is ignored",
                "1:19"
            )]
        );
    }

    #[test]
    fn keys_devboot_cannot_act_on_are_warnings_at_the_key() {
        let (ws, d) = lower_text(
            "vscode:\n  extensions: [a.b]\njetbrains:\n  intellij:\n    prebuilds:\n      version: stable\ngithub:\n  prebuilds:\n    master: true\n    addCheck: prevent-merge-on-error\n    addLabel: prebuilt\n    addComment: true\ngitConfig:\n  core.autocrlf: input\nadditionalRepositories:\n  - url: https://github.com/a/b\nmainConfiguration: https://github.com/a/c\ncoreDump:\n  enabled: true\n  softLimit: 10\nexperimentalNetwork: true\ntasks:\n  - command: x\n    openIn: main\n    openMode: split-left\n",
        );
        assert!(ws.is_some());
        let got: Vec<String> = problems(&d)
            .into_iter()
            .map(|(m, at)| format!("{m} @{at}"))
            .collect();
        assert_eq!(
            got,
            [
                "warning: vscode: ignored, devboot does not install IDE extensions @1:1",
                "warning: jetbrains: ignored, devboot does not set up JetBrains IDEs @3:1",
                "warning: github: ignored, it configures Gitpod's GitHub app, which devboot does not use @7:1",
                "warning: gitConfig: ignored, devboot does not change git's config in the container @13:1",
                "warning: additionalRepositories: ignored, devboot mounts only this repository @15:1",
                "warning: mainConfiguration: ignored, devboot reads the config of this repository only @17:1",
                "warning: coreDump: ignored, devboot does not set core dump limits @18:1",
                "warning: experimentalNetwork: ignored, it is deprecated and Gitpod ignores it too @21:1",
                "warning: tasks[0].openIn: ignored, it places the task's terminal in Gitpod's IDE @24:5",
                "warning: tasks[0].openMode: ignored, it places the task's terminal in Gitpod's IDE @25:5",
            ]
        );
    }

    #[test]
    fn errors_in_several_keys_are_all_reported() {
        let (ws, d) = lower_text(
            "imgae: x\nenv:\n  DEBUG: true\ntasks:\n  - commnd: x\n  - command: 5\n  - init: ok\ngithub:\n  prebuilds: maybe\nvscode:\n  extensions: a\n",
        );
        assert!(ws.is_none());
        let got: Vec<String> = problems(&d)
            .into_iter()
            .map(|(m, at)| format!("{m} @{at}"))
            .collect();
        assert_eq!(
            got,
            [
                "error: imgae: unknown field `imgae`, expected one of `image`, `tasks`, `ports`, `env`, `vscode`, `jetbrains`, `github`, `gitConfig`, `checkoutLocation`, `workspaceLocation`, `additionalRepositories`, `mainConfiguration`, `coreDump`, `experimentalNetwork` @1:1",
                "error: env.DEBUG: invalid type: boolean `true`, expected a string @3:10",
                "error: github.prebuilds: invalid type: string \"maybe\", expected a boolean, or a mapping of prebuild settings @9:14",
                "error: vscode.extensions: invalid type: string \"a\", expected a sequence @11:15",
                "error: tasks[0].commnd: unknown field `commnd`, expected one of `name`, `before`, `init`, `command`, `prebuild`, `env`, `openIn`, `openMode` @5:5",
                "error: tasks[1].command: invalid type: integer `5`, expected a string @6:14",
            ]
        );
        let helps: Vec<&str> = d.0.iter().filter_map(|d| d.help.as_deref()).collect();
        assert_eq!(helps[0], "did you mean `image`?");
        assert_eq!(
            helps[1],
            "write a string; put the value in quotes if it looks like a number or a boolean"
        );
        assert_eq!(
            helps[3],
            "write a list, one item per line starting with `- `"
        );
        assert_eq!(helps[4], "did you mean `command`?");
    }

    #[test]
    fn env_sets_container_variables_but_not_the_locations() {
        let (ws, d) = lower_text("env:\n  FOO: bar\n  GITPOD_REPO_ROOT: /x\n");
        let ws = ws.unwrap();
        assert_eq!(ws.container_env["FOO"], "bar");
        assert_eq!(ws.container_env["GITPOD_REPO_ROOT"], "/workspace/my-app");
        assert_eq!(
            problems(&d),
            [problem(
                "warning",
                "env.GITPOD_REPO_ROOT: ignored, devboot sets GITPOD_REPO_ROOT from the checkout and workspace locations",
                "3:3"
            )]
        );
    }

    #[test]
    fn typos_are_matched_to_the_closest_key() {
        assert_eq!(
            closest("commnd", &["name", "command", "init"]),
            Some("command")
        );
        assert_eq!(closest("Ports", &["image", "ports"]), Some("ports"));
        assert_eq!(closest("zzz", &["name", "init"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("imgae", "image"), 1);
    }
}
