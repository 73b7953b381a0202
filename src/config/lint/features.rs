//! The options a devcontainer.json gives each of its Dev Container Features, checked against
//! what the Feature declares in its `devcontainer-feature.json` (so only once the Features
//! are fetched: `devboot validate --features`), each problem at its place in the config.
//!
//! An unknown option or a value the install never sees is a warning: the install still
//! runs as written. A value of the wrong type or outside the option's `enum` is an error:
//! the Feature's script was not written for it. The checks are `features::options::check`'s;
//! a dependency's options are the business of the Feature that depends on it.

use crate::config::source::{Document, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::features::options::{self, Problem, ProblemKind};
use crate::features::order::Planned;

/// The problems of the options the config gives its own Features (`features` is a resolved
/// install order; Features added by a `dependsOn` are left out).
pub fn feature_options(doc: &Document, features: &[Planned]) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    for p in features.iter().filter(|p| p.added_by.is_none()) {
        let entry = pointer_push("/features", &p.user_id);
        for problem in options::check(&p.value, &p.fetched.metadata) {
            diagnostics.push(located(doc, &entry, &p.user_id, problem));
        }
        let values = options::values(&p.value, &p.fetched.metadata);
        for name in options::risky(&values) {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "Feature `{}`: the value of option `{name}` is shell syntax in its install \
                     script",
                    p.user_id
                ))
                .at(doc.value_location(&pointer_push(&entry, name)))
                .help(
                    "option values are written unquoted into a file the install script \
                     sources (as the devcontainer CLI writes them): avoid `\"`, `` ` `` and \
                     `$(` in them",
                ),
            );
        }
    }
    diagnostics
}

/// A problem at the option it is about (its key when the option is unknown, its value when
/// the value is wrong), or at the Feature's entry.
fn located(doc: &Document, entry: &str, user_id: &str, problem: Problem) -> Diagnostic {
    let message = format!("Feature `{user_id}`: {}", problem.message);
    let diagnostic = match problem.kind {
        ProblemKind::UnknownOption | ProblemKind::Ignored => Diagnostic::warning(message),
        ProblemKind::WrongType | ProblemKind::NotAllowed => Diagnostic::error(message),
    };
    let location = match (&problem.option, &problem.kind) {
        (Some(name), ProblemKind::UnknownOption) => doc.key_location(&pointer_push(entry, name)),
        // A version string stands for the `version` option: no pointer of its own, so the
        // entry's value is found.
        (Some(name), _) => doc.value_location(&pointer_push(entry, name)),
        (None, _) => doc.value_location(entry),
    };
    diagnostic.at(location).help(problem.help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::SourceFile;
    use crate::features::metadata::Metadata;
    use crate::features::{Fetched, Source};

    const GREETER: &str = r#"{"id": "greeter", "options": {
        "greeting": {"type": "string", "proposals": ["hello", "howdy"], "default": "hello"},
        "fail": {"type": "boolean", "default": false},
        "color": {"type": "string", "enum": ["red", "blue"], "default": "red"}}}"#;

    fn planned(user_id: &str, value: serde_json::Value, added_by: Option<&str>) -> Planned {
        Planned {
            n: 0,
            user_id: user_id.into(),
            source: Source::Local {
                path: "/w/.devcontainer/greeter".into(),
                id: "greeter".into(),
            },
            value,
            fetched: Fetched {
                folder: "/cache/x".into(),
                digest: "sha256:00".into(),
                resolved: None,
                metadata: Metadata::parse(GREETER, "greeter").unwrap(),
            },
            added_by: added_by.map(String::from),
        }
    }

    fn doc(text: &str) -> Document {
        let file = SourceFile::new("/w/.devcontainer/devcontainer.json", text);
        crate::config::jsonc::parse(&file, &mut Diagnostics::default()).unwrap()
    }

    /// `(severity, line:col, message, help)` of each diagnostic.
    fn shown(doc: &Document, found: &Diagnostics) -> Vec<(bool, (usize, usize), String, String)> {
        found
            .0
            .iter()
            .map(|d| {
                let at = d.location.as_ref().unwrap();
                (
                    d.is_error(),
                    doc.file.line_col(at.span.start),
                    d.message.clone(),
                    d.help.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn each_problem_is_at_its_option_with_its_severity() {
        let text = r#"{
  "features": {
    "./greeter": { "greting": "hi", "fail": "yes", "color": "green", "greeting": "hiya" }
  }
}"#;
        let doc = doc(text);
        let value = doc.value["features"]["./greeter"].clone();
        let found = feature_options(&doc, &[planned("./greeter", value, None)]);
        assert_eq!(
            shown(&doc, &found),
            [
                (
                    false,
                    (3, 20),
                    "Feature `./greeter`: unknown option `greting`".into(),
                    "did you mean `greeting`?".into()
                ),
                (
                    true,
                    (3, 45),
                    "Feature `./greeter`: option `fail` is a boolean, not a string".into(),
                    "write `true` or `false`, without quotes".into()
                ),
                (
                    true,
                    (3, 61),
                    "Feature `./greeter`: `green` is not a value of option `color`".into(),
                    "use one of: `red`, `blue`".into()
                ),
            ]
        );
    }

    #[test]
    fn a_dependency_is_not_checked_and_a_whole_value_is_placed_at_the_entry() {
        let text = "{ \"features\": { \"./greeter\": false } }";
        let doc = doc(text);
        let found = feature_options(
            &doc,
            &[
                planned("./greeter", serde_json::json!(false), None),
                planned("./dep", serde_json::json!({"nope": 1}), Some("./greeter")),
            ],
        );
        let shown = shown(&doc, &found);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(!shown[0].0);
        assert_eq!(shown[0].1, (1, 30));
        assert!(shown[0].2.contains("`false` does not leave a Feature out"));
    }

    #[test]
    fn a_value_with_shell_syntax_is_a_warning_at_it() {
        let text = r#"{ "features": { "./greeter": { "greeting": "$(id)" } } }"#;
        let doc = doc(text);
        let value = doc.value["features"]["./greeter"].clone();
        let found = feature_options(&doc, &[planned("./greeter", value, None)]);
        let shown = shown(&doc, &found);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0].1, (1, 44));
        assert!(
            shown[0].2.contains("`greeting` is shell syntax"),
            "{shown:?}"
        );
    }
}
