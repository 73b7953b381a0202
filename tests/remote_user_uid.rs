//! `updateRemoteUserUID`: devboot run by a user who is not root (uid 4321, by `setpriv`,
//! with the engine socket's group) on a config whose `remoteUser` has UID 1000 in the
//! image: the hook's file in the bind-mounted workspace belongs to 4321 on the host, and
//! `id` inside says 4321; with `updateRemoteUserUID: false` it stays 1000 (and cannot
//! write the workspace). No ports. The same when only the image's `USER` names the user;
//! an image that runs as root is run as it is; and for a Compose service (its image built
//! by Compose, then given the ids).

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use crate::engine::Repo;
use crate::harness::devboot_bin;

const HOST_UID: u32 = 4321;

const DOCKERFILE: &str =
    "FROM devboot/python-flask:bookworm\nRUN useradd -m -u 1000 -s /bin/bash dev\n";

fn config(update: Option<bool>) -> String {
    let update = update
        .map(|u| format!(r#""updateRemoteUserUID": {u},"#))
        .unwrap_or_default();
    format!(
        r#"{{ "build": {{ "dockerfile": "Dockerfile" }}, "remoteUser": "dev", {update}
  "waitFor": "postCreateCommand",
  "postCreateCommand": "touch made-by-hook && id -u > /tmp/uid && touch /home/dev/home-is-mine" }}"#
    )
}

/// `devboot ARGS` in `repo` as `HOST_UID` (everything of the repo made theirs first).
fn devboot_as_user(repo: &Repo, args: &[&str]) -> (i32, String) {
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{HOST_UID}:{HOST_UID}"))
        .arg(repo.base())
        .status()
        .unwrap();
    assert!(chown.success());
    let socket_gid = std::fs::metadata("/var/run/docker.sock")
        .map(|m| m.gid())
        .expect("the engine's socket");
    let base = repo.command(args, &[("HOME", &repo.base().display().to_string())]);
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={HOST_UID}"),
        &format!("--regid={HOST_UID}"),
        &format!("--groups={socket_gid}"),
    ])
    .arg(devboot_bin())
    .args(base.get_args());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("setpriv (util-linux) runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A cold `up` as the user: `dev` is given the user's ids and the hook's file in the
/// workspace is theirs.
fn up_gives_dev_the_users_ids(repo: &Repo) {
    let (code, stderr) = devboot_as_user(repo, &["up"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("giving dev this machine's UID 4321"),
        "{stderr}"
    );
    let made = std::fs::metadata(repo.path().join("made-by-hook")).unwrap();
    assert_eq!((made.uid(), made.gid()), (HOST_UID, HOST_UID));
}

/// A warm `up` as the user: the same container, nothing built.
fn warm_up_builds_nothing(repo: &Repo) {
    let id = repo.container();
    let (code, stderr) = devboot_as_user(repo, &["up"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("UID"), "{stderr}");
    assert_eq!(repo.container(), id);
}

#[test]
fn the_remote_user_gets_the_host_users_ids_so_workspace_files_stay_theirs() {
    let repo = Repo::example();
    repo.write(".devcontainer/Dockerfile", DOCKERFILE);
    repo.write(".devcontainer/devcontainer.json", &config(None));
    up_gives_dev_the_users_ids(&repo);
    assert_eq!(repo.sh("cat /tmp/uid"), "4321\n");
    // The home folder came along.
    assert_eq!(repo.sh("stat -c %u /home/dev/home-is-mine"), "4321\n");
    warm_up_builds_nothing(&repo);
}

#[test]
fn a_user_only_the_images_user_names_gets_the_host_users_ids_too() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/Dockerfile",
        &format!("{DOCKERFILE}USER 1000\n"),
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "build": { "dockerfile": "Dockerfile" }, "waitFor": "postCreateCommand",
  "postCreateCommand": "touch made-by-hook && id -un > /tmp/user && id -u > /tmp/uid" }"#,
    );
    up_gives_dev_the_users_ids(&repo);
    assert_eq!(repo.sh("cat /tmp/user /tmp/uid"), "dev\n4321\n");
}

#[test]
fn an_image_that_runs_as_root_is_used_as_it_is_for_a_user_who_is_not_root() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "image": "devboot/python-flask:bookworm", "waitFor": "postCreateCommand",
  "postCreateCommand": "id -u > /tmp/uid" }"#,
    );
    let (code, stderr) = devboot_as_user(&repo, &["up"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("UID"), "nothing built: {stderr}");
    assert_eq!(repo.sh("cat /tmp/uid"), "0\n");
}

#[test]
fn a_compose_services_user_gets_the_host_users_ids_too() {
    if !crate::compose::has_compose("a_compose_services_user_gets_the_host_users_ids_too") {
        return;
    }
    let repo = Repo::example();
    repo.write(".devcontainer/Dockerfile", DOCKERFILE);
    repo.write(
        ".devcontainer/docker-compose.yml",
        "services:\n  app:\n    build: { context: ., dockerfile: Dockerfile }\n    \
         volumes: [\"..:/workspaces/app\"]\n    command: sleep infinity\n",
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "dockerComposeFile": "docker-compose.yml", "service": "app",
  "workspaceFolder": "/workspaces/app", "remoteUser": "dev", "waitFor": "postCreateCommand",
  "postCreateCommand": "touch made-by-hook && id -u > /tmp/uid" }"#,
    );
    up_gives_dev_the_users_ids(&repo);
    assert_eq!(repo.sh("cat /tmp/uid"), "4321\n");
    warm_up_builds_nothing(&repo);
    let (code, stderr) = devboot_as_user(&repo, &["down", "--remove"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn update_remote_user_uid_false_keeps_the_images_ids_and_the_workspace_is_not_theirs() {
    let repo = Repo::example();
    repo.write(".devcontainer/Dockerfile", DOCKERFILE);
    repo.write(
        ".devcontainer/devcontainer.json",
        &config(Some(false)).replace(
            "touch made-by-hook && id -u > /tmp/uid && touch /home/dev/home-is-mine",
            "id -u > /tmp/uid; touch made-by-hook 2> /tmp/touch.err; true",
        ),
    );
    let (code, stderr) = devboot_as_user(&repo, &["up"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(repo.sh("cat /tmp/uid"), "1000\n");
    // What the option is for: UID 1000 may not write the host user's workspace.
    assert!(repo.sh("cat /tmp/touch.err").contains("Permission denied"));
    assert!(!repo.path().join("made-by-hook").exists());
}
