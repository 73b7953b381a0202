//! `.gitpod.yml` -> [`Workspace`]: the lowering of what the raw serde structs (`raw.rs`, one
//! per schema object) say into the shared model. Here: the top-level keys, the image, the
//! checkout and workspace locations, `env`; tasks and ports have their own files
//! (`tasks.rs`, `ports.rs`).
//!
//! What Gitpod does is the reference (`shared/reference/gitpod.md`): defaults, task names,
//! the `/workspace/<checkoutLocation>` layout, how task `env` values become text. A key the
//! model cannot act on (IDE settings, prebuild settings...) is never dropped silently: it is
//! a warning at the key. Every problem is collected; one bad task or port does not hide the
//! next.
//!
//! The border: the text is parsed by `yaml.rs` before it comes here, and the schema check of
//! `devboot validate` is `schema.rs`'s.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::config::Context;
use crate::config::source::{Document, pointer_push};
use crate::config::suggest::{self, Swap};
use crate::config::typed::{self, display_pointer};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{ContainerOptions, EnvMap, Format, ImageSource, Mount, Workspace};
use raw::{RawConfig, RawImage};

mod ports;
mod raw;
mod tasks;

/// The image Gitpod falls back to when `image` is absent (`gp validate` does the same).
pub const DEFAULT_IMAGE: &str = "gitpod/workspace-full:latest";

/// Where Gitpod checks repositories out; `checkoutLocation` is relative to it.
const WORKSPACE_BASE: &str = "/workspace";

const REFERENCE: &str = "https://www.gitpod.io/docs/references/gitpod-yml";

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
    let name = context.folder_name();
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
            let why = format!("devboot sets {key} from the checkout and workspace locations");
            diagnostics.push(
                ignored(doc, &pointer, &why)
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

    let (stages, prebuild_commands) =
        tasks::lower(doc, raw.tasks.as_deref().unwrap_or_default(), diagnostics);
    let ports = ports::lower(doc, raw.ports.as_deref().unwrap_or_default(), diagnostics);

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
        prebuild_commands,
        ports,
        options: ContainerOptions {
            // Gitpod's supervisor is PID 1 and keeps the workspace alive whatever the image's
            // command does; `--init` and a keep-alive command are the closest equivalent.
            init: true,
            override_command: true,
            ..ContainerOptions::default()
        },
        features: Vec::new(),
        feature_install_order: Vec::new(),
        user_env_probe: crate::workspace::Probe::None,
        recommended_secrets: Vec::new(),
        shutdown_action: None,
        host_requirements: None,
        wait_for: None,
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
        let mut warning = ignored(doc, &pointer_push("", key), why);
        if let Some(help) = help {
            warning = warning.help(*help);
        }
        diagnostics.push(warning);
    }
}

/// `<key>: ignored, <why>`, at the key `pointer` names: how a key devboot reads but does not
/// act on is reported.
fn ignored(doc: &Document, pointer: &str, why: &str) -> Diagnostic {
    Diagnostic::warning(format!("{}: ignored, {why}", display_pointer(pointer)))
        .at(doc.key_location(pointer))
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

/// Reads one list item (found at `pointer`) as `T`, pushing the located error, with help,
/// when it is not one.
fn read<T: DeserializeOwned>(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    typed::deserialize_at(doc, pointer, value)
        .map_err(|d| diagnostics.push(with_help(d)))
        .ok()
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
    suggest::closest(unknown, expected.iter().copied(), Swap::OneEdit, |name| {
        (name.len() / 3).max(1)
    })
}

#[cfg(test)]
pub(crate) mod tests {
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

    pub(super) fn lower_text(text: &str) -> (Option<Workspace>, Diagnostics) {
        lower_in(Path::new("/home/me/my-app"), text)
    }

    pub(crate) fn workspace(text: &str) -> Workspace {
        let (workspace, diagnostics) = lower_text(text);
        assert!(!diagnostics.has_errors(), "{diagnostics:#?}");
        workspace.expect("a workspace")
    }

    /// (severity-prefixed message, line:col) of every diagnostic.
    pub(super) fn problems(diagnostics: &Diagnostics) -> Vec<(String, String)> {
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

    pub(super) fn problem(kind: &str, message: &str, at: &str) -> (String, String) {
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
}
