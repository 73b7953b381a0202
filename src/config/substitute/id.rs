//! `${devcontainerId}` and the labels it is derived from: the reference CLI labels each
//! container with the absolute workspace folder and config file, finds it again by them, and
//! hashes them into the id (spec `devcontainer-id-variable.md`).
//!
//! The border: the value only. Putting the labels on a container, and finding it by them, is
//! the engine's.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::normalize;

/// The labels the reference CLI puts on a container to find it again, and from which it
/// derives `${devcontainerId}` (`findContainerAndIdLabels`): the absolute workspace folder
/// and the absolute config file.
pub fn id_labels(local_folder: &Path, config_file: &Path) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "devcontainer.local_folder".to_string(),
            normalize(local_folder).to_string_lossy().into_owned(),
        ),
        (
            "devcontainer.config_file".to_string(),
            normalize(config_file).to_string_lossy().into_owned(),
        ),
    ])
}

/// `${devcontainerId}` (spec `devcontainer-id-variable.md`): the SHA-256 of the labels as
/// compact JSON with sorted keys, written in JavaScript's radix 32 (digits `0-9a-v`, not RFC
/// 4648 base32) and left-padded with `0` to 52 digits.
pub fn devcontainer_id(labels: &BTreeMap<String, String>) -> String {
    // A BTreeMap serializes with sorted keys and no whitespace, and serde_json escapes
    // exactly what `JSON.stringify` escapes.
    let json = serde_json::to_string(labels).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    radix32(digest.as_slice())
}

/// The big-endian number `bytes` in radix 32, `0-9a-v`, padded to `ceil(8 * len / 5)` digits
/// (52 for a SHA-256). 32 is a power of two, so each digit is five bits of the number.
fn radix32(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let bits = bytes.len() * 8;
    let bit = |i: usize| -> u8 {
        // Bit `i` counted from the least significant end.
        if i >= bits {
            return 0;
        }
        (bytes[bytes.len() - 1 - i / 8] >> (i % 8)) & 1
    };
    let count = bits.div_ceil(5);
    (0..count)
        .rev()
        .map(|digit| {
            let value = (0..5).fold(0u8, |acc, j| acc | (bit(digit * 5 + j) << j));
            char::from(DIGITS[usize::from(value)])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devcontainer_id_matches_the_reference_test_vector() {
        let labels = BTreeMap::from([
            (
                "devcontainer.local_folder".to_string(),
                "/home/user/project".to_string(),
            ),
            (
                "devcontainer.config_file".to_string(),
                "/home/user/project/.devcontainer/devcontainer.json".to_string(),
            ),
        ]);
        assert_eq!(
            devcontainer_id(&labels),
            "0ns9efvs2cg80a2avksvk7nqv06jrab7n2918j79h49700ucligl"
        );
        let from_paths = id_labels(
            Path::new("/home/user/project/"),
            Path::new("/home/user/project/./.devcontainer/devcontainer.json"),
        );
        assert_eq!(from_paths, labels);
    }

    #[test]
    fn radix32_pads_and_uses_javascript_digits() {
        assert_eq!(radix32(&[0, 0, 0, 0, 0]), "00000000");
        assert_eq!(radix32(&[0, 0, 0, 0, 31]), "0000000v");
        assert_eq!(radix32(&[0, 0, 0, 0, 32]), "00000010");
        assert_eq!(radix32(&[0xff; 5]), "vvvvvvvv");
        assert_eq!(radix32(&[0x80]), "40");
    }
}
