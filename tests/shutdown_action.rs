//! devcontainer `shutdownAction` on `devboot down`: `none` leaves the container running
//! (`--force` stops it, `--remove` removes it); with Compose, `stopContainer` stops only
//! the service's container and the default (`stopCompose`) the whole project. No ports.

use std::process::Command;

use crate::engine::Repo;

fn running(repo: &Repo, id: &str) -> bool {
    repo.engine_cmd(&["inspect", "-f", "{{.State.Running}}", id])
        .trim()
        == "true"
}

#[test]
fn shutdown_action_none_keeps_the_container_running_until_forced() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "image": "devboot/python-flask:bookworm", "shutdownAction": "none" }"#,
    );
    repo.devboot(["up"]).status(0);
    let id = repo.container();
    repo.devboot(["down"])
        .status(0)
        .stdout_has("left running")
        .stdout_has("devboot down --force");
    assert!(running(&repo, &id));
    repo.devboot(["down", "--force"])
        .status(0)
        .stdout_has("stopped container");
    assert!(!running(&repo, &id));
    // Nothing else changed: the next up starts the same container.
    repo.devboot(["up"]).status(0);
    assert_eq!(repo.container(), id);
    repo.devboot(["down", "--remove"]).status(0);
    assert!(repo.containers().is_empty());
}

const COMPOSE: &str = r"services:
  app:
    image: devboot/python-flask:bookworm
    command: sleep infinity
    volumes:
      - ..:/workspaces/app:cached
  db:
    image: devboot/python-flask:bookworm
    command: sleep infinity
";

fn has_compose() -> bool {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    works("docker-compose", &["version"]) || works("docker", &["compose", "version"])
}

fn compose_repo(action: Option<&str>) -> Repo {
    let repo = Repo::example();
    let action = action
        .map(|a| format!(r#""shutdownAction": "{a}","#))
        .unwrap_or_default();
    repo.write(
        ".devcontainer/devcontainer.json",
        &format!(
            r#"{{ "dockerComposeFile": "docker-compose.yml", "service": "app", {action} "workspaceFolder": "/workspaces/app" }}"#
        ),
    );
    repo.write(".devcontainer/docker-compose.yml", COMPOSE);
    repo
}

#[test]
fn with_compose_stop_container_stops_the_service_only_and_the_default_the_project() {
    assert!(
        has_compose(),
        "no Compose CLI: apt-get install -y docker-compose (scripts/test.sh does)"
    );
    let repo = compose_repo(Some("stopContainer"));
    repo.devboot(["up"]).status(0);
    let all = repo.compose_containers();
    assert_eq!(all.len(), 2, "{all:?}");
    let app = repo.container();
    repo.devboot(["down"])
        .status(0)
        .stdout_has("stopped container");
    for id in &all {
        let is_app = app.starts_with(id.as_str()) || id.starts_with(app.as_str());
        assert_eq!(running(&repo, id), !is_app, "{id} (app {app})");
    }

    let repo = compose_repo(None);
    repo.devboot(["up"]).status(0);
    let all = repo.compose_containers();
    assert_eq!(all.len(), 2, "{all:?}");
    repo.devboot(["down"])
        .status(0)
        .stdout_has("stopped Docker Compose project");
    assert!(all.iter().all(|id| !running(&repo, id)));
}
