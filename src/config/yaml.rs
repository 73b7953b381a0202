//! `.gitpod.yml` text -> [`Document`]: a `serde_json::Value` plus the span of every key and
//! value, built from the YAML event stream of `granit-parser` (re-exported by `serde-saphyr`).
//!
//! Scalars are typed as Gitpod's own parser types them (js-yaml `safeLoad`, YAML 1.2 core
//! schema): only `true`/`false` are booleans, so `on`, `yes` and `n` stay strings. Anchors,
//! aliases and the merge key `<<` are resolved here, so nothing after parsing sees them.
//!
//! Here: the walk over the event stream that builds the value and records the spans (one
//! `Entry` per node) and duplicate keys. `scalar.rs` types scalars, `alias.rs` copies
//! anchored nodes within a budget, `syntax.rs` words the scanner's errors.
//!
//! The border: this module knows YAML and nothing of Gitpod's keys. Whether `ports` is a
//! list is for `gitpod.rs` to say; here only the root must be a mapping.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{
    Event, Marker, Options, Parser, ScalarStyle, Span as YamlSpan, StrInput, StructureStyle,
};

use crate::config::source::{Document, Location, SourceFile, Span, SpanIndex, pointer_push};
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};
use alias::{Anchor, MergeSource, merge_sources};

mod alias;
mod scalar;
mod syntax;

/// Parses `file` into a document. Returns `None` when the text cannot be read as a YAML
/// mapping; every problem found on the way is pushed to `diagnostics`. Problems that leave
/// the value well defined (a duplicate key, an unknown tag) are pushed as errors but the
/// document is still returned, so later checks can report more.
pub fn parse(file: &Arc<SourceFile>, diagnostics: &mut Diagnostics) -> Option<Document> {
    let mut options = Options::default();
    // Comments carry nothing for us; another crate may have turned the feature on.
    options.set_emit_comments(false);
    let mut builder = Builder {
        file,
        text: &file.text,
        events: Parser::new_from_str_with_options(&file.text, options),
        anchors: HashMap::new(),
        entries: Vec::new(),
        weight: 0,
        copied: 0,
        diagnostics,
    };
    let (value, span) = builder
        .stream()
        .map_err(|d| builder.diagnostics.push(d))
        .ok()?;
    let value = match value {
        // An empty file, or one with only comments, is an empty config.
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => value,
        other => {
            let what = if other.is_array() {
                "a list"
            } else {
                "a single value"
            };
            // Its first line is enough to show what the file starts with.
            let first_line = file
                .text
                .get(span.start..span.end)
                .and_then(|text| text.find('\n'))
                .map_or(span.end, |i| span.start + i);
            builder.diagnostics.push(
                Diagnostic::error(format!(
                    "the file must be a mapping of keys like `tasks:` and `ports:`, not {what}"
                ))
                .at(Location::new(file, Span::new(span.start, first_line)))
                .help("write the top-level keys at the start of their lines, like `tasks:`, `ports:` or `image:`"),
            );
            return None;
        }
    };
    let mut spans = SpanIndex::default();
    spans.insert(String::new(), None, span);
    for entry in builder.entries {
        spans.insert(entry.pointer, entry.key, entry.value);
    }
    Some(Document {
        file: Arc::clone(file),
        value,
        spans,
    })
}

/// One node's place, recorded in document order; turned into the [`SpanIndex`] at the end.
#[derive(Debug, Clone)]
struct Entry {
    pointer: String,
    key: Option<Span>,
    value: Span,
}

struct Builder<'a, 'd> {
    file: &'a Arc<SourceFile>,
    text: &'a str,
    events: Parser<'a, StrInput<'a>>,
    anchors: HashMap<usize, Anchor>,
    entries: Vec<Entry>,
    /// The size of what was read so far: one unit per node plus one per byte of text, with
    /// what aliases copied. An anchor's weight is what its node added.
    weight: usize,
    /// The part of `weight` that aliases copied; `alias.rs` keeps it within a budget.
    copied: usize,
    diagnostics: &'d mut Diagnostics,
}

type Parsed<T> = Result<T, Diagnostic>;

impl<'a> Builder<'a, '_> {
    /// The whole stream: nothing, or exactly one document.
    fn stream(&mut self) -> Parsed<(Value, Span)> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamEnd => break,
                Event::DocumentStart(..) if root.is_some() => {
                    return Err(Diagnostic::error("the file holds more than one YAML document")
                        .at(self.location(self.span(span)))
                        .label("a second document starts here")
                        .help("keep one document: remove this `---` and what follows it, or move its keys into the first document"));
                }
                Event::DocumentStart(..) => {
                    let (event, span) = self.next()?;
                    root = Some(if matches!(event, Event::DocumentEnd) {
                        (Value::Null, self.span(span))
                    } else {
                        self.node(event, span, "", None)?
                    });
                }
                _ => {}
            }
        }
        Ok(root.unwrap_or((Value::Null, Span::at(0))))
    }

    /// The next event, or the scanner's error as a diagnostic.
    fn next(&mut self) -> Parsed<(Event<'a>, YamlSpan)> {
        match self.events.next() {
            Some(Ok(next)) => Ok(next),
            Some(Err(err)) => Err(self.syntax_error(&err)),
            None => Err(Diagnostic::error("invalid YAML: the file ends too early")
                .at(self.location(Span::at(self.text.len())))
                .help("check that every list and mapping is complete")),
        }
    }

    /// Reads the node that starts with `event`, records its entries under `pointer`, and
    /// returns its value and span.
    fn node(
        &mut self,
        event: Event<'a>,
        span: YamlSpan,
        pointer: &str,
        key: Option<Span>,
    ) -> Parsed<(Value, Span)> {
        let first = self.entries.len();
        let weight_before = self.weight;
        let (value, value_span, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let span = self.span(span);
                self.weigh(1 + text.len());
                let value = self.scalar(&text, style, tag.as_deref(), span);
                (value, span, anchor)
            }
            Event::SequenceStart(style, anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "seq", span);
                let (value, span) = self.sequence(style, span, pointer)?;
                (value, span, anchor)
            }
            Event::MappingStart(style, anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "map", span);
                let (value, span) = self.mapping(style, span, pointer)?;
                (value, span, anchor)
            }
            Event::Alias(id) => {
                let span = self.span(span);
                let value = self.alias(id, span, pointer)?;
                (value, span, 0)
            }
            other => {
                return Err(Diagnostic::error(format!(
                    "invalid YAML: expected a value, found {other:?}"
                ))
                .at(self.location(self.span(span)))
                .help("fix the YAML syntax here"));
            }
        };
        self.entries.push(Entry {
            pointer: pointer.to_string(),
            key,
            value: value_span,
        });
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchor {
                    value: value.clone(),
                    pointer: pointer.to_string(),
                    entries: first..self.entries.len(),
                    weight: self.weight - weight_before,
                },
            );
        }
        Ok((value, value_span))
    }

    fn sequence(
        &mut self,
        style: StructureStyle,
        start: YamlSpan,
        pointer: &str,
    ) -> Parsed<(Value, Span)> {
        let start = self.span(start);
        self.weigh(1);
        let mut items = Vec::new();
        let mut end = start.end;
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                if style == StructureStyle::Flow {
                    end = self.span(span).end;
                }
                break;
            }
            let item_pointer = pointer_push(pointer, &items.len().to_string());
            let (value, span) = self.node(event, span, &item_pointer, None)?;
            end = end.max(span.end);
            items.push(value);
        }
        Ok((Value::Array(items), Span::new(start.start, end)))
    }

    fn mapping(
        &mut self,
        style: StructureStyle,
        start: YamlSpan,
        pointer: &str,
    ) -> Parsed<(Value, Span)> {
        let start = self.span(start);
        self.weigh(1);
        let mut map = Map::new();
        // Key text -> span of its first occurrence, for duplicate-key errors.
        let mut keys: HashMap<String, Span> = HashMap::new();
        let mut merges: Vec<MergeSource> = Vec::new();
        let mut end = start.end;
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                if style == StructureStyle::Flow {
                    end = self.span(span).end;
                }
                break;
            }
            let is_merge = matches!(
                &event,
                Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<"
            );
            let key = self.key(event, span)?;
            let (value_event, value_span) = self.next()?;
            let Some((name, key_span)) = key else {
                // Not a usable key (already reported): read its value and forget both.
                self.discard(value_event, value_span)?;
                continue;
            };
            end = end.max(key_span.end);
            if let Some(first) = keys.get(&name) {
                let (line, _) = self.file.line_col(first.start);
                let shown = display_pointer(&pointer_push(pointer, &name));
                self.diagnostics.push(
                    Diagnostic::error(format!(
                        "duplicate key `{shown}` (first defined on line {line})"
                    ))
                    .at(self.location(key_span))
                    .label("defined again here")
                    .help("remove one of the two; Gitpod rejects a file with duplicate keys"),
                );
                let value_end = self.discard(value_event, value_span)?;
                end = end.max(value_end);
                continue;
            }
            keys.insert(name.clone(), key_span);
            let value_pointer = pointer_push(pointer, &name);
            let entries_start = self.entries.len();
            let (value, span) =
                self.node(value_event, value_span, &value_pointer, Some(key_span))?;
            end = end.max(span.end);
            if is_merge {
                if merge_sources(&value).is_some() {
                    merges.push(MergeSource {
                        pointer: value_pointer,
                        value,
                        entries: entries_start..self.entries.len(),
                    });
                } else {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "the merge key `<<` needs a mapping or a list of mappings",
                        )
                        .at(self.location(span))
                        .help("write `<<: *name` where `&name` is on a mapping"),
                    );
                }
            } else {
                map.insert(name, value);
            }
        }
        for merge in merges {
            self.merge(&mut map, pointer, &merge);
        }
        Ok((Value::Object(map), Span::new(start.start, end)))
    }

    /// Reads a mapping key. Returns its text and span, or `None` (after reporting) for a key
    /// that is a list or mapping.
    fn key(&mut self, event: Event<'a>, span: YamlSpan) -> Parsed<Option<(String, Span)>> {
        let key_span = self.span(span);
        match event {
            // A key is its text as written: `3000:` is the key "3000", an empty key is "".
            Event::Scalar(text, style, ..) => {
                self.weigh(1 + text.len());
                let empty_plain = style == ScalarStyle::Plain && key_span.start == key_span.end;
                Ok(Some((
                    if empty_plain {
                        String::new()
                    } else {
                        text.into_owned()
                    },
                    key_span,
                )))
            }
            Event::Alias(id) => match self.anchors.get(&id).map(|a| &a.value) {
                Some(Value::String(s)) => Ok(Some((s.clone(), key_span))),
                Some(Value::Null) => Ok(Some((String::new(), key_span))),
                Some(v @ (Value::Bool(_) | Value::Number(_))) => {
                    Ok(Some((v.to_string(), key_span)))
                }
                _ => {
                    self.complex_key(key_span);
                    Ok(None)
                }
            },
            other => {
                let end = self.discard(other, span)?;
                self.complex_key(Span::new(key_span.start, end));
                Ok(None)
            }
        }
    }

    fn complex_key(&mut self, span: Span) {
        self.diagnostics.push(
            Diagnostic::error("a key must be a plain value, not a list or mapping")
                .at(self.location(span))
                .help("write the key as text, like `name:`"),
        );
    }

    /// Reads a node whose value is not kept; returns the end of its span.
    fn discard(&mut self, event: Event<'a>, span: YamlSpan) -> Parsed<usize> {
        let keep = self.entries.len();
        let (_, span) = self.node(event, span, "/\u{0}discarded", None)?;
        self.entries.truncate(keep);
        Ok(span.end)
    }

    fn weigh(&mut self, weight: usize) {
        self.weight = self.weight.saturating_add(weight);
    }

    fn span(&self, span: YamlSpan) -> Span {
        Span::new(self.offset(&span.start), self.offset(&span.end))
    }

    /// Byte offset of a marker. Markers count characters; a string input also gives bytes.
    fn offset(&self, marker: &Marker) -> usize {
        marker
            .byte_offset()
            .unwrap_or_else(|| {
                self.text
                    .char_indices()
                    .nth(marker.index())
                    .map_or(self.text.len(), |(i, _)| i)
            })
            .min(self.text.len())
    }

    fn location(&self, span: Span) -> Location {
        Location::new(self.file, span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn parse_text(text: &str) -> (Option<Document>, Diagnostics) {
        let file = SourceFile::new("/repo/.gitpod.yml", text);
        let mut diagnostics = Diagnostics::default();
        let doc = parse(&file, &mut diagnostics);
        (doc, diagnostics)
    }

    pub(super) fn value(text: &str) -> Value {
        let (doc, diagnostics) = parse_text(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        doc.expect("document").value
    }

    pub(super) fn messages(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics.0.iter().map(|d| d.message.clone()).collect()
    }

    /// `line:col` of the key and value spans of `pointer`.
    pub(super) fn at(doc: &Document, pointer: &str) -> (Option<(usize, usize)>, (usize, usize)) {
        let spans = doc.spans.get(pointer).expect(pointer);
        (
            spans.key.map(|k| doc.file.line_col(k.start)),
            doc.file.line_col(spans.value.start),
        )
    }

    #[test]
    fn non_string_keys_become_their_text() {
        let v = value("3000: a\ntrue: b\n~: c\n1.50: d\n");
        assert_eq!(v, json!({"3000": "a", "true": "b", "~": "c", "1.50": "d"}));
    }

    #[test]
    fn spans_point_at_keys_and_values_in_characters() {
        let (doc, d) = parse_text(
            "# comment\nports:\n  - port: 3000\n    name: \"é x\"\n    onOpen: notify\ntasks: [{init: a}]\n",
        );
        assert!(d.is_empty());
        let doc = doc.unwrap();
        assert_eq!(at(&doc, "/ports"), (Some((2, 1)), (3, 3)));
        assert_eq!(at(&doc, "/ports/0"), (None, (3, 5)));
        assert_eq!(at(&doc, "/ports/0/port"), (Some((3, 5)), (3, 11)));
        assert_eq!(at(&doc, "/ports/0/name"), (Some((4, 5)), (4, 11)));
        // The value after "é" is one character further on, two bytes further.
        assert_eq!(at(&doc, "/ports/0/onOpen"), (Some((5, 5)), (5, 13)));
        assert_eq!(at(&doc, "/tasks/0/init"), (Some((6, 10)), (6, 16)));
        let name = doc.spans.get("/ports/0/name").unwrap().value;
        assert_eq!(&doc.file.text[name.start..name.end], "\"é x\"");
        let tasks = doc.spans.get("/tasks").unwrap().value;
        assert_eq!(&doc.file.text[tasks.start..tasks.end], "[{init: a}]");
        let port = doc.spans.get("/ports/0").unwrap().value;
        assert!(doc.file.text[port.start..port.end].ends_with("onOpen: notify"));
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let (doc, d) = parse_text("image: a\nports:\n  - port: 1\n    port: 2\nimage: b\n");
        assert_eq!(
            messages(&d),
            [
                "duplicate key `ports[0].port` (first defined on line 3)",
                "duplicate key `image` (first defined on line 1)",
            ]
        );
        let location = d.0[1].location.as_ref().unwrap();
        assert_eq!(location.to_string(), "/repo/.gitpod.yml:5:1");
        // The first value is kept; the document is still returned for further checks.
        assert_eq!(doc.unwrap().value["image"], "a");
    }

    #[test]
    fn empty_and_comment_only_files_are_empty_configs() {
        for text in ["", "# just a comment\n", "---\n", "\n\n", "~\n"] {
            assert_eq!(value(text), json!({}), "{text:?}");
        }
    }

    #[test]
    fn a_root_that_is_not_a_mapping_is_an_error() {
        let (doc, d) = parse_text("- a\n- b\n");
        assert!(doc.is_none());
        assert_eq!(
            messages(&d),
            ["the file must be a mapping of keys like `tasks:` and `ports:`, not a list"]
        );
        let (doc, d) = parse_text("hello\n");
        assert!(doc.is_none());
        assert!(d.0[0].message.ends_with("not a single value"));
    }

    #[test]
    fn several_documents_are_an_error() {
        let (doc, d) = parse_text("image: a\n---\nimage: b\n");
        assert!(doc.is_none());
        assert_eq!(messages(&d), ["the file holds more than one YAML document"]);
        // One document with an explicit start and end marker is fine.
        assert_eq!(value("---\nimage: a\n...\n"), json!({"image": "a"}));
    }

    #[test]
    fn unknown_tags_and_complex_keys_are_errors() {
        let (_, d) = parse_text("a: !Ref x\nb: !!int abc\n? [x]\n: 1\n");
        assert_eq!(
            messages(&d),
            [
                "unsupported tag `!Ref`",
                "`abc` is not a valid `!!int` value",
                "a key must be a plain value, not a list or mapping",
            ]
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let (doc, d) = parse_text(&text);
        assert!(doc.is_none());
        assert!(d.has_errors());
    }
}
