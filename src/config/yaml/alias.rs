//! Anchors (`&name`), aliases (`*name`) and the merge key (`<<: *name`): an alias copies the
//! anchored node's value and the spans of everything in it, so a problem inside an alias is
//! shown where the anchored text is; a merge adds the keys a mapping does not set itself.
//!
//! What aliases copy is budgeted, and the budget is checked before anything is copied: a
//! "billion laughs" file (each line an anchor listing the previous one nine times) is
//! rejected at the alias that goes over, in the time it takes to read it.
//!
//! The border: what is copied is plain JSON, so nothing after parsing sees an alias.

use std::collections::HashSet;
use std::ops::Range;

use serde_json::{Map, Value};

use super::{Builder, Entry, Parsed};
use crate::config::source::{Span, pointer_push};
use crate::diagnostic::Diagnostic;

/// How much all aliases of a file may copy, in nodes plus bytes of text (the unit of
/// `Builder::weight`). A real `.gitpod.yml` copies a few hundred; at the limit the copies
/// take a few MB, so a hostile file costs no more than that.
pub(super) const ALIAS_BUDGET: usize = 100_000;

/// An anchored node, kept so that an alias can copy its value and its spans.
pub(super) struct Anchor {
    pub(super) value: Value,
    pub(super) pointer: String,
    /// The entries of the node and its descendants.
    pub(super) entries: Range<usize>,
    pub(super) weight: usize,
}

/// A merge key's value, remembered until its mapping is complete.
pub(super) struct MergeSource {
    pub(super) pointer: String,
    pub(super) value: Value,
    pub(super) entries: Range<usize>,
}

impl Builder<'_, '_> {
    pub(super) fn alias(&mut self, id: usize, span: Span, pointer: &str) -> Parsed<Value> {
        let Some(anchor) = self.anchors.get(&id) else {
            // The parser resolves names; an id we lack is a node that is not complete yet.
            return Err(
                Diagnostic::error("this alias refers to the node that contains it")
                    .at(self.location(span))
                    .help("a value cannot include itself; copy what it needs instead"),
            );
        };
        // Each copied entry also gets a pointer as long as the alias's own.
        let cost = anchor.weight + anchor.entries.len() * pointer.len();
        let copied = self.copied.saturating_add(cost);
        if copied > ALIAS_BUDGET {
            return Err(self.over_budget(span));
        }
        let value = anchor.value.clone();
        // The range is empty when the anchor sat in a value that was read and dropped.
        let entries: Vec<Entry> = self
            .entries
            .get(anchor.entries.clone())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let rest = e.pointer.strip_prefix(anchor.pointer.as_str())?;
                if !rest.starts_with('/') {
                    return None;
                }
                Some(Entry {
                    pointer: format!("{pointer}{rest}"),
                    key: e.key,
                    value: e.value,
                })
            })
            .collect();
        let weight = anchor.weight;
        self.copied = copied;
        self.weigh(weight);
        self.entries.extend(entries);
        Ok(value)
    }

    fn over_budget(&self, span: Span) -> Diagnostic {
        let name = self.text.get(span.start..span.end).unwrap_or("this alias");
        Diagnostic::error(format!(
            "`{name}` makes the aliases of this file copy more than {ALIAS_BUDGET} values and characters, devboot's limit"
        ))
        .at(self.location(span))
        .label("the copy that goes over the limit")
        .help("a config needs far fewer copies: use fewer nested aliases, or write the values out")
    }

    /// Adds the keys of a `<<` source that the mapping does not set itself, with their spans.
    pub(super) fn merge(
        &mut self,
        map: &mut Map<String, Value>,
        pointer: &str,
        merge: &MergeSource,
    ) {
        let Some(sources) = merge_sources(&merge.value) else {
            return;
        };
        // (source index or None for a single mapping, escaped key token) of each merged key.
        let mut merged_keys: HashSet<(Option<usize>, String)> = HashSet::new();
        let single = merge.value.is_object();
        for (i, source) in sources.iter().enumerate() {
            for (key, value) in *source {
                if !map.contains_key(key) {
                    map.insert(key.clone(), value.clone());
                    let token = pointer_push("", key)[1..].to_string();
                    merged_keys.insert(((!single).then_some(i), token));
                }
            }
        }
        let copied: Vec<Entry> = self
            .entries
            .get(merge.entries.clone())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let rest = e.pointer.strip_prefix(merge.pointer.as_str())?;
                let rest = rest.strip_prefix('/')?;
                let (index, rest) = if single {
                    (None, rest)
                } else {
                    let (index, rest) = rest.split_once('/')?;
                    (Some(index.parse().ok()?), rest)
                };
                let token = rest.split('/').next()?;
                merged_keys
                    .contains(&(index, token.to_string()))
                    .then(|| Entry {
                        pointer: format!("{pointer}/{rest}"),
                        key: e.key,
                        value: e.value,
                    })
            })
            .collect();
        self.entries.extend(copied);
    }
}

/// The mappings a `<<` value merges, in order of precedence.
pub(super) fn merge_sources(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    match value {
        Value::Object(map) => Some(vec![map]),
        Value::Array(items) => items.iter().map(Value::as_object).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use serde_json::json;

    use super::super::tests::{at, parse_text};

    #[test]
    fn anchors_aliases_and_merge_keys_resolve() {
        let (doc, d) = parse_text(
            "base: &base\n  init: make\n  env: {A: 1}\ntasks:\n  - *base\n  - <<: *base\n    init: other\n  - <<: [{a: 1}, {a: 2, b: 3}]\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let doc = doc.unwrap();
        assert_eq!(
            doc.value["tasks"],
            json!([
                {"init": "make", "env": {"A": 1}},
                {"init": "other", "env": {"A": 1}},
                {"a": 1, "b": 3}
            ])
        );
        // Spans inside an alias point at the anchored definition.
        assert_eq!(at(&doc, "/tasks/0/init"), (Some((2, 3)), (2, 9)));
        assert_eq!(at(&doc, "/tasks/0"), (None, (5, 5)));
        // A merged key points at its source; an explicit key at itself.
        assert_eq!(at(&doc, "/tasks/1/env/A"), (Some((3, 9)), (3, 12)));
        assert_eq!(at(&doc, "/tasks/1/init"), (Some((7, 5)), (7, 11)));
        assert_eq!(at(&doc, "/tasks/2/b"), (Some((8, 25)), (8, 28)));
    }

    #[test]
    fn alias_bombs_stop_at_the_expansion_limit() {
        let mut text = String::from("a0: &a0 [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
        for i in 1..30 {
            let prev = format!("*a{}", i - 1);
            let _ = writeln!(text, "a{i}: &a{i} [{prev}, {prev}, {prev}, {prev}]");
        }
        let (doc, d) = parse_text(&text);
        assert!(doc.is_none());
        assert!(d.0[0].message.contains("devboot's limit"), "{d:?}");
        // The first copy that goes over: the second `*a5`, on line 7.
        let location = d.0[0].location.as_ref().unwrap();
        assert_eq!(location.file.line_col(location.span.start), (7, 10));
    }

    #[test]
    fn a_copy_under_a_long_key_costs_its_pointers() {
        let list = format!("[{}]", vec!["x"; 1000].join(","));
        let short = format!(
            "a: &a {list}
b: *a
"
        );
        assert!(parse_text(&short).1.is_empty());
        // Every copied node's place repeats the 200-byte key.
        let long = format!(
            "a: &a {list}
{}: *a
",
            "k".repeat(200)
        );
        let (doc, d) = parse_text(&long);
        assert!(doc.is_none());
        assert!(d.0[0].message.contains("devboot's limit"), "{d:?}");
    }
}
