//! What devboot says to people: diagnostics and progress on stderr, results on stdout.
//!
//! Styles go through anstream, which drops them when the stream is not a terminal or
//! `NO_COLOR` is set. Machine-readable output (`--json`) is written with [`stdout`] and
//! nothing else ever goes to stdout in that mode.
//!
//! Everything said on stderr, and results on a terminal, can hold text from a container
//! or a repository (a task's lines, a build's output, an error's tail, a config's
//! values), so it goes through [`terminal::sanitize`] first: colours stay, no other
//! control sequence reaches the user's terminal.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

use crate::diagnostic::{self, Diagnostic};
use crate::error::{Error, Result};
use crate::terminal;

const NOTE: Style = AnsiColor::BrightBlue.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();

/// Secret values, masked in everything printed (set once, before anything runs).
static SECRETS: OnceLock<Vec<String>> = OnceLock::new();

/// Registers the values to mask. Short values are not masked: they would mask innocent
/// text everywhere.
pub fn set_secrets(values: Vec<String>) {
    let _ = SECRETS.set(
        values
            .into_iter()
            .filter(|v| v.chars().count() >= 4)
            .collect(),
    );
}

/// `text` with every secret value replaced by `****`.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(secrets) = SECRETS
        .get()
        .filter(|s| s.iter().any(|v| text.contains(v.as_str())))
    else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut out = text.to_string();
    for value in secrets {
        out = out.replace(value.as_str(), crate::env::MASK);
    }
    std::borrow::Cow::Owned(out)
}

/// `text` as it may be shown to a person: control sequences other than colours dropped,
/// secrets masked (before, for a secret holding a control character, and after, for one
/// split by a control character).
pub fn shown(text: &str) -> String {
    let masked = redact(text);
    let clean = terminal::sanitize(&masked);
    redact(&clean).into_owned()
}

/// Prints a diagnostic on stderr. Its causes often quote a container's output.
pub fn diagnostic(diagnostic: &Diagnostic) {
    let text = diagnostic::render(diagnostic, true);
    let _ = anstream::stderr().write_all(shown(&text).as_bytes());
}

/// Prints `note: <message>` on stderr.
pub fn note(message: &str) {
    let _ = writeln!(anstream::stderr(), "{NOTE}note{NOTE:#}: {}", shown(message));
}

/// Prints `warning: <message>` on stderr, for runtime warnings that have no file location.
pub fn warning(message: &str) {
    let _ = writeln!(
        anstream::stderr(),
        "{WARN}warning{WARN:#}: {}",
        shown(message)
    );
}

/// Prints a plain line on stderr (a task's line with its prefix, a build's line...).
pub fn line(message: &str) {
    let mut text = shown(message);
    text.push('\n');
    // Without an escape sequence there are no colours to keep or drop: written as it is
    // (a task printing a million lines should not go through the stripper byte by byte).
    if text.contains('\x1b') {
        let _ = anstream::stderr().write_all(text.as_bytes());
    } else {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// Writes a result to stdout, secrets masked. A closed pipe ends the program quietly. On
/// a terminal a person reads it, so it goes as [`shown`] (what a container or a
/// repository's config put in it loses its control sequences) and through anstream
/// (colours only where they may be).
pub fn stdout(text: &str) -> Result<()> {
    if std::io::stdout().is_terminal() {
        return write_stdout(&mut anstream::stdout().lock(), &shown(text));
    }
    stdout_raw(&redact(text))
}

/// Writes to stdout exactly `text` (for `devboot env` into a pipe).
pub fn stdout_raw(text: &str) -> Result<()> {
    write_stdout(&mut std::io::stdout().lock(), text)
}

fn write_stdout(out: &mut impl Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Error::BrokenPipe
            } else {
                Error::io("write to", "stdout", e)
            }
        })
}

/// True when a person is watching stderr (progress lines, colours, prompts make sense).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
