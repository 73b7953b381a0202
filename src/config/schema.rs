//! Checks a parsed [`Document`] against the official JSON schema of its format, and turns
//! what the schema says into located, human diagnostics.
//!
//! The schemas are vendored in `schemas/` (its README says where each comes from) and compiled
//! on first use, so only `devboot validate` pays for them. `.gitpod.yml` is checked against
//! Gitpod's `gitpod-schema.json`; `devcontainer.json` against the spec's
//! `devContainer.schema.json`, whose VS Code and Codespaces parts are served from the vendored
//! copies, never fetched. The border: this module reports what the schema says; whether a
//! config can be used at all is for the lowering code to decide.
//!
//! Raw validator errors are not fit to show. The devcontainer schema is a top-level `oneOf`
//! (image | Dockerfile | compose | nothing) closed by `unevaluatedProperties: false`, so one
//! bad value fails every branch, and then every property counts as unevaluated. So we walk the
//! evaluation tree ([`jsonschema::Validator::evaluate`]) ourselves: at each `oneOf`/`anyOf`
//! only the branch that fits the document best is kept, an unevaluated property is reported
//! only when no kept branch knows it, and one problem is kept per place.

mod message;
mod walk;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

use crate::config::source::{Document, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::workspace::Format;
use walk::{Kind, Problem, Walk};

/// Gitpod's schema, under its own `$id`.
const GITPOD: &[(&str, &str)] = &[(
    "https://gitpod.io/schemas/gitpod-schema.json",
    include_str!("../../schemas/gitpod-schema.json"),
)];

/// The devcontainer schema documents, under the URIs `devContainer.schema.json` references
/// them by (the first is the root, placed where the spec publishes it).
const DEVCONTAINER: &[(&str, &str)] = &[
    (
        "https://raw.githubusercontent.com/devcontainers/spec/main/schemas/devContainer.schema.json",
        include_str!("../../schemas/devContainer.schema.json"),
    ),
    (
        "https://raw.githubusercontent.com/devcontainers/spec/main/schemas/devContainer.base.schema.json",
        include_str!("../../schemas/devContainer.base.schema.json"),
    ),
    (
        "https://raw.githubusercontent.com/microsoft/vscode/main/extensions/configuration-editing/schemas/devContainer.codespaces.schema.json",
        include_str!("../../schemas/devContainer.codespaces.schema.json"),
    ),
    (
        "https://raw.githubusercontent.com/microsoft/vscode/main/extensions/configuration-editing/schemas/devContainer.vscode.schema.json",
        include_str!("../../schemas/devContainer.vscode.schema.json"),
    ),
    // VS Code's machine-settings schema only exists inside VS Code: any settings object is fine.
    ("vscode://schemas/settings/machine", "{}"),
];

/// Checks `doc` against the schema of `format`, adding what it finds to `diagnostics`:
/// errors for `.gitpod.yml` (Gitpod refuses to start such a workspace), warnings for
/// `devcontainer.json` (the reference CLI does not validate at all).
pub fn check(doc: &Document, format: Format, diagnostics: &mut Diagnostics) {
    static GITPOD_SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    static DEVCONTAINER_SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    let cell = match format {
        Format::Gitpod => &GITPOD_SCHEMA,
        Format::Devcontainer => &DEVCONTAINER_SCHEMA,
    };
    match cell.get_or_init(|| Schema::compile(format)) {
        Ok(schema) => schema.check(doc, diagnostics),
        Err(err) => diagnostics.push(
            Diagnostic::warning(format!(
                "the {format} schema could not be loaded; the file was not checked against it"
            ))
            .cause(err.clone()),
        ),
    }
}

/// A compiled validator and the schema documents it was built from (read back by schema
/// location for enum values, property names and deprecation notes).
pub struct Schema {
    format: Format,
    validator: Validator,
    documents: Vec<(&'static str, Value)>,
    /// Every property some branch of the schema declares at the top level.
    top_level: BTreeSet<String>,
}

impl Schema {
    /// Compiles the vendored schema of `format`. [`check`] does this once per process; it is
    /// public so that its cost can be measured.
    pub fn compile(format: Format) -> Result<Self, String> {
        let sources = match format {
            Format::Gitpod => GITPOD,
            Format::Devcontainer => DEVCONTAINER,
        };
        let mut documents = Vec::with_capacity(sources.len());
        for (uri, text) in sources {
            let value = serde_json::from_str(text).map_err(|e| format!("{uri}: {e}"))?;
            documents.push((*uri, value));
        }
        let (root_uri, root) = documents.first().ok_or("no schema document")?;
        let validator = jsonschema::options()
            .with_base_uri(*root_uri)
            .with_retriever(Vendored(sources))
            .build(root)
            .map_err(|e| e.to_string())?;
        let mut schema = Self {
            format,
            validator,
            documents,
            top_level: BTreeSet::new(),
        };
        if let Some(root) = schema.documents.first().map(|(uri, _)| format!("{uri}#")) {
            let mut names = BTreeSet::new();
            schema.declared_names(&root, 0, &mut names);
            schema.top_level = names;
        }
        Ok(schema)
    }

    /// Checks one document; see [`check`].
    pub fn check(&self, doc: &Document, diagnostics: &mut Diagnostics) {
        let evaluation = self.validator.evaluate(&doc.value);
        let mut walk = Walk {
            schema: self,
            instance: &doc.value,
            substitution: self.format == Format::Devcontainer,
            known: HashMap::new(),
            pattern_matched: HashMap::new(),
        };
        walk.collect_pattern_matches(evaluation.root());
        let outcome = walk.visit(evaluation.root(), false);
        let evaluated: HashSet<(String, String)> = outcome.evaluated.into_iter().collect();

        let mut problems: Vec<Problem> = outcome
            .problems
            .into_iter()
            .filter(|p| match &p.kind {
                // `unevaluatedProperties` also fires when a sibling failed: it only stands when
                // no kept branch evaluated the property.
                Kind::Unexpected { name, pending, .. } => {
                    !*pending || !evaluated.contains(&(p.at.clone(), name.clone()))
                }
                _ => true,
            })
            .collect();
        problems.sort_by_key(|p| p.kind.priority());
        problems.extend(outcome.deprecated);

        if problems.is_empty() {
            return;
        }
        // In the order of the file: by place in the document, then by span.
        let mut order = HashMap::new();
        number_nodes(&doc.value, String::new(), &mut order);
        let mut seen = HashSet::new();
        let mut found: Vec<(usize, usize, Diagnostic)> = Vec::new();
        for problem in problems {
            let target = problem.target();
            if seen.insert((target.clone(), problem.kind.is_deprecation())) {
                let rank = order.get(&target).copied().unwrap_or(0);
                let d = walk.diagnostic(doc, problem);
                found.push((d.location.as_ref().map_or(0, |l| l.span.start), rank, d));
            }
        }
        found.sort_by_key(|(start, rank, _)| (*rank, *start));
        for (_, _, d) in found {
            diagnostics.push(d);
        }
    }

    /// The properties the schema at `location` declares, through `allOf`/`anyOf`/`oneOf` and
    /// `$ref`s between the vendored documents.
    fn declared_names(&self, location: &str, depth: usize, names: &mut BTreeSet<String>) {
        let Some(Value::Object(schema)) = self.lookup(location).filter(|_| depth < 16) else {
            return;
        };
        if let Some(Value::Object(properties)) = schema.get("properties") {
            names.extend(properties.keys().cloned());
        }
        let (uri, _) = location.split_once('#').unwrap_or((location, ""));
        for applicator in ["allOf", "anyOf", "oneOf"] {
            let count = schema
                .get(applicator)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for i in 0..count {
                let sub = format!("{}/{applicator}/{i}", location.trim_end_matches('/'));
                self.declared_names(&sub, depth + 1, names);
            }
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = match reference.split_once('#') {
                Some(("", fragment)) => format!("{uri}#{fragment}"),
                Some((document, fragment)) => format!("{}#{fragment}", self.resolve(document)),
                None => format!("{}#", self.resolve(reference)),
            };
            self.declared_names(&target, depth + 1, names);
        }
    }

    /// The vendored document a (possibly relative, `./x.json`) reference names.
    fn resolve<'a>(&self, reference: &'a str) -> &'a str {
        let name = reference.trim_start_matches("./");
        self.documents
            .iter()
            .map(|(uri, _)| *uri)
            .find(|uri| *uri == reference || uri.ends_with(&format!("/{name}")))
            .unwrap_or(reference)
    }

    /// The schema value at an output unit's schema location (`uri#/json/pointer`).
    fn lookup(&self, location: &str) -> Option<&Value> {
        let (uri, fragment) = location.split_once('#').unwrap_or(("", location));
        let document = if uri.is_empty() {
            &self.documents.first()?.1
        } else {
            &self.documents.iter().find(|(u, _)| *u == uri)?.1
        };
        if fragment.contains('%') {
            document.pointer(&percent_decode(fragment))
        } else {
            document.pointer(fragment)
        }
    }
}

/// Serves the vendored schema documents; anything else is refused (devboot never fetches).
struct Vendored(&'static [(&'static str, &'static str)]);

impl Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match self.0.iter().find(|(u, _)| *u == uri.as_str()) {
            Some((_, text)) => Ok(serde_json::from_str(text)?),
            None => Err(format!("{} is not a vendored schema", uri.as_str()).into()),
        }
    }
}

/// Numbers every node of `value` in document order (keys keep their order: `serde_json`'s
/// `preserve_order`).
fn number_nodes(value: &Value, pointer: String, order: &mut HashMap<String, usize>) {
    let rank = order.len();
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                number_nodes(child, pointer_push(&pointer, key), order);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                number_nodes(child, pointer_push(&pointer, &i.to_string()), order);
            }
        }
        _ => {}
    }
    order.insert(pointer, rank);
}

/// Schema locations are URI fragments: `%5E` is `^`.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_percent_decoded() {
        assert_eq!(percent_decode("/p/%5E%5Ba-z%5D*$"), "/p/^[a-z]*$");
        assert_eq!(percent_decode("/100%"), "/100%");
    }

    #[test]
    fn nodes_are_numbered_in_document_order() {
        let value = serde_json::json!({"b": [1, {"c": 2}], "a": 3});
        let mut order = HashMap::new();
        number_nodes(&value, String::new(), &mut order);
        let mut pointers: Vec<(&usize, &String)> = order.iter().map(|(p, r)| (r, p)).collect();
        pointers.sort();
        let pointers: Vec<&str> = pointers.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(pointers, ["", "/b", "/b/0", "/b/1", "/b/1/c", "/a"]);
    }
}
