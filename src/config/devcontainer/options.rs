//! The container's options in a `devcontainer.json`: the users, `runArgs`, `privileged`,
//! `init`, `capAdd`, `securityOpt`, `overrideCommand`, and the extra `mounts` (in their
//! `--mount` string form or as objects).
//!
//! As in the reference CLI: `runArgs` is not used with Docker Compose, and `overrideCommand`
//! defaults to true except with Compose. The border: the workspace's own mount
//! (`workspaceMount`) is `layout` in `devcontainer.rs`; turning the options into `docker run`
//! arguments is the engine's.

use serde::Deserialize;
use serde_json::Value;

use super::properties::unknown_property;
use super::{Fields, Kind, read_object};
use crate::config::source::{Document, pointer_push};
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::ContainerOptions;

/// An entry of `mounts` in object form.
#[derive(Debug, Deserialize)]
struct RawMount {
    #[serde(rename = "type")]
    kind: Option<String>,
    source: Option<String>,
    target: Option<String>,
}

pub(super) fn options(
    fields: &Fields<'_>,
    kind: Kind,
    diagnostics: &mut Diagnostics,
) -> ContainerOptions {
    let mut mounts = Vec::new();
    if let Some(items) = fields.get::<Vec<Value>>("mounts", diagnostics) {
        for (i, item) in items.iter().enumerate() {
            let pointer = format!("/mounts/{i}");
            if let Some(mount) = mount_option(fields.doc, &pointer, item, diagnostics) {
                mounts.push(mount);
            }
        }
    }
    let run_args = if kind == Kind::Compose {
        Vec::new()
    } else {
        fields.strings("runArgs", diagnostics)
    };
    ContainerOptions {
        container_user: fields.string("containerUser", diagnostics),
        remote_user: fields.string("remoteUser", diagnostics),
        run_args,
        privileged: fields.flag("privileged", diagnostics).unwrap_or(false),
        init: fields.flag("init", diagnostics).unwrap_or(false),
        cap_add: fields.strings("capAdd", diagnostics),
        security_opt: fields.strings("securityOpt", diagnostics),
        mounts,
        override_command: fields
            .flag("overrideCommand", diagnostics)
            .unwrap_or(kind != Kind::Compose),
        update_remote_user_uid: fields.flag("updateRemoteUserUID", diagnostics),
    }
}

/// A `mounts` entry as a `--mount` value: strings as written (substituted field by field,
/// see `devcontainer::substitute_mounts`), objects as `type=..,source=..,target=..`.
fn mount_option(
    doc: &Document,
    pointer: &str,
    value: &Value,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    if let Value::String(spec) = value {
        return Some(spec.clone());
    }
    if !value.is_object() {
        diagnostics.push(
            Diagnostic::error(format!(
                "{}: expected a `--mount` string or an object with `type`, `source` and `target`",
                display_pointer(pointer)
            ))
            .at(doc.value_location(pointer)),
        );
        return None;
    }
    if let Some(map) = value.as_object() {
        for key in map
            .keys()
            .filter(|k| !["type", "source", "target"].contains(&k.as_str()))
        {
            let at = pointer_push(pointer, key);
            diagnostics.push(
                unknown_property(doc, &at, &display_pointer(&at))
                    .help("an object mount has only `type`, `source` and `target`; write other options as a `--mount` string"),
            );
        }
    }
    let raw: RawMount = read_object(doc, pointer, value, diagnostics)?;
    let mut missing = Vec::new();
    if raw.kind.is_none() {
        missing.push("`type`");
    }
    if raw.target.is_none() {
        missing.push("`target`");
    }
    if !missing.is_empty() {
        diagnostics.push(
            Diagnostic::error(format!(
                "{}: the mount has no {}",
                display_pointer(pointer),
                missing.join(" and ")
            ))
            .at(doc.value_location(pointer))
            .help("write `{ \"type\": \"volume\", \"source\": \"name\", \"target\": \"/path\" }`"),
        );
        return None;
    }
    let mut fields = vec![format!("type={}", raw.kind.unwrap_or_default())];
    if let Some(source) = raw.source {
        fields.push(format!("source={source}"));
    }
    fields.push(format!("target={}", raw.target.unwrap_or_default()));
    // Each value one field, quoted as the engines read it: a `,` in a path adds no option.
    crate::mount::join(&fields)
        .map_err(|e| {
            diagnostics.push(
                Diagnostic::error(format!("{}: {e}", display_pointer(pointer)))
                    .at(doc.value_location(pointer))
                    .help(e.help()),
            );
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lower_err, lower_ok};
    use super::*;

    #[test]
    fn container_options() {
        let (ws, warnings) = lower_ok(
            r#"{"image": "x", "containerUser": "c", "remoteUser": "r", "runArgs": ["--net=host"], "privileged": true, "init": true, "capAdd": ["SYS_PTRACE"], "securityOpt": ["seccomp=unconfined"], "overrideCommand": false, "updateRemoteUserUID": false,
                "mounts": ["type=tmpfs,target=/t", {"type": "volume", "source": "v", "target": "/v"}, {"type": "volume", "target": "/anon", "consistency": "cached"}]}"#,
        );
        assert_eq!(
            ws.options,
            ContainerOptions {
                container_user: Some("c".into()),
                remote_user: Some("r".into()),
                run_args: vec!["--net=host".into()],
                privileged: true,
                init: true,
                cap_add: vec!["SYS_PTRACE".into()],
                security_opt: vec!["seccomp=unconfined".into()],
                mounts: vec![
                    "type=tmpfs,target=/t".into(),
                    "type=volume,source=v,target=/v".into(),
                    "type=volume,target=/anon".into(),
                ],
                override_command: false,
                update_remote_user_uid: Some(false),
            }
        );
        assert_eq!(
            warnings,
            ["warning: unknown property `mounts[2].consistency` is ignored"]
        );
        assert_eq!(
            lower_err(r#"{"image": "x", "mounts": [{"source": "v"}, 3]}"#),
            [
                "error: mounts[0]: the mount has no `type` and `target`",
                "error: mounts[1]: expected a `--mount` string or an object with `type`, `source` and `target`",
            ]
        );
    }
}
