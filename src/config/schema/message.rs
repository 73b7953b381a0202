//! Wording: a [`Problem`] becomes a [`Diagnostic`] with a short message, its place in the
//! file, and help ("did you mean", the schema's own hint).
//!
//! The border: which problems there are is `walk.rs`'s; this module only words and places
//! them.

use std::collections::BTreeSet;

use serde_json::Value;

use super::walk::{Kind, Problem, Walk};
use crate::config::source::{Document, Location, pointer_push};
use crate::config::suggest::{self, Swap};
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Severity};
use crate::workspace::Format;

impl Walk<'_> {
    pub(super) fn diagnostic(&self, doc: &Document, problem: Problem) -> Diagnostic {
        let yaml = self.schema.format == Format::Gitpod;
        let severity = if problem.kind.is_deprecation() || !yaml {
            Severity::Warning
        } else {
            Severity::Error
        };
        let make = |message: String| match severity {
            Severity::Error => Diagnostic::error(message),
            Severity::Warning => Diagnostic::warning(message),
        };
        let Problem { at, kind, help } = problem;
        let path = if at.is_empty() {
            "the file".to_string()
        } else {
            display_pointer(&at)
        };
        let object = if at.is_empty() {
            "the file".to_string()
        } else {
            format!("`{}`", display_pointer(&at))
        };
        let value = show_value(self.instance.pointer(&at));
        let file = if yaml {
            ".gitpod.yml"
        } else {
            "devcontainer.json"
        };
        let (diagnostic, location): (Diagnostic, Location) = match kind {
            Kind::Unexpected { name, .. } => {
                let key = pointer_push(&at, &name);
                let shown = display_pointer(&key);
                let d = if at.is_empty() && self.schema.top_level.contains(&name) {
                    // Declared, but by another branch: image, Dockerfile and compose configs
                    // each take their own keys.
                    make(format!("`{shown}` does not apply to this kind of {file}"))
                        .label("not used here")
                        .help(
                            "image, Dockerfile and Docker Compose configs each take \
                             different properties",
                        )
                } else {
                    let d = make(format!("`{shown}` is not a {file} property"))
                        .label("unknown property");
                    match suggest(&name, self.known.get(&at)) {
                        Some(close) => d.help(format!("did you mean `{close}`?")),
                        None => d,
                    }
                };
                (d, doc.key_location(&key))
            }
            Kind::Type { expected } => {
                let expected: Vec<&str> = expected.iter().map(|t| type_word(t, yaml)).collect();
                let found = self
                    .instance
                    .pointer(&at)
                    .map_or("nothing", |v| found_word(v, yaml));
                let message = if expected.is_empty() {
                    format!("{path}: {found} is not allowed here")
                } else {
                    format!("{path}: expected {}, found {found}", join(&expected, "or"))
                };
                (make(message), doc.value_location(&at))
            }
            Kind::Enum { allowed } => {
                let allowed: Vec<String> = allowed.iter().map(show_choice).collect();
                let message = match allowed.as_slice() {
                    [] => format!("{path}: {value} is not an allowed value"),
                    [one] => format!("{path}: {value} is not {one}"),
                    many => format!("{path}: {value} is not one of {}", many.join(", ")),
                };
                (make(message), doc.value_location(&at))
            }
            Kind::Pattern { pattern } => {
                let message = if pattern.is_empty() || pattern.chars().count() > 40 {
                    format!("{path}: {value} is not in the expected format")
                } else {
                    format!("{path}: {value} does not match `{pattern}`")
                };
                (make(message), doc.value_location(&at))
            }
            Kind::Required { missing, .. } => {
                let names: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                (
                    make(format!("{object} is missing {}", join(&names, "and"))),
                    doc.value_location(&at),
                )
            }
            Kind::MissingOneOf { names } => {
                let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                (
                    make(format!("{object} needs one of {}", join(&names, "or"))),
                    doc.value_location(&at),
                )
            }
            Kind::Ambiguous { names } if names.len() > 1 => {
                let shown: Vec<String> = names
                    .iter()
                    .map(|n| format!("`{}`", display_pointer(&pointer_push(&at, n))))
                    .collect();
                let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
                let last = pointer_push(&at, names.last().map_or("", String::as_str));
                (
                    make(format!("{} cannot be used together", join(&shown, "and")))
                        .help("keep only one of them"),
                    doc.key_location(&last),
                )
            }
            Kind::Ambiguous { .. } => (
                make(format!(
                    "{path}: matches more than one of the alternatives the schema allows"
                )),
                doc.value_location(&at),
            ),
            Kind::Deprecated { replacement, note } => {
                let shown = display_pointer(&at);
                let d = match (replacement, note) {
                    (Some(to), _) => make(format!("`{shown}` is deprecated: move it to `{to}`")),
                    (None, Some(note)) => make(format!("`{shown}` is deprecated")).help(note),
                    (None, None) => make(format!("`{shown}` is deprecated")),
                };
                (d, doc.key_location(&at))
            }
            Kind::Other { message } => {
                (make(format!("{path}: {message}")), doc.value_location(&at))
            }
        };
        let diagnostic = diagnostic.at(location);
        match help {
            Some(help) if diagnostic.help.is_none() => diagnostic.help(help),
            _ => diagnostic,
        }
    }
}

fn type_word(name: &str, yaml: bool) -> &'static str {
    match name {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "object" if yaml => "a mapping",
        "object" => "an object",
        "array" if yaml => "a list",
        "array" => "an array",
        "null" => "null",
        _ => "another type",
    }
}

fn found_word(value: &Value, yaml: bool) -> &'static str {
    match value {
        Value::Null if yaml => "an empty value",
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => type_word("array", yaml),
        Value::Object(_) => type_word("object", yaml),
    }
}

/// A value as it appears in a message: JSON, cut short.
fn show_value(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "nothing".to_string();
    };
    let text = value.to_string();
    if text.chars().count() <= 40 {
        text
    } else {
        let cut: String = text.chars().take(37).collect();
        format!("{cut}...")
    }
}

/// An allowed value in a list: strings bare, anything else as JSON.
fn show_choice(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join(items: &[&str], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// The declared property closest to a misspelt `name`, if it is close enough to be meant.
fn suggest<'a>(name: &str, known: Option<&'a BTreeSet<String>>) -> Option<&'a str> {
    let limit = (name.chars().count() / 4).clamp(1, 3);
    let others = known?.iter().map(String::as_str).filter(|k| *k != name);
    suggest::closest(name, others, Swap::TwoEdits, |_| limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        let known: BTreeSet<String> = ["forwardPorts", "features", "image"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(suggest("forwardPort", Some(&known)), Some("forwardPorts"));
        assert_eq!(suggest("Image", Some(&known)), Some("image"));
        assert_eq!(suggest("runArgs", Some(&known)), None);
    }

    #[test]
    fn lists_read_like_prose() {
        assert_eq!(join(&["a"], "or"), "a");
        assert_eq!(join(&["a", "b", "c"], "or"), "a, b or c");
    }
}
