//! `${...}` in a whole `devcontainer.json` at load time: every string value (never a key) goes
//! through the local pass and the `${devcontainerId}` pass, and every variable as written is
//! checked, with each problem located at the variable itself when the string has no escapes.
//!
//! What is reported where: a variable without a name is an error anywhere, as in the
//! reference CLI. Unknown names, and `${containerEnv:...}` where it cannot be resolved, are
//! warnings only in the properties devboot uses (the others are warned about as a whole), and
//! an unknown name in a hook is left alone: there `${NAME}` is usually the shell's. The
//! border: what the variables resolve to is `substitute.rs`'s.

use std::ops::Range;

use super::{KNOWN, Variables, occurrences, resolve_load_time};
use crate::config::devcontainer::HOOKS;
use crate::config::source::{Document, Location, Span, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};

/// Top-level properties used after the container started, where `${containerEnv:NAME}` can be
/// resolved ([`super::resolve_container_env`]). Elsewhere it stays as written.
const AFTER_START: [&str; 8] = [
    "remoteEnv",
    "remoteUser",
    "workspaceFolder",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
];

/// Substitutes the load-time variables in every string of the document (keys excepted), as
/// the reference CLI does, and reports, located: a variable without a name (an error, as
/// there) anywhere; unknown variables and `${containerEnv:...}` where it cannot be resolved
/// only in the top-level properties for which `used` is true (the others are ignored, and
/// warned about as a whole by the caller).
pub fn substitute_document(
    doc: &Document,
    vars: &Variables<'_>,
    used: &dyn Fn(&str) -> bool,
    diagnostics: &mut Diagnostics,
) -> serde_json::Value {
    let walker = Walker { doc, vars, used };
    walker.walk(&doc.value, "", None, diagnostics)
}

struct Walker<'a> {
    doc: &'a Document,
    vars: &'a Variables<'a>,
    used: &'a dyn Fn(&str) -> bool,
}

impl Walker<'_> {
    fn walk(
        &self,
        value: &serde_json::Value,
        pointer: &str,
        top: Option<&str>,
        diagnostics: &mut Diagnostics,
    ) -> serde_json::Value {
        let top_key = top.unwrap_or_default();
        match value {
            serde_json::Value::String(text) => {
                let place = Place {
                    top: top_key,
                    used: (self.used)(top_key),
                };
                check(self.doc, pointer, text, &place, diagnostics);
                serde_json::Value::String(resolve_load_time(text, self.vars))
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let at = pointer_push(pointer, &i.to_string());
                        self.walk(item, &at, top, diagnostics)
                    })
                    .collect(),
            ),
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        let at = pointer_push(pointer, key);
                        let top = top.or(Some(key.as_str()));
                        (key.clone(), self.walk(item, &at, top, diagnostics))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The top-level property a string is in, and whether the caller uses it.
struct Place<'a> {
    top: &'a str,
    used: bool,
}

/// Reports the problems of the variables in one string value, found on the text as written
/// (not on what a variable's value brought in).
fn check(
    doc: &Document,
    pointer: &str,
    text: &str,
    place: &Place<'_>,
    diagnostics: &mut Diagnostics,
) {
    let top = place.top;
    for o in occurrences(text) {
        let written = &text[o.range.clone()];
        let location = || occurrence_location(doc, pointer, text, &o.range);
        match o.name {
            "env" | "localEnv" | "containerEnv" if o.args.first().is_none_or(|n| n.is_empty()) => {
                diagnostics.push(
                    Diagnostic::error(format!("`{written}` names no environment variable"))
                        .at(location())
                        .label("no variable name")
                        .help(format!(
                            "write `${{{}:NAME}}` or `${{{}:NAME:default}}`",
                            o.name, o.name
                        )),
                );
            }
            _ if !place.used => {}
            "containerEnv" if !AFTER_START.contains(&top) => {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "`{written}` is not known when `{top}` is used, so it stays as written"
                    ))
                    .at(location())
                    .help(
                        "the container's variables are only known once it runs; \
                         use `${containerEnv:NAME}` in `remoteEnv` or in a hook after \
                         `initializeCommand`",
                    ),
                );
            }
            // devboot's own: the URL of a port wherever the workspace runs, resolved by
            // `up` in the environment it gives the container and the commands it runs.
            "portUrl" => {
                let port = o.args.first().and_then(|a| a.trim().parse::<u16>().ok());
                if port.is_none_or(|p| p == 0) {
                    diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{written}` names no port, so it stays as written"
                        ))
                        .at(location())
                        .help("write `${portUrl:4567}` with the port number in the container"),
                    );
                } else if !matches!(top, "containerEnv" | "remoteEnv") {
                    diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{written}` is only resolved in `containerEnv` and `remoteEnv`, so here it stays as written"
                        ))
                        .at(location())
                        .help("set a variable to it in `containerEnv` and use that variable here"),
                    );
                }
            }
            name if KNOWN.contains(&name) => {}
            name => {
                let suggestion = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name));
                // The hooks run through a shell: there `${NAME}` is usually the shell's own
                // syntax, so an unknown name is not worth a warning.
                if suggestion.is_none() && HOOKS.iter().any(|(hook, _)| *hook == top) {
                    continue;
                }
                let mut d =
                    Diagnostic::warning(format!("unknown variable `{written}` is left as written"))
                        .at(location());
                d = match suggestion {
                    Some(known) => d.help(format!("did you mean `${{{known}}}`?")),
                    None if looks_like_env_var(name) && o.args.is_empty() => d.help(format!(
                        "for the container's variable write `${{containerEnv:{name}}}`, \
                         for the host's `${{localEnv:{name}}}`"
                    )),
                    None if name == "templateOption" => d.help(
                        "`${templateOption:...}` is filled in when a Dev Container Template \
                         is applied; this file looks like a template source",
                    ),
                    None => d.help(
                        "devcontainer.json knows localEnv, localWorkspaceFolder, \
                         localWorkspaceFolderBasename, containerWorkspaceFolder, \
                         containerWorkspaceFolderBasename, devcontainerId and containerEnv, \
                         and devboot adds portUrl",
                    ),
                };
                diagnostics.push(d);
            }
        }
    }
}

/// `PATH`, `JAVA_HOME`: what a shell variable is usually called.
fn looks_like_env_var(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The location of one `${...}` inside a string value: exact when the string literal has no
/// escapes (its text is the value), else the whole string.
fn occurrence_location(
    doc: &Document,
    pointer: &str,
    text: &str,
    range: &Range<usize>,
) -> Location {
    let span = doc.spans.value_or_parent(pointer);
    let literal = doc
        .file
        .text
        .get(span.start + 1..span.end.saturating_sub(1));
    if span.end >= span.start + 2 && literal == Some(text) {
        let start = span.start + 1;
        return Location::new(&doc.file, Span::new(start + range.start, start + range.end));
    }
    Location::new(&doc.file, span)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::env;
    use super::*;
    use crate::config::jsonc;
    use crate::config::source::SourceFile;

    fn substitute(text: &str) -> (serde_json::Value, Diagnostics, String) {
        let file = SourceFile::new("/w/.devcontainer/devcontainer.json", text);
        let mut diagnostics = Diagnostics::default();
        let doc = jsonc::parse(&file, &mut diagnostics).unwrap();
        let host = env(&[("USER", "me")]);
        let vars = Variables {
            host_env: &host,
            local_folder: Path::new("/w"),
            container_folder: Some("/workspaces/w"),
            devcontainer_id: Some("ID"),
        };
        let used = |key: &str| key != "customizations";
        let value = substitute_document(&doc, &vars, &used, &mut diagnostics);
        (value, diagnostics, text.to_string())
    }

    fn located(diagnostics: &Diagnostics, text: &str) -> Vec<(String, String)> {
        diagnostics
            .0
            .iter()
            .map(|d| {
                let span = d.location.as_ref().unwrap().span;
                (d.message.clone(), text[span.start..span.end].to_string())
            })
            .collect()
    }

    #[test]
    fn documents_are_substituted_in_values_not_keys() {
        let (value, diagnostics, _) = substitute(
            r#"{"name": "${localEnv:USER}-${devcontainerId}", "containerEnv": {"${localEnv:USER}": "${containerWorkspaceFolder}"}, "runArgs": ["${localWorkspaceFolderBasename}", 1]}"#,
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(
            value,
            serde_json::json!({
                "name": "me-ID",
                "containerEnv": {"${localEnv:USER}": "/workspaces/w"},
                "runArgs": ["w", 1],
            })
        );
    }

    #[test]
    fn unknown_variables_warn_at_the_variable() {
        let (value, diagnostics, text) = substitute(
            r#"{"name": "x ${localWorkspaceFolderBaseName}", "remoteEnv": {"P": "${PATH}"}, "postCreateCommand": "echo ${HOME} ${localenv:X}", "customizations": {"s": "${task}"}}"#,
        );
        assert_eq!(value["remoteEnv"]["P"], "${PATH}");
        assert_eq!(
            located(&diagnostics, &text),
            [
                (
                    "unknown variable `${localWorkspaceFolderBaseName}` is left as written".into(),
                    "${localWorkspaceFolderBaseName}".into()
                ),
                (
                    "unknown variable `${PATH}` is left as written".into(),
                    "${PATH}".into()
                ),
                (
                    "unknown variable `${localenv:X}` is left as written".into(),
                    "${localenv:X}".into()
                ),
            ]
        );
        assert_eq!(
            diagnostics.0[0].help.as_deref(),
            Some("did you mean `${localWorkspaceFolderBasename}`?")
        );
        assert_eq!(
            diagnostics.0[1].help.as_deref(),
            Some(
                "for the container's variable write `${containerEnv:PATH}`, for the host's `${localEnv:PATH}`"
            )
        );
        assert!(diagnostics.0.iter().all(|d| !d.is_error()));
    }

    #[test]
    fn ignored_properties_get_errors_but_no_warnings() {
        let (_, diagnostics, _) = substitute(
            r#"{"customizations": {"a": "${nope}", "b": "${containerEnv:X}", "c": "${env}"}}"#,
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics.0[0].message,
            "`${env}` names no environment variable"
        );
    }

    #[test]
    fn variables_without_a_name_are_errors() {
        let (_, diagnostics, text) = substitute(
            r#"{"a": "${localEnv}", "b": "${localEnv:}", "c": "${env::d}", "remoteEnv": {"x": "${containerEnv}"}}"#,
        );
        let found = located(&diagnostics, &text);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(diagnostics.0.iter().all(Diagnostic::is_error));
        assert_eq!(
            found[0],
            (
                "`${localEnv}` names no environment variable".into(),
                "${localEnv}".into()
            )
        );
        assert_eq!(found[2].1, "${env::d}");
    }

    #[test]
    fn escaped_strings_are_located_as_a_whole() {
        let (_, diagnostics, text) = substitute(r#"{"name": "\"${nope}\""}"#);
        assert_eq!(located(&diagnostics, &text)[0].1, r#""\"${nope}\"""#);
    }

    #[test]
    fn container_env_outside_runtime_properties_warns() {
        let (value, diagnostics, _) = substitute(
            r#"{"containerEnv": {"P": "${containerEnv:PATH}:/x"}, "remoteEnv": {"P": "${containerEnv:PATH}:/x"}}"#,
        );
        assert_eq!(value["containerEnv"]["P"], "${containerEnv:PATH}:/x");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics.0[0].message,
            "`${containerEnv:PATH}` is not known when `containerEnv` is used, so it stays as written"
        );
    }
}
