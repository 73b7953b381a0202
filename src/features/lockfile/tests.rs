use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::features::metadata::Metadata;
use crate::features::{Fetched, reference};

const CONFIG: &str = "/ws/.devcontainer.json";

fn planned(n: usize, id: &str, digest: &str, meta: Value, added_by: Option<&str>) -> Planned {
    let source = reference::classify(id, Path::new(CONFIG)).unwrap().source;
    let mut meta = meta;
    meta["id"] = json!(source.id());
    Planned {
        n,
        user_id: id.into(),
        source,
        value: json!({}),
        fetched: Fetched {
            folder: "/cache/x".into(),
            digest: format!("sha256:{digest}"),
            resolved: None,
            metadata: Metadata::parse(&meta.to_string(), id).unwrap(),
        },
        added_by: added_by.map(String::from),
    }
}

const A_TGZ: &str = "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-A.tgz";
const E: &str = "ghcr.io/codspace/dependson/E";

/// The reference CLI's `lockfile-dependson` case: its config, what it installs, and the
/// `expected.devcontainer-lock.json` it checks the written file against.
fn cli_dependson_plan() -> Vec<Planned> {
    let a = "932027ef71da186210e6ceb3294c3459caaf6b548d2b547d5d26be3fc4b2264a";
    let e2 = "9f36f159c70f8bebff57f341904b030733adb17ef12a5d58d4b3d89b2a6c7d5a";
    let e1 = "90b84127edab28ecb169cd6c6f2101ce0ea1d77589cee01951fec7f879f3a11c";
    let tgz = "f2dd5be682cceedb5497f9a734b5d5e7834424ade75b8cc700927242585ec671";
    let with_e = json!({"version": "2.0.1", "dependsOn": {E: {}}});
    vec![
        planned(
            0,
            E,
            e2,
            json!({"version": "2.0.0"}),
            Some("ghcr.io/codspace/dependson/A:2"),
        ),
        planned(
            1,
            "ghcr.io/codspace/dependson/E:1",
            e1,
            json!({"version": "1.0.0"}),
            None,
        ),
        planned(
            2,
            "./.devcontainer/local",
            "l",
            json!({"version": "0.1.0"}),
            None,
        ),
        planned(3, "ghcr.io/codspace/dependson/A:2", a, with_e.clone(), None),
        planned(4, A_TGZ, tgz, with_e, None),
    ]
}

const CLI_EXPECTED: &str = r#"{
  "features": {
    "ghcr.io/codspace/dependson/A:2": {
      "version": "2.0.1",
      "resolved": "ghcr.io/codspace/dependson/a@sha256:932027ef71da186210e6ceb3294c3459caaf6b548d2b547d5d26be3fc4b2264a",
      "integrity": "sha256:932027ef71da186210e6ceb3294c3459caaf6b548d2b547d5d26be3fc4b2264a",
      "dependsOn": [
        "ghcr.io/codspace/dependson/E"
      ]
    },
    "ghcr.io/codspace/dependson/E": {
      "version": "2.0.0",
      "resolved": "ghcr.io/codspace/dependson/e@sha256:9f36f159c70f8bebff57f341904b030733adb17ef12a5d58d4b3d89b2a6c7d5a",
      "integrity": "sha256:9f36f159c70f8bebff57f341904b030733adb17ef12a5d58d4b3d89b2a6c7d5a"
    },
    "ghcr.io/codspace/dependson/E:1": {
      "version": "1.0.0",
      "resolved": "ghcr.io/codspace/dependson/e@sha256:90b84127edab28ecb169cd6c6f2101ce0ea1d77589cee01951fec7f879f3a11c",
      "integrity": "sha256:90b84127edab28ecb169cd6c6f2101ce0ea1d77589cee01951fec7f879f3a11c"
    },
    "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-A.tgz": {
      "version": "2.0.1",
      "resolved": "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-A.tgz",
      "integrity": "sha256:f2dd5be682cceedb5497f9a734b5d5e7834424ade75b8cc700927242585ec671",
      "dependsOn": [
        "ghcr.io/codspace/dependson/E"
      ]
    }
  }
}
"#;

#[test]
fn the_reference_clis_dependson_lockfile_comes_out_byte_for_byte() {
    let lockfile = Lockfile::from_plan(&cli_dependson_plan(), &[]);
    assert_eq!(lockfile.to_text(), CLI_EXPECTED);
    // And reads back to the same.
    let read = Lockfile::parse(CLI_EXPECTED, Path::new("x"))
        .unwrap()
        .unwrap();
    assert_eq!(read, lockfile);
    assert_eq!(
        read.pinned("ghcr.io/codspace/dependson/E:1"),
        Some("sha256:90b84127edab28ecb169cd6c6f2101ce0ea1d77589cee01951fec7f879f3a11c")
    );
    assert_eq!(read.pinned("./.devcontainer/local"), None);
    assert_eq!(read.pinned("ghcr.io/codspace/dependson/e:1"), None);
}

#[test]
fn command_line_only_ids_are_left_out_and_a_repeated_id_keeps_the_last() {
    let mut plan = cli_dependson_plan();
    let lockfile = Lockfile::from_plan(&plan, &[A_TGZ.to_string()]);
    assert!(lockfile.features.iter().all(|(id, _)| id != A_TGZ));
    assert_eq!(lockfile.features.len(), 3);
    // A dependency under the same id as written, with other options: the later one wins.
    let mut again = plan[0].clone();
    again.n = 5;
    again.fetched.digest = "sha256:later".into();
    plan.push(again);
    let lockfile = Lockfile::from_plan(&plan, &[]);
    assert_eq!(lockfile.features[1].0, E);
    assert_eq!(lockfile.pinned(E), Some("sha256:later"));
    assert_eq!(lockfile.features.len(), 4);
}

#[test]
fn a_feature_without_a_version_has_no_version_key() {
    let plan = [planned(0, "ghcr.io/o/f/x:1", "x", json!({}), None)];
    let text = Lockfile::from_plan(&plan, &[]).to_text();
    assert!(!text.contains("\"version\""), "{text}");
    assert!(
        text.contains("\"resolved\": \"ghcr.io/o/f/x@sha256:x\""),
        "{text}"
    );
    assert_eq!(
        Lockfile::from_plan(&[], &[]).to_text(),
        "{\n  \"features\": {}\n}\n"
    );
}

#[test]
fn the_lockfile_sits_next_to_the_config() {
    assert_eq!(
        path_for(Path::new("/ws/.devcontainer/devcontainer.json")),
        Path::new("/ws/.devcontainer/devcontainer-lock.json")
    );
    assert_eq!(
        path_for(Path::new("/ws/.devcontainer.json")),
        Path::new("/ws/.devcontainer-lock.json")
    );
}

#[test]
fn an_empty_file_is_no_lockfile_and_a_broken_one_is_an_error() {
    let path = Path::new("/ws/devcontainer-lock.json");
    assert_eq!(Lockfile::parse(" \n", path).unwrap(), None);
    for (text, says) in [("{", "is not JSON"), ("{\"x\": 1}", "no `features` object")] {
        match Lockfile::parse(text, path) {
            Err(FeatureError::Lockfile { reason, help, .. }) => {
                assert!(reason.contains(says), "{reason}");
                assert!(help.contains("delete it"), "{help}");
            }
            other => panic!("{other:?}"),
        }
    }
}

fn frozen_reason(config: &Path, lockfile: &Lockfile) -> String {
    match write(config, lockfile, true) {
        Err(FeatureError::Lockfile { reason, help, .. }) => {
            assert!(help.contains("devboot features lock"), "{help}");
            reason
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn written_only_when_the_normalized_json_changes_and_never_when_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("devcontainer.json");
    let lock = dir.path().join("devcontainer-lock.json");
    let lockfile = Lockfile::from_plan(&cli_dependson_plan(), &[]);

    let missing = frozen_reason(&config, &lockfile);
    assert!(missing.contains("does not exist"), "{missing}");
    assert!(!lock.exists());

    assert!(write(&config, &lockfile, false).unwrap());
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), CLI_EXPECTED);
    assert!(!write(&config, &lockfile, false).unwrap());
    assert_eq!(Lockfile::read(&config).unwrap(), Some(lockfile.clone()));

    // Reformatted by hand: the same JSON, so neither written nor a frozen failure.
    let compact = serde_json::to_string(&lockfile.to_json()).unwrap();
    std::fs::write(&lock, &compact).unwrap();
    assert!(!write(&config, &lockfile, true).unwrap());
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), compact);

    // A pin moved: frozen says which entry, then a plain write updates it.
    let mut moved = lockfile.clone();
    moved.features[1].1.integrity = "sha256:new".into();
    moved.features.remove(0);
    let changed = frozen_reason(&config, &moved);
    assert!(
        changed.ends_with(
            "would change, and it must not: removed ghcr.io/codspace/dependson/A:2; \
             changed ghcr.io/codspace/dependson/E"
        ),
        "{changed}"
    );
    assert!(write(&config, &moved, false).unwrap());
    assert_eq!(Lockfile::read(&config).unwrap(), Some(moved));
}

#[test]
fn an_empty_lockfile_asks_for_one_but_fails_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".devcontainer.json");
    std::fs::write(dir.path().join(".devcontainer-lock.json"), "").unwrap();
    assert_eq!(Lockfile::read(&config).unwrap(), None);
    let lockfile = Lockfile::from_plan(&cli_dependson_plan(), &[]);
    let reason = frozen_reason(&config, &lockfile);
    assert!(
        reason.contains(".devcontainer-lock.json would change"),
        "{reason}"
    );
    assert!(write(&config, &lockfile, false).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".devcontainer-lock.json")).unwrap(),
        CLI_EXPECTED
    );
}

#[test]
fn no_config_folder_means_no_lockfile() {
    assert_eq!(
        Lockfile::read(Path::new("/nonexistent/devboot/devcontainer.json")).unwrap(),
        None
    );
}
