//! Dev Container Features end to end: the real binary builds the derived image on the real
//! engine, the container gets what the Features add, and the backend answers on its port.
//! Local Features come from `tests/fixtures/features`; registry ones are in
//! `features_registry.rs`. Port offsets 45000–45490.

use std::path::Path;

use crate::engine::{Repo, assert_serves_feed};

/// The test Feature's folder.
fn greeter_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features/greeter")
}

/// Copies the test Feature to `.devcontainer/<name>` in the repository.
fn add_greeter(repo: &Repo, name: &str) {
    let to = repo.path().join(".devcontainer").join(name);
    std::fs::create_dir_all(&to).unwrap();
    for file in ["devcontainer-feature.json", "install.sh"] {
        std::fs::copy(greeter_fixture().join(file), to.join(file)).unwrap();
    }
}

fn config(options: &str) -> String {
    format!(
        r#"{{
  "name": "features-local",
  "image": "devboot/python-flask:bookworm",
  "features": {{ "./greeter": {options} }},
  "forwardPorts": [4567],
  "containerEnv": {{ "FRONTEND_URL": "${{portUrl:3000}}", "BACKEND_URL": "${{portUrl:4567}}" }},
  "postCreateCommand": "echo config >> /tmp/hook-order",
  "postStartCommand": "echo config >> /tmp/start-order; cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}}
"#
    )
}

/// Removes the repository's containers and the named volume the test Feature mounts on
/// each (a named volume outlives its container), also when the test fails.
struct Volumes<'a>(&'a Repo);

impl Drop for Volumes<'_> {
    fn drop(&mut self) {
        for id in self.0.containers() {
            let names = self.0.engine_cmd(&[
                "inspect",
                "--format",
                "{{range .Mounts}}{{if eq .Destination \"/var/cache/greeter\"}}{{.Name}}{{end}}{{end}}",
                &id,
            ]);
            self.0.engine_cmd(&["rm", "-f", "-v", &id]);
            if !names.trim().is_empty() {
                self.0.engine_cmd(&["volume", "rm", names.trim()]);
            }
        }
    }
}

#[test]
fn a_local_feature_installs_with_its_options_env_flags_mounts_entrypoint_and_hooks() {
    let repo = Repo::example();
    let _volumes = Volumes(&repo);
    add_greeter(&repo, "greeter");
    repo.write(
        ".devcontainer/devcontainer.json",
        &config(r#"{ "greeting": "howdy" }"#),
    );
    let offset = 45000;
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0).stderr_has("installing 1 Feature(s)");
    assert_serves_feed(4567 + offset);

    // The install ran with its options and the users, as the reference CLI gives them.
    assert_eq!(
        repo.sh("greet").trim(),
        "howdy from greeter (container user root, remote user root, home /root)"
    );
    // Its containerEnv is in the image (PATH extended, not replaced).
    assert_eq!(repo.sh("echo $GREETER_HOME").trim(), "/opt/greeter");
    assert!(repo.sh("echo $PATH").contains("/usr/bin"));
    // Its hooks ran before the config's own; its entrypoint at the start.
    assert_eq!(repo.sh("cat /tmp/hook-order"), "feature\nconfig\n");
    assert_eq!(repo.sh("cat /tmp/start-order"), "feature\nconfig\n");
    assert_eq!(repo.count("/tmp/greeter-entrypoint"), 1);
    // Its flags and mounts are on the container, and the label the reference CLI writes.
    let id = repo.container();
    let inspect = repo.engine_cmd(&[
        "inspect",
        "--format",
        "{{json .HostConfig.CapAdd}} {{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}",
        &id,
    ]);
    assert!(inspect.contains("SYS_PTRACE"), "{inspect}");
    assert!(
        inspect.contains(":/var/cache/greeter") && inspect.contains("devboot-test-greeter-"),
        "{inspect}"
    );
    let label = repo.engine_cmd(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"devcontainer.metadata\"}}",
        &id,
    ]);
    let entries: serde_json::Value = serde_json::from_str(label.trim()).unwrap();
    assert_eq!(entries[0]["id"], "./greeter", "{entries}");
    assert_eq!(entries[0]["entrypoint"], "/opt/greeter/bin/greeter-init");
    // As written: the builder did not substitute `${devcontainerId}` in the label.
    assert_eq!(
        entries[0]["mounts"][0]["source"],
        "devboot-test-greeter-${devcontainerId}"
    );
    assert_eq!(
        entries[1]["postCreateCommand"], "echo config >> /tmp/hook-order",
        "{entries}"
    );

    // Warm: nothing built, nothing run again.
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0);
    assert!(!run.stderr.contains("installing"), "{}", run.stderr);
    assert_eq!(repo.count("/tmp/hook-order"), 2);

    // A restart: the entrypoint and the start hooks again, in order.
    repo.engine_cmd(&["stop", "-t", "1", &id]);
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);
    assert_eq!(repo.count("/tmp/greeter-entrypoint"), 2);
    assert_eq!(
        repo.sh("cat /tmp/start-order"),
        "feature\nconfig\nfeature\nconfig\n"
    );
    assert_eq!(repo.count("/tmp/hook-order"), 2);

    // A changed option: a new image and container, and devboot says which Feature.
    repo.write(
        ".devcontainer/devcontainer.json",
        &config(r#"{ "greeting": "hi" }"#),
    );
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0)
        .stderr_has(r#"feature ./greeter {"greeting":"howdy"} removed"#)
        .stderr_has("installing 1 Feature(s)");
    assert!(repo.sh("greet").starts_with("hi from greeter"));
    assert_serves_feed(4567 + offset);
}

#[test]
fn a_failing_feature_names_itself_its_options_and_its_output_and_leaves_nothing() {
    let repo = Repo::example();
    add_greeter(&repo, "greeter");
    repo.write(
        ".devcontainer/devcontainer.json",
        &config(r#"{ "fail": true }"#),
    );
    let run = repo.devboot(["up", "--port-offset", "45010"]);
    run.status(1)
        .stderr_has(
            r#"Feature `./greeter` failed to install (options: GREETING="hello", FAIL="true")"#,
        )
        .stderr_has("greeter: asked to fail")
        .stderr_has("the whole build output is in ");
    assert!(repo.containers().is_empty(), "no container is left");
    assert!(
        repo.images().is_empty(),
        "nothing is tagged: {:?}",
        repo.images()
    );
    // Nor the container the Features were installed in: gone before `up` ended.
    assert_eq!(
        build_container(&repo, &run.stderr),
        "",
        "the install's container is left"
    );
}

/// The id of the container `up` installed the Features in (named after the image the note
/// names), if it is still there.
fn build_container(repo: &Repo, up_stderr: &str) -> String {
    let tag = up_stderr
        .split("installing 1 Feature(s) into ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("the note names the image");
    let filter = format!("name=^{tag}-build$");
    repo.engine_cmd(&["ps", "-a", "-q", "--filter", &filter])
        .trim()
        .to_string()
}

#[test]
fn a_feature_extends_the_image_a_dockerfile_builds() {
    let repo = Repo::example();
    let _volumes = Volumes(&repo);
    add_greeter(&repo, "greeter");
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "name": "features-build",
  "build": { "dockerfile": "../backend-flask/Dockerfile", "context": "../backend-flask" },
  "overrideCommand": false,
  "features": { "./greeter": {} },
  "forwardPorts": [4567]
}
"#,
    );
    let offset = 45020;
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0).stderr_has("installing 1 Feature(s)");
    assert_serves_feed(4567 + offset);
    assert!(repo.sh("greet").starts_with("hello from greeter"));
    // The container the Feature was installed in goes on its own after `up` (which does
    // not wait for it): within a minute, however loaded the machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !build_container(&repo, &run.stderr).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the install's container is still there a minute after up"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn an_id_that_names_nothing_stops_up_at_its_key_and_a_short_id_is_a_warning() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "image": "devboot/python-flask:bookworm",
  "features": {
    "git": {},
    "homebrew": {}
  }
}
"#,
    );
    // The config loads (as the reference CLI reads it), with both said at their keys.
    let run = repo.devboot(["validate"]);
    run.status(0)
        .stderr_has("devcontainer.json:4:5")
        .stderr_has("`git` is a deprecated short id")
        .stderr_has("devcontainer.json:5:5")
        .stderr_has("homebrew");
    // `up` stops on the one that names nothing, at its key: nothing is fetched, built or run.
    let run = repo.devboot(["up", "--port-offset", "45030"]);
    run.status(2)
        .stderr_has("error: feature `homebrew`")
        .stderr_has("devcontainer.json:5:5");
    assert!(repo.containers().is_empty());
}

#[test]
fn a_registry_that_does_not_answer_fails_up_naming_it_and_the_mirror_setting() {
    let repo = Repo::example();
    // Port 1 on loopback: nothing listens there.
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "image": "devboot/python-flask:bookworm",
  "features": { "localhost:1/devcontainers/features/git:1": {} } }
"#,
    );
    let run = repo.devboot(["up", "--port-offset", "45040"]);
    run.status(1)
        .stderr_has("feature `localhost:1/devcontainers/features/git:1`: cannot reach localhost:1")
        .stderr_has("DEVBOOT_REGISTRY_MIRROR");
    assert!(repo.containers().is_empty());
    assert!(repo.images().is_empty());
}

#[test]
fn a_feature_extends_a_compose_services_image_that_compose_builds() {
    if !crate::up::compose_cli_here() {
        eprintln!("SKIPPED: no Compose CLI (apt-get install -y docker-compose)");
        return;
    }
    let repo = Repo::example();
    let _volumes = Volumes(&repo);
    add_greeter(&repo, "greeter");
    repo.write(
        ".devcontainer/docker-compose.yml",
        r#"version: "3.8"
services:
  app:
    build: ../backend-flask
    init: true
    volumes:
      - ..:/workspaces/cruddur:cached
    command: sleep infinity
"#,
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "name": "features-compose",
  "dockerComposeFile": "docker-compose.yml",
  "service": "app",
  "workspaceFolder": "/workspaces/cruddur",
  "features": { "./greeter": { "greeting": "compose says hi" } },
  "forwardPorts": [4567],
  "postCreateCommand": "echo config >> /tmp/hook-order",
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#,
    );
    let offset = 45050;
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0)
        .stderr_has("compose | ")
        .stderr_has("installing 1 Feature(s)");
    assert_serves_feed(4567 + offset);
    assert!(repo.sh("greet").starts_with("compose says hi from greeter"));
    assert_eq!(repo.sh("cat /tmp/hook-order"), "feature\nconfig\n");
    let id = repo.container();
    let caps = repo.engine_cmd(&["inspect", "--format", "{{json .HostConfig.CapAdd}}", &id]);
    assert!(caps.contains("SYS_PTRACE"), "{caps}");
    // Warm: the same container, nothing built or run again.
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0);
    assert!(!run.stderr.contains("installing"), "{}", run.stderr);
    assert_eq!(repo.container(), id);
    assert_eq!(repo.count("/tmp/hook-order"), 2);
    repo.devboot(["down", "--remove"]).status(0);
    // The service's own image, which Compose built for the Features to go on.
    let project = repo.compose_project().replace('_', "-");
    let images = repo.engine_cmd(&[
        "images",
        "--format",
        "{{.Repository}}",
        "--filter",
        "reference=devboot-compose-*",
    ]);
    for image in images.lines().filter(|i| i.contains(&project)) {
        repo.engine_cmd(&["rmi", image]);
    }
}

#[test]
fn a_tarball_feature_installs_from_its_url() {
    use crate::features_fetch::support::{Resp, Server};
    // The test Feature as `devcontainer-feature-greeter.tgz`, served on loopback (plain
    // HTTP is allowed there only).
    let tgz = std::process::Command::new("tar")
        .args(["czf", "-", "-C"])
        .arg(greeter_fixture())
        .args(["devcontainer-feature.json", "install.sh"])
        .output()
        .unwrap()
        .stdout;
    let server = Server::start(move |_, _| Resp::new(200, tgz.clone()));
    let url = format!(
        "http://127.0.0.1:{}/devcontainer-feature-greeter.tgz",
        server.port
    );
    let repo = Repo::example();
    let _volumes = Volumes(&repo);
    repo.write(
        ".devcontainer/devcontainer.json",
        &format!(
            r#"{{ "name": "features-tarball", "image": "devboot/python-flask:bookworm",
  "features": {{ "{url}": {{ "greeting": "from a tarball" }} }},
  "forwardPorts": [4567],
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &" }}
"#
        ),
    );
    let offset = 45060;
    repo.devboot(["up", "--port-offset", &offset.to_string(), "--lockfile"])
        .status(0)
        .stderr_has("installing 1 Feature(s)");
    assert_serves_feed(4567 + offset);
    assert!(repo.sh("greet").starts_with("from a tarball from greeter"));
    // The lockfile pins the tarball by its sha256, as the reference CLI does.
    let lock =
        std::fs::read_to_string(repo.path().join(".devcontainer/devcontainer-lock.json")).unwrap();
    assert!(lock.contains(&format!("\"resolved\": \"{url}\"")), "{lock}");
    assert!(lock.contains("\"integrity\": \"sha256:"), "{lock}");
    assert_eq!(server.hits("GET /devcontainer-feature-greeter.tgz"), 1);
}

#[test]
fn a_local_feature_installs_on_podman() {
    if let Some(reason) = crate::up::podman_unavailable() {
        eprintln!("SKIPPED a_local_feature_installs_on_podman: {reason}");
        return;
    }
    let repo = Repo::example_on("podman");
    let _volumes = Volumes(&repo);
    add_greeter(&repo, "greeter");
    repo.write(
        ".devcontainer/devcontainer.json",
        &config(r#"{ "greeting": "howdy" }"#),
    );
    let offset = 45070;
    let up = ["up", "--engine", "podman", "--port-offset", "45070"];
    let run = repo.devboot(up);
    run.status(0);
    built_or_reused(&run, 1);
    assert_serves_feed(4567 + offset);
    assert_eq!(
        repo.sh("greet").trim(),
        "howdy from greeter (container user root, remote user root, home /root)"
    );
    assert_eq!(repo.sh("cat /tmp/hook-order"), "feature\nconfig\n");
    assert_eq!(repo.count("/tmp/greeter-entrypoint"), 1);
    // Warm: the image is found (podman says "image not known" of a missing one).
    let warm = repo.devboot(up);
    warm.status(0);
    assert!(!warm.stderr.contains("installing"), "{}", warm.stderr);
    repo.devboot(["down", "--engine", "podman", "--remove"])
        .status(0);
}

/// `up` installed `n` Features, or (when another run built the same Features on the same
/// image) took the image that has them.
#[track_caller]
pub fn built_or_reused(run: &crate::harness::Run, n: usize) {
    assert!(
        run.stderr.contains(&format!("installing {n} Feature(s)"))
            || run
                .stderr
                .contains("the same Features were installed on this image before"),
        "{}",
        run.stderr
    );
}
