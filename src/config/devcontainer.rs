//! STUB (being written): lowers a parsed file into the [`Workspace`] model.

use crate::config::Context;
use crate::config::source::Document;
use crate::diagnostic::Diagnostics;
use crate::workspace::Workspace;

pub fn lower(
    doc: &Document,
    context: &Context,
    diagnostics: &mut Diagnostics,
) -> Option<Workspace> {
    let _ = (doc, context, diagnostics);
    None
}
