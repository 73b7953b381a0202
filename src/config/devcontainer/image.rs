//! Where the image comes from: `image`, a Dockerfile (`build`, or the legacy `dockerFile` and
//! `context`), or a Docker Compose service (`dockerComposeFile`, `service`, `runServices`).
//!
//! As in the reference CLI: a Dockerfile wins over `image`, which wins over
//! `dockerComposeFile` (the losers are named in warnings); paths are relative to the config
//! file's folder; `build.context` defaults to the Dockerfile's folder, not the spec's `"."`.
//! Unlike it, a Dockerfile or compose file that does not exist is an error here, before any
//! build starts.
//!
//! The border: which source, with paths resolved and checked; building or pulling the image
//! is the engine's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::properties::{ignored, not_used, unknown_property};
use super::{Fields, Kind, env_map_at, opening, read_object, resolve};
use crate::config::Context;
use crate::config::source::{Document, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::ImageSource;

/// `build`, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBuild {
    dockerfile: Option<String>,
    context: Option<String>,
    target: Option<String>,
    cache_from: Option<OneOrMany>,
    options: Option<Vec<String>>,
    // `args` is read with `env_map`, which accepts numbers the way the reference CLI does.
}

const BUILD_KEYS: [&str; 6] = [
    "dockerfile",
    "context",
    "args",
    "target",
    "cacheFrom",
    "options",
];

#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a string or an array of strings")]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

pub(super) fn source(
    fields: &Fields<'_>,
    kind: Kind,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> Option<ImageSource> {
    let build: Option<RawBuild> = fields
        .root
        .get("build")
        .filter(|v| !v.is_null())
        .and_then(|v| read_object(fields.doc, "/build", v, diagnostics));
    if let Some(build) = &build
        && build.dockerfile.is_none()
        && !fields.has("dockerFile")
    {
        diagnostics.push(
            Diagnostic::error("`build` has no `dockerfile`")
                .at(fields.doc.key_location("/build"))
                .label("expected `\"dockerfile\": \"...\"` in here")
                .help(
                    "name the Dockerfile (relative to this file's folder), \
                     or use `image` instead of `build`",
                ),
        );
    }
    if let Some(raw) = fields.root.get("build").and_then(Value::as_object) {
        for key in raw.keys().filter(|k| !BUILD_KEYS.contains(&k.as_str())) {
            let at = pointer_push("/build", key);
            diagnostics.push(unknown_property(fields.doc, &at, &format!("build.{key}")));
        }
    }
    warn_about_precedence(fields, kind, diagnostics);
    let config_folder = context
        .config_file
        .parent()
        .map_or_else(|| context.local_folder.clone(), Path::to_path_buf);
    match kind {
        Kind::Image => fields
            .string("image", diagnostics)
            .map(|image| ImageSource::Reference { image }),
        Kind::Dockerfile => dockerfile_source(fields, build, &config_folder, diagnostics),
        Kind::Compose => compose_source(fields, &config_folder, diagnostics),
        // `build` without `dockerfile` was reported above; `lower` reports anything else.
        Kind::Missing => None,
    }
}

/// Warnings for properties that lose to another one, or do not apply to this kind of config.
fn warn_about_precedence(fields: &Fields<'_>, kind: Kind, diagnostics: &mut Diagnostics) {
    let winner = match kind {
        Kind::Dockerfile if fields.has("dockerFile") => "`dockerFile`",
        Kind::Dockerfile => "`build.dockerfile`",
        Kind::Image => "`image`",
        Kind::Compose | Kind::Missing => "",
    };
    match kind {
        Kind::Dockerfile | Kind::Image => {
            if kind == Kind::Dockerfile {
                let why = format!("{winner} is set, which wins");
                not_used(fields, "image", &why, diagnostics);
            } else {
                not_used(fields, "context", "it goes with `dockerFile`", diagnostics);
            }
            let why = if fields.has("dockerComposeFile") {
                format!("{winner} is set, which wins over `dockerComposeFile`")
            } else {
                "it is only used with `dockerComposeFile`".to_string()
            };
            for key in ["dockerComposeFile", "service", "runServices"] {
                not_used(fields, key, &why, diagnostics);
            }
        }
        Kind::Compose => {
            // The reference CLI does not use these with Compose (`reference/devcontainer.md` §a).
            let why = "it is not used with `dockerComposeFile`";
            for key in ["appPort", "runArgs", "workspaceMount", "context"] {
                not_used(fields, key, why, diagnostics);
            }
        }
        Kind::Missing => {}
    }
}

fn dockerfile_source(
    fields: &Fields<'_>,
    build: Option<RawBuild>,
    config_folder: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<ImageSource> {
    let build = build.unwrap_or_default();
    // As the reference CLI (`getDockerfile`, `getDockerContextPath`): legacy `dockerFile` goes
    // with the top-level `context`, `build.dockerfile` with `build.context`.
    let (written, pointer, context) = if let Some(legacy) = fields.string("dockerFile", diagnostics)
    {
        if build.dockerfile.is_some() {
            let why = "`dockerFile` is set, which wins";
            diagnostics.push(ignored(
                fields.doc,
                "/build/dockerfile",
                "build.dockerfile",
                why,
            ));
        }
        if build.context.is_some() {
            let why = "it goes with `build.dockerfile`; `dockerFile` uses the top-level `context`";
            diagnostics.push(ignored(fields.doc, "/build/context", "build.context", why));
        }
        (legacy, "/dockerFile", fields.string("context", diagnostics))
    } else {
        let why = "it goes with `dockerFile`; `build.dockerfile` uses `build.context`";
        not_used(fields, "context", why, diagnostics);
        (build.dockerfile?, "/build/dockerfile", build.context)
    };
    let dockerfile = resolve(config_folder, &written);
    if !dockerfile.is_file() {
        diagnostics.push(not_found(
            fields.doc,
            pointer,
            "Dockerfile",
            &written,
            &dockerfile,
        ));
    }
    // The reference CLI's default context is the Dockerfile's folder, not the spec's ".".
    let context = match context {
        Some(context) => resolve(config_folder, &context),
        None => dockerfile
            .parent()
            .map_or_else(|| config_folder.to_path_buf(), Path::to_path_buf),
    };
    let args = match fields.root.get("build").and_then(|b| b.get("args")) {
        Some(args) => env_map_at(fields.doc, "/build/args", args, diagnostics),
        None => BTreeMap::new(),
    };
    Some(ImageSource::Dockerfile {
        dockerfile,
        context,
        args,
        target: build.target,
        cache_from: build
            .cache_from
            .map(OneOrMany::into_vec)
            .unwrap_or_default(),
        options: build.options.unwrap_or_default(),
    })
}

fn compose_source(
    fields: &Fields<'_>,
    config_folder: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<ImageSource> {
    let written = fields.get::<OneOrMany>("dockerComposeFile", diagnostics)?;
    let single = matches!(written, OneOrMany::One(_));
    let files = written.into_vec();
    if files.is_empty() {
        diagnostics.push(
            Diagnostic::error("`dockerComposeFile` names no file")
                .at(fields.doc.value_location("/dockerComposeFile"))
                .help("name the compose file(s), relative to the folder of devcontainer.json"),
        );
    }
    let mut paths = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let path = resolve(config_folder, file);
        if !path.is_file() {
            let pointer = if single {
                "/dockerComposeFile".to_string()
            } else {
                format!("/dockerComposeFile/{i}")
            };
            diagnostics.push(not_found(fields.doc, &pointer, "compose file", file, &path));
        }
        paths.push(path);
    }
    let Some(service) = fields.string("service", diagnostics) else {
        diagnostics.push(
            Diagnostic::error("`dockerComposeFile` needs `service`")
                .at(fields.doc.key_location("/dockerComposeFile"))
                .help("add `\"service\": \"<name>\"`: the compose service devboot works in"),
        );
        return None;
    };
    Some(ImageSource::Compose {
        files: paths,
        service,
        run_services: fields.strings("runServices", diagnostics),
    })
}

/// A file the config names that does not exist. The help names the absolute path looked for.
fn not_found(doc: &Document, pointer: &str, what: &str, written: &str, path: &Path) -> Diagnostic {
    Diagnostic::error(format!("cannot find the {what} `{written}`"))
        .at(doc.value_location(pointer))
        .label("no such file")
        .help(format!(
            "looked for {}; the path is relative to the folder of devcontainer.json",
            path.display()
        ))
}

pub(super) fn missing(doc: &Document) -> Diagnostic {
    Diagnostic::error("devcontainer.json needs `image`, `build.dockerfile` or `dockerComposeFile`")
        .at(opening(doc))
        .label("none of them is set in this object")
        .help(
            "add `\"image\": \"mcr.microsoft.com/devcontainers/base:ubuntu\"`, or point \
             `build.dockerfile` at a Dockerfile (GitHub Codespaces uses \
             `mcr.microsoft.com/devcontainers/universal:2` when none is set)",
        )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Fixture, lower_err, lower_ok, messages};
    use super::*;

    #[test]
    fn dockerfile_paths_resolve_against_the_config_folder() {
        let fixture = Fixture::new().file("docker/Dockerfile", "FROM x\n");
        let (ws, d) = fixture.lower(
            r#"{"build": {"dockerfile": "../docker/Dockerfile", "context": "..", "args": {"A": 1, "B": "${localEnv:USER}"}, "cacheFrom": "c", "options": ["--pull"], "cacheTo": "x"}}"#,
        );
        let ImageSource::Dockerfile {
            dockerfile,
            context,
            args,
            cache_from,
            options,
            target,
        } = ws.unwrap().image
        else {
            panic!("not a Dockerfile")
        };
        assert_eq!(dockerfile, fixture.folder().join("docker/Dockerfile"));
        assert_eq!(context, fixture.folder());
        assert_eq!(
            args,
            BTreeMap::from([("A".into(), "1".into()), ("B".into(), "me".into())])
        );
        assert_eq!(cache_from, ["c"]);
        assert_eq!(options, ["--pull"]);
        assert_eq!(target, None);
        assert_eq!(
            messages(&d),
            ["warning: unknown property `build.cacheTo` is ignored"]
        );
    }

    #[test]
    fn legacy_dockerfile_goes_with_top_level_context() {
        let fixture = Fixture::new().file(".devcontainer/Dockerfile", "FROM x\n");
        let (ws, d) = fixture.lower(
            r#"{"dockerFile": "Dockerfile", "context": "..", "build": {"args": {"V": "1"}, "context": "nope"}, "image": "ignored"}"#,
        );
        let ImageSource::Dockerfile { context, args, .. } = ws.unwrap().image else {
            panic!("not a Dockerfile")
        };
        assert_eq!(context, fixture.folder());
        assert_eq!(args["V"], "1");
        assert_eq!(
            messages(&d),
            [
                "warning: `image` is ignored: `dockerFile` is set, which wins",
                "warning: `build.context` is ignored: it goes with `build.dockerfile`; `dockerFile` uses the top-level `context`",
            ]
        );
    }

    #[test]
    fn missing_dockerfile_is_located_at_its_value() {
        let text = r#"{"build": {"dockerfile": "Nope"}}"#;
        let (ws, d) = Fixture::new().lower(text);
        assert!(ws.is_none());
        let error = &d.0[0];
        assert_eq!(error.message, "cannot find the Dockerfile `Nope`");
        let span = error.location.as_ref().unwrap().span;
        assert_eq!(&text[span.start..span.end], "\"Nope\"");
        assert!(
            error
                .help
                .as_ref()
                .unwrap()
                .contains("project/.devcontainer/Nope")
        );
    }

    #[test]
    fn a_missing_image_source_is_an_error_not_silence() {
        for text in [
            r#"{"name": "x"}"#,
            r#"{"image": null}"#,
            r#"{"build": {"dockerfile": null}}"#,
        ] {
            let errors = lower_err(text);
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("needs `image`") || e.contains("has no `dockerfile`")),
                "{text}: {errors:?}"
            );
        }
    }

    #[test]
    fn structs_are_not_filled_from_arrays() {
        assert_eq!(
            lower_err(r#"{"build": ["Dockerfile"]}"#),
            ["error: build: invalid type: sequence, expected a map"]
        );
    }

    #[test]
    fn compose_config() {
        let fixture = Fixture::new().file(".devcontainer/compose.yml", "services: {}\n");
        let (ws, d) = fixture.lower(
            r#"{"dockerComposeFile": "compose.yml", "service": "app", "runArgs": ["-x"], "workspaceMount": "", "appPort": 1}"#,
        );
        let ws = ws.unwrap();
        assert_eq!(
            ws.image,
            ImageSource::Compose {
                files: vec![fixture.folder().join(".devcontainer/compose.yml")],
                service: "app".into(),
                run_services: vec![],
            }
        );
        assert_eq!((ws.mount, ws.folder.as_str()), (None, "/"));
        assert!(!ws.options.override_command);
        assert!(ws.options.run_args.is_empty() && ws.ports.is_empty());
        assert_eq!(
            messages(&d),
            [
                "warning: `appPort` is ignored: it is not used with `dockerComposeFile`",
                "warning: `runArgs` is ignored: it is not used with `dockerComposeFile`",
                "warning: `workspaceMount` is ignored: it is not used with `dockerComposeFile`",
            ]
        );
    }

    #[test]
    fn compose_needs_a_service_and_existing_files() {
        let errors = lower_err(r#"{"dockerComposeFile": ["a.yml", "b.yml"]}"#);
        assert_eq!(
            errors,
            [
                "error: cannot find the compose file `a.yml`",
                "error: cannot find the compose file `b.yml`",
                "error: `dockerComposeFile` needs `service`",
            ]
        );
        assert_eq!(
            lower_err(r#"{"dockerComposeFile": [], "service": "s"}"#),
            ["error: `dockerComposeFile` names no file"]
        );
    }

    #[test]
    fn image_wins_over_compose_with_a_warning() {
        let (ws, warnings) =
            lower_ok(r#"{"image": "x", "dockerComposeFile": "c.yml", "service": "s"}"#);
        assert!(matches!(ws.image, ImageSource::Reference { .. }));
        assert_eq!(
            warnings,
            [
                "warning: `dockerComposeFile` is ignored: `image` is set, which wins over `dockerComposeFile`",
                "warning: `service` is ignored: `image` is set, which wins over `dockerComposeFile`",
            ]
        );
    }
}
