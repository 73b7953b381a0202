//! Dev Container Features from a real registry, end to end: Features published with the
//! reference CLI to the local registry (`scripts/registry.sh`), installed by the real binary
//! on the real engine, in the reference CLI's order; the official Features' own source,
//! published under their real names and reached through the mirror setting; the backend
//! answers on its port. Port offsets 45100–45190.

use std::path::Path;

use crate::engine::{Repo, assert_serves_feed};
use crate::features_fetch::support::{
    Registry, as_ghcr, publish_with_reference_cli, registry, run_id,
};

/// A Feature that appends its name (and its `label` option) to /usr/local/share/order.txt.
fn order_feature(src: &Path, id: &str, extra: &str) {
    let dir = src.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("devcontainer-feature.json"),
        format!(
            r#"{{ "id": "{id}", "version": "1.0.0", "name": "{id}",
  "options": {{ "label": {{ "type": "string", "default": "plain" }} }}{extra} }}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("install.sh"),
        format!("#!/bin/sh\nset -e\necho \"{id} $LABEL\" >> /usr/local/share/order.txt\n"),
    )
    .unwrap();
}

/// Removes what the reference CLI made for the repository (its image), beside what
/// `Repo` removes.
struct ReferenceImages<'a>(&'a Repo);

impl Drop for ReferenceImages<'_> {
    fn drop(&mut self) {
        let images = self.0.engine_cmd(&[
            "images",
            "--format",
            "{{.Repository}}",
            "--filter",
            "reference=vsc-*",
        ]);
        let name = self
            .0
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase();
        for image in images.lines().filter(|i| i.contains(&name)) {
            self.0.engine_cmd(&["rmi", "-f", image]);
        }
    }
}

fn reference_cli() -> Option<std::path::PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    let cache = std::env::var("DEVBOOT_CACHE").map_or_else(
        |_| Path::new(&home).join(".cache/devboot"),
        std::path::PathBuf::from,
    );
    let cli = cache.join("devcontainers-cli/node_modules/.bin/devcontainer");
    cli.exists().then_some(cli)
}

/// The reference CLI's `devcontainer up` of the repository (`cli` runs it), which must work.
fn reference_up(mut cli: std::process::Command, repo: &Repo) {
    let out = cli
        .args(["up", "--workspace-folder"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn publish_order_features(reg: &Registry) -> String {
    let ns = format!("{}/order", run_id());
    let src = tempfile::tempdir().unwrap();
    let at = |id: &str| format!("localhost:{}/{ns}/{id}", reg.port);
    order_feature(src.path(), "base-a", "");
    order_feature(
        src.path(),
        "needs-a",
        &format!(
            r#", "dependsOn": {{ "{}:1": {{ "label": "from-dep" }} }}"#,
            at("base-a")
        ),
    );
    order_feature(
        src.path(),
        "after-c",
        &format!(r#", "installsAfter": ["{}"]"#, at("needs-a")),
    );
    order_feature(src.path(), "first-z", "");
    publish_with_reference_cli(src.path(), &ns);
    ns
}

#[test]
fn registry_features_install_in_the_reference_order_with_their_dependencies() {
    let Some(reg) = registry() else { return };
    let ns = publish_order_features(reg);
    let repo = Repo::example();
    let _reference = ReferenceImages(&repo);
    let at = |id: &str| format!("localhost:{}/{ns}/{id}", reg.port);
    repo.write(
        ".devcontainer/devcontainer.json",
        &format!(
            r#"{{
  "name": "features-order",
  "image": "devboot/python-flask:bookworm",
  "features": {{
    "{after}:1": {{}},
    "{needs}:1": {{ "label": "mine" }},
    "{first}:1": {{}}
  }},
  "overrideFeatureInstallOrder": ["{first}"],
  "forwardPorts": [4567],
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}}
"#,
            after = at("after-c"),
            needs = at("needs-a"),
            first = at("first-z"),
        ),
    );
    let offset = 45100;
    repo.devboot(["up", "--port-offset", &offset.to_string(), "--lockfile"])
        .status(0)
        .stderr_has("installing 4 Feature(s)");
    assert_serves_feed(4567 + offset);
    // The override first; the dependency, with the options its dependent gave it, before
    // it; the soft dependency after.
    assert_eq!(
        repo.sh("cat /usr/local/share/order.txt"),
        "first-z plain\nbase-a from-dep\nneeds-a mine\nafter-c plain\n"
    );
    // The lockfile, as the reference CLI writes it: the config's Features, pinned.
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path().join(".devcontainer/devcontainer-lock.json")).unwrap(),
    )
    .unwrap();
    let entry = &lock["features"][format!("{}:1", at("needs-a"))];
    assert_eq!(entry["version"], "1.0.0", "{lock}");
    assert!(
        entry["resolved"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}@sha256:", at("needs-a"))),
        "{lock}"
    );
    // --frozen-lockfile agrees with it (a rebuild resolves again).
    repo.devboot([
        "up",
        "--port-offset",
        &offset.to_string(),
        "--rebuild",
        "--frozen-lockfile",
    ])
    .status(0);

    // The reference CLI finds devboot's container and uses it as it is.
    let Some(cli) = reference_cli() else {
        eprintln!("skipped the reference CLI part: run scripts/registry.sh --cli");
        return;
    };
    let id = repo.container();
    let label_of = |id: &str| -> serde_json::Value {
        let text = repo.engine_cmd(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"devcontainer.metadata\"}}",
            id,
        ]);
        serde_json::from_str(text.trim()).unwrap()
    };
    let ours = label_of(&id);
    let out = std::process::Command::new(cli)
        .args(["up", "--workspace-folder"])
        .arg(repo.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(last).unwrap_or_default();
    assert_eq!(
        report["containerId"].as_str(),
        Some(id.as_str()),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And the other way round: a container the reference CLI made with the Features (its
    // own build), which devboot drives (the hooks by exec), with the same install order.
    repo.engine_cmd(&["rm", "-f", "-v", &id]);
    reference_up(std::process::Command::new(reference_cli().unwrap()), &repo);
    let theirs = repo.container();
    // The same label content: the Features in the same order, then the config's own.
    assert_eq!(label_of(&theirs), ours);
    assert_eq!(
        repo.sh("cat /usr/local/share/order.txt"),
        "first-z plain\nbase-a from-dep\nneeds-a mine\nafter-c plain\n"
    );
    let run = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    run.status(0).stderr_has("made by another tool");
    assert_eq!(repo.container(), theirs);
    // Its ports are not published by the reference CLI: the backend answers inside.
    assert!(
        repo.sh("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:4567/api/activities/home').status)\"")
            .contains("200")
    );
}

/// Publishes the official Features' source (`../shared/corpus/devcontainers-features`) under
/// their real names, from a copy (the shared folder stays read-only).
fn publish_official(ids: &[&str]) -> bool {
    let corpus = crate::harness::shared_dir().join("corpus/devcontainers-features/src");
    if !corpus.exists() {
        eprintln!("skipped: {} is not here", corpus.display());
        return false;
    }
    let src = tempfile::tempdir().unwrap();
    for id in ids {
        copy_tree(&corpus.join(id), &src.path().join(id));
    }
    publish_with_reference_cli(src.path(), "devcontainers/features");
    true
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn four_official_features_install_offline_through_the_mirror_and_the_backend_answers() {
    let Some(reg) = registry() else { return };
    // oryx is not installed: python names it in installsAfter, which the reference CLI
    // resolves on the registry even when the config does not use it.
    if !publish_official(&["common-utils", "git", "sshd", "python", "oryx"]) {
        return;
    }
    let repo = Repo::example();
    // A wild config, unchanged: ghcr.io names, one legacy short id.
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "name": "features-official",
  "image": "devboot/python-flask:bookworm",
  "features": {
    "ghcr.io/devcontainers/features/common-utils:2": { "installZsh": false, "installOhMyZsh": false, "installOhMyZshConfig": false, "upgradePackages": false, "username": "none" },
    "ghcr.io/devcontainers/features/git:1": { "version": "os-provided", "ppa": false },
    "sshd": {},
    "ghcr.io/devcontainers/features/python:1": { "version": "os-provided", "installTools": false }
  },
  "forwardPorts": [4567],
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}
"#,
    );
    let mirror = format!("ghcr.io={}", reg.addr);
    let offset = 45110;
    let run = repo.devboot_env(
        ["up", "--port-offset", &offset.to_string()],
        &[("DEVBOOT_REGISTRY_MIRROR", &mirror)],
    );
    run.status(0).stderr_has("`sshd` is a deprecated short id");
    crate::features::built_or_reused(&run, 4);
    assert_serves_feed(4567 + offset);
    let tools = repo.sh("git --version; python3 --version; jq --version; pgrep -x sshd >/dev/null && echo sshd-running");
    assert!(tools.contains("git version 2."), "{tools}");
    assert!(tools.contains("Python 3."), "{tools}");
    assert!(tools.contains("jq-"), "{tools}");
    assert!(tools.contains("sshd-running"), "{tools}");

    // Warm: no registry request, no build.
    let before = std::fs::read_to_string(&reg.log)
        .unwrap_or_default()
        .lines()
        .count();
    let run = repo.devboot_env(
        ["up", "--port-offset", &offset.to_string()],
        &[("DEVBOOT_REGISTRY_MIRROR", &mirror)],
    );
    run.status(0);
    assert!(!run.stderr.contains("installing"), "{}", run.stderr);
    let after = std::fs::read_to_string(&reg.log)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(before, after, "a warm up asked the registry");

    // The reference CLI on the same file, with ghcr.io played by the same registry: the
    // same packages and tools, the same environment, the same label (so the same Features
    // in the same order, with the same options).
    let Some(cli) = reference_cli() else {
        eprintln!("skipped the reference CLI part: run scripts/registry.sh --cli");
        return;
    };
    let _reference = ReferenceImages(&repo);
    let ours = Installed::of(&repo);
    repo.engine_cmd(&["rm", "-f", "-v", &repo.container()]);
    reference_up(as_ghcr(&cli), &repo);
    let theirs = Installed::of(&repo);
    assert_eq!(theirs.label, ours.label);
    assert_eq!(theirs.packages, ours.packages);
    assert_eq!(theirs.tools, ours.tools);
    assert_eq!(theirs.env, ours.env);
}

/// What a workspace's Features installed, to compare two tools' results.
struct Installed {
    /// The container's `devcontainer.metadata` label.
    label: serde_json::Value,
    /// `dpkg-query`'s list of packages and versions.
    packages: String,
    /// The tools' versions, and whether sshd runs.
    tools: String,
    /// The environment a `docker exec` sees, without what differs per container.
    env: Vec<String>,
}

impl Installed {
    fn of(repo: &Repo) -> Installed {
        let id = repo.container();
        let label = repo.engine_cmd(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"devcontainer.metadata\"}}",
            &id,
        ]);
        let env = repo.sh("env");
        let mut env: Vec<String> = env
            .lines()
            .filter(|l| !l.starts_with("HOSTNAME=") && !l.starts_with("DEVBOOT_"))
            .map(str::to_string)
            .collect();
        env.sort();
        Installed {
            label: serde_json::from_str(label.trim()).unwrap(),
            packages: repo.sh("dpkg-query -W -f '${Package} ${Version}\\n'"),
            tools: repo.sh(
                "git --version; python3 --version; jq --version; pgrep -x sshd >/dev/null && echo sshd-running",
            ),
            env,
        }
    }
}

#[test]
fn an_official_feature_that_downloads_from_the_internet_fails_clearly() {
    let Some(reg) = registry() else { return };
    if !publish_official(&["node"]) {
        return;
    }
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "image": "devboot/python-flask:bookworm",
  "features": { "ghcr.io/devcontainers/features/node:2": { "version": "lts" } } }
"#,
    );
    let mirror = format!("ghcr.io={}", reg.addr);
    let run = repo.devboot_env(
        ["up", "--port-offset", "45120"],
        &[("DEVBOOT_REGISTRY_MIRROR", &mirror)],
    );
    run.status(1)
        .stderr_has("Feature `ghcr.io/devcontainers/features/node:2` failed to install (options: VERSION=\"lts\"")
        .stderr_has("last lines of the Feature's install")
        .stderr_has("the whole build output is in ");
    assert!(repo.containers().is_empty());
    assert!(repo.images().is_empty(), "{:?}", repo.images());
}
