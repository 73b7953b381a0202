//! STUB (being written): checks a document against the official JSON schema of its format.

use crate::config::source::Document;
use crate::diagnostic::Diagnostics;
use crate::workspace::Format;

pub fn check(doc: &Document, format: Format, diagnostics: &mut Diagnostics) {
    let _ = (doc, format, diagnostics);
}
