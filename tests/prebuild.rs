//! Prebuilds on the real engine: a workspace whose `init` takes 20 s is prebuilt (and
//! pushed to the local registry); `up` in a fresh state starts from the prebuild without
//! running `init` (counted in a file `init` appends to in the workspace folder) and
//! serves; after the prebuild image is removed, `up --prebuild-from` pulls it back; a new
//! commit runs `init` again unless `--prebuild-ancestors`; the same on podman. Port offsets
//! 36100–36120.

use std::process::Command;

use crate::engine::{Repo, assert_serves_feed};
use crate::features_fetch::support::{registry, run_id};

const GITPOD: &str = r"image: devboot/python-flask:bookworm
ports:
  - port: 4567
    visibility: public
tasks:
  - name: backend
    init: sleep 20; echo x >> /root/init-count; echo x >> init-runs
    prebuild: echo p >> prebuild-runs
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
";

fn git(repo: &Repo, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args([
            "-c",
            "user.email=test@devboot",
            "-c",
            "user.name=devboot test",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How many times `init` ran for this workspace folder.
fn init_runs(repo: &Repo) -> usize {
    std::fs::read_to_string(repo.path().join("init-runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// Removes the images the test made (the prebuild's local tags and the pushed name).
struct Images<'a>(&'a Repo, Vec<String>);

impl Drop for Images<'_> {
    fn drop(&mut self) {
        let mut names = self.1.clone();
        names.extend(
            self.0
                .engine_cmd(&[
                    "images",
                    "--format",
                    "{{.Repository}}:{{.Tag}}",
                    "--filter",
                    "label=dev.devboot.prebuild.config",
                ])
                .lines()
                .filter(|i| {
                    i.contains(
                        &self
                            .0
                            .path()
                            .file_name()
                            .unwrap()
                            .to_string_lossy()
                            .to_lowercase(),
                    )
                })
                .map(str::to_string),
        );
        for name in names {
            self.0.engine_cmd(&["rmi", "-f", &name]);
        }
    }
}

#[test]
fn a_prebuilt_workspace_starts_without_init_and_a_new_commit_runs_it() {
    let Some(reg) = registry() else { return };
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "one"]);
    let shared = format!("{}/{}/prebuild:one", reg.addr, run_id());
    let mut images = Images(&repo, vec![shared.clone()]);

    let run = repo.devboot(["prebuild", "--json", "--push", &shared]);
    run.status(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let image = report["image"].as_str().unwrap().to_string();
    images.1.push(image.clone());
    assert_eq!(report["pushed"], shared.as_str());
    assert!(report["sizeBytes"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(init_runs(&repo), 1);
    // The task's `prebuild` ran, after its init, in the prebuild only.
    let prebuild_runs = || {
        std::fs::read_to_string(repo.path().join("prebuild-runs"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(prebuild_runs(), 1);
    // The prebuild's container is gone; only the image stays, and it runs a command as
    // its base image does (not devboot's keep-alive entrypoint).
    assert!(repo.containers().is_empty());
    assert_eq!(
        repo.engine_cmd(&["run", "--rm", &image, "echo", "ok"]),
        "ok\n"
    );

    // A fresh state: no container. It starts from the prebuild, init does not run.
    let offset = 36100;
    let up = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    up.status(0).stderr_has("starting from prebuild");
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 1);
    // What init did outside the workspace folder is in the image.
    assert_eq!(repo.sh("cat /root/init-count"), "x\n");
    // A restart of that container does not run it either.
    repo.engine_cmd(&["stop", "-t", "2", &repo.container()]);
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 1);
    repo.devboot(["down", "--remove"]).status(0);

    // On an engine without the prebuild: pulled from the registry.
    repo.engine_cmd(&["rmi", "-f", &image, &shared]);
    let up = repo.devboot([
        "up",
        "--port-offset",
        &offset.to_string(),
        "--prebuild-from",
        &shared,
    ]);
    up.status(0)
        .stderr_has("pulling prebuild")
        .stderr_has("starting from prebuild");
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 1);
    repo.devboot(["down", "--remove"]).status(0);

    // A new commit has no prebuild: init runs.
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "two"]);
    let up = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    up.status(0).stderr_has("no prebuild for this commit");
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 2);
    assert_eq!(
        prebuild_runs(),
        1,
        "a workspace start never runs `prebuild`"
    );
    repo.devboot(["down", "--remove"]).status(0);

    // Unless the prebuild of an ancestor may be used.
    let up = repo.devboot([
        "up",
        "--port-offset",
        &offset.to_string(),
        "--prebuild-ancestors",
    ]);
    up.status(0).stderr_has("starting from prebuild");
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 2);
}

#[test]
fn a_failing_init_makes_no_prebuild_and_leaves_no_container() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: setup\n    init: echo halfway; exit 3\n    command: sleep infinity\n",
    );
    let run = repo.devboot(["prebuild"]);
    run.status(1).stderr_has("setup");
    assert!(repo.containers().is_empty());
    let left = repo.engine_cmd(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("label=devcontainer.local_folder={}", repo.path().display()),
    ]);
    assert!(left.trim().is_empty(), "{left}");
    let images = repo.engine_cmd(&[
        "images",
        "-q",
        "--filter",
        "label=dev.devboot.prebuild.config",
    ]);
    let mine = repo.engine_cmd(&[
        "images",
        "--format",
        "{{.Repository}}",
        "--filter",
        "label=dev.devboot.prebuild.config",
    ]);
    let slug = repo
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase();
    assert!(!mine.contains(&slug), "{images}\n{mine}");
}

#[test]
fn a_prebuild_removed_from_the_engine_is_noticed_and_init_runs() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", &GITPOD.replace("sleep 20; ", ""));
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "one"]);
    let run = repo.devboot(["prebuild", "--json"]);
    run.status(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let image = report["image"].as_str().unwrap().to_string();
    let _images = Images(&repo, vec![image.clone()]);
    repo.engine_cmd(&["rmi", "-f", &image]);
    let offset = 36110;
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0)
        .stderr_has("is gone from the engine; running init as usual");
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 2);
    // Forgotten: the next new container does not try it again.
    repo.devboot(["down", "--remove"]).status(0);
    let up = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    up.status(0);
    assert!(!up.stderr.contains("prebuild"), "{}", up.stderr);
}

#[test]
fn build_makes_tags_and_pushes_the_image_a_dockerfile_config_names() {
    let Some(reg) = registry() else { return };
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "build": { "dockerfile": "../backend-flask/Dockerfile", "context": "../backend-flask" } }"#,
    );
    let shared = format!("{}/{}/built:1", reg.addr, run_id());
    let _images = Images(&repo, vec![shared.clone()]);
    let run = repo.devboot(["build", "--image-name", &shared, "--push", "--json"]);
    run.status(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["outcome"], "success");
    let names = report["imageName"].as_array().unwrap();
    assert!(names.iter().any(|n| n == shared.as_str()), "{report}");
    // No container was made; the image is in the registry: gone here, pulled back, it runs
    // the app's files.
    assert!(repo.containers().is_empty());
    repo.engine_cmd(&["rmi", "-f", &shared]);
    repo.engine_cmd(&["pull", &shared]);
    let listing = repo.engine_cmd(&["run", "--rm", &shared, "sh", "-c", "ls"]);
    assert!(listing.contains("app.py"), "{listing}");
    // The image `up` then makes its container from is that one, not built again.
    let up = repo.devboot(["up", "--no-wait"]);
    up.status(0);
    assert!(!up.stderr.contains("Step 1/"), "{}", up.stderr);
}

#[test]
fn a_prebuild_works_on_podman() {
    if let Some(reason) = crate::up::podman_unavailable() {
        eprintln!("SKIPPED a_prebuild_works_on_podman: {reason}");
        return;
    }
    let repo = Repo::example_on("podman");
    repo.write(".gitpod.yml", &GITPOD.replace("sleep 20; ", ""));
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "one"]);
    let run = repo.devboot(["prebuild", "--engine", "podman", "--json"]);
    run.status(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let _images = Images(&repo, vec![report["image"].as_str().unwrap().to_string()]);
    let offset = 36120;
    repo.devboot([
        "up",
        "--engine",
        "podman",
        "--port-offset",
        &offset.to_string(),
    ])
    .status(0)
    .stderr_has("starting from prebuild");
    assert_serves_feed(4567 + offset);
    assert_eq!(init_runs(&repo), 1);
    repo.devboot(["down", "--engine", "podman", "--remove"])
        .status(0);
}
