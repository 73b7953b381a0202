//! The `tasks` of a `.gitpod.yml`: each task becomes a lane whose steps are its `before`,
//! `init` and `command`, in that order, all lanes in one stage (Gitpod starts every task's
//! terminal at once).
//!
//! As in Gitpod: an unnamed task is `Gitpod Task <n>` (numbered from 1), a blank phase is no
//! phase, and a task `env` value that is not a string is passed as its JSON text. A task's
//! `prebuild` runs only in prebuilds (`devboot prebuild`, after its `init`), so it is kept
//! apart from the steps. `openIn` and `openMode` are warnings: they mean something only in
//! Gitpod's IDE. The border: when
//! each phase runs is `lifecycle.rs`'s, by the [`Phase`]'s timing.

use serde_json::Value;

use super::raw::RawTask;
use super::{ignored, read};
use crate::config::source::Document;
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::{Command, Lane, Phase, Stage, Step};

/// The `tasks` list as one stage, `tasks`, of one lane per task (none when no task has
/// anything to run). Each entry is read on its own so one bad task does not hide the next.
pub(super) fn lower(
    doc: &Document,
    tasks: &[Value],
    diagnostics: &mut Diagnostics,
) -> (Vec<Stage>, Vec<(String, String)>) {
    let mut lanes = Vec::new();
    let mut prebuilds = Vec::new();
    for (i, value) in tasks.iter().enumerate() {
        let pointer = format!("/tasks/{i}");
        let Some(task) = read::<RawTask>(doc, &pointer, value, diagnostics) else {
            continue;
        };
        let prebuild = task
            .prebuild
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string);
        for (field, set) in [
            ("openIn", task.open_in.is_some()),
            ("openMode", task.open_mode.is_some()),
        ] {
            if set {
                diagnostics.push(ignored(
                    doc,
                    &format!("{pointer}/{field}"),
                    "it places the task's terminal in Gitpod's IDE",
                ));
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
        let name = task
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("Gitpod Task {}", i + 1));
        if let Some(command) = prebuild {
            prebuilds.push((name.clone(), command));
        }
        if steps.is_empty() && prebuilds.last().is_some_and(|(n, _)| *n == name) {
            // Only a `prebuild`: it runs in prebuilds, nothing runs at a start.
            continue;
        }
        if steps.is_empty() {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{}: skipped, it has no `before`, `init` or `command` to run",
                    display_pointer(&pointer)
                ))
                .at(doc.value_location(&pointer))
                .help("add a `command`, or remove the task"),
            );
            continue;
        }
        let env = task
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, env_text(value)))
            .collect();
        lanes.push(Lane { name, env, steps });
    }
    let stages = if lanes.is_empty() {
        Vec::new()
    } else {
        vec![Stage {
            name: "tasks".into(),
            lanes,
        }]
    };
    (stages, prebuilds)
}

/// A task `env` value as Gitpod passes it: a string as it is, anything else as JSON text
/// (`false`, `10`, `{"a":"b"}`), the fix for gitpod-io/gitpod#5887.
fn env_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{lower_text, problem, problems, workspace};
    use super::*;

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
        let (ws, d) = lower_text("tasks:\n  - name: idle\n    openMode: tab-after\n");
        assert!(ws.unwrap().stages.is_empty());
        assert_eq!(
            problems(&d),
            [
                problem(
                    "warning",
                    "tasks[0].openMode: ignored, it places the task's terminal in Gitpod's IDE",
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
    fn a_task_with_only_a_prebuild_runs_in_prebuilds_alone_without_a_warning() {
        let (ws, d) = lower_text("tasks:\n  - name: warm\n    prebuild: make warm\n");
        let ws = ws.unwrap();
        assert!(ws.stages.is_empty());
        assert_eq!(
            ws.prebuild_commands,
            [("warm".to_string(), "make warm".to_string())]
        );
        assert!(problems(&d).is_empty(), "{:?}", problems(&d));
    }
}
