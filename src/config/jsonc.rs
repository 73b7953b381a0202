//! `devcontainer.json` as "JSON with Comments": text in, [`Document`] (value + spans) out.
//!
//! `jsonc-parser` does the scanning with strict options: `//` and `/* */` comments and trailing
//! commas are accepted (VS Code and the reference CLI accept both), everything else JSON does
//! not allow is an error. The reference CLI parses without collecting errors, so it silently
//! drops a property with a missing `:`, keeps the last of two equal keys, and accepts a missing
//! `}` (`reference/devcontainer.md` §e). devboot reports each of these, located, instead.
//!
//! Parsing stops at the first syntax error (the parser cannot step over it); trailing commas
//! and duplicate keys are found on a complete tree, so all of them are reported. The wording
//! of that first syntax error is `jsonc/syntax.rs`'s.
//!
//! The border: this module knows JSONC and nothing of the devcontainer properties; here only
//! the root must be an object. What the properties mean is for `devcontainer.rs` to say.

use std::collections::HashMap;
use std::sync::Arc;

use jsonc_parser::ast::{ObjectPropName, Value as Node};
use jsonc_parser::common::Range;
use jsonc_parser::tokens::Token;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions, parse_to_ast};

use crate::config::source::{Document, Location, SourceFile, Span, SpanIndex, pointer_push};
use crate::diagnostic::{Diagnostic, Diagnostics};

mod syntax;

/// Parses a `devcontainer.json`. Returns `None` when the file has no usable object (a syntax
/// error, an empty file, a root that is not an object); duplicate keys are errors but the
/// document is still returned (last one wins) so later checks can report more.
pub fn parse(file: &Arc<SourceFile>, diagnostics: &mut Diagnostics) -> Option<Document> {
    // A leading byte-order mark is not JSON whitespace to the parser; editors on Windows write
    // one, and it carries no meaning.
    let offset = if file.text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let text = &file.text[offset..];
    let parser = Parser { file, offset };

    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: true,
    };
    let result = match parse_to_ast(text, &collect, &strict_options()) {
        Ok(result) => result,
        Err(err) => {
            diagnostics.push(parser.syntax_error(text, &err));
            return None;
        }
    };

    let tokens = result.tokens.unwrap_or_default();
    let mut broken_string = false;
    for (i, token) in tokens.iter().enumerate() {
        match token.token {
            Token::String(_) => {
                if let Some(d) = parser.line_break_in_string(text, token.range) {
                    diagnostics.push(d);
                    broken_string = true;
                }
            }
            Token::Comma => {
                let next = tokens.get(i + 1).map(|t| &t.token);
                if matches!(next, Some(Token::CloseBrace | Token::CloseBracket)) {
                    diagnostics.push(parser.trailing_comma(token.range));
                }
            }
            _ => {}
        }
    }
    if broken_string {
        return None;
    }

    let Some(root) = result.value else {
        let only_comments = !text.trim().is_empty();
        let message = if only_comments {
            "the file has only comments, no settings"
        } else {
            "the file is empty"
        };
        diagnostics.push(
            Diagnostic::error(message)
                .at(Location::new(file, Span::at(file.text.len())))
                .label("expected a JSON object")
                .help(
                    "write the settings as one JSON object, for example \
                     `{ \"image\": \"mcr.microsoft.com/devcontainers/base:ubuntu\" }`",
                ),
        );
        return None;
    };
    if !matches!(root, Node::Object(_)) {
        // The first character only: the whole value may be the whole file.
        let range = first_char(text, node_range(&root));
        diagnostics.push(
            Diagnostic::error("the file must contain a JSON object")
                .at(parser.location(range))
                .label(format!("this is {}", describe(&root)))
                .help("put the settings in one object: `{ \"image\": \"...\", ... }`"),
        );
        return None;
    }

    let mut spans = SpanIndex::default();
    let value = parser.build(&root, "", None, &mut spans, diagnostics);
    Some(Document {
        file: Arc::clone(file),
        value,
        spans,
    })
}

/// Comments and trailing commas, nothing else beyond JSON. `ParseOptions::default()` is very
/// lenient (it even accepts a missing comma), so every option is spelled out.
fn strict_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

struct Parser<'f> {
    file: &'f Arc<SourceFile>,
    /// Bytes skipped before the parsed text (a byte-order mark).
    offset: usize,
}

impl Parser<'_> {
    fn span(&self, range: Range) -> Span {
        Span::new(range.start + self.offset, range.end + self.offset)
    }

    fn location(&self, range: Range) -> Location {
        Location::new(self.file, self.span(range))
    }

    /// Turns the tree into a `serde_json::Value`, recording the spans of every node and
    /// reporting duplicate keys.
    fn build(
        &self,
        node: &Node<'_>,
        pointer: &str,
        key: Option<Range>,
        spans: &mut SpanIndex,
        diagnostics: &mut Diagnostics,
    ) -> serde_json::Value {
        spans.insert(
            pointer.to_string(),
            key.map(|k| self.span(k)),
            self.span(node_range(node)),
        );
        match node {
            Node::NullKeyword(_) => serde_json::Value::Null,
            Node::BooleanLit(b) => serde_json::Value::Bool(b.value),
            Node::StringLit(s) => serde_json::Value::String(s.value.to_string()),
            Node::NumberLit(n) => {
                if let Ok(number) = n.value.parse::<serde_json::Number>() {
                    serde_json::Value::Number(number)
                } else {
                    diagnostics.push(
                        Diagnostic::error(format!("number `{}` is out of range", n.value))
                            .at(self.location(n.range))
                            .help("write a number between -1.7e308 and 1.7e308"),
                    );
                    serde_json::Value::Null
                }
            }
            Node::Array(array) => serde_json::Value::Array(
                array
                    .elements
                    .iter()
                    .enumerate()
                    .map(|(i, element)| {
                        let at = pointer_push(pointer, &i.to_string());
                        self.build(element, &at, None, spans, diagnostics)
                    })
                    .collect(),
            ),
            Node::Object(object) => {
                let mut map = serde_json::Map::with_capacity(object.properties.len());
                let mut seen: HashMap<&str, Range> = HashMap::new();
                for prop in &object.properties {
                    let (name, name_range) = match &prop.name {
                        ObjectPropName::String(s) => (s.value.as_ref(), s.range),
                        ObjectPropName::Word(w) => (w.value, w.range),
                    };
                    if let Some(first) = seen.get(name) {
                        diagnostics.push(self.duplicate_key(name, *first, name_range));
                    } else {
                        seen.insert(name, name_range);
                    }
                    let at = pointer_push(pointer, name);
                    let value = self.build(&prop.value, &at, Some(name_range), spans, diagnostics);
                    map.insert(name.to_string(), value);
                }
                serde_json::Value::Object(map)
            }
        }
    }

    fn duplicate_key(&self, name: &str, first: Range, second: Range) -> Diagnostic {
        let (line, _) = self.file.line_col(self.span(first).start);
        Diagnostic::error(format!(
            "duplicate key `{name}`: it is already set on line {line}"
        ))
        .at(self.location(second))
        .label("set again here")
        .help(
            "remove one of the two; other tools silently keep only the last one, \
             so the first one has no effect",
        )
    }

    fn trailing_comma(&self, range: Range) -> Diagnostic {
        Diagnostic::warning("trailing comma")
            .at(self.location(range))
            .label("remove this comma")
            .help(
                "remove it: the devcontainer.json schema does not allow trailing commas \
                 (VS Code and the reference CLI accept them, stricter tools do not)",
            )
    }

    /// A string token holding a raw line break: JSON strings end on their line, so this is
    /// almost always a missing closing quote that swallowed the text up to the next `"`.
    fn line_break_in_string(&self, text: &str, range: Range) -> Option<Diagnostic> {
        let literal = text.get(range.start..range.end)?;
        let newline = literal.find(['\n', '\r'])?;
        Some(self.unterminated_string(Range::new(range.start, range.start + newline)))
    }

    fn unterminated_string(&self, range: Range) -> Diagnostic {
        Diagnostic::error("unterminated string")
            .at(self.location(range))
            .label("this string is not closed on its line")
            .help("add the closing `\"` (a line break inside a string is written `\\n`)")
    }
}

fn first_char(text: &str, range: Range) -> Range {
    let len = text
        .get(range.start..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8);
    Range::new(range.start, range.start + len)
}

fn node_range(node: &Node<'_>) -> Range {
    match node {
        Node::StringLit(n) => n.range,
        Node::NumberLit(n) => n.range,
        Node::BooleanLit(n) => n.range,
        Node::Object(n) => n.range,
        Node::Array(n) => n.range,
        Node::NullKeyword(n) => n.range,
    }
}

fn describe(node: &Node<'_>) -> &'static str {
    match node {
        Node::StringLit(_) => "a string",
        Node::NumberLit(_) => "a number",
        Node::BooleanLit(_) => "a boolean",
        Node::Object(_) => "an object",
        Node::Array(_) => "an array",
        Node::NullKeyword(_) => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::NodeSpans;

    fn parse_text(text: &str) -> (Option<Document>, Diagnostics) {
        let file = SourceFile::new("/w/.devcontainer/devcontainer.json", text);
        let mut diagnostics = Diagnostics::default();
        let doc = parse(&file, &mut diagnostics);
        (doc, diagnostics)
    }

    fn slice(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    pub(super) fn only_error(text: &str) -> Diagnostic {
        let (doc, diagnostics) = parse_text(text);
        assert!(doc.is_none(), "parsed: {text}");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        diagnostics.0[0].clone()
    }

    pub(super) fn error_at(text: &str) -> (String, String) {
        let d = only_error(text);
        assert!(d.is_error());
        let location = d.location.expect("located");
        (d.message, slice(text, location.span).to_string())
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "// c\n{\n  \"image\": \"x\", /* y */ \"ports\": [1, {\"a/b\": true}]\n}\n";
        let (doc, diagnostics) = parse_text(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let doc = doc.unwrap();
        assert_eq!(
            doc.value,
            serde_json::json!({"image": "x", "ports": [1, {"a/b": true}]})
        );
        let spans = |p: &str| doc.spans.get(p).unwrap();
        let NodeSpans { key, value } = spans("/image");
        assert_eq!(slice(text, key.unwrap()), "\"image\"");
        assert_eq!(slice(text, value), "\"x\"");
        assert_eq!(slice(text, spans("/ports/1").value), "{\"a/b\": true}");
        assert_eq!(spans("/ports/1").key, None);
        assert_eq!(slice(text, spans("/ports/1/a~1b").value), "true");
        assert!(slice(text, spans("").value).starts_with('{'));
    }

    #[test]
    fn key_order_is_kept() {
        let (doc, _) = parse_text(r#"{"b": 1, "a": 2, "c": 3}"#);
        let keys: Vec<_> = doc
            .unwrap()
            .value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }

    #[test]
    fn trailing_commas_are_warnings_at_the_comma() {
        let text = "{\n  \"a\": [1, 2,],\n  \"b\": {\"c\": 1,},\n}";
        let (doc, diagnostics) = parse_text(text);
        assert!(doc.is_some());
        assert_eq!(diagnostics.len(), 3, "{diagnostics:?}");
        for d in &diagnostics.0 {
            assert!(!d.is_error());
            assert_eq!(d.message, "trailing comma");
            assert_eq!(slice(text, d.location.as_ref().unwrap().span), ",");
        }
        let lines: Vec<_> = diagnostics
            .0
            .iter()
            .map(|d| d.location.as_ref().unwrap().to_string())
            .collect();
        assert!(lines[0].ends_with(":2:13"), "{lines:?}");
        assert!(lines[1].ends_with(":3:15"), "{lines:?}");
        assert!(lines[2].ends_with(":3:17"), "{lines:?}");
    }

    #[test]
    fn a_comma_in_a_string_or_comment_is_not_trailing() {
        let (doc, diagnostics) = parse_text("{\"a\": \",}\" /* ,} */ }");
        assert!(doc.is_some());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn roots_other_than_objects_are_errors() {
        for (text, what) in [
            ("[1]", "an array"),
            ("\"x\"", "a string"),
            ("3", "a number"),
            ("null", "null"),
        ] {
            let d = only_error(text);
            assert_eq!(d.message, "the file must contain a JSON object");
            assert_eq!(d.label.unwrap(), format!("this is {what}"));
        }
    }

    #[test]
    fn empty_files_and_comment_only_files_are_errors() {
        assert_eq!(only_error("").message, "the file is empty");
        assert_eq!(only_error(" \n\t").message, "the file is empty");
        assert_eq!(
            only_error("// nothing\n/* here */").message,
            "the file has only comments, no settings"
        );
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_occurrence() {
        let text = "{\n  \"image\": \"a\",\n  \"x\": {\"k\": 1, \"k\": 2},\n  \"image\": \"b\"\n}";
        let (doc, diagnostics) = parse_text(text);
        let doc = doc.expect("still parsed");
        assert_eq!(doc.value["image"], "b");
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
        let messages: Vec<_> = diagnostics.0.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "duplicate key `k`: it is already set on line 3",
                "duplicate key `image`: it is already set on line 2",
            ]
        );
        let last = diagnostics.0[1].location.clone().unwrap();
        assert_eq!(last.span.start, text.rfind("\"image\"").unwrap());
    }

    #[test]
    fn escaped_keys_are_compared_after_unescaping() {
        let (_, diagnostics) = parse_text(r#"{"a": 1, "\u0061": 2}"#);
        assert!(diagnostics.has_errors());
    }

    #[test]
    fn byte_order_mark_is_skipped_and_spans_stay_exact() {
        let text = "\u{feff}{\"a\": 1,}";
        let (doc, diagnostics) = parse_text(text);
        let doc = doc.unwrap();
        assert_eq!(slice(text, doc.spans.get("/a").unwrap().value), "1");
        assert_eq!(
            slice(text, diagnostics.0[0].location.clone().unwrap().span),
            ","
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for open in ["[", "{\"a\":"] {
            let text = open.repeat(100_000);
            let d = only_error(&text);
            assert!(d.is_error());
        }
        // Just under the parser's limit: parsed, and the tree is built without trouble.
        let text = format!("{{\"a\":{}1{}}}", "[".repeat(500), "]".repeat(500));
        let (doc, diagnostics) = parse_text(&text);
        assert!(doc.is_some() && diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn huge_numbers_are_errors_not_panics() {
        let (_, diagnostics) = parse_text("{\"a\": 1e999}");
        assert_eq!(diagnostics.0[0].message, "number `1e999` is out of range");
    }
}
