//! Whether `up` runs inside the workspace its config describes, and the words that say so:
//! the user's flag, a platform's variable (Codespaces, VS Code Dev Containers, `DevPod`), or
//! the container devboot itself made for this workspace. When none of them holds and no
//! engine is here either, [`no_engine`] says what was looked at and names `--in-place`.
//!
//! None of this needs trust: the answer only chooses to run the hooks here, which is what
//! `--in-place` does, in a place the user already runs devboot in.

use std::io::Read as _;
use std::path::Path;

use crate::error::Error;
use crate::workspace::{EnvMap, Workspace};

use super::super::in_gitpod::runs_inside_its_own_gitpod;

/// What a container devboot made says about itself: the workspace folder and config devboot
/// made it for, written into the read-only half of its state folder
/// (`StateDir::for_workspace`).
const WORKSPACE_FILE: &str = crate::state::WORKSPACE;

/// The platforms devboot knows by a variable set to `true` in their workspaces, with the
/// words of the note.
const PLATFORMS: [(&str, &str); 3] = [
    ("CODESPACES", "inside this Codespace"),
    ("REMOTE_CONTAINERS", "inside VS Code's dev container"),
    ("DEVPOD", "inside this DevPod workspace"),
];

/// Where devboot runs, when it runs inside the workspace its config describes: the words
/// of the one-line note. `flag` is `--in-place` (`Some(true)`) or `--no-in-place`
/// (`Some(false)`). A `.gitpod.yml` inside its own Gitpod workspace keeps its own rule.
pub fn in_place(ws: &Workspace, host_env: &EnvMap, flag: Option<bool>) -> Option<&'static str> {
    match flag {
        Some(true) => return Some("as --in-place asks"),
        Some(false) => return None,
        None if runs_inside_its_own_gitpod(ws, host_env) => return None,
        None => {}
    }
    // First: the container devboot made may well have a platform's variable in its env.
    if made_by_devboot_for(ws) {
        return Some("inside the container devboot made for this workspace");
    }
    platform(host_env)
}

/// The platform whose workspace devboot runs in, from the variables each sets in it.
fn platform(host_env: &EnvMap) -> Option<&'static str> {
    PLATFORMS
        .iter()
        .find(|(name, _)| host_env.get(*name).is_some_and(|v| v == "true"))
        .map(|(_, words)| *words)
}

/// Whether devboot may be running inside a workspace, before its config is read (`logs`
/// then reads it to decide).
pub fn may_be_in_place(host_env: &EnvMap) -> bool {
    platform(host_env).is_some() || Path::new(WORKSPACE_FILE).is_file()
}

/// Whether this is the container devboot made for this very workspace: its state folder
/// names this folder and config.
fn made_by_devboot_for(ws: &Workspace) -> bool {
    read_small(Path::new(WORKSPACE_FILE)).is_some_and(|text| names_this_workspace(&text, ws))
}

/// The text of a small regular file, or `None`.
fn read_small(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(4096).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The workspace file's text for a workspace at `folder` (in the container) read from
/// `config` (relative to the folder). `None` when the config is outside the folder: then
/// nothing inside the container can name it.
pub(in crate::up) fn workspace_file_text(folder: &str, ws: &Workspace) -> Option<String> {
    let config = ws.config_file.strip_prefix(&ws.local_folder).ok()?;
    (!folder.contains("${")).then(|| format!("{folder}\n{}\n", config.display()))
}

/// Whether the workspace file's `text` names `ws` as devboot sees it here.
fn names_this_workspace(text: &str, ws: &Workspace) -> bool {
    let mut lines = text.lines();
    let (Some(folder), Some(config)) = (lines.next(), lines.next()) else {
        return false;
    };
    Path::new(folder) == ws.local_folder && ws.local_folder.join(config) == ws.config_file
}

/// The error of an `up` that found no engine to make a container with, and nothing that
/// says it runs inside the workspace: what it looked at, and `--in-place`.
pub fn no_engine(tried: Vec<String>, host_env: &EnvMap) -> Error {
    let var = |name: &str| host_env.get(name).filter(|v| !v.is_empty());
    let mut looked = vec![format!(
        "{} on PATH ({}): not found",
        tried.join(", "),
        var("PATH").map_or("not set", String::as_str)
    )];
    for name in ["DOCKER_HOST", "CONTAINER_HOST"] {
        looked.push(match var(name) {
            Some(value) => format!("{name}={value}: set, but no engine CLI is here to use it"),
            None => format!("{name}: not set"),
        });
    }
    let names: Vec<&str> = PLATFORMS.iter().map(|(name, _)| *name).collect();
    looked.push(format!(
        "{}: none is `true` (not a Codespace, a VS Code dev container or a DevPod workspace)",
        names.join(", ")
    ));
    looked.push(format!(
        "{WORKSPACE_FILE}: {} (not a container devboot made for this workspace)",
        if Path::new(WORKSPACE_FILE).exists() {
            "names another workspace"
        } else {
            "absent"
        }
    ));
    Error::NoEngine { tried, looked }
}

#[cfg(test)]
mod tests {
    use super::super::tests::workspace_at as workspace;
    use super::*;

    #[test]
    fn the_workspace_file_names_the_folder_and_config_as_seen_inside() {
        let host = workspace(
            "/home/me/app",
            "/home/me/app/.devcontainer/devcontainer.json",
        );
        let text = workspace_file_text("/workspaces/app", &host).unwrap();
        assert_eq!(text, "/workspaces/app\n.devcontainer/devcontainer.json\n");
        let inside = workspace(
            "/workspaces/app",
            "/workspaces/app/.devcontainer/devcontainer.json",
        );
        assert!(names_this_workspace(&text, &inside));
        let other_config = workspace("/workspaces/app", "/workspaces/app/.devcontainer.json");
        assert!(!names_this_workspace(&text, &other_config));
        let other_folder = workspace("/src/app", "/src/app/.devcontainer/devcontainer.json");
        assert!(!names_this_workspace(&text, &other_folder));
        assert!(!names_this_workspace("", &inside));
        // A config outside the folder: nothing inside the container can name it.
        let outside = workspace("/home/me/app", "/etc/devcontainer.json");
        assert_eq!(workspace_file_text("/workspaces/app", &outside), None);
    }

    #[test]
    fn platforms_are_told_by_their_variables() {
        let env = |name: &str, value: &str| -> EnvMap { [(name.into(), value.into())].into() };
        assert_eq!(
            platform(&env("CODESPACES", "true")),
            Some("inside this Codespace")
        );
        assert_eq!(
            platform(&env("REMOTE_CONTAINERS", "true")),
            Some("inside VS Code's dev container")
        );
        assert_eq!(
            platform(&env("DEVPOD", "true")),
            Some("inside this DevPod workspace")
        );
        assert_eq!(platform(&env("CODESPACES", "1")), None);
    }

    #[test]
    fn the_no_engine_error_says_what_was_looked_at() {
        let env: EnvMap = [
            ("PATH".into(), "/nowhere".into()),
            ("DOCKER_HOST".into(), "tcp://10.0.0.1:2375".into()),
        ]
        .into();
        let Error::NoEngine { looked, .. } =
            no_engine(vec!["docker".into(), "podman".into()], &env)
        else {
            panic!("not the no-engine error");
        };
        assert_eq!(looked[0], "docker, podman on PATH (/nowhere): not found");
        assert!(looked[1].starts_with("DOCKER_HOST=tcp://10.0.0.1:2375: set"));
        assert_eq!(looked[2], "CONTAINER_HOST: not set");
        assert!(looked[3].starts_with("CODESPACES, REMOTE_CONTAINERS, DEVPOD: none is `true`"));
        assert!(looked[4].starts_with("/.devboot/workspace: "));
    }
}
