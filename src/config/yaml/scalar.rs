//! What a scalar is: typed as Gitpod's own parser types it (js-yaml `safeLoad`, the YAML 1.2
//! core schema), so only `true`/`false` are booleans and `on`, `yes` and `n` stay strings. A
//! quoted or block scalar is always a string; an explicit tag (`!!str`, `!!int`...) is
//! honoured when it agrees with the text, and any other tag is an error (on a list or mapping
//! too).
//!
//! The border: a scalar's value only. Whether a field wants a string or a number is for the
//! lowering to say.

use serde_json::{Number, Value};
use serde_saphyr::granit_parser::{ScalarStyle, Span as YamlSpan, Tag};

use super::Builder;
use crate::config::source::Span;
use crate::diagnostic::Diagnostic;

impl Builder<'_, '_> {
    /// Types a scalar as js-yaml's safe schema does; explicit tags are honoured.
    pub(super) fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Value {
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
                self.unsupported_tag(tag, span);
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

    pub(super) fn check_collection_tag(&mut self, tag: Option<&Tag>, kind: &str, span: YamlSpan) {
        if let Some(tag) = tag
            && tag.core_suffix() != Some(kind)
            && tag.parts() != ("", "!")
        {
            self.unsupported_tag(tag, self.span(span));
        }
    }

    fn unsupported_tag(&mut self, tag: &Tag, span: Span) {
        self.diagnostics.push(
            Diagnostic::error(format!("unsupported tag `{}`", tag.original()))
                .at(self.location(span))
                .help("remove the tag; a .gitpod.yml value is a string, number, boolean, list or mapping"),
        );
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
    use serde_json::json;

    use super::super::tests::value;
    use super::*;

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
}
