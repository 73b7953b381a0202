//! A YAML syntax error as a diagnostic: the scanner's message, located at the character it
//! is about (the tab itself, for a tab in the indentation), with help on what usually causes
//! it.
//!
//! The border: only errors the YAML scanner and parser raise. A well-formed file with a
//! problem (a duplicate key, a second document) is reported where the walk finds it.

use serde_saphyr::granit_parser::{ErrorKind, ScanError};

use super::Builder;
use crate::config::source::{Span, floor_char_boundary};
use crate::diagnostic::Diagnostic;

impl Builder<'_, '_> {
    pub(super) fn syntax_error(&self, err: &ScanError) -> Diagnostic {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{messages, parse_text};

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
}
