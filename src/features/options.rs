//! A Feature's options as its install script gets them: the values the reference CLI
//! computes from the user's entry and the Feature's declared defaults, the variable names it
//! mangles them into, the `devcontainer-features.env` text it writes, and the checks of the
//! user's options against what the Feature declares.
//!
//! The border: no file is written and nothing is printed here; the build step writes the
//! text, the caller places the problems (it knows where the entry is in the config).

use serde_json::{Map, Value};

use super::metadata::Metadata;
use crate::config::suggest::{self, Swap};

/// The option values for a Feature entry, as the reference CLI's `getFeatureValueObject`
/// computes them: the declared defaults (in declaration order), then
/// - an object value merged over them (its new keys after the defaults, in its order);
/// - any other value (a string, `true`, even `false`) as `version` when the Feature declares
///   a `version` option;
/// - otherwise the defaults alone.
pub fn values(value: &Value, metadata: &Metadata) -> Vec<(String, Value)> {
    let mut values: Vec<(String, Value)> = metadata
        .options
        .iter()
        .filter_map(|(name, spec)| spec.default.clone().map(|d| (name.clone(), d)))
        .collect();
    let mut set = |name: String, v: Value| match values.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = v,
        None => values.push((name, v)),
    };
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                set(name.clone(), v.clone());
            }
        }
        // JavaScript spreads an array's indexes and `null` as nothing, both being objects.
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                set(i.to_string(), v.clone());
            }
        }
        Value::Null => {}
        other if declares_version(metadata) => set("version".into(), other.clone()),
        _ => {}
    }
    values
}

fn declares_version(metadata: &Metadata) -> bool {
    metadata.options.iter().any(|(name, _)| name == "version")
}

/// An option name as an environment variable name, mangled exactly as the reference CLI's
/// `getSafeId` does: every character but ASCII letters, digits and `_` becomes `_`, a
/// leading run of digits and `_` becomes one `_`, then all is uppercased
/// (`install-tools` → `INSTALL_TOOLS`, `2fa` → `_FA`).
pub fn safe_id(name: &str) -> String {
    // JavaScript replaces UTF-16 code units: a character outside the BMP is two `_`.
    let replaced: String = name
        .chars()
        .flat_map(|c| {
            let n = if c.is_ascii_alphanumeric() {
                1
            } else {
                c.len_utf16()
            };
            std::iter::repeat_n(if c.is_ascii_alphanumeric() { c } else { '_' }, n)
        })
        .collect();
    let rest = replaced.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    let lead = if rest.len() < replaced.len() { "_" } else { "" };
    format!("{lead}{rest}").to_uppercase()
}

/// A value as JavaScript's template literal turns it into text (what the reference CLI puts
/// between the quotes): strings as they are, `true`/`false`, numbers as JavaScript prints
/// them, `null`, arrays joined by `,`, objects as `[object Object]`.
pub fn js_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            // JavaScript has one number type: `1.0` prints as `1`.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Value::Array(items) => items
            .iter()
            .map(|v| {
                if v.is_null() {
                    String::new()
                } else {
                    js_text(v)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// The `NAME="value"` lines, one per value, in order. No escaping, as the reference CLI
/// writes them: the file is sourced by `sh`, so a value's `"`, `` ` `` or `$(` is shell
/// syntax (see [`risky`]).
pub fn env_lines(values: &[(String, Value)]) -> Vec<String> {
    values
        .iter()
        .map(|(name, v)| format!("{}=\"{}\"", safe_id(name), js_text(v)))
        .collect()
}

/// The text of `devcontainer-features.env`: the lines joined by newlines, no newline at the
/// end (byte for byte what the reference CLI writes).
pub fn env_file(values: &[(String, Value)]) -> String {
    env_lines(values).join("\n")
}

/// The options whose value the shell would not take literally when it sources the env file
/// (a `"` ends the quoting, `` ` `` and `$(` run a command), so the caller can warn.
pub fn risky(values: &[(String, Value)]) -> Vec<&str> {
    values
        .iter()
        .filter(|(_, v)| {
            let text = js_text(v);
            text.contains('"') || text.contains('`') || text.contains("$(")
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// What is wrong with a user's options for a Feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A name the Feature does not declare (it still reaches the install script).
    UnknownOption,
    /// A value of another type than declared (it still reaches the script, as text).
    WrongType,
    /// A value outside the option's `enum`.
    NotAllowed,
    /// A value the install script never sees, or that does not do what it seems to.
    Ignored,
}

/// One problem with a user's options, without a location: the caller places it on the
/// Feature's entry. `option` names the option when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub option: Option<String>,
    pub message: String,
    pub help: String,
}

/// Checks a Feature entry's value against the options the Feature declares: unknown names,
/// types, `enum` values. `proposals` are only suggestions: other values are fine.
pub fn check(value: &Value, metadata: &Metadata) -> Vec<Problem> {
    match value {
        Value::Object(map) => map
            .iter()
            .filter_map(|(name, v)| check_option(name, v, metadata))
            .collect(),
        Value::Null => Vec::new(),
        Value::Array(_) => vec![Problem {
            kind: ProblemKind::WrongType,
            option: None,
            message: "a Feature's value is an object of options, a version string or `true`".into(),
            help: "write its options as an object: `{ \"<option>\": \"<value>\" }`".into(),
        }],
        Value::Bool(false) => vec![Problem {
            kind: ProblemKind::Ignored,
            option: None,
            message: "`false` does not leave a Feature out: it is installed all the same".into(),
            help: "remove the entry to leave the Feature out".into(),
        }],
        other if declares_version(metadata) => check_option("version", other, metadata)
            .map(|mut p| {
                if other == &Value::Bool(true) {
                    p.help = "`true` is passed as `version: \"true\"`; write `{}` to install \
                              the default version"
                        .into();
                }
                p
            })
            .into_iter()
            .collect(),
        Value::String(s) => vec![Problem {
            kind: ProblemKind::Ignored,
            option: None,
            message: format!("`{s}` is ignored: this Feature has no `version` option"),
            help: format!(
                "write `{{}}` or its options as an object{}",
                declared(metadata)
            ),
        }],
        _ => Vec::new(),
    }
}

fn check_option(name: &str, value: &Value, metadata: &Metadata) -> Option<Problem> {
    let problem = |kind, message: String, help: String| {
        Some(Problem {
            kind,
            option: Some(name.to_string()),
            message,
            help,
        })
    };
    let Some((_, spec)) = metadata.options.iter().find(|(n, _)| n == name) else {
        let names = metadata.options.iter().map(|(n, _)| n.as_str());
        let near = suggest::closest(name, names, Swap::OneEdit, |n| (n.len() / 3).max(1));
        let help = match near {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("remove it{}", declared(metadata)),
        };
        return problem(
            ProblemKind::UnknownOption,
            format!("unknown option `{name}`"),
            help,
        );
    };
    let wrong_type = match (spec.kind.as_str(), value) {
        ("boolean", Value::Bool(_)) | ("string", Value::String(_)) => None,
        ("boolean", _) => Some("write `true` or `false`, without quotes"),
        ("string", _) => Some("write the value in quotes"),
        _ => None,
    };
    if let Some(help) = wrong_type {
        return problem(
            ProblemKind::WrongType,
            format!(
                "option `{name}` is a {}, not {}",
                spec.kind,
                json_type(value)
            ),
            help.into(),
        );
    }
    let text = js_text(value);
    if !spec.allowed.is_empty() && !spec.allowed.contains(&text) {
        return problem(
            ProblemKind::NotAllowed,
            format!("`{text}` is not a value of option `{name}`"),
            format!("use one of: {}", quoted(&spec.allowed)),
        );
    }
    None
}

/// The end of a help naming the declared options (or saying there are none).
fn declared(metadata: &Metadata) -> String {
    let names: Vec<String> = metadata.options.iter().map(|(n, _)| n.clone()).collect();
    if names.is_empty() {
        "; it declares no options".into()
    } else {
        format!("; it declares: {}", quoted(&names))
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The values as a JSON object (for `config --json` and the build's digest).
pub fn to_object(values: &[(String, Value)]) -> Value {
    Value::Object(values.iter().cloned().collect::<Map<_, _>>())
}

#[cfg(test)]
mod tests;
