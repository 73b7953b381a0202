//! Lowering a parsed `devcontainer.json` into the [`Workspace`] model.
//!
//! Order: warn about properties devboot does not act on, substitute `${...}` variables
//! (`substitute.rs`) on the whole value (`--mount` values field by field, see
//! `substitute_mounts`), then read each property into its raw type (type errors
//! located by `typed.rs`) and lower it. Every property of the spec's base schema is either
//! lowered or named in a warning: nothing a user wrote is dropped silently
//! (`reference/devcontainer.md` §a lists what the reference CLI does with each).
//!
//! What the reference CLI does and devboot follows: a Dockerfile wins over `image`, which wins
//! over `dockerComposeFile`; `build.context` defaults to the Dockerfile's folder; an `appPort`
//! number is published on 127.0.0.1 only; `overrideCommand` defaults to true except with
//! Compose; `workspaceMount: ""` means no mount.
//!
//! Here: the order of the passes, the readers every part shares (`Fields`), the workspace
//! mount and folder, and the environment maps. Each other part has its file: `image.rs`,
//! `ports.rs`, `hooks.rs` (lifecycle commands), `options.rs` (container options and
//! `mounts`), `properties.rs` (which properties are read, and the warning for the others).
//! The border: the text is parsed by `jsonc.rs` before it comes here, and the schema check of
//! `devboot validate` is `schema.rs`'s.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::config::Context;
use crate::config::source::{Document, Location, Span, pointer_push};
use crate::config::substitute::{self, Variables};
use crate::config::typed;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{EnvMap, Format, Mount, Workspace};

pub mod features;
mod hooks;
mod image;
mod options;
mod ports;
mod properties;

pub(crate) use ports::port_range;

pub(crate) use hooks::HOOKS;

/// Where the image comes from, decided by which keys are present (values are checked later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dockerfile,
    Image,
    Compose,
    Missing,
}

impl Kind {
    /// The reference CLI's precedence: a Dockerfile (`build.dockerfile` or legacy
    /// `dockerFile`), else `image`, else `dockerComposeFile`.
    fn of(root: &Map<String, Value>) -> Kind {
        // `null` counts as absent, as it does when the property is read.
        let set = |value: Option<&Value>| value.is_some_and(|v| !v.is_null());
        let build_dockerfile = set(root.get("build").and_then(|b| b.get("dockerfile")));
        if build_dockerfile || set(root.get("dockerFile")) {
            Kind::Dockerfile
        } else if set(root.get("image")) {
            Kind::Image
        } else if set(root.get("dockerComposeFile")) {
            Kind::Compose
        } else {
            Kind::Missing
        }
    }
}

/// The hooks `waitFor` may name (named as written: every one ends in `Command`).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::enum_variant_names)]
enum WaitFor {
    InitializeCommand,
    OnCreateCommand,
    UpdateContentCommand,
    PostCreateCommand,
    PostStartCommand,
    PostAttachCommand,
}

impl WaitFor {
    fn phase(self) -> crate::workspace::Phase {
        use crate::workspace::Phase;
        match self {
            WaitFor::InitializeCommand => Phase::InitializeCommand,
            WaitFor::OnCreateCommand => Phase::OnCreateCommand,
            WaitFor::UpdateContentCommand => Phase::UpdateContentCommand,
            WaitFor::PostCreateCommand => Phase::PostCreateCommand,
            WaitFor::PostStartCommand => Phase::PostStartCommand,
            WaitFor::PostAttachCommand => Phase::PostAttachCommand,
        }
    }
}

/// Reads top-level properties of the substituted value into raw types, pushing located type
/// errors.
struct Fields<'d> {
    doc: &'d Document,
    root: &'d Map<String, Value>,
}

impl Fields<'_> {
    fn has(&self, key: &str) -> bool {
        self.root.contains_key(key)
    }

    /// The property as `T`; absent and `null` are `None`.
    fn get<T: DeserializeOwned>(&self, key: &str, diagnostics: &mut Diagnostics) -> Option<T> {
        let value = self.root.get(key).filter(|v| !v.is_null())?;
        read(self.doc, &pointer_push("", key), value, diagnostics)
    }

    fn string(&self, key: &str, diagnostics: &mut Diagnostics) -> Option<String> {
        self.get(key, diagnostics)
    }

    fn strings(&self, key: &str, diagnostics: &mut Diagnostics) -> Vec<String> {
        self.get(key, diagnostics).unwrap_or_default()
    }

    fn flag(&self, key: &str, diagnostics: &mut Diagnostics) -> Option<bool> {
        self.get(key, diagnostics)
    }
}

/// Deserializes `value` (found at `pointer`) into `T`, pushing a located error on failure.
fn read<T: DeserializeOwned>(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    typed::deserialize_at(doc, pointer, value)
        .map_err(|d| diagnostics.push(d))
        .ok()
}

/// Like [`read`], for a struct: serde would also fill a struct from an array (`["x"]` as its
/// first field), so anything but an object is a type error here.
fn read_object<T: DeserializeOwned>(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    if value.is_object() {
        read(doc, pointer, value, diagnostics)
    } else {
        read::<Map<String, Value>>(doc, pointer, value, diagnostics);
        None
    }
}

/// Lowers a parsed `devcontainer.json`. Returns `None` when lowering found an error (all of
/// them are in `diagnostics`).
pub fn lower(
    doc: &Document,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> Option<Workspace> {
    let errors_before = diagnostics.errors().count();
    let Some(written) = doc.value.as_object() else {
        diagnostics.push(
            Diagnostic::error("the file must contain a JSON object")
                .at(opening(doc))
                .help("put the settings in one object: `{ \"image\": \"...\", ... }`"),
        );
        return None;
    };
    properties::warn_about_properties(doc, written, diagnostics);
    let kind = Kind::of(written);
    // `${localWorkspaceFolder}` and the id labels use the folder as `path.resolve` gives it.
    let context = &Context {
        local_folder: substitute::normalize(&context.local_folder),
        config_file: substitute::normalize(&context.config_file),
        host_env: context.host_env.clone(),
    };

    // `${containerWorkspaceFolder}` is the workspace folder with only the local variables
    // resolved, as in the reference CLI (the later passes then run over it like any string).
    let local_vars = Variables {
        host_env: &context.host_env,
        local_folder: &context.local_folder,
        container_folder: None,
        devcontainer_id: None,
    };
    let container_folder = {
        let mut local: Map<String, Value> = ["workspaceFolder", "workspaceMount"]
            .into_iter()
            .filter_map(|key| {
                let value = match written.get(key)? {
                    Value::String(s) => Value::String(substitute::resolve_local(s, &local_vars)),
                    other => other.clone(),
                };
                Some((key.to_string(), value))
            })
            .collect();
        let resolve = |text: &str| substitute::resolve_local(text, &local_vars);
        // Its errors are reported by the full pass below.
        substitute_mounts(
            doc,
            written,
            &mut local,
            &resolve,
            &mut Diagnostics::default(),
        );
        let fields = Fields { doc, root: &local };
        layout(&fields, kind, context, &mut Diagnostics::default()).1
    };
    let id = substitute::devcontainer_id(&substitute::id_labels(
        &context.local_folder,
        &context.config_file,
    ));
    let vars = Variables {
        container_folder: Some(&container_folder),
        devcontainer_id: Some(&id),
        ..local_vars
    };
    let mut value = substitute::substitute_document(doc, &vars, &properties::is_used, diagnostics);
    let root = value.as_object_mut()?;
    let resolve = |text: &str| substitute::resolve_load_time(text, &vars);
    substitute_mounts(doc, written, root, &resolve, diagnostics);
    let root = &*root;
    let fields = Fields { doc, root };

    let image = image::source(&fields, kind, context, diagnostics);
    let (mount, folder) = layout(&fields, kind, context, diagnostics);
    let name = fields
        .string("name", diagnostics)
        .unwrap_or_else(|| context.folder_name());
    let container_env = env_map(&fields, "containerEnv", diagnostics);
    let remote_env = env_map(&fields, "remoteEnv", diagnostics);
    let stages = hooks::stages(&fields, diagnostics);
    let ports = ports::lower(&fields, kind, diagnostics);
    let options = options::options(&fields, kind, diagnostics);
    let (features, feature_install_order) =
        features::features(&fields, &context.config_file, diagnostics);

    let Some(image) = image else {
        if diagnostics.errors().count() == errors_before {
            diagnostics.push(image::missing(doc));
        }
        return None;
    };
    let workspace = Workspace {
        format: Format::Devcontainer,
        name,
        config_file: context.config_file.clone(),
        local_folder: context.local_folder.clone(),
        image,
        mount,
        folder,
        container_env,
        remote_env,
        stages,
        prebuild_commands: Vec::new(),
        ports,
        options,
        features,
        feature_install_order,
        recommended_secrets: fields
            .get::<std::collections::BTreeMap<String, crate::workspace::RecommendedSecret>>(
                "secrets",
                diagnostics,
            )
            .unwrap_or_default()
            .into_iter()
            .map(|(name, secret)| crate::workspace::RecommendedSecret { name, ..secret })
            .collect(),
        shutdown_action: fields.get("shutdownAction", diagnostics),
        host_requirements: fields.get("hostRequirements", diagnostics),
        wait_for: fields
            .get::<WaitFor>("waitFor", diagnostics)
            .map(WaitFor::phase),
        // The spec's default: commands see what the user's login shell sets.
        user_env_probe: fields
            .get("userEnvProbe", diagnostics)
            .unwrap_or(crate::workspace::Probe::LoginInteractiveShell),
    };
    (diagnostics.errors().count() == errors_before).then_some(workspace)
}

/// `workspaceMount` and the string entries of `mounts` are `--mount` values: they are
/// substituted field by field from the text as written (`mount::substitute`), so that what a
/// variable brings in (a folder named `x,src=/other`) stays inside its field. `root` is the
/// document after the whole-string pass; their values in it are replaced.
fn substitute_mounts(
    doc: &Document,
    written: &Map<String, Value>,
    root: &mut Map<String, Value>,
    resolve: &dyn Fn(&str) -> String,
    diagnostics: &mut Diagnostics,
) {
    let mut one = |template: &str, pointer: &str| {
        crate::mount::substitute(template, resolve)
            .map_err(|e| {
                diagnostics.push(
                    Diagnostic::error(format!("{}: {e}", typed::display_pointer(pointer)))
                        .at(doc.value_location(pointer))
                        .help(e.help()),
                );
            })
            .ok()
    };
    if let Some(Value::String(template)) = written.get("workspaceMount")
        && !template.is_empty()
    {
        // On an error no mount is read at all: that error says it all.
        match one(template, "/workspaceMount") {
            Some(value) => root.insert("workspaceMount".into(), Value::String(value)),
            None => root.remove("workspaceMount"),
        };
    }
    if let Some(Value::Array(items)) = written.get("mounts") {
        for (i, item) in items.iter().enumerate() {
            if let Value::String(template) = item {
                let value =
                    one(template, &format!("/mounts/{i}")).unwrap_or_else(|| template.clone());
                if let Some(slot) = root
                    .get_mut("mounts")
                    .and_then(Value::as_array_mut)
                    .and_then(|items| items.get_mut(i))
                {
                    *slot = Value::String(value);
                }
            }
        }
    }
}

/// The first character of the root object: a place for "something is missing in here" that
/// does not quote the whole file.
fn opening(doc: &Document) -> Location {
    let span = doc.spans.value_or_parent("");
    let len = doc
        .file
        .text
        .get(span.start..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8);
    Location::new(&doc.file, Span::new(span.start, span.start + len))
}

/// The repository mount and the folder in the container.
fn layout(
    fields: &Fields<'_>,
    kind: Kind,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> (Option<Mount>, String) {
    let workspace_folder = fields
        .string("workspaceFolder", diagnostics)
        .filter(|f| !f.is_empty());
    if kind == Kind::Compose {
        // Compose mounts the sources itself (its `volumes:`); the CLI's default folder is `/`.
        return (None, workspace_folder.unwrap_or_else(|| "/".into()));
    }
    let default_target = format!("/workspaces/{}", context.folder_name());
    let mount = match fields.string("workspaceMount", diagnostics) {
        None => Some(Mount {
            source: context.local_folder.clone(),
            target: default_target.clone(),
            spec: None,
        }),
        Some(spec) if spec.is_empty() => None,
        Some(spec) => {
            let (source, target) = mount_source_target(&spec);
            if let Some(target) = target {
                Some(Mount {
                    source: PathBuf::from(source.unwrap_or_default()),
                    target,
                    spec: Some(spec),
                })
            } else {
                diagnostics.push(
                    Diagnostic::error("`workspaceMount` has no target")
                        .at(fields.doc.value_location("/workspaceMount"))
                        .help("write it as `source=${localWorkspaceFolder},target=/workspace,type=bind`"),
                );
                None
            }
        }
    };
    let folder = workspace_folder
        .or_else(|| mount.as_ref().map(|m| m.target.clone()))
        .unwrap_or(default_target);
    (mount, folder)
}

/// The `source`/`src` and `target`/`dst`/`destination` fields of a `--mount` value.
fn mount_source_target(spec: &str) -> (Option<String>, Option<String>) {
    let (source, target) = crate::mount::source_target(spec);
    (source, target.filter(|t| !t.is_empty()))
}

/// `path` against `base` unless absolute, with `.` and `..` resolved as `path.resolve` does.
fn resolve(base: &Path, path: &str) -> PathBuf {
    substitute::normalize(&base.join(path))
}

/// `containerEnv` / `remoteEnv`.
fn env_map(fields: &Fields<'_>, key: &str, diagnostics: &mut Diagnostics) -> EnvMap {
    match fields.root.get(key) {
        Some(value) => env_map_at(fields.doc, &pointer_push("", key), value, diagnostics),
        None => EnvMap::new(),
    }
}

/// An object of variables. Numbers and booleans are taken as their text, as the reference CLI
/// does; `null` (allowed in `remoteEnv`) cannot unset anything here, so it is skipped with a
/// warning.
fn env_map_at(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> EnvMap {
    let mut out = EnvMap::new();
    let Some(map) = value.as_object() else {
        read::<Map<String, Value>>(doc, pointer, value, diagnostics);
        return out;
    };
    for (name, value) in map {
        let at = pointer_push(pointer, name);
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null if pointer == "/remoteEnv" => {
                diagnostics.push(
                    Diagnostic::warning(format!("`remoteEnv.{name}` is null, so it is not set"))
                        .at(doc.key_location(&at))
                        .help(
                            "devboot cannot unset a variable; remove the entry or give it a value",
                        ),
                );
                continue;
            }
            other => {
                read::<String>(doc, &at, other, diagnostics);
                continue;
            }
        };
        out.insert(name.clone(), text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;
    use crate::config::source::SourceFile;
    use crate::workspace::{Command, ImageSource, Port};

    /// A workspace folder with `.devcontainer/devcontainer.json` and any sibling files.
    pub(super) struct Fixture {
        dir: tempfile::TempDir,
        host_env: EnvMap,
        name: String,
    }

    impl Fixture {
        pub(super) fn new() -> Self {
            Self::named("project")
        }

        /// A workspace folder with this name.
        pub(super) fn named(name: &str) -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
                host_env: EnvMap::from([("USER".to_string(), "me".to_string())]),
                name: name.into(),
            }
        }

        pub(super) fn folder(&self) -> PathBuf {
            self.dir.path().join(&self.name)
        }

        pub(super) fn file(self, rel: &str, text: &str) -> Self {
            let path = self.folder().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
            self
        }

        pub(super) fn lower(&self, text: &str) -> (Option<Workspace>, Diagnostics) {
            let config_file = self.folder().join(".devcontainer/devcontainer.json");
            let file = SourceFile::new(&config_file, text);
            let mut diagnostics = Diagnostics::default();
            let doc = jsonc::parse(&file, &mut diagnostics).expect("test configs parse");
            let context = Context {
                local_folder: self.folder(),
                config_file,
                host_env: self.host_env.clone(),
            };
            let workspace = lower(&doc, &context, &mut diagnostics);
            (workspace, diagnostics)
        }
    }

    pub(super) fn lower_ok(text: &str) -> (Workspace, Vec<String>) {
        let (workspace, diagnostics) = Fixture::new().lower(text);
        let workspace = workspace.unwrap_or_else(|| panic!("{diagnostics:?}"));
        (workspace, messages(&diagnostics))
    }

    pub(super) fn lower_err(text: &str) -> Vec<String> {
        let (workspace, diagnostics) = Fixture::new().lower(text);
        assert!(workspace.is_none());
        assert!(diagnostics.has_errors());
        messages(&diagnostics)
    }

    pub(super) fn messages(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .0
            .iter()
            .map(|d| {
                let kind = if d.is_error() { "error" } else { "warning" };
                format!("{kind}: {}", d.message)
            })
            .collect()
    }

    #[test]
    fn image_config_with_defaults() {
        let (ws, warnings) = lower_ok(r#"{"image": "ubuntu"}"#);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(ws.format, Format::Devcontainer);
        assert_eq!(ws.name, "project");
        assert_eq!(
            ws.image,
            ImageSource::Reference {
                image: "ubuntu".into()
            }
        );
        let mount = ws.mount.unwrap();
        assert_eq!(mount.target, "/workspaces/project");
        assert!(mount.source.ends_with("project"));
        assert_eq!(mount.spec, None);
        assert_eq!(ws.folder, "/workspaces/project");
        assert!(ws.stages.is_empty() && ws.ports.is_empty());
        assert!(ws.options.override_command);
        assert!(!ws.options.privileged && !ws.options.init);
    }

    #[test]
    fn workspace_mount_and_folder() {
        let (ws, _) = lower_ok(
            r#"{"image": "x", "workspaceMount": "type=bind,src=${localWorkspaceFolder},dst=/code,consistency=cached"}"#,
        );
        let mount = ws.mount.unwrap();
        assert!(mount.source.ends_with("project"));
        assert_eq!(mount.target, "/code");
        assert!(mount.spec.unwrap().starts_with("type=bind,src=/"));
        assert_eq!(ws.folder, "/code");

        let (ws, _) = lower_ok(r#"{"image": "x", "workspaceMount": "", "workspaceFolder": ""}"#);
        assert_eq!(
            (ws.mount, ws.folder.as_str()),
            (None, "/workspaces/project")
        );

        assert_eq!(
            lower_err(r#"{"image": "x", "workspaceMount": "type=volume,source=v"}"#),
            ["error: `workspaceMount` has no target"]
        );
        assert_eq!(
            mount_source_target("\"source=/a,b\",destination=/c"),
            (Some("/a,b".into()), Some("/c".into()))
        );
    }

    #[test]
    fn a_folder_name_stays_inside_its_mount_field() {
        let fixture = Fixture::named("x,src=");
        let (ws, diagnostics) = fixture.lower(
            r#"{"image": "x", "workspaceMount": "type=bind,source=${localWorkspaceFolder},target=/code", "mounts": ["type=bind,source=${localWorkspaceFolder}/cache,target=/c,readonly", {"type": "bind", "source": "${localWorkspaceFolder}", "target": "/o"}]}"#,
        );
        let ws = ws.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let folder = fixture.folder().display().to_string();
        assert!(folder.ends_with("/x,src="), "{folder}");
        let mount = ws.mount.unwrap();
        assert_eq!(mount.source, fixture.folder());
        assert_eq!(mount.target, "/code");
        assert_eq!(
            mount.spec.unwrap(),
            format!("type=bind,\"source={folder}\",target=/code")
        );
        assert_eq!(ws.folder, "/code");
        assert_eq!(
            ws.options.mounts,
            [
                format!("type=bind,\"source={folder}/cache\",target=/c,readonly"),
                format!("type=bind,\"source={folder}\",target=/o"),
            ]
        );
    }

    #[test]
    fn a_mount_that_is_not_one_csv_record_is_an_error() {
        let errors = lower_err(r#"{"image": "x", "mounts": ["type=bind,source=/a\"b,target=/c"]}"#);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("error: mounts[0]: a `\"` stands in a field"),
            "{errors:?}"
        );
    }

    #[test]
    fn container_workspace_folder_is_the_resolved_workspace_folder() {
        let (ws, _) = lower_ok(
            r#"{"image": "x", "workspaceFolder": "/src/${localEnv:USER}", "containerEnv": {"W": "${containerWorkspaceFolder}", "B": "${containerWorkspaceFolderBasename}"}}"#,
        );
        assert_eq!(ws.folder, "/src/me");
        assert_eq!(ws.container_env["W"], "/src/me");
        assert_eq!(ws.container_env["B"], "me");
    }

    #[test]
    fn devcontainer_id_is_substituted_everywhere() {
        let fixture = Fixture::new();
        let (ws, _) = fixture.lower(
            r#"{"image": "x", "mounts": ["source=cache-${devcontainerId},target=/c,type=volume"]}"#,
        );
        let id = substitute::devcontainer_id(&substitute::id_labels(
            &fixture.folder(),
            &fixture.folder().join(".devcontainer/devcontainer.json"),
        ));
        assert_eq!(id.len(), 52);
        assert_eq!(
            ws.unwrap().options.mounts,
            [format!("source=cache-{id},target=/c,type=volume")]
        );
    }

    #[test]
    fn env_maps_take_numbers_and_skip_null_with_a_warning() {
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "containerEnv": {"N": 3, "B": true, "S": "s"}, "remoteEnv": {"GONE": null, "P": "${containerEnv:PATH}"}}"#,
        );
        assert_eq!(
            ws.container_env,
            EnvMap::from([
                ("B".into(), "true".into()),
                ("N".into(), "3".into()),
                ("S".into(), "s".into()),
            ])
        );
        assert_eq!(
            ws.remote_env,
            EnvMap::from([("P".into(), "${containerEnv:PATH}".into())])
        );
        assert_eq!(
            warnings,
            ["warning: `remoteEnv.GONE` is null, so it is not set"]
        );
        assert_eq!(
            lower_err(r#"{"image": "x", "containerEnv": {"A": ["x"], "B": null}}"#),
            [
                "error: containerEnv.A: invalid type: sequence, expected a string",
                "error: containerEnv.B: invalid type: null, expected a string",
            ]
        );
        assert_eq!(
            lower_err(r#"{"image": "x", "remoteEnv": []}"#),
            ["error: remoteEnv: invalid type: sequence, expected a map"]
        );
    }

    #[test]
    fn container_env_is_resolved_in_what_runs_after_start() {
        let (mut ws, _) = lower_ok(
            r#"{"image": "x", "remoteUser": "${containerEnv:U}", "remoteEnv": {"P": "${containerEnv:PATH}:/x"},
                "initializeCommand": "echo ${containerEnv:PATH}", "postCreateCommand": ["echo", "${containerEnv:PATH}"]}"#,
        );
        let container = EnvMap::from([
            ("PATH".to_string(), "/bin".to_string()),
            ("U".to_string(), "dev".to_string()),
        ]);
        substitute::resolve_container_env(&mut ws, &container);
        assert_eq!(ws.remote_env["P"], "/bin:/x");
        assert_eq!(ws.options.remote_user.as_deref(), Some("dev"));
        // The host runs initializeCommand before there is a container.
        assert_eq!(
            ws.stages[0].lanes[0].steps[0].command,
            Command::Shell("echo ${containerEnv:PATH}".into())
        );
        assert_eq!(
            ws.stages[1].lanes[0].steps[0].command,
            Command::Exec(vec!["echo".into(), "/bin".into()])
        );
    }

    #[test]
    fn substitution_happens_before_typing() {
        let mut fixture = Fixture::new();
        fixture.host_env.insert("PORT".into(), "8080".into());
        let (ws, d) = fixture.lower(
            r#"{"image": "x", "forwardPorts": ["${localEnv:PORT}"], "appPort": "${localEnv:PORT}"}"#,
        );
        assert!(d.is_empty(), "{d:?}");
        let ports: Vec<&Port> = ws.as_ref().unwrap().ports.iter().collect();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].port, 8080);
    }

    #[test]
    fn a_non_object_document_is_an_error() {
        let file = SourceFile::new("/w/devcontainer.json", "[1]");
        let doc = Document {
            file,
            value: serde_json::json!([1]),
            spans: crate::config::source::SpanIndex::default(),
        };
        let context = Context {
            local_folder: "/w".into(),
            config_file: "/w/devcontainer.json".into(),
            host_env: EnvMap::new(),
        };
        let mut diagnostics = Diagnostics::default();
        assert!(lower(&doc, &context, &mut diagnostics).is_none());
        assert!(diagnostics.has_errors());
    }
}
