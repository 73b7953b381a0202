//! The lifecycle hooks of a `devcontainer.json` (`initializeCommand` ... `postAttachCommand`):
//! each hook becomes a stage, in the order the spec runs them, and each of its commands a
//! lane. A string runs in a shell, an array without one, and an object's entries run in
//! parallel, one lane each, named after their keys. Empty commands are skipped, as in the
//! reference CLI.
//!
//! The border: when each hook runs (and that `initializeCommand` runs on the host) is
//! `lifecycle.rs`'s, by the [`Phase`]'s timing.

use serde_json::Value;

use super::{Fields, read};
use crate::config::source::{Document, pointer_push};
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{Command, EnvMap, Lane, Phase, Stage, Step};

/// The lifecycle hooks, in the order they run.
pub(crate) const HOOKS: [(&str, Phase); 6] = [
    ("initializeCommand", Phase::InitializeCommand),
    ("onCreateCommand", Phase::OnCreateCommand),
    ("updateContentCommand", Phase::UpdateContentCommand),
    ("postCreateCommand", Phase::PostCreateCommand),
    ("postStartCommand", Phase::PostStartCommand),
    ("postAttachCommand", Phase::PostAttachCommand),
];

pub(super) fn stages(fields: &Fields<'_>, diagnostics: &mut Diagnostics) -> Vec<Stage> {
    let mut stages = Vec::new();
    for (hook, phase) in HOOKS {
        let Some(value) = fields.root.get(hook) else {
            continue;
        };
        let pointer = pointer_push("", hook);
        let lanes: Vec<Lane> = match value {
            Value::Object(entries) => entries
                .iter()
                .filter_map(|(name, value)| {
                    let at = pointer_push(&pointer, name);
                    let command = command(fields.doc, &at, value, false, diagnostics)?;
                    Some(lane(name, phase, command))
                })
                .collect(),
            Value::Null => Vec::new(),
            value => command(fields.doc, &pointer, value, true, diagnostics)
                .map(|command| lane(hook, phase, command))
                .into_iter()
                .collect(),
        };
        if !lanes.is_empty() {
            stages.push(Stage {
                name: hook.to_string(),
                lanes,
            });
        }
    }
    stages
}

fn lane(name: &str, phase: Phase, command: Command) -> Lane {
    Lane {
        name: name.to_string(),
        env: EnvMap::new(),
        steps: vec![Step { phase, command }],
    }
}

/// One command: a string runs in a shell, an array without one. Empty ones are skipped, as
/// in the reference CLI.
fn command(
    doc: &Document,
    pointer: &str,
    value: &Value,
    object_allowed: bool,
    diagnostics: &mut Diagnostics,
) -> Option<Command> {
    match value {
        Value::String(script) if script.is_empty() => None,
        Value::String(script) => Some(Command::Shell(script.clone())),
        Value::Array(_) => read::<Vec<String>>(doc, pointer, value, diagnostics)
            .filter(|argv| !argv.is_empty())
            .map(Command::Exec),
        _ => {
            let expected = if object_allowed {
                "a string, an array of strings, or an object of them"
            } else {
                "a string or an array of strings"
            };
            diagnostics.push(
                Diagnostic::error(format!(
                    "{}: expected {expected}",
                    display_pointer(pointer)
                ))
                .at(doc.value_location(pointer))
                .help("a string runs in a shell; an array runs without one; an object runs its entries in parallel"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Fixture, lower_ok, messages};
    use super::*;

    #[test]
    fn hooks_become_stages_in_spec_order() {
        let (ws, _) = lower_ok(
            r#"{"image": "x", "postStartCommand": "b", "initializeCommand": ["a", "1"], "postCreateCommand": {"x": "1", "y": ["2"], "z": [], "w": ""}, "onCreateCommand": "", "updateContentCommand": null, "postAttachCommand": []}"#,
        );
        let stage = |name: &str, lanes: Vec<Lane>| Stage {
            name: name.into(),
            lanes,
        };
        let exec = |argv: &[&str]| Command::Exec(argv.iter().map(ToString::to_string).collect());
        assert_eq!(
            ws.stages,
            [
                stage(
                    "initializeCommand",
                    vec![lane(
                        "initializeCommand",
                        Phase::InitializeCommand,
                        exec(&["a", "1"])
                    )]
                ),
                stage(
                    "postCreateCommand",
                    vec![
                        lane("x", Phase::PostCreateCommand, Command::Shell("1".into())),
                        lane("y", Phase::PostCreateCommand, exec(&["2"])),
                    ]
                ),
                stage(
                    "postStartCommand",
                    vec![lane(
                        "postStartCommand",
                        Phase::PostStartCommand,
                        Command::Shell("b".into())
                    )]
                ),
            ]
        );
    }

    #[test]
    fn wrong_hook_types_are_located_errors() {
        let text = r#"{"image": "x", "postCreateCommand": 3, "postStartCommand": {"a": {"b": 1}}, "postAttachCommand": ["a", 1]}"#;
        let (ws, d) = Fixture::new().lower(text);
        assert!(ws.is_none());
        assert_eq!(
            messages(&d),
            [
                "error: postCreateCommand: expected a string, an array of strings, or an object of them",
                "error: postStartCommand.a: expected a string or an array of strings",
                "error: postAttachCommand[1]: invalid type: integer `1`, expected a string",
            ]
        );
        let span = d.0[1].location.as_ref().unwrap().span;
        assert_eq!(&text[span.start..span.end], r#"{"b": 1}"#);
    }
}
