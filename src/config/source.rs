//! A config file's text, byte spans into it, and the index from a JSON pointer to the span of
//! the key and value it names.
//!
//! Both parsers (YAML for `.gitpod.yml`, JSONC for `devcontainer.json`) produce the same thing:
//! a [`Document`], that is a `serde_json::Value` plus a [`SpanIndex`]. Everything after parsing
//! (typed deserialization, schema checks, model rules) reports problems by JSON pointer, and
//! the index turns the pointer back into `file:line:col`.
//!
//! The border: nothing here knows either format. A parser fills the index; everything else
//! only reads it. Showing a location with its snippet is `diagnostic.rs`'s.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The text of one config file, kept for the whole run so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The file's text. A file that is not UTF-8 never becomes a `SourceFile`.
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            path: path.into(),
            text: text.into(),
        })
    }

    /// The path as shown to the user: relative to the current directory when it is below it.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// Byte offset of a 1-based line and column (in characters); clamps to the text.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let mut start = 0;
        for _ in 1..line {
            match self.text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return self.text.len(),
            }
        }
        let rest = &self.text[start..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        rest[..line_end]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(start + line_end, |(i, _)| start + i)
    }
}

/// Shows `path` relative to the current directory when it lies below it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
        && !rel.as_os_str().is_empty()
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}

/// The nearest char boundary at or before `offset`, which may lie past the end of `text`.
pub(crate) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A half-open byte range `start..end` into a [`SourceFile`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    /// An empty span at `offset`, for "something is missing here".
    pub fn at(offset: usize) -> Self {
        Self {
            start: offset,
            end: offset,
        }
    }
}

/// A span in a particular file: what a diagnostic points at.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub span: Span,
}

impl Location {
    pub fn new(file: &Arc<SourceFile>, span: Span) -> Self {
        Self {
            file: Arc::clone(file),
            span,
        }
    }

    /// The start of the whole file, for problems that belong to the file rather than a place.
    pub fn file_start(file: &Arc<SourceFile>) -> Self {
        Self::new(file, Span::at(0))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, column) = self.file.line_col(self.span.start);
        write!(f, "{}:{line}:{column}", self.file.display_path())
    }
}

/// Where a node of the document sits: the span of its key (absent for array items and the
/// root) and of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpans {
    pub key: Option<Span>,
    pub value: Span,
}

/// JSON pointer (RFC 6901, e.g. `/ports/0/port`) to the spans of that node.
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    nodes: HashMap<String, NodeSpans>,
}

impl SpanIndex {
    pub fn insert(&mut self, pointer: String, key: Option<Span>, value: Span) {
        self.nodes.insert(pointer, NodeSpans { key, value });
    }

    pub fn get(&self, pointer: &str) -> Option<NodeSpans> {
        self.nodes.get(pointer).copied()
    }

    /// The value span of `pointer`, or of its nearest ancestor that is indexed.
    pub fn value_or_parent(&self, pointer: &str) -> Span {
        self.lookup(pointer).value
    }

    /// The key span of `pointer` when it has one, else its value span (or the nearest
    /// ancestor's). Use it for "this property is wrong" problems.
    pub fn key_or_value(&self, pointer: &str) -> Span {
        let spans = self.lookup(pointer);
        spans.key.unwrap_or(spans.value)
    }

    fn lookup(&self, pointer: &str) -> NodeSpans {
        let mut p = pointer;
        loop {
            if let Some(spans) = self.nodes.get(p) {
                return *spans;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return NodeSpans {
                        key: None,
                        value: Span::at(0),
                    };
                }
            }
        }
    }
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/` as RFC 6901 says.
pub fn pointer_push(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// A parsed config file: its generic value and where every node of it sits.
#[derive(Debug)]
pub struct Document {
    pub file: Arc<SourceFile>,
    pub value: serde_json::Value,
    pub spans: SpanIndex,
}

impl Document {
    /// Location of the value at `pointer` (or its nearest indexed ancestor).
    pub fn value_location(&self, pointer: &str) -> Location {
        Location::new(&self.file, self.spans.value_or_parent(pointer))
    }

    /// Location of the key at `pointer` when it has one, else of its value.
    pub fn key_location(&self, pointer: &str) -> Location {
        Location::new(&self.file, self.spans.key_or_value(pointer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("/x", "ab\nçd: e\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        // "ç" is two bytes; the ':' after "çd" is the third character.
        assert_eq!(file.line_col(6), (2, 3));
        assert_eq!(file.offset(2, 3), 6);
    }

    #[test]
    fn pointer_escapes_tilde_and_slash() {
        assert_eq!(pointer_push("/a", "b/c~d"), "/a/b~1c~0d");
    }

    #[test]
    fn lookup_falls_back_to_ancestors() {
        let mut index = SpanIndex::default();
        index.insert("/ports".into(), Some(Span::new(0, 5)), Span::new(7, 20));
        assert_eq!(index.value_or_parent("/ports/3/port"), Span::new(7, 20));
        assert_eq!(index.key_or_value("/ports"), Span::new(0, 5));
    }
}
