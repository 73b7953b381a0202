//! `features` and `overrideFeatureInstallOrder`: the Features a config asks for, read as
//! written (id and value). What each id names is checked here, so a bad one is reported at
//! its key; fetching and installing them is `crate::features`' business, at `up`.

use serde_json::Value;

use super::Fields;
use crate::config::source::pointer_push;
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::features::{Request, reference};

/// The requests in the order written, and the install order override.
pub(super) fn features(
    fields: &Fields<'_>,
    config_file: &std::path::Path,
    diagnostics: &mut Diagnostics,
) -> (Vec<Request>, Vec<String>) {
    let mut requests = Vec::new();
    match fields.root.get("features") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (id, value) in entries {
                let pointer = pointer_push("/features", id);
                match value {
                    Value::Object(_) | Value::String(_) | Value::Bool(_) => {
                        let request = Request {
                            id: id.clone(),
                            value: value.clone(),
                        };
                        let at = fields.doc.key_location(&pointer);
                        match reference::check_request(&request, config_file) {
                            Ok(None) => {}
                            Ok(Some(warning)) => {
                                diagnostics.push(Diagnostic::warning(warning).at(at));
                            }
                            // A warning here: the config still loads (`config`,
                            // `validate`, as the reference CLI reads it); `up` refuses it
                            // (see `unusable_ids`).
                            Err(error) => {
                                let help = error.help().unwrap_or_default().to_string();
                                diagnostics
                                    .push(Diagnostic::warning(error.to_string()).at(at).help(help));
                            }
                        }
                        requests.push(request);
                    }
                    _ => diagnostics.push(
                        Diagnostic::error(format!(
                            "{}: expected an object of options, a version string or true",
                            display_pointer(&pointer)
                        ))
                        .at(fields.doc.value_location(&pointer))
                        .help("write `{}` for the Feature's defaults"),
                    ),
                }
            }
        }
        Some(_) => diagnostics.push(
            Diagnostic::error("`features`: expected an object of Feature ids and their options")
                .at(fields.doc.value_location("/features"))
                .help("write `\"features\": { \"ghcr.io/devcontainers/features/node:1\": {} }`"),
        ),
    }
    let order = fields.strings("overrideFeatureInstallOrder", diagnostics);
    (requests, order)
}

/// The load's warnings about Feature ids that name nothing devboot can fetch, as errors:
/// `up` stops on them, at their keys, before anything is made.
pub fn unusable_ids(
    requests: &[Request],
    config_file: &std::path::Path,
    diagnostics: &Diagnostics,
) -> Vec<Diagnostic> {
    let messages: Vec<String> = requests
        .iter()
        .filter_map(|r| reference::check_request(r, config_file).err())
        .map(|e| e.to_string())
        .collect();
    diagnostics
        .warnings()
        .filter(|d| messages.contains(&d.message))
        .map(|d| Diagnostic {
            severity: crate::diagnostic::Severity::Error,
            ..d.clone()
        })
        .collect()
}
