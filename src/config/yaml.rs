//! `.gitpod.yml` text -> [`Document`]: a `serde_json::Value` plus the span of every key and
//! value, built from the YAML event stream of `granit-parser` (re-exported by `serde-saphyr`).
//!
//! Scalars are typed as Gitpod's own parser types them (js-yaml `safeLoad`, YAML 1.2 core
//! schema): only `true`/`false` are booleans, so `on`, `yes` and `n` stay strings. Anchors,
//! aliases and the merge key `<<` are resolved here, so nothing after parsing sees them.
//!
//! The border: this module knows YAML and nothing of Gitpod's keys. Whether `ports` is a
//! list is for `gitpod.rs` to say; here only the root must be a mapping.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{
    ErrorKind, Event, Marker, Options, Parser, ScalarStyle, ScanError, Span as YamlSpan, StrInput,
    StructureStyle, Tag,
};

use crate::config::source::{Document, Location, SourceFile, Span, SpanIndex, pointer_push};
use crate::config::typed::display_pointer;
use crate::diagnostic::{Diagnostic, Diagnostics};

/// How much a file may grow through aliases (one unit per node plus one per byte of text)
/// before it is rejected: a real `.gitpod.yml` weighs a few thousand, a "billion laughs"
/// file would need terabytes.
const EXPANSION_LIMIT: usize = 16 * 1024 * 1024;

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

/// An anchored node, kept so that an alias can copy its value and its spans.
struct Anchor {
    value: Value,
    pointer: String,
    /// The entries of the node and its descendants.
    entries: Range<usize>,
    weight: usize,
}

/// A merge key's value, remembered until its mapping is complete.
struct MergeSource {
    pointer: String,
    value: Value,
    entries: Range<usize>,
}

struct Builder<'a, 'd> {
    file: &'a Arc<SourceFile>,
    text: &'a str,
    events: Parser<'a, StrInput<'a>>,
    anchors: HashMap<usize, Anchor>,
    entries: Vec<Entry>,
    weight: usize,
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
                self.add_weight(1 + text.len(), span)?;
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
        self.add_weight(1, start)?;
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
        self.add_weight(1, start)?;
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
                self.add_weight(1 + text.len(), key_span)?;
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

    fn alias(&mut self, id: usize, span: Span, pointer: &str) -> Parsed<Value> {
        let Some(anchor) = self.anchors.get(&id) else {
            // The parser resolves names; an id we lack is a node that is not complete yet.
            return Err(
                Diagnostic::error("this alias refers to the node that contains it")
                    .at(self.location(span))
                    .help("a value cannot include itself; copy what it needs instead"),
            );
        };
        let (value, weight) = (anchor.value.clone(), anchor.weight);
        // The range is empty when the anchor sat in a value that was read and dropped.
        let copied: Vec<Entry> = self
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
        self.add_weight(weight, span)?;
        self.entries.extend(copied);
        Ok(value)
    }

    /// Adds the keys of a `<<` source that the mapping does not set itself, with their spans.
    fn merge(&mut self, map: &mut Map<String, Value>, pointer: &str, merge: &MergeSource) {
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

    /// Types a scalar as js-yaml's safe schema does; explicit tags are honoured.
    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Value {
        // An empty plain scalar is reported as "~" with an empty span.
        let text = if style == ScalarStyle::Plain && span.start == span.end {
            ""
        } else {
            text
        };
        let Some(tag) = tag else {
            return if style == ScalarStyle::Plain {
                plain_scalar(text)
            } else {
                Value::String(text.to_string())
            };
        };
        let resolved = plain_scalar(text);
        let wanted = match tag.core_suffix() {
            // `!` alone is the non-specific tag: a string.
            None if tag.parts() == ("", "!") => return Value::String(text.to_string()),
            Some("str") => return Value::String(text.to_string()),
            Some("null") => resolved.is_null(),
            Some("bool") => resolved.is_boolean(),
            Some("int") => resolved.is_i64() || resolved.is_u64(),
            Some("float") => resolved.is_number(),
            _ => {
                self.diagnostics.push(
                    Diagnostic::error(format!("unsupported tag `{}`", tag.original()))
                        .at(self.location(span))
                        .help("remove the tag; a .gitpod.yml value is a string, number, boolean, list or mapping"),
                );
                return Value::String(text.to_string());
            }
        };
        if !wanted {
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "`{text}` is not a valid `{}` value",
                    tag.original()
                ))
                .at(self.location(span))
                .help("remove the tag, or fix the value"),
            );
        }
        resolved
    }

    fn check_collection_tag(&mut self, tag: Option<&Tag>, kind: &str, span: YamlSpan) {
        if let Some(tag) = tag
            && tag.core_suffix() != Some(kind)
            && tag.parts() != ("", "!")
        {
            let span = self.span(span);
            self.diagnostics.push(
                Diagnostic::error(format!("unsupported tag `{}`", tag.original()))
                    .at(self.location(span))
                    .help("remove the tag; a .gitpod.yml value is a string, number, boolean, list or mapping"),
            );
        }
    }

    fn add_weight(&mut self, weight: usize, span: Span) -> Parsed<()> {
        self.weight = self.weight.saturating_add(weight);
        if self.weight > EXPANSION_LIMIT {
            return Err(Diagnostic::error(
                "the file grows too large through aliases (more than 16 MiB of values)",
            )
            .at(self.location(span))
            .help("use fewer nested aliases; write the values out instead"));
        }
        Ok(())
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

    fn syntax_error(&self, err: &ScanError) -> Diagnostic {
        let mut at = floor_char_boundary(self.text, self.offset(err.marker()));
        let kind = err.kind();
        let tab = matches!(
            kind,
            ErrorKind::TabInIndentation
                | ErrorKind::TabInBlockIndentation
                | ErrorKind::TabAtBlockScalarStart
        );
        if tab {
            // The scanner stops after the indentation; point at the tab itself.
            let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
            if let Some(i) = self.text[line_start..at].find('\t') {
                at = line_start + i;
            }
        }
        let width = self.text[at..].chars().next().map_or(0, char::len_utf8);
        let (message, help) = if tab {
            (
                "invalid YAML: a tab is used for indentation".to_string(),
                "indent with spaces; YAML does not allow tabs in indentation",
            )
        } else {
            (format!("invalid YAML: {kind}"), syntax_help(kind))
        };
        Diagnostic::error(message)
            .at(self.location(Span::new(at, at + width)))
            .help(help)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// What to do about a scanner or parser error.
fn syntax_help(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidIndentation
        | ErrorKind::ExpectedBlockMappingKey
        | ErrorKind::ExpectedBlockSequenceEntry
        | ErrorKind::InvalidBlockScalarIndent
        | ErrorKind::InvalidQuotedScalarIndent
        | ErrorKind::InvalidFlowScalarIndent => {
            "check the indentation: the keys of one mapping start in the same column, and a nested value is indented more than its key"
        }
        ErrorKind::MappingValueNotAllowed => {
            "check the indentation of this line; if a value contains `: `, put the value in quotes"
        }
        ErrorKind::UnclosedQuotedScalar => {
            "close the quote; inside single quotes write a quote as '', inside double quotes as \\\""
        }
        ErrorKind::UnclosedFlowCollection { .. }
        | ErrorKind::MismatchedFlowCollectionEnd { .. }
        | ErrorKind::MisplacedFlowCollectionEnd
        | ErrorKind::UnexpectedEofFlowSequence
        | ErrorKind::UnexpectedEofFlowMapping
        | ErrorKind::UnexpectedEofImplicitFlowMapping
        | ErrorKind::ExpectedFlowSequenceSeparator
        | ErrorKind::ExpectedFlowMappingSeparator => {
            "check the brackets: every `[` and `{` needs its `]` or `}`, and items are separated by commas"
        }
        ErrorKind::UnknownAnchor => {
            "define the anchor with `&name` before an alias `*name` uses it"
        }
        ErrorKind::UnexpectedCharacter { .. } => {
            "put the value in quotes: a plain value cannot start with this character"
        }
        ErrorKind::TabInPlainScalar | ErrorKind::TabNotAllowed => {
            "replace the tab with spaces, or put the value in quotes"
        }
        _ => "fix the YAML syntax here; the mistake may be just before this place",
    }
}

/// The mappings a `<<` value merges, in order of precedence.
fn merge_sources(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    match value {
        Value::Object(map) => Some(vec![map]),
        Value::Array(items) => items.iter().map(Value::as_object).collect(),
        _ => None,
    }
}

/// Types a plain (unquoted) scalar as the YAML 1.2 core schema does, which is what js-yaml's
/// safe schema does except for its YAML 1.1 leftovers: `on`/`yes`/`y` stay strings.
///
/// JSON has no infinity or NaN, so `.inf` and `.nan` are kept as their text: a field that
/// wants a number then reports them. A float with no fraction (`1.0`, `1e3`) becomes an
/// integer, as it is in JavaScript (and so in Gitpod, which JSON-encodes task env values).
fn plain_scalar(text: &str) -> Value {
    match plain_kind(text) {
        PlainKind::Null => Value::Null,
        PlainKind::Bool(b) => Value::Bool(b),
        PlainKind::Int(n) => Value::Number(n),
        PlainKind::Float(f) => float_value(f).unwrap_or_else(|| Value::String(text.to_string())),
        PlainKind::Str => Value::String(text.to_string()),
    }
}

#[derive(Debug, PartialEq)]
enum PlainKind {
    Null,
    Bool(bool),
    Int(Number),
    Float(f64),
    Str,
}

fn plain_kind(text: &str) -> PlainKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return PlainKind::Null,
        "true" | "True" | "TRUE" => return PlainKind::Bool(true),
        "false" | "False" | "FALSE" => return PlainKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return PlainKind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return PlainKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return PlainKind::Float(f64::NAN),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i64>() {
            Ok(n) => PlainKind::Int(n.into()),
            Err(_) => match text.strip_prefix('+').unwrap_or(text).parse::<u64>() {
                Ok(n) => PlainKind::Int(n.into()),
                Err(_) => text.parse().map_or(PlainKind::Str, PlainKind::Float),
            },
        };
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8)] {
        if let Some(digits) = text.strip_prefix(prefix)
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_digit(radix))
        {
            return match u64::from_str_radix(digits, radix) {
                Ok(n) => PlainKind::Int(n.into()),
                // Too big for 64 bits: still a number, as in JavaScript.
                Err(_) => PlainKind::Float(
                    digits
                        .chars()
                        .filter_map(|c| c.to_digit(radix))
                        .fold(0.0, |acc, d| acc * f64::from(radix) + f64::from(d)),
                ),
            };
        }
    }
    if is_core_float(text) {
        return text.parse().map_or(PlainKind::Str, PlainKind::Float);
    }
    PlainKind::Str
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` (YAML 1.2 core).
fn is_core_float(text: &str) -> bool {
    fn digits(s: &str) -> (&str, usize) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (&s[n..], n)
    }
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (s, whole) = digits(s);
    let s = if let Some(rest) = s.strip_prefix('.') {
        let (rest, fraction) = digits(rest);
        if whole == 0 && fraction == 0 {
            return false;
        }
        rest
    } else if whole == 0 {
        return false;
    } else {
        s
    };
    if s.is_empty() {
        return true;
    }
    let Some(exponent) = s.strip_prefix(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
    !exponent.is_empty() && exponent.bytes().all(|b| b.is_ascii_digit())
}

/// A finite float as JSON: an integer when it has no fraction and JavaScript would print it
/// as one.
fn float_value(f: f64) -> Option<Value> {
    const SAFE: f64 = 9_007_199_254_740_991.0; // 2^53 - 1
    if f.is_finite() && f.fract() == 0.0 && f.abs() <= SAFE {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked: integral and below 2^53"
        )]
        return Some(Value::Number((f as i64).into()));
    }
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fmt::Write as _;

    fn parse_text(text: &str) -> (Option<Document>, Diagnostics) {
        let file = SourceFile::new("/repo/.gitpod.yml", text);
        let mut diagnostics = Diagnostics::default();
        let doc = parse(&file, &mut diagnostics);
        (doc, diagnostics)
    }

    fn value(text: &str) -> Value {
        let (doc, diagnostics) = parse_text(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        doc.expect("document").value
    }

    fn messages(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics.0.iter().map(|d| d.message.clone()).collect()
    }

    /// `line:col` of the key and value spans of `pointer`.
    fn at(doc: &Document, pointer: &str) -> (Option<(usize, usize)>, (usize, usize)) {
        let spans = doc.spans.get(pointer).expect(pointer);
        (
            spans.key.map(|k| doc.file.line_col(k.start)),
            doc.file.line_col(spans.value.start),
        )
    }

    #[test]
    fn plain_scalars_are_typed_like_js_yaml() {
        let v = value(
            "a: true\nb: False\nc: on\nd: yes\ne: n\nf: ~\ng:\nh: NULL\ni: 3000\nj: -7\nk: +4\n\
             l: 0x1F\nm: 0o17\nn: 1.5\no: .inf\np: .nan\nq: 1e3\nr: 3.10\ns: 1.2.3\nt: 012\n\
             u: Off\nv: 0x\nw: 99999999999999999999\n",
        );
        assert_eq!(
            v,
            json!({
                "a": true, "b": false, "c": "on", "d": "yes", "e": "n", "f": null, "g": null,
                "h": null, "i": 3000, "j": -7, "k": 4, "l": 31, "m": 15, "n": 1.5,
                "o": ".inf", "p": ".nan", "q": 1000, "r": 3.1, "s": "1.2.3", "t": 12,
                "u": "Off", "v": "0x", "w": 1e20
            })
        );
        assert_eq!(plain_kind(".inf"), PlainKind::Float(f64::INFINITY));
        assert_eq!(plain_kind("-.INF"), PlainKind::Float(f64::NEG_INFINITY));
        assert!(matches!(plain_kind(".NaN"), PlainKind::Float(f) if f.is_nan()));
        assert_eq!(plain_kind("1."), PlainKind::Float(1.0));
        assert_eq!(plain_kind(".5"), PlainKind::Float(0.5));
        for s in [
            "inf", "NaN", "1e", "e3", ".", "+", "-", "1_000", "0b1", "y", "nul",
        ] {
            assert_eq!(plain_kind(s), PlainKind::Str, "{s}");
        }
    }

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        let v = value(
            "a: 'true'\nb: \"3000\"\nc: |\n  echo hi\n  echo 2\nd: >\n  one\n  two\ne: !!str 12\nf: ! 12\n",
        );
        assert_eq!(
            v,
            json!({"a": "true", "b": "3000", "c": "echo hi\necho 2\n", "d": "one two\n", "e": "12", "f": "12"})
        );
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
    fn syntax_errors_are_located() {
        let cases = [
            (
                "a:\n  b: 1\n c: 2\n",
                "invalid YAML: while parsing a block mapping, did not find expected key",
                (3, 2),
            ),
            (
                "tasks:\n\t- init: a\n",
                "invalid YAML: a tab is used for indentation",
                (2, 1),
            ),
            ("a: 'abc\n", "invalid YAML: unclosed quote", (1, 4)),
            ("a: [1, 2\n", "invalid YAML: unclosed bracket '['", (1, 4)),
            (
                "a: *nope\n",
                "invalid YAML: while parsing node, found unknown anchor",
                (1, 4),
            ),
        ];
        for (text, message, (line, col)) in cases {
            let (doc, d) = parse_text(text);
            assert!(doc.is_none(), "{text:?}");
            assert_eq!(messages(&d), [message], "{text:?}");
            let location = d.0[0].location.as_ref().unwrap();
            assert_eq!(
                location.file.line_col(location.span.start),
                (line, col),
                "{text:?}"
            );
            assert!(d.0[0].help.is_some());
        }
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
    fn alias_bombs_stop_at_the_expansion_limit() {
        let mut text = String::from("a0: &a0 [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
        for i in 1..30 {
            let prev = format!("*a{}", i - 1);
            let _ = writeln!(text, "a{i}: &a{i} [{prev}, {prev}, {prev}, {prev}]");
        }
        let (doc, d) = parse_text(&text);
        assert!(doc.is_none());
        assert!(
            d.0[0].message.contains("too large through aliases"),
            "{d:?}"
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
