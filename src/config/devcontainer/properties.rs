//! What devboot does with each top-level property of a `devcontainer.json`: the ones it
//! reads, the ones it knows but does not act on (each with the reason, and what to do
//! instead), and how a property it does not act on is reported.
//!
//! Every property of the spec's base schema is in one of the two lists (a test holds it to
//! that), so nothing a user wrote is dropped silently. The border: how a property is read is
//! the business of the file that lowers it.

use serde_json::{Map, Value};

use super::Fields;
use super::hooks::HOOKS;
use crate::config::source::{Document, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};

/// Properties devboot reads (`$schema` needs nothing more than being known).
const LOWERED: [&str; 33] = [
    "$schema",
    "name",
    "image",
    "build",
    "dockerFile",
    "context",
    "dockerComposeFile",
    "service",
    "runServices",
    "workspaceFolder",
    "workspaceMount",
    "mounts",
    "forwardPorts",
    "appPort",
    "portsAttributes",
    "containerEnv",
    "remoteEnv",
    "containerUser",
    "remoteUser",
    "runArgs",
    "overrideCommand",
    "userEnvProbe",
    "hostRequirements",
    "updateRemoteUserUID",
    "waitFor",
    "shutdownAction",
    "secrets",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "features",
    "overrideFeatureInstallOrder",
    // And the lifecycle hooks of HOOKS.
];

/// Properties of the spec (and legacy VS Code keys) that devboot knows but does not act on:
/// name, why, and what to do instead.
const IGNORED: [(&str, &str, Option<&str>); 5] = [
    (
        "customizations",
        "tool-specific settings are not used by devboot",
        None,
    ),
    (
        "extensions",
        "legacy VS Code setting (now `customizations.vscode.extensions`), not used by devboot",
        None,
    ),
    (
        "settings",
        "legacy VS Code setting (now `customizations.vscode.settings`), not used by devboot",
        None,
    ),
    (
        "devPort",
        "legacy VS Code setting, not used by devboot",
        None,
    ),
    (
        "otherPortsAttributes",
        "devboot only publishes the ports it is given",
        None,
    ),
];

/// Whether devboot reads a top-level property.
pub(super) fn is_used(key: &str) -> bool {
    LOWERED.contains(&key) || HOOKS.iter().any(|(hook, _)| *hook == key)
}

/// One warning per top-level property devboot does not act on, located at its key.
pub(super) fn warn_about_properties(
    doc: &Document,
    root: &Map<String, Value>,
    diagnostics: &mut Diagnostics,
) {
    for key in root.keys() {
        if is_used(key) {
            continue;
        }
        let pointer = pointer_push("", key);
        if let Some((_, why, help)) = IGNORED.iter().find(|(name, _, _)| name == key) {
            let mut d = ignored(doc, &pointer, key, why);
            if let Some(help) = help {
                d = d.help(*help);
            }
            diagnostics.push(d);
        } else {
            diagnostics.push(
                unknown_property(doc, &pointer, key)
                    .help("devboot reads the properties of the Dev Container spec: https://containers.dev/implementors/json_reference/"),
            );
        }
    }
}

/// A warning for a top-level property that is present but not used with this kind of config.
pub(super) fn not_used(fields: &Fields<'_>, key: &str, why: &str, diagnostics: &mut Diagnostics) {
    if fields.has(key) {
        diagnostics.push(ignored(fields.doc, &pointer_push("", key), key, why));
    }
}

/// `` `<shown>` is ignored: <why> ``, at the key `pointer` names. `shown` is the path as the
/// user reads it, spelt out by the caller: `display_pointer` would show a key of digits
/// (`portsAttributes` has them) as an array index.
pub(super) fn ignored(doc: &Document, pointer: &str, shown: &str, why: &str) -> Diagnostic {
    Diagnostic::warning(format!("`{shown}` is ignored: {why}")).at(doc.key_location(pointer))
}

/// `` unknown property `<shown>` is ignored ``, at the key `pointer` names.
pub(super) fn unknown_property(doc: &Document, pointer: &str, shown: &str) -> Diagnostic {
    Diagnostic::warning(format!("unknown property `{shown}` is ignored"))
        .at(doc.key_location(pointer))
}

#[cfg(test)]
mod tests {
    use super::super::tests::lower_ok;
    use super::*;

    #[test]
    fn every_property_devboot_does_not_use_is_named_in_a_warning() {
        let ignored: Vec<String> = IGNORED
            .iter()
            .map(|(key, _, _)| format!("\"{key}\": {{}}"))
            .collect();
        let text = format!(
            r#"{{"image": "x", "$schema": "s", {}, "x-tool": 1}}"#,
            ignored.join(", ")
        );
        let (_, warnings) = lower_ok(&text);
        assert_eq!(warnings.len(), IGNORED.len() + 1, "{warnings:?}");
        for ((key, why, _), warning) in IGNORED.iter().zip(&warnings) {
            assert_eq!(warning, &format!("warning: `{key}` is ignored: {why}"));
        }
        assert_eq!(
            warnings.last().unwrap(),
            "warning: unknown property `x-tool` is ignored"
        );
    }

    #[test]
    fn every_property_of_the_base_schema_is_lowered_or_ignored() {
        // The base schema's property names (schemas/devContainer.base.schema.json).
        let schema = [
            "$schema",
            "name",
            "features",
            "overrideFeatureInstallOrder",
            "secrets",
            "forwardPorts",
            "portsAttributes",
            "otherPortsAttributes",
            "updateRemoteUserUID",
            "containerEnv",
            "containerUser",
            "mounts",
            "init",
            "privileged",
            "capAdd",
            "securityOpt",
            "remoteEnv",
            "remoteUser",
            "initializeCommand",
            "onCreateCommand",
            "updateContentCommand",
            "postCreateCommand",
            "postStartCommand",
            "postAttachCommand",
            "waitFor",
            "userEnvProbe",
            "hostRequirements",
            "customizations",
            "appPort",
            "runArgs",
            "shutdownAction",
            "overrideCommand",
            "workspaceFolder",
            "workspaceMount",
            "build",
            "dockerFile",
            "context",
            "image",
            "dockerComposeFile",
            "service",
            "runServices",
        ];
        for key in schema {
            let known = is_used(key) || IGNORED.iter().any(|(name, _, _)| *name == key);
            assert!(known, "{key}");
        }
    }
}
