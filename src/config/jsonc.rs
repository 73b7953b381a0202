//! STUB (being written): parses a config file into a [`Document`].

use std::sync::Arc;

use crate::config::source::{Document, SourceFile};
use crate::diagnostic::Diagnostics;

pub fn parse(file: &Arc<SourceFile>, diagnostics: &mut Diagnostics) -> Option<Document> {
    let _ = (file, diagnostics);
    None
}
