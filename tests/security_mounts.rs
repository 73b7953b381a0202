//! Workspace folders with any name, end to end: a `,` `"` `=`, a line break, non-ASCII text,
//! or a name built to smuggle a mount option (`x,src=/other`). Each one either works (the
//! backend answers over HTTP and `docker inspect` shows exactly the folder as the mount's
//! source) or gets a clear error: never a different mount.

use std::path::{Path, PathBuf};

use crate::engine::Repo;
use crate::up::up_serves;

/// The default mount (`/workspaces/<folder name>`) plus an extra mount of a subfolder.
const DEFAULT_MOUNT: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "mounts": ["type=bind,source=${localWorkspaceFolder}/backend-flask,target=/extra,readonly"],
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#;

/// The workspace mount written in the config, `${localWorkspaceFolder}` inside it.
const WRITTEN_MOUNT: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "workspaceMount": "type=bind,source=${localWorkspaceFolder},target=/code",
  "workspaceFolder": "/code",
  "mounts": ["type=bind,source=${localWorkspaceFolder}/backend-flask,target=/extra,readonly"],
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#;

/// The bind mounts of the repository's container: (source, destination, read-write).
fn binds(repo: &Repo) -> Vec<(String, String, bool)> {
    let out = repo.engine_cmd(&["container", "inspect", &repo.container()]);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    info[0]["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["Type"] == "bind")
        .map(|m| {
            (
                m["Source"].as_str().unwrap().to_string(),
                m["Destination"].as_str().unwrap().to_string(),
                m["RW"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// `up` in a folder at `rel`, with `config`: the backend answers, and the workspace mount
/// (at `target`, or `/workspaces/<name>`) and the extra mount are exactly the folder and
/// its subfolder. Returns the repository for more checks.
fn up_works(rel: &Path, config: &str, target: Option<&str>, offset: u16) -> Repo {
    let repo = Repo::example_at(rel);
    repo.write(".devcontainer/devcontainer.json", config);
    up_serves(&repo, None, offset);
    let name = repo.path().file_name().unwrap().to_str().unwrap();
    let target = target.map_or_else(|| format!("/workspaces/{name}"), String::from);
    let mut binds = binds(&repo);
    // devboot's own state folder: its two halves.
    binds.retain(|(_, dst, _)| !dst.starts_with("/.devboot"));
    binds.sort_by(|a, b| a.1.cmp(&b.1));
    let folder = repo.path().to_str().unwrap().to_string();
    let mut expected = vec![
        (
            format!("{folder}/backend-flask"),
            "/extra".to_string(),
            false,
        ),
        (folder, target, true),
    ];
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(binds, expected);
    repo
}

#[test]
fn a_folder_with_a_comma_is_mounted_as_itself() {
    up_works(Path::new("a,b"), DEFAULT_MOUNT, None, 41200);
}

#[test]
fn a_folder_with_a_double_quote_is_mounted_as_itself() {
    up_works(Path::new("say \"hi\""), DEFAULT_MOUNT, None, 41210);
}

#[test]
fn a_folder_with_an_equals_sign_is_mounted_as_itself() {
    up_works(
        Path::new("k=v,readonly"),
        WRITTEN_MOUNT,
        Some("/code"),
        41220,
    );
}

#[test]
fn a_folder_with_a_line_break_is_mounted_as_itself() {
    up_works(Path::new("two\nlines"), WRITTEN_MOUNT, Some("/code"), 41230);
}

#[test]
fn a_folder_with_a_non_ascii_name_is_mounted_as_itself() {
    up_works(Path::new("café-東京"), DEFAULT_MOUNT, None, 41240);
}

#[test]
fn a_folder_named_to_add_a_source_does_not_change_the_mount() {
    // `<tmp>/x,src=<tmp>/other`: written unquoted, `src=` would mount `<tmp>/other`.
    let base = tempfile::Builder::new()
        .prefix("devboot-e2e-other-")
        .tempdir()
        .unwrap();
    let other = base.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("planted"), "not the workspace").unwrap();
    let rel = PathBuf::from("x,src=").join(other.strip_prefix("/").unwrap());
    for (config, target, offset) in [
        (DEFAULT_MOUNT, None, 41250),
        (WRITTEN_MOUNT, Some("/code"), 41250),
    ] {
        let repo = up_works(&rel, config, target, offset);
        assert!(
            repo.path().to_str().unwrap().contains("/x,src=/"),
            "{}",
            repo.path().display()
        );
        let listing = repo.sh(&format!("ls {}", target.unwrap_or("/workspaces/other")));
        assert!(listing.contains("backend-flask"), "{listing}");
        assert!(!listing.contains("planted"), "{listing}");
    }
}

#[test]
fn a_folder_no_mount_value_can_name_is_a_clear_error() {
    // The engines' CSV reader turns `\r\n` into `\n`: that would be another folder.
    let repo = Repo::example_at(Path::new("dos\r\nline"));
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{"image": "devboot/python-flask:bookworm"}"#,
    );
    let run = repo.devboot(["up", "--no-wait"]);
    run.status(1)
        .stderr_has("error: mounting the workspace folder")
        .stderr_has(r"dos\r\nline")
        .stderr_has("help: its path holds a carriage return before a line feed")
        .stderr_has("rename the folder");
    assert!(repo.containers().is_empty(), "nothing was made");

    // In a mount the config writes, the same is an error at the config's line.
    repo.write(".devcontainer/devcontainer.json", WRITTEN_MOUNT);
    let run = repo.devboot(["up", "--no-wait"]);
    run.status(2)
        .stderr_has("error: workspaceMount: ")
        .stderr_has("devcontainer.json:4:");
    assert!(repo.containers().is_empty(), "nothing was made");
}

#[test]
fn podman_mounts_a_folder_with_a_comma_and_a_quote_as_itself() {
    if let Some(reason) = crate::up::podman_unavailable() {
        eprintln!("SKIPPED podman_mounts_a_folder_with_a_comma_and_a_quote_as_itself: {reason}");
        return;
    }
    let repo = Repo::example_at_on(Path::new("p,\"q\""), "podman");
    repo.write(".devcontainer/devcontainer.json", WRITTEN_MOUNT);
    up_serves(&repo, Some("podman"), 41280);
    let folder = repo.path().to_str().unwrap().to_string();
    let binds = binds(&repo);
    assert!(
        binds.contains(&(folder.clone(), "/code".into(), true)),
        "{binds:?}"
    );
    assert!(
        binds.contains(&(format!("{folder}/backend-flask"), "/extra".into(), false)),
        "{binds:?}"
    );
}
