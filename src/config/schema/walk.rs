//! The walk over a validator's evaluation tree that turns its raw errors into a few
//! root-cause [`Problem`]s: one branch kept per `oneOf`/`anyOf`, `${...}` strings let through,
//! and unevaluated properties reported only when no kept branch knows them.
//!
//! The border: no wording here; `message.rs` turns each [`Problem`] into a diagnostic.

use std::collections::{BTreeSet, HashMap};

use jsonschema::OutputUnit;
use serde_json::Value;

use super::Schema;
use crate::config::source::pointer_push;

/// One thing the schema objects to, before it becomes a
/// [`Diagnostic`](crate::diagnostic::Diagnostic).
#[derive(Debug)]
pub(super) struct Problem {
    /// Instance location the problem is about; for `Unexpected`, the object holding the key.
    pub(super) at: String,
    pub(super) kind: Kind,
    /// The schema's own words on what is expected (`errorMessage`, else `description`).
    pub(super) help: Option<String>,
}

#[derive(Debug)]
pub(super) enum Kind {
    /// Property `name` is not allowed in the object at `at`. `closed`: the schema there allows
    /// no property at all. `pending`: said by `unevaluatedProperties`, so it only stands when
    /// no kept branch evaluated `name`.
    Unexpected {
        name: String,
        closed: bool,
        pending: bool,
    },
    Type {
        expected: Vec<String>,
    },
    Enum {
        allowed: Vec<Value>,
    },
    Pattern {
        pattern: String,
    },
    /// `progress`: the first required property is there, so this is the shape meant.
    Required {
        missing: Vec<String>,
        progress: bool,
    },
    /// Every alternative needs a property that is missing; the first of each.
    MissingOneOf {
        names: Vec<String>,
    },
    /// More than one `oneOf` alternative matches; the properties that select them.
    Ambiguous {
        names: Vec<String>,
    },
    Deprecated {
        replacement: Option<String>,
        note: Option<String>,
    },
    Other {
        message: String,
    },
}

impl Kind {
    /// Which problem wins when several are about one place: a wrong type explains the rest.
    pub(super) fn priority(&self) -> u8 {
        match self {
            Kind::Type { .. } => 0,
            Kind::Required { .. } | Kind::MissingOneOf { .. } | Kind::Ambiguous { .. } => 1,
            Kind::Unexpected { .. } => 2,
            Kind::Enum { .. } | Kind::Pattern { .. } => 3,
            Kind::Other { .. } => 4,
            Kind::Deprecated { .. } => 5,
        }
    }

    pub(super) fn is_deprecation(&self) -> bool {
        matches!(self, Kind::Deprecated { .. })
    }

    /// How much this problem says a branch does not fit.
    fn weight(&self) -> usize {
        match self {
            Kind::Required { missing, .. } => missing.len(),
            _ => 1,
        }
    }
}

impl Problem {
    /// The instance location this problem is reported at.
    pub(super) fn target(&self) -> String {
        match &self.kind {
            Kind::Unexpected { name, .. } => pointer_push(&self.at, name),
            _ => self.at.clone(),
        }
    }
}

/// What a subtree of the evaluation says, once its `oneOf`/`anyOf` choices are made.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) problems: Vec<Problem>,
    pub(super) deprecated: Vec<Problem>,
    /// `(object location, property)` pairs the kept branches evaluated.
    pub(super) evaluated: Vec<(String, String)>,
    /// `(object location, property)` pairs a satisfied `required` asked for.
    required: Vec<(String, String)>,
}

impl Outcome {
    fn absorb(&mut self, other: Outcome) {
        self.problems.extend(other.problems);
        self.deprecated.extend(other.deprecated);
        self.evaluated.extend(other.evaluated);
        self.required.extend(other.required);
    }

    /// Problems without a `Type` or closed-object complaint at `at`: the branch fits the shape.
    fn fits(&self, at: &str) -> bool {
        !self.problems.iter().any(|p| {
            p.at == at
                && matches!(
                    p.kind,
                    Kind::Type { .. } | Kind::Unexpected { closed: true, .. }
                )
        })
    }

    /// Only "a required property is missing" at `at`, with none of the required ones there.
    fn only_missing(&self, at: &str) -> bool {
        !self.problems.is_empty()
            && self.problems.iter().all(|p| {
                p.at == at
                    && matches!(
                        p.kind,
                        Kind::Required {
                            progress: false,
                            ..
                        } | Kind::MissingOneOf { .. }
                    )
            })
    }

    /// Lower is a better fit for the document at `at`.
    fn score(&self, at: &str) -> (bool, bool, usize, usize) {
        let here = self.problems.iter().filter(|p| p.at == at);
        let no_discriminator = here.clone().any(|p| {
            matches!(
                p.kind,
                Kind::Required {
                    progress: false,
                    ..
                } | Kind::MissingOneOf { .. }
            )
        });
        (
            !self.fits(at),
            no_discriminator,
            here.map(|p| p.kind.weight()).sum(),
            self.problems.iter().map(|p| p.kind.weight()).sum(),
        )
    }
}

/// One walk over an evaluation tree.
pub(super) struct Walk<'a> {
    pub(super) schema: &'a Schema,
    pub(super) instance: &'a Value,
    /// devcontainer.json substitutes `${...}` before types apply: such strings skip
    /// type/pattern/enum checks.
    pub(super) substitution: bool,
    /// Property names the schema declares for each object location, for "did you mean".
    pub(super) known: HashMap<String, BTreeSet<String>>,
    /// `(patternProperties schema location, object location)` to the names it matched.
    pub(super) pattern_matched: HashMap<(String, String), Vec<String>>,
}

impl Walk<'_> {
    pub(super) fn collect_pattern_matches(&mut self, unit: OutputUnit<'_>) {
        if keyword_of(unit.schema_location()) == Some("patternProperties") {
            let key = (
                unit.schema_location().to_string(),
                unit.instance_location().as_str().to_string(),
            );
            self.pattern_matched
                .entry(key)
                .or_default()
                .extend(annotated_names(unit, true));
        }
        for child in unit.children() {
            self.collect_pattern_matches(child);
        }
    }

    /// `per_property`: `unit` applies an `additionalProperties`/`unevaluatedProperties`
    /// subschema to one property, which its parent already reports.
    pub(super) fn visit(&mut self, unit: OutputUnit<'_>, per_property: bool) -> Outcome {
        let path = unit.evaluation_path().as_str();
        let keyword = keyword_of(path);
        if let Some(word @ ("oneOf" | "anyOf")) = keyword {
            return self.choose(unit, word == "oneOf");
        }
        let at = unit.instance_location().as_str().to_string();
        let mut out = Outcome::default();
        match keyword {
            Some(
                "properties"
                | "patternProperties"
                | "additionalProperties"
                | "unevaluatedProperties",
            ) => {
                // What `additionalProperties` or `unevaluatedProperties` rejected is not known.
                let failed = matches!(keyword, Some("properties" | "patternProperties"));
                for name in annotated_names(unit, failed) {
                    out.evaluated.push((at.clone(), name));
                }
            }
            Some("required") if unit.valid() => {
                for name in self.strings_at(unit.schema_location()) {
                    out.required.push((at.clone(), name));
                }
            }
            _ => {}
        }
        // The names declared here, for "did you mean". The validator may fold `properties`
        // into `additionalProperties`, leaving no unit of its own.
        let declared = match keyword {
            Some("properties") => self.schema.lookup(unit.schema_location()),
            Some("additionalProperties") if !per_property => self
                .schema
                .lookup(parent_location(unit.schema_location()))
                .and_then(|s| s.get("properties")),
            _ => None,
        };
        if let Some(Value::Object(declared)) = declared {
            self.known
                .entry(at.clone())
                .or_default()
                .extend(declared.keys().cloned());
        }
        if is_property_location(unit.schema_location()) && !at.is_empty() {
            let (object, name) = split_last(&at);
            out.evaluated.push((object.to_string(), name));
        }
        if let Some(problem) = self.deprecation(unit) {
            out.deprecated.push(problem);
        }
        if !unit.errors().is_empty() {
            self.errors(unit, keyword, per_property, &mut out);
        }
        // These pass while some of their subschemas fail: such failures say nothing about
        // the document.
        let passes_on_failure = matches!(keyword, Some("not" | "if" | "contains"));
        for child in unit.children() {
            let same = matches!(
                keyword,
                Some("additionalProperties" | "unevaluatedProperties")
            ) && child.evaluation_path().as_str() == path;
            let mut outcome = self.visit(child, same);
            if passes_on_failure {
                outcome.problems.clear();
            }
            out.absorb(outcome);
        }
        out
    }

    /// Keeps the `oneOf`/`anyOf` branch(es) that explain the document best.
    fn choose(&mut self, unit: OutputUnit<'_>, one_of: bool) -> Outcome {
        let at = unit.instance_location().as_str().to_string();
        let mut passed = 0;
        let mut branches = Vec::new();
        for child in unit.children() {
            let valid = child.valid();
            passed += usize::from(valid);
            branches.push((valid, self.visit(child, false)));
        }
        let mut out = Outcome::default();
        if one_of && passed > 1 {
            // Exemptions only let more branches pass, so this failure is real.
            let mut names = Vec::new();
            for (_, branch) in branches.into_iter().filter(|(valid, _)| *valid) {
                names.extend(
                    branch
                        .required
                        .iter()
                        .filter(|(object, _)| *object == at)
                        .map(|(_, name)| name.clone())
                        .take(1),
                );
                out.absorb(branch);
            }
            out.problems.push(Problem {
                at,
                kind: Kind::Ambiguous { names },
                help: None,
            });
            return out;
        }
        if branches.iter().any(|(_, b)| b.problems.is_empty()) {
            for (_, branch) in branches {
                if branch.problems.is_empty() {
                    out.absorb(branch);
                }
            }
            return out;
        }
        let fitting: Vec<usize> = (0..branches.len())
            .filter(|&i| branches[i].1.fits(&at))
            .collect();
        if !fitting.is_empty() && fitting.iter().all(|&i| branches[i].1.only_missing(&at)) {
            let mut names: Vec<String> = Vec::new();
            for (i, (_, branch)) in branches.into_iter().enumerate() {
                if !fitting.contains(&i) {
                    continue;
                }
                for problem in &branch.problems {
                    let first = match &problem.kind {
                        Kind::Required { missing, .. } => &missing[..missing.len().min(1)],
                        Kind::MissingOneOf { names } => names.as_slice(),
                        _ => &[],
                    };
                    for name in first {
                        if !names.contains(name) {
                            names.push(name.clone());
                        }
                    }
                }
                out.evaluated.extend(branch.evaluated);
                out.deprecated.extend(branch.deprecated);
            }
            out.problems.push(Problem {
                at,
                kind: Kind::MissingOneOf { names },
                help: None,
            });
            return out;
        }
        branches
            .into_iter()
            .map(|(_, branch)| branch)
            .min_by_key(|branch| branch.score(&at))
            .unwrap_or_default()
    }
}

impl Walk<'_> {
    fn errors(
        &self,
        unit: OutputUnit<'_>,
        keyword: Option<&str>,
        per_property: bool,
        out: &mut Outcome,
    ) {
        let at = unit.instance_location().as_str();
        let location = unit.schema_location();
        let value = self.instance.pointer(at);
        let closed = self.schema.lookup(location) == Some(&Value::Bool(false));
        match keyword {
            // A subschema other than `false` reports through its own keywords, below.
            Some("additionalProperties" | "unevaluatedProperties") if per_property || !closed => {}
            Some("additionalProperties") => self.additional(unit, out),
            Some("unevaluatedProperties") => unevaluated(unit, value, out),
            Some("required") => {
                let Some(Value::Object(object)) = value else {
                    return;
                };
                let required = self.strings_at(location);
                let missing: Vec<String> = required
                    .iter()
                    .filter(|name| !object.contains_key(name.as_str()))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    // Schemas list the property that selects a shape first (`dockerComposeFile`
                    // before `service` and `workspaceFolder`, which other shapes share).
                    let progress = required.first().is_some_and(|r| !missing.contains(r));
                    out.problems.push(Problem {
                        at: at.to_string(),
                        kind: Kind::Required { missing, progress },
                        help: None,
                    });
                }
            }
            _ => {
                for error in unit.errors() {
                    if self.exempt(error.keyword(), value) {
                        continue;
                    }
                    let schema = self.schema.lookup(location);
                    let (kind, help) = match error.keyword() {
                        "type" => (
                            Kind::Type {
                                expected: self.strings_at(location),
                            },
                            self.help_for(location),
                        ),
                        "enum" => (
                            Kind::Enum {
                                allowed: schema
                                    .and_then(Value::as_array)
                                    .cloned()
                                    .unwrap_or_default(),
                            },
                            None,
                        ),
                        "const" => (
                            Kind::Enum {
                                allowed: schema.cloned().into_iter().collect(),
                            },
                            None,
                        ),
                        "pattern" => (
                            Kind::Pattern {
                                pattern: schema.and_then(Value::as_str).unwrap_or("").to_string(),
                            },
                            self.help_for(location),
                        ),
                        // `"name": false` under `properties`.
                        "falseSchema" if is_property_location(location) => {
                            let (object, name) = split_last(at);
                            out.problems.push(Problem {
                                at: object.to_string(),
                                kind: Kind::Unexpected {
                                    name,
                                    closed: false,
                                    pending: false,
                                },
                                help: None,
                            });
                            continue;
                        }
                        _ => (
                            Kind::Other {
                                message: error.message().to_string(),
                            },
                            None,
                        ),
                    };
                    out.problems.push(Problem {
                        at: at.to_string(),
                        kind,
                        help,
                    });
                }
            }
        }
    }

    /// `additionalProperties: false`: every property its schema object neither declares nor
    /// matches by pattern.
    fn additional(&self, unit: OutputUnit<'_>, out: &mut Outcome) {
        let at = unit.instance_location().as_str();
        let Some(Value::Object(object)) = self.instance.pointer(at) else {
            return;
        };
        let parent = parent_location(unit.schema_location());
        let parent_schema = self.schema.lookup(parent);
        let declared = parent_schema
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object);
        let has_patterns = parent_schema.is_some_and(|s| s.get("patternProperties").is_some());
        let matched = self
            .pattern_matched
            .get(&(format!("{parent}/patternProperties"), at.to_string()));
        let closed = declared.is_none_or(serde_json::Map::is_empty) && !has_patterns;
        for name in object.keys() {
            if declared.is_some_and(|d| d.contains_key(name))
                || matched.is_some_and(|m| m.contains(name))
            {
                continue;
            }
            out.problems.push(Problem {
                at: at.to_string(),
                kind: Kind::Unexpected {
                    name: name.clone(),
                    closed,
                    pending: false,
                },
                help: None,
            });
        }
    }

    /// A deprecation note for a property whose schema says `deprecated: true`.
    fn deprecation(&self, unit: OutputUnit<'_>) -> Option<Problem> {
        let location = unit.schema_location();
        if !is_property_location(location) {
            return None;
        }
        let schema = self.schema.lookup(location)?;
        if schema.get("deprecated") != Some(&Value::Bool(true)) {
            return None;
        }
        let message = schema.get("deprecationMessage").and_then(Value::as_str);
        // VS Code's schemas say "Use 'customizations/vscode/extensions' instead".
        let replacement = message
            .and_then(|m| m.strip_prefix("Use '"))
            .and_then(|m| m.strip_suffix("' instead"))
            .map(|r| r.replace('/', "."));
        let note = if replacement.is_some() {
            None
        } else {
            message.map(str::to_string)
        };
        Some(Problem {
            at: unit.instance_location().as_str().to_string(),
            kind: Kind::Deprecated { replacement, note },
            help: None,
        })
    }

    fn exempt(&self, keyword: &str, value: Option<&Value>) -> bool {
        self.substitution
            && matches!(keyword, "type" | "enum" | "const" | "pattern" | "format")
            && value
                .and_then(Value::as_str)
                .is_some_and(|s| s.contains("${"))
    }

    /// The strings at a schema location: `"a"` or `["a", "b"]`.
    fn strings_at(&self, location: &str) -> Vec<String> {
        match self.schema.lookup(location) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The schema's own words for the value a keyword checks: `errorMessage` (VS Code's
    /// extension) or a short `description`.
    fn help_for(&self, location: &str) -> Option<String> {
        let schema = self.schema.lookup(parent_location(location))?;
        let text = schema
            .get("errorMessage")
            .or_else(|| schema.get("description"))
            .and_then(Value::as_str)?
            .trim();
        if text.is_empty() || text.len() > 160 {
            return None;
        }
        let text = text.strip_suffix('.').unwrap_or(text);
        let mut chars = text.chars();
        let first = chars.next()?;
        let rest = chars.as_str();
        // "The port..." reads as "the port..."; "URL..." stays.
        Some(if rest.starts_with(char::is_lowercase) {
            first.to_lowercase().chain(rest.chars()).collect()
        } else {
            text.to_string()
        })
    }
}

/// `unevaluatedProperties: false`: the properties it was handed. Pending: whether each one
/// stands is known only once every branch is chosen.
fn unevaluated(unit: OutputUnit<'_>, value: Option<&Value>, out: &mut Outcome) {
    let at = unit.instance_location().as_str();
    let mut names: Vec<String> = unit
        .children()
        .filter(|c| c.evaluation_path() == unit.evaluation_path())
        .filter_map(|c| {
            let (object, name) = split_last(c.instance_location().as_str());
            (object == at).then_some(name)
        })
        .collect();
    if names.is_empty()
        && let Some(Value::Object(object)) = value
    {
        names = object.keys().cloned().collect();
    }
    for name in names {
        out.problems.push(Problem {
            at: at.to_string(),
            kind: Kind::Unexpected {
                name,
                closed: false,
                pending: true,
            },
            help: None,
        });
    }
}

/// The property names a `properties`-like unit evaluated. With `failed`, a failed unit's
/// too: a property that failed its schema is still a known one.
fn annotated_names(unit: OutputUnit<'_>, failed: bool) -> Vec<String> {
    let annotations = match unit.annotations() {
        Some(a) => Some(a),
        None if failed => unit.dropped_annotations(),
        None => None,
    };
    annotations
        .and_then(|a| a.value().as_array())
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The keyword a unit's evaluation path (or schema location) ends in, unless the last token
/// names a property or definition, or is an index.
fn keyword_of(path: &str) -> Option<&str> {
    let path = path.rsplit_once('#').map_or(path, |(_, fragment)| fragment);
    let mut tokens = path.rsplit('/');
    let last = tokens.next()?;
    let named = matches!(
        tokens.next(),
        Some("properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas")
    );
    let index = last.bytes().all(|b| b.is_ascii_digit());
    (!named && !index).then_some(last)
}

/// Whether a schema location is `.../properties/NAME`.
fn is_property_location(location: &str) -> bool {
    let fragment = location.rsplit_once('#').map_or(location, |(_, f)| f);
    fragment.rsplit('/').nth(1) == Some("properties")
}

fn parent_location(location: &str) -> &str {
    location.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// `/a/b~1c` into `/a` and `b/c`.
fn split_last(pointer: &str) -> (&str, String) {
    let (parent, token) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    (parent, token.replace("~1", "/").replace("~0", "~"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_told_from_property_names() {
        assert_eq!(keyword_of("/oneOf/0/allOf"), Some("allOf"));
        assert_eq!(keyword_of("/properties/oneOf"), None);
        assert_eq!(keyword_of("/oneOf/1"), None);
        assert_eq!(keyword_of("https://x/s.json#/a/required"), Some("required"));
        assert!(is_property_location(
            "https://x/s.json#/properties/extensions"
        ));
        assert!(!is_property_location("https://x/s.json#/properties"));
    }
}
