//! Writing YAML for `.gitpod.yml`: a small tree of maps, lists and scalars, printed with
//! block style. A multi-line string becomes a literal block (`|`) so scripts stay readable;
//! any other string is plain when YAML would read it back as the same string, else it is
//! written as a JSON string (JSON strings are YAML double-quoted scalars).
//!
//! The border: YAML syntax only; which keys a `.gitpod.yml` gets is `to_gitpod.rs`'s.

use std::fmt::Write as _;

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Str(String),
    Int(u64),
    List(Vec<Yaml>),
    /// Keys in the order they are printed.
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    pub(crate) fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }
}

/// Prints a top-level map; one blank line between its entries.
pub(crate) fn render(entries: &[(String, Yaml)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        entry(&mut out, key, value, 0);
    }
    out
}

fn entry(out: &mut String, key: &str, value: &Yaml, indent: usize) {
    let pad = " ".repeat(indent);
    let key = key_text(key);
    match value {
        Yaml::Str(s) => match block(s) {
            Some((header, lines)) => {
                let _ = writeln!(out, "{pad}{key}: {header}");
                for line in lines {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "{pad}  {line}");
                    }
                }
            }
            None => {
                let _ = writeln!(out, "{pad}{key}: {}", scalar(s));
            }
        },
        Yaml::Int(n) => {
            let _ = writeln!(out, "{pad}{key}: {n}");
        }
        Yaml::Map(entries) if entries.is_empty() => {
            let _ = writeln!(out, "{pad}{key}: {{}}");
        }
        Yaml::List(items) if items.is_empty() => {
            let _ = writeln!(out, "{pad}{key}: []");
        }
        Yaml::Map(entries) => {
            let _ = writeln!(out, "{pad}{key}:");
            for (k, v) in entries {
                entry(out, k, v, indent + 2);
            }
        }
        Yaml::List(items) => {
            let _ = writeln!(out, "{pad}{key}:");
            for item in items {
                list_item(out, item, indent + 2);
            }
        }
    }
}

/// `- item`, with the dash at `indent`.
fn list_item(out: &mut String, item: &Yaml, indent: usize) {
    let pad = " ".repeat(indent);
    match item {
        Yaml::Map(entries) if !entries.is_empty() => {
            for (i, (k, v)) in entries.iter().enumerate() {
                let mut text = String::new();
                entry(&mut text, k, v, indent + 2);
                if i == 0 {
                    // The first entry goes on the dash's line.
                    text.replace_range(..indent + 2, &format!("{pad}- "));
                }
                out.push_str(&text);
            }
        }
        Yaml::Str(s) => {
            let _ = writeln!(out, "{pad}- {}", scalar(s));
        }
        Yaml::Int(n) => {
            let _ = writeln!(out, "{pad}- {n}");
        }
        Yaml::Map(_) => {
            let _ = writeln!(out, "{pad}- {{}}");
        }
        Yaml::List(_) => {
            // .gitpod.yml has no lists of lists; a flow list keeps it valid all the same.
            let _ = writeln!(out, "{pad}- []");
        }
    }
}

fn key_text(key: &str) -> String {
    if plain(key) {
        key.to_string()
    } else {
        json(key)
    }
}

/// A one-line scalar: plain when safe, else a JSON (double-quoted) string.
fn scalar(s: &str) -> String {
    if plain(s) { s.to_string() } else { json(s) }
}

fn json(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Whether `s` reads back as the same string when written plain.
fn plain(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/' || first == '_' || first == '.')
        // Inside a plain scalar (block context) only `: ` and ` #` mean something.
        && s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
        && !looks_numeric(s)
}

fn looks_numeric(s: &str) -> bool {
    s.parse::<f64>().is_ok() || s.starts_with(".inf") || s.starts_with(".nan")
}

/// A literal block for a multi-line string: the header (`|`, `|-`, `|+`, with an
/// indentation indicator when the text starts with spaces) and the lines. `None` when the
/// string is not multi-line or holds characters a block cannot show.
fn block(s: &str) -> Option<(String, Vec<&str>)> {
    if !s.contains('\n')
        || s.chars()
            .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}')
        || s.trim().is_empty()
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut lines: Vec<&str> = body.split('\n').collect();
    // With `|+` the extra final newlines are empty lines of the block.
    lines.extend(std::iter::repeat_n("", trailing.saturating_sub(1)));
    let first = lines.iter().find(|l| !l.trim().is_empty())?;
    // Indentation is taken from the first non-empty line; say it when that line starts
    // with spaces (or a tab, which cannot indent), and when an empty line before it is
    // longer than it.
    let leading_blank_longer = lines
        .iter()
        .take_while(|l| l.trim().is_empty())
        .any(|l| !l.is_empty());
    let indicator = if first.starts_with([' ', '\t']) || leading_blank_longer {
        "2"
    } else {
        ""
    };
    Some((format!("|{indicator}{chomp}"), lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_maps_lists_and_blocks() {
        let text = render(&[
            ("image".into(), Yaml::str("gitpod/workspace-full:latest")),
            (
                "tasks".into(),
                Yaml::List(vec![Yaml::Map(vec![
                    ("name".into(), Yaml::str("backend")),
                    ("init".into(), Yaml::str("pip install\necho done\n")),
                    ("command".into(), Yaml::str("npm start")),
                ])]),
            ),
            (
                "ports".into(),
                Yaml::List(vec![Yaml::Map(vec![
                    ("port".into(), Yaml::Int(3000)),
                    ("visibility".into(), Yaml::str("public")),
                ])]),
            ),
        ]);
        assert_eq!(
            text,
            "image: gitpod/workspace-full:latest\n\ntasks:\n  - name: backend\n    init: |\n      pip install\n      echo done\n    command: npm start\n\nports:\n  - port: 3000\n    visibility: public\n"
        );
    }

    #[test]
    fn quotes_what_would_read_back_differently() {
        for s in [
            "",
            "yes",
            "On",
            "3000",
            "3000-3010",
            "1e3",
            "a: b",
            "x #y",
            "- a",
            "*x",
            "'q'",
            "end ",
            "3000-3010",
        ] {
            assert!(scalar(s).starts_with('"'), "{s:?} -> {}", scalar(s));
        }
        for s in [
            "npm start",
            "gitpod/workspace-full:latest",
            "a=b",
            "a\"b",
            "cd a && nohup run > /tmp/a.log 2>&1 &",
        ] {
            assert_eq!(scalar(s), s);
        }
    }

    #[test]
    fn block_headers() {
        assert_eq!(block("a\nb").unwrap().0, "|-");
        assert_eq!(block("a\nb\n").unwrap().0, "|");
        assert_eq!(block("a\nb\n\n").unwrap().0, "|+");
        assert_eq!(block("  a\nb\n").unwrap().0, "|2");
        assert!(block("one line").is_none());
        assert!(block("a\r\nb").is_none());
    }
}
