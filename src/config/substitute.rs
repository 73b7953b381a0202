//! PLACEHOLDER until the substitution module lands: only the identity helpers `up` needs.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::workspace::EnvMap;

/// The id labels the reference CLI puts on a container.
pub fn id_labels(local_folder: &Path, config_file: &Path) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "devcontainer.config_file".to_string(),
            config_file.display().to_string(),
        ),
        (
            "devcontainer.local_folder".to_string(),
            local_folder.display().to_string(),
        ),
    ])
}

/// `${devcontainerId}`: sha256 of the sorted-keys JSON of the labels, in JS radix 32, padded.
pub fn devcontainer_id(labels: &BTreeMap<String, String>) -> String {
    let json = serde_json::to_string(labels).expect("labels serialize");
    let mut digits: Vec<u8> = Sha256::digest(json.as_bytes()).to_vec();
    let mut out = Vec::new();
    while digits.iter().any(|d| *d != 0) {
        let mut rem = 0u32;
        for d in &mut digits {
            let cur = (rem << 8) | u32::from(*d);
            *d = u8::try_from(cur / 32).expect("fits");
            rem = cur % 32;
        }
        out.push(b"0123456789abcdefghijklmnopqrstuv"[rem as usize]);
    }
    while out.len() < 52 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// Resolves `${containerEnv:VAR[:default]}` against the container's environment.
pub fn resolve_container_env(value: &str, container_env: &EnvMap) -> String {
    const START: &str = "${containerEnv:";
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find(START) {
        out.push_str(&rest[..i]);
        let after = &rest[i + START.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let mut parts = after[..end].split(':');
        let name = parts.next().unwrap_or_default();
        let default = parts.next().unwrap_or_default();
        out.push_str(container_env.get(name).map_or(default, String::as_str));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devcontainer_id_test_vector() {
        let labels = id_labels(
            Path::new("/home/user/project"),
            Path::new("/home/user/project/.devcontainer/devcontainer.json"),
        );
        assert_eq!(
            devcontainer_id(&labels),
            "0ns9efvs2cg80a2avksvk7nqv06jrab7n2918j79h49700ucligl"
        );
    }
}
