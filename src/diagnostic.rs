//! Problems found in a config file (errors and warnings), and the one function that prints
//! any problem: `error:`/`warning:`, `--> file:line:col`, the source snippet, `help:` and
//! `caused by:`.
//!
//! Every error devboot shows goes through [`render`]; `error.rs` turns runtime errors into a
//! [`Diagnostic`] first, so the look is the same whether a port, a task or a file is at fault.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::config::source::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, with everything needed to show it: what, where, and what to do.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// The place in a file the problem is about, when it is about a file.
    pub location: Option<Location>,
    /// Short text printed under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Underlying causes, outermost first (an I/O error, the engine's own message...).
    pub causes: Vec<String>,
    /// Lines of output it is about, under a heading (`last lines of `backend`:`).
    pub excerpt: Option<(String, Vec<String>)>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            location: None,
            label: None,
            help: None,
            causes: Vec::new(),
            excerpt: None,
        }
    }

    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// Shows `lines` (a task's output) under `heading`, each indented behind a bar.
    #[must_use]
    pub fn excerpt(mut self, heading: impl Into<String>, lines: Vec<String>) -> Self {
        if !lines.is_empty() {
            self.excerpt = Some((heading.into(), lines));
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col` of the problem, when it has a place.
    pub fn position(&self) -> Option<String> {
        self.location.as_ref().map(ToString::to_string)
    }
}

/// The problems found while loading one config, in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Renders one diagnostic as text (ending in a newline). With `color`, ANSI styles are used;
/// the caller decides from the terminal (anstream strips them when stderr is not one).
pub fn render(diagnostic: &Diagnostic, color: bool) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let path;
    let mut report: Vec<Group<'_>> = Vec::new();
    let title = level.primary_title(diagnostic.message.as_str());
    match &diagnostic.location {
        Some(location) => {
            path = location.file.display_path();
            let text = location.file.text.as_str();
            let span = clamp(location.span, text);
            let mut annotation = AnnotationKind::Primary.span(span.start..span.end);
            if let Some(label) = &diagnostic.label {
                annotation = annotation.label(label.as_str());
            }
            report.push(
                title.element(
                    Snippet::source(text)
                        .path(path.as_str())
                        .fold(true)
                        .annotation(annotation),
                ),
            );
        }
        None => report.push(Group::with_title(title)),
    }
    if let Some(help) = &diagnostic.help {
        report.push(Group::with_title(
            Level::HELP.secondary_title(help.as_str()),
        ));
    }
    let mut out = renderer.render(&report);
    out.push('\n');
    for cause in &diagnostic.causes {
        let _ = writeln!(out, "caused by: {cause}");
    }
    if let Some((heading, lines)) = &diagnostic.excerpt {
        let _ = writeln!(out, "{heading}");
        for line in lines {
            let _ = writeln!(out, "  | {line}");
        }
    }
    out
}

/// annotate-snippets wants spans on character boundaries inside the text.
fn clamp(span: crate::config::source::Span, text: &str) -> crate::config::source::Span {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    crate::config::source::Span::new(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{SourceFile, Span};

    #[test]
    fn renders_location_snippet_and_help() {
        let file = SourceFile::new("/nowhere/.gitpod.yml", "ports:\n  - port: abc\n");
        let d = Diagnostic::error("invalid port")
            .at(Location::new(&file, Span::new(17, 20)))
            .label("not a number")
            .help("write a number like 4567");
        let text = render(&d, false);
        assert!(text.starts_with("error: invalid port\n"), "{text}");
        assert!(text.contains(".gitpod.yml:2:11"), "{text}");
        assert!(text.contains("^^^ not a number"), "{text}");
        assert!(text.contains("help: write a number like 4567"), "{text}");
    }

    #[test]
    fn renders_without_location_and_with_causes() {
        let d = Diagnostic::error("no container engine answers").cause("docker: not found");
        assert_eq!(
            render(&d, false),
            "error: no container engine answers\ncaused by: docker: not found\n"
        );
    }
}
