//! A JSONC syntax error as a diagnostic: the parser's (first and only) error, put in words a
//! `devcontainer.json` author knows, located where the mistake is rather than where the
//! parser noticed it (the name before a missing `:`, the opening quote of a string that runs
//! over its line, the `{` that is never closed).
//!
//! The border: only the error `jsonc-parser` raises. What it accepts but devboot reports
//! (trailing commas, duplicate keys, line breaks in strings) is found on the tree in
//! `jsonc.rs`.

use jsonc_parser::common::Range;
use jsonc_parser::errors::{ParseError, ParseErrorKind};
use jsonc_parser::tokens::Token;
use jsonc_parser::{ParseStringErrorKind, Scanner, ScannerOptions};

use super::{Parser, first_char, strict_options};
use crate::diagnostic::Diagnostic;

impl Parser<'_> {
    /// The diagnostic for the parser's (first and only) syntax error.
    pub(super) fn syntax_error(&self, text: &str, err: &ParseError) -> Diagnostic {
        let range = err.range();
        let before = scan_until(text, range.start);
        // A string that ran over a line end made the parser fail further on; that string is
        // the real problem.
        if let Some(d) = before
            .iter()
            .filter(|t| t.is_string)
            .find_map(|t| self.line_break_in_string(text, t.range))
        {
            return d;
        }
        let found = found_text(text, range);
        let (message, label, help, range): (String, &str, &str, Range) = match err.kind() {
            ParseErrorKind::ExpectedComma => (
                "missing comma".into(),
                "expected `,` here",
                "separate the entries with a comma",
                range,
            ),
            ParseErrorKind::UnterminatedObject => (
                "unclosed `{`".into(),
                "this `{` is never closed",
                "add the matching `}`",
                first_char(text, range),
            ),
            ParseErrorKind::UnterminatedArray => (
                "unclosed `[`".into(),
                "this `[` is never closed",
                "add the matching `]`",
                first_char(text, range),
            ),
            ParseErrorKind::ExpectedColonAfterObjectKey => {
                let name = before.last().map_or(range, |t| t.range);
                (
                    "property without `:`".into(),
                    "expected `:` and a value after this name",
                    "write the property as `\"name\": value`",
                    name,
                )
            }
            ParseErrorKind::ExpectedObjectValue => (
                "property without a value".into(),
                "expected a value here",
                "write a value after the `:`, or remove the property",
                range,
            ),
            ParseErrorKind::ExpectedStringObjectProperty => (
                format!("property name `{found}` is not in double quotes"),
                "unquoted name",
                "write property names in double quotes: `\"name\": value`",
                range,
            ),
            ParseErrorKind::UnexpectedTokenInObject => (
                format!("expected a property name, found `{found}`"),
                "expected `\"name\": value` here",
                "an object holds `\"name\": value` pairs separated by commas",
                range,
            ),
            ParseErrorKind::SingleQuotedStringsNotAllowed => (
                "strings must be in double quotes".into(),
                "single-quoted string",
                "replace the `'` quotes with `\"`",
                range,
            ),
            ParseErrorKind::String(kind) => match kind {
                ParseStringErrorKind::UnterminatedStringLiteral => {
                    return self.unterminated_string(to_line_end(text, range));
                }
                _ => (
                    "invalid escape sequence in a string".into(),
                    "invalid escape",
                    "the escapes JSON knows are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; \
                     write a backslash as `\\\\`",
                    range,
                ),
            },
            ParseErrorKind::UnterminatedCommentBlock => (
                "unclosed comment".into(),
                "this `/*` is never closed",
                "close the comment with `*/`",
                Range::new(range.start, range.start + 2),
            ),
            ParseErrorKind::UnexpectedWord | ParseErrorKind::UnexpectedToken => (
                format!("unexpected `{found}`"),
                "not JSON",
                "quote text with `\"`; the only bare words JSON knows are true, false and null",
                range,
            ),
            ParseErrorKind::UnexpectedCloseBrace
            | ParseErrorKind::UnexpectedCloseBracket
            | ParseErrorKind::UnexpectedComma
            | ParseErrorKind::UnexpectedColon => (
                format!("unexpected `{found}`"),
                "expected a value here",
                "write a value here, or remove the extra character",
                range,
            ),
            ParseErrorKind::MultipleRootJsonValues => (
                "unexpected text after the end of the object".into(),
                "the object already ended",
                "remove this text, or the extra closing bracket before it",
                range,
            ),
            ParseErrorKind::HexadecimalNumbersNotAllowed
            | ParseErrorKind::UnaryPlusNumbersNotAllowed
            | ParseErrorKind::BareDecimalPointNumbersNotAllowed
            | ParseErrorKind::NonFiniteNumbersNotAllowed
            | ParseErrorKind::ExpectedDigit
            | ParseErrorKind::ExpectedDigitFollowingNegativeSign
            | ParseErrorKind::ExpectedPlusMinusOrDigitInNumberLiteral => (
                "invalid number".into(),
                "not a JSON number",
                "write a plain decimal number such as `3000` or `1.5`",
                range,
            ),
            ParseErrorKind::NestingDepthExceeded => (
                "the file is nested too deeply".into(),
                "too deep",
                "nest objects and arrays at most 512 levels deep",
                range,
            ),
            // Allowed by the options, or only produced by other entry points; still reported.
            other => (
                other.to_string().to_lowercase(),
                "here",
                "fix the JSON syntax here",
                range,
            ),
        };
        Diagnostic::error(message)
            .at(self.location(range))
            .label(label)
            .help(help)
    }
}

/// A token of the text before an error, for looking back from it.
struct Scanned {
    range: Range,
    is_string: bool,
}

/// The tokens (comments excluded) that start before `end`, as far as the scanner gets.
fn scan_until(text: &str, end: usize) -> Vec<Scanned> {
    let mut scanner = Scanner::new(text, &scanner_options());
    let mut out = Vec::new();
    while let Ok(Some(token)) = scanner.scan() {
        let range = Range::new(scanner.token_start(), scanner.token_end());
        if range.start >= end {
            break;
        }
        match token {
            Token::CommentLine(_) | Token::CommentBlock(_) => {}
            token => out.push(Scanned {
                range,
                is_string: matches!(token, Token::String(_)),
            }),
        }
    }
    out
}

/// The text an error points at, cut short for a message.
fn found_text(text: &str, range: Range) -> String {
    let found = text.get(range.start..range.end).unwrap_or_default();
    let found: String = found.chars().take(30).collect();
    if found.is_empty() {
        "end of file".into()
    } else {
        found
    }
}

fn to_line_end(text: &str, range: Range) -> Range {
    let rest = text.get(range.start..).unwrap_or_default();
    let len = rest.find(['\n', '\r']).unwrap_or(rest.len());
    Range::new(range.start, range.start + len)
}

/// The scanner settings `parse_to_ast` derives from [`strict_options`], so that looking back
/// from an error reads the text as the parser did.
fn scanner_options() -> ScannerOptions {
    let options = strict_options();
    ScannerOptions {
        allow_single_quoted_strings: options.allow_single_quoted_strings,
        allow_hexadecimal_numbers: options.allow_hexadecimal_numbers,
        allow_unary_plus_numbers: options.allow_unary_plus_numbers,
        allow_bare_decimal_point_numbers: options.allow_bare_decimal_point_numbers,
        allow_non_finite_numbers: options.allow_non_finite_numbers,
        allow_extended_string_escapes: options.allow_extended_string_escapes,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error_at, only_error};
    use crate::config::source::Span;

    #[test]
    fn missing_comma_is_located_after_the_previous_value() {
        let text = "{\n  \"a\": 1\n  \"b\": 2\n}";
        let d = only_error(text);
        assert_eq!(d.message, "missing comma");
        assert_eq!(
            d.location.unwrap().span,
            Span::at(text.find('1').unwrap() + 1)
        );
        let (message, _) = error_at("[\"a\" \"b\"]");
        assert_eq!(message, "missing comma");
    }

    #[test]
    fn unclosed_brackets_point_at_the_opener() {
        assert_eq!(
            error_at("{\"a\": {\"b\": 1}"),
            ("unclosed `{`".into(), "{".into())
        );
        let (message, at) = error_at("{\"a\": [1, 2}");
        assert_eq!(message, "unexpected `}`");
        assert_eq!(at, "}");
        assert_eq!(
            error_at("{\"a\": [1, 2"),
            ("unclosed `[`".into(), "[".into())
        );
    }

    #[test]
    fn property_without_colon_points_at_the_name() {
        assert_eq!(
            error_at("{\n  \"image\" \"x\"\n}"),
            ("property without `:`".into(), "\"image\"".into())
        );
        assert_eq!(
            error_at("{\"a\": 1, /* c */ \"b\" }"),
            ("property without `:`".into(), "\"b\"".into())
        );
    }

    #[test]
    fn unterminated_strings_point_at_the_opening_quote() {
        let text = "{\n  \"name\": \"abc,\n  \"image\": \"x\"\n}";
        let (message, at) = error_at(text);
        assert_eq!(message, "unterminated string");
        assert_eq!(at, "\"abc,");
        assert_eq!(
            error_at("{\"name\": \"abc}"),
            ("unterminated string".into(), "\"abc}".into())
        );
        // Closed, but on another line: still not JSON.
        let (message, at) = error_at("{\"a\": \"x\ny\"}");
        assert_eq!(
            (message.as_str(), at.as_str()),
            ("unterminated string", "\"x")
        );
    }

    #[test]
    fn other_syntax_errors_have_clear_messages() {
        assert_eq!(
            error_at("{image: 1}"),
            (
                "property name `image` is not in double quotes".into(),
                "image".into()
            )
        );
        assert_eq!(
            error_at("{\"a\": 'x'}").0,
            "strings must be in double quotes"
        );
        assert_eq!(error_at("{\"a\": 0x1}").0, "invalid number");
        assert_eq!(error_at("{\"a\": yes}").0, "unexpected `yes`");
        assert_eq!(
            error_at("{\"a\": \"C:\\Users\"}").0,
            "invalid escape sequence in a string"
        );
        assert_eq!(error_at("{\"a\": 1} /* x").0, "unclosed comment");
        assert_eq!(
            error_at("{\"a\": 1}}").0,
            "unexpected text after the end of the object"
        );
        assert_eq!(error_at("{\"a\": }").0, "unexpected `}`");
        assert_eq!(error_at("{\"a\":").0, "property without a value");
    }
}
