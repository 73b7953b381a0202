//! Turning a [`Document`]'s generic value into the raw serde structs of a format, with every
//! type error located at the node it is about.
//!
//! `serde_path_to_error` records the path serde was at when it failed; that path becomes a
//! JSON pointer, and the document's span index turns the pointer into `file:line:col`.
//!
//! The border: the message is serde's, located. Help on how to fix it is the format's to add
//! (`gitpod.rs` does, from what serde said).

use serde::de::DeserializeOwned;

use crate::config::source::{Document, pointer_push};
use crate::diagnostic::Diagnostic;

/// Deserializes the whole document into `T`.
pub fn deserialize<T: DeserializeOwned>(doc: &Document) -> Result<T, Diagnostic> {
    deserialize_at(doc, "", &doc.value)
}

/// Deserializes the value found at `pointer` (already looked up as `value`) into `T`.
pub fn deserialize_at<T: DeserializeOwned>(
    doc: &Document,
    pointer: &str,
    value: &serde_json::Value,
) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut at = pointer.to_string();
        for segment in err.path() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => {
                    at = pointer_push(&at, &index.to_string());
                }
                serde_path_to_error::Segment::Map { key } => at = pointer_push(&at, key),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = err.inner().to_string();
        // An unknown key is about the key; anything else is about the value.
        let location = if message.starts_with("unknown field") {
            doc.key_location(&at)
        } else {
            doc.value_location(&at)
        };
        let shown = if at.is_empty() {
            "the file".to_string()
        } else {
            display_pointer(&at)
        };
        Diagnostic::error(format!("{shown}: {message}")).at(location)
    })
}

/// `/ports/0/port` as a user reads it: `ports[0].port`.
pub fn display_pointer(pointer: &str) -> String {
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&token);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_like_paths() {
        assert_eq!(display_pointer("/ports/0/port"), "ports[0].port");
        assert_eq!(display_pointer("/build/args/a~1b"), "build.args.a/b");
        assert_eq!(display_pointer(""), "");
    }
}
