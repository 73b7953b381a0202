//! What devboot says to people: diagnostics and progress on stderr, results on stdout.
//!
//! Styles go through anstream, which drops them when the stream is not a terminal or
//! `NO_COLOR` is set. Machine-readable output (`--json`) is written with [`stdout`] and
//! nothing else ever goes to stdout in that mode.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};

use crate::diagnostic::{self, Diagnostic};
use crate::error::{Error, Result};

const NOTE: Style = AnsiColor::BrightBlue.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();

/// Prints a diagnostic on stderr.
pub fn diagnostic(diagnostic: &Diagnostic) {
    let text = diagnostic::render(diagnostic, true);
    let _ = anstream::stderr().write_all(text.as_bytes());
}

/// Prints `note: <message>` on stderr.
pub fn note(message: &str) {
    let _ = writeln!(anstream::stderr(), "{NOTE}note{NOTE:#}: {message}");
}

/// Prints `warning: <message>` on stderr, for runtime warnings that have no file location.
pub fn warning(message: &str) {
    let _ = writeln!(anstream::stderr(), "{WARN}warning{WARN:#}: {message}");
}

/// Prints a plain line on stderr.
pub fn line(message: &str) {
    let _ = writeln!(anstream::stderr(), "{message}");
}

/// Writes a result to stdout. A closed pipe ends the program quietly.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
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
