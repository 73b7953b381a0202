//! An archive a container made (`docker cp CONTAINER:PATH -`, for `devboot sync --pull`),
//! unpacked into a folder of this machine through a [`Door`]: only folders and regular
//! files, each at a plain relative path (no `..`, no absolute path), written the door's
//! way (never through a link already there). Links, devices and the rest are left out and
//! named, so the caller can say so.

use super::Door;

/// What unpacking did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: usize,
    pub bytes: u64,
    /// Entries left out: links, devices, FIFOs, odd paths.
    pub skipped: Vec<String>,
}

/// Unpacks `archive` under `under` (a relative folder inside the door, `""` for its root).
pub fn unpack(door: &Door, archive: &[u8], under: &str) -> std::io::Result<Unpacked> {
    let mut out = Unpacked::default();
    let mut entries = tar::Archive::new(archive);
    for entry in entries.entries()? {
        let mut entry = entry?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = plain(&path) else {
            out.skipped.push(path);
            continue;
        };
        let rel = if under.is_empty() {
            rel
        } else {
            format!("{under}/{rel}")
        };
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                if !door.make_dir(&rel, 0o755) {
                    return Err(std::io::Error::other(format!(
                        "cannot make the folder {}",
                        door.shown(&rel).display()
                    )));
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut bytes)?;
                door.write_file(&rel, &bytes)?;
                out.files += 1;
                out.bytes += bytes.len() as u64;
            }
            _ => out.skipped.push(rel),
        }
    }
    Ok(out)
}

/// `a/b/c` for a path made only of plain names (`./` dropped); `None` otherwise.
pub fn plain(path: &str) -> Option<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let odd = path.starts_with('/') || parts.is_empty() || parts.contains(&"..");
    (!odd).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive as a container may make it: names written raw (the builder itself
    /// refuses `..`; an archive from elsewhere need not).
    fn archive(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            let name = &mut header.as_gnu_mut().unwrap().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn only_plain_files_and_folders_come_out_and_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir(&root).unwrap();
        let outside = tempfile::tempdir().unwrap();
        // A link already here, where the archive puts a file: never written through.
        std::os::unix::fs::symlink(outside.path(), root.join("trap")).unwrap();
        let bytes = archive(&[
            ("out", tar::EntryType::Directory, b""),
            ("out/a.txt", tar::EntryType::Regular, b"hello"),
            ("out/link", tar::EntryType::Symlink, b""),
            ("../escape.txt", tar::EntryType::Regular, b"x"),
            ("trap/x.txt", tar::EntryType::Regular, b"x"),
        ]);
        let door = Door::open(&root).unwrap();
        let result = unpack(&door, &bytes, "");
        assert!(result.is_err(), "writing through the link is refused");
        assert_eq!(
            std::fs::read_to_string(root.join("out/a.txt")).unwrap(),
            "hello"
        );
        assert!(!root.join("out/link").exists());
        assert!(!dir.path().join("escape.txt").exists());
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());

        let fine = archive(&[
            ("out/b.txt", tar::EntryType::Regular, b"hi"),
            ("out/link", tar::EntryType::Symlink, b""),
        ]);
        let result = unpack(&door, &fine, "sub").unwrap();
        assert_eq!(result.files, 1);
        assert_eq!(result.skipped, ["sub/out/link"]);
        assert_eq!(
            std::fs::read_to_string(root.join("sub/out/b.txt")).unwrap(),
            "hi"
        );
    }
}
