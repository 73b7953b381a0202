//! `--mount` values, written and read the way docker and podman read them: as one CSV record
//! (Go's `encoding/csv`), where a field holding `,` `"` or a line break is written in double
//! quotes with each `"` doubled. Every value devboot hands to `--mount` is built here, so no
//! folder name can add a mount option or change the source or target.
//!
//! What cannot be written: a carriage return right before a line feed (the CSV reader turns
//! `\r\n` into `\n`, so the engine would look for another path) and a path that is not
//! UTF-8. Those are errors naming the path, never a different mount. (Checked with docker
//! 28 and podman 4.3, which parse `--mount` the same way.)
//!
//! podman reads each `--filter` value as a CSV list too (docker takes it whole), so the
//! same quoting keeps a folder with a `,` one filter there ([`csv_field`]).
//!
//! The border: which mounts a workspace gets is `up::target`'s and the config's; this file
//! only spells them.

use std::path::Path;

/// Why a `--mount` value cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// A path that is not UTF-8: the engines' mount values are text.
    #[error("the path {path:?} is not valid UTF-8")]
    NotUtf8 { path: String },
    /// `\r\n` in a field: the engines' CSV reader keeps only the `\n`.
    #[error(
        "{text:?} holds a carriage return before a line feed, which docker and podman read as a line feed alone"
    )]
    CrLf { text: String },
    /// The value as written is not one CSV record.
    #[error("{detail} in `{text}`")]
    Malformed { text: String, detail: &'static str },
    /// A variable in an option's name brought in a `=`, which would move the value.
    #[error("the option name `{name}` holds a `=` once its variables are substituted")]
    NameWithEquals { name: String },
}

impl MountError {
    /// Why a path cannot be mounted, without the path.
    pub fn reason(&self) -> &'static str {
        match self {
            MountError::NotUtf8 { .. } => "its path is not valid UTF-8",
            MountError::CrLf { .. } => {
                "its path holds a carriage return before a line feed, which docker and podman would read as a line feed alone: another folder"
            }
            MountError::Malformed { .. } | MountError::NameWithEquals { .. } => {
                "it makes no valid `--mount` value"
            }
        }
    }

    /// What to do about it, for a `help:` line.
    pub fn help(&self) -> &'static str {
        match self {
            MountError::NotUtf8 { .. } => "rename the folder so that its path is valid UTF-8",
            MountError::CrLf { .. } => {
                "rename the folder so that no carriage return stands before a line feed in its path"
            }
            MountError::Malformed { .. } => {
                "write the mount as `type=bind,source=...,target=...`; put a field holding `,` or `\"` in double quotes, with each `\"` doubled"
            }
            MountError::NameWithEquals { .. } => {
                "use variables in option values only (`source=${localWorkspaceFolder}`)"
            }
        }
    }
}

/// A complete `--mount` value that binds `source` on the host to `target` in the container,
/// read-only when `readonly`.
pub fn bind(source: &Path, target: &str, readonly: bool) -> Result<String, MountError> {
    let source = source.to_str().ok_or_else(|| MountError::NotUtf8 {
        path: source.display().to_string(),
    })?;
    let mut fields = vec![
        "type=bind".to_string(),
        format!("source={source}"),
        format!("target={target}"),
    ];
    if readonly {
        fields.push("readonly".into());
    }
    join(&fields)
}

/// Fields as one `--mount` value, each quoted when it needs to be.
pub fn join<S: AsRef<str>>(fields: &[S]) -> Result<String, MountError> {
    let quoted = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quoted.join(","))
}

/// One field, quoted when it needs to be, as the CSV reader reads it back.
pub fn csv_field(field: &str) -> Result<String, MountError> {
    if field.contains("\r\n") {
        return Err(MountError::CrLf { text: field.into() });
    }
    if field.contains([',', '"', '\n', '\r']) {
        Ok(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Ok(field.to_string())
    }
}

/// The fields of a `--mount` value, unquoted: what the engine reads. Stricter than the
/// engines where they would drop text: a second line or a `\r\n` is an error.
pub fn fields(value: &str) -> Result<Vec<String>, MountError> {
    let malformed = |detail| MountError::Malformed {
        text: value.to_string(),
        detail,
    };
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(malformed("a quoted field is not closed")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            if chars.peek().is_some_and(|c| *c != ',') {
                return Err(malformed("text follows a closing quote"));
            }
            if field.contains("\r\n") {
                return Err(MountError::CrLf { text: field });
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                match c {
                    '"' => return Err(malformed("a `\"` stands in a field that is not quoted")),
                    '\n' | '\r' => return Err(malformed("a line break stands outside quotes")),
                    c => field.push(c),
                }
            }
        }
        out.push(field);
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}

/// `template` with `resolve` applied inside each field, each field quoted again: whatever a
/// variable brings in (a folder named `x,src=/other`) stays inside the field it was in.
pub fn substitute(template: &str, resolve: &dyn Fn(&str) -> String) -> Result<String, MountError> {
    let mut out = Vec::new();
    for field in fields(template)? {
        // The name (or a flag like `readonly`) must stay one: a `=` from a variable would
        // move where the value starts.
        let (name, value) = field.split_once('=').unwrap_or((&field, ""));
        let name = resolve(name);
        if name.contains('=') {
            return Err(MountError::NameWithEquals { name });
        }
        out.push(if field.contains('=') {
            format!("{name}={}", resolve(value))
        } else {
            name
        });
    }
    join(&out)
}

/// The `source`/`src` and `target`/`dst`/`destination` of a `--mount` value (the last one
/// wins, as in the engines); `None` for a field that is missing or a value that is not CSV.
pub fn source_target(value: &str) -> (Option<String>, Option<String>) {
    let (mut source, mut target) = (None, None);
    for field in fields(value).unwrap_or_default() {
        let (key, value) = field.split_once('=').unwrap_or((&field, ""));
        match key.to_ascii_lowercase().as_str() {
            "source" | "src" => source = Some(value.to_string()),
            "target" | "dst" | "destination" => target = Some(value.to_string()),
            _ => {}
        }
    }
    (source, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_stay_unquoted() {
        assert_eq!(
            bind(Path::new("/w/app"), "/workspaces/app", false).unwrap(),
            "type=bind,source=/w/app,target=/workspaces/app"
        );
        assert_eq!(
            bind(Path::new("/w/e=q ü"), "/x", true).unwrap(),
            "type=bind,source=/w/e=q ü,target=/x,readonly"
        );
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(
            bind(Path::new("/w/x,src=/etc"), "/t", false).unwrap(),
            r#"type=bind,"source=/w/x,src=/etc",target=/t"#
        );
        assert_eq!(
            bind(Path::new("/w/q\"x"), "/t", false).unwrap(),
            r#"type=bind,"source=/w/q""x",target=/t"#
        );
        assert_eq!(
            bind(Path::new("/w/n\nl\rr"), "/t", false).unwrap(),
            "type=bind,\"source=/w/n\nl\rr\",target=/t"
        );
    }

    #[test]
    fn what_cannot_be_written_is_an_error() {
        use std::os::unix::ffi::OsStrExt;
        assert!(matches!(
            bind(Path::new("/w/c\r\nd"), "/t", false),
            Err(MountError::CrLf { .. })
        ));
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"/w/\xff"));
        assert!(matches!(
            bind(bad, "/t", false),
            Err(MountError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn fields_read_back_what_was_written() {
        for path in [
            "/a",
            "/a,b",
            "/q\"x",
            "/\"",
            "/n\nl",
            "/e=q",
            "/ü",
            "/x,src=/o",
            "/,",
        ] {
            let value = bind(Path::new(path), "/t,u", true).unwrap();
            assert_eq!(
                fields(&value).unwrap(),
                vec![
                    "type=bind".to_string(),
                    format!("source={path}"),
                    "target=/t,u".into(),
                    "readonly".into()
                ],
                "{value}"
            );
            assert_eq!(
                source_target(&value),
                (Some(path.to_string()), Some("/t,u".to_string()))
            );
        }
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in ["a,\"b", "a\"b", "\"a\"b", "a\nb", "\"a\r\nb\""] {
            assert!(fields(bad).is_err(), "{bad:?}");
        }
        assert_eq!(fields("").unwrap(), vec![String::new()]);
        assert_eq!(fields("a,,b").unwrap(), vec!["a", "", "b"]);
    }

    #[test]
    fn a_substituted_value_never_adds_a_field() {
        let folder = |text: &str| text.replace("${localWorkspaceFolder}", "/w/x,src=/etc");
        let value = substitute(
            "type=bind,source=${localWorkspaceFolder},target=/code,consistency=cached",
            &folder,
        )
        .unwrap();
        assert_eq!(
            value,
            r#"type=bind,"source=/w/x,src=/etc",target=/code,consistency=cached"#
        );
        assert_eq!(
            source_target(&value),
            (Some("/w/x,src=/etc".into()), Some("/code".into()))
        );
        // Quoted fields of the template stay whole.
        assert_eq!(
            substitute(r#"type=volume,"volume-opt=o=a,b",target=/v"#, &folder).unwrap(),
            r#"type=volume,"volume-opt=o=a,b",target=/v"#
        );
        // A variable may not make a name or a flag into `name=value`.
        let eq = |text: &str| text.replace("${x}", "src=/etc");
        assert!(matches!(
            substitute("type=bind,${x},target=/t", &eq),
            Err(MountError::NameWithEquals { .. })
        ));
    }
}
