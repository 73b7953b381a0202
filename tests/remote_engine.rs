//! An engine on another machine (`DOCKER_HOST=ssh://…`, `tcp://` to another host, a docker
//! context naming one): a Docker Compose config, whose own mounts name this machine's
//! folders, is refused before anything is made, without contacting it; `doctor` and
//! `status` say where the engine is. (Image configs on a remote engine: `remote_workspace`.)
//! No traffic leaves this machine: the addresses are never dialled by `up`, and the one
//! `doctor` dials is a loopback port nothing listens on.

use sha2::{Digest, Sha256};

use crate::engine::Repo;

const QUIET: &str = r#"{ "image": "devboot/python-flask:bookworm" }"#;

/// A Compose config: its compose file bind-mounts the workspace folder itself.
fn compose(repo: &Repo) {
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "dockerComposeFile": "compose.yml", "service": "app", "workspaceFolder": "/w" }"#,
    );
    repo.write(
        ".devcontainer/compose.yml",
        "services:\n  app:\n    image: devboot/python-flask:bookworm\n    volumes: [\"..:/w\"]\n    command: sleep infinity\n",
    );
}

#[test]
fn a_compose_config_with_a_remote_engine_is_refused_before_making_anything() {
    let repo = Repo::example();
    compose(&repo);
    let up = repo.devboot_env(["up"], &[("DOCKER_HOST", "ssh://root@127.0.0.1:1")]);
    up.status(2)
        .stderr_has("the engine is on another machine (ssh://root@127.0.0.1:1, from DOCKER_HOST)")
        .stderr_has("a Docker Compose config mounts this machine's folders itself")
        .stderr_has("unset DOCKER_HOST");
    assert!(repo.containers().is_empty());
    assert!(repo.compose_containers().is_empty());

    // The same through a docker context (the docker CLI's own files).
    let docker_config = repo.base().join("docker-config");
    let digest = devboot::container::hex(&Sha256::digest(b"build-box"));
    let meta = docker_config.join("contexts/meta").join(digest);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"build-box","Endpoints":{"docker":{"Host":"tcp://192.0.2.10:2376"}}}"#,
    )
    .unwrap();
    let config = docker_config.display().to_string();
    let up = repo.devboot_env(
        ["up"],
        &[("DOCKER_CONFIG", &config), ("DOCKER_CONTEXT", "build-box")],
    );
    up.status(2)
        .stderr_has("tcp://192.0.2.10:2376, from DOCKER_CONTEXT `build-box`");
    assert!(repo.containers().is_empty());
}

#[test]
fn doctor_and_status_say_where_the_engine_is() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", QUIET);
    repo.devboot(["up"])
        .status(0)
        .stdout_has(", engine docker, local\n");
    repo.devboot(["status"])
        .status(0)
        .stdout_has("running (engine: docker, local)");
    assert_eq!(
        repo.devboot(["status", "--json"]).json()["engine"],
        "docker, local"
    );
    let doctor = repo.devboot(["doctor"]);
    doctor.status(0).stdout_has(", local");
    let far = repo.devboot_env(
        ["doctor", "--engine-timeout", "5"],
        &[("DOCKER_HOST", "tcp://127.0.0.2:1")],
    );
    // 127.0.0.2 is loopback: local, and nothing answers there.
    far.status(1).stdout_has("✘ engine answers");
}
