//! The commands that look at a config's Dev Container Features without building: `features
//! lock`, `features outdated`, the resolved Features in `config`, and `validate --features`.
//! The real binary against the local registry (`scripts/registry.sh`, through
//! `features_fetch::support`), with Features pushed by hand under the run's own names, and the
//! `greeter` folder Feature from `tests/fixtures/features`. Each test has its own cache.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::features_fetch::support::{Registry, closed_port, push, registry, run_id};
use crate::harness::{Run, devboot_bin};

const CONFIG: &str = ".devcontainer/devcontainer.json";
const LOCKFILE: &str = ".devcontainer/devcontainer-lock.json";

/// A workspace with `config` as its devcontainer.json, the `greeter` Feature in
/// `.devcontainer/greeter`, and devboot's cache and settings in a folder of their own.
struct Workspace {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Workspace {
    fn new(config: &str) -> Workspace {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        let greeter = ws.path().join(".devcontainer/greeter");
        std::fs::create_dir_all(&greeter).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features/greeter");
        for file in ["devcontainer-feature.json", "install.sh"] {
            std::fs::copy(fixture.join(file), greeter.join(file)).unwrap();
        }
        ws.write(CONFIG, config);
        ws
    }

    /// A workspace whose one Feature is on a loopback port nothing listens on, and its id.
    fn with_unreachable_feature() -> (Workspace, String) {
        let tool = format!("127.0.0.1:{}/nowhere/tool:1", closed_port());
        let config = format!(r#"{{ "image": "debian", "features": {{ "{tool}": {{}} }} }}"#);
        (Workspace::new(&config), tool)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs devboot in the workspace folder.
    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(devboot_bin())
            .current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .output()
            .unwrap();
        Run::of(&out, self.path())
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path().join(rel), text).unwrap();
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.path().join(rel)).ok()
    }
}

/// A Feature's layer: its `devcontainer-feature.json` and an `install.sh`.
fn layer(metadata: &Value) -> Vec<u8> {
    let json = serde_json::to_vec(metadata).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("devcontainer-feature.json", json.as_slice()),
        ("install.sh", b"#!/bin/sh\n".as_slice()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        builder.append_data(&mut header, name, data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Pushes Feature `name` of this run (`127.0.0.1:PORT/<run>/cli/<name>`) under each of
/// `tags`, its `devcontainer-feature.json` saying `version` and `more`; returns the reference
/// (without a tag) and the manifest digest.
fn publish(
    reg: &Registry,
    name: &str,
    tags: &[&str],
    version: &str,
    more: Value,
) -> (String, String) {
    let path = format!("{}/cli/{name}", run_id());
    let mut metadata = json!({"id": name, "version": version});
    if let (Value::Object(fields), Value::Object(more)) = (&mut metadata, more) {
        fields.extend(more);
    }
    let layer = layer(&metadata);
    let digests: Vec<String> = tags
        .iter()
        .map(|tag| push(reg, &path, tag, &layer, "application/vnd.devcontainers"))
        .collect();
    (format!("{}/{path}", reg.addr), digests[0].clone())
}

#[test]
fn features_lock_writes_the_lockfile_says_when_it_is_up_to_date_and_frozen_names_changes() {
    let Some(reg) = registry() else { return };
    let (tool, digest) = publish(reg, "tool", &["1"], "1.3.0", json!({}));
    let (extra, digest2) = publish(reg, "extra", &["2"], "2.0.1", json!({}));
    let config = |features: &str| {
        format!(r#"{{ "image": "debian", "features": {{ {features}, "./greeter": {{}} }} }}"#)
    };
    let ws = Workspace::new(&config(&format!(r#""{tool}:1": {{}}"#)));

    ws.run(&["features", "lock"])
        .status(0)
        .stderr_has("created .devcontainer/devcontainer-lock.json (1 Feature(s) pinned");
    // The reference CLI's bytes: the folder Feature is not pinned.
    let expected = format!(
        "{{\n  \"features\": {{\n    \"{tool}:1\": {{\n      \"version\": \"1.3.0\",\n      \
         \"resolved\": \"{tool}@{digest}\",\n      \"integrity\": \"{digest}\"\n    }}\n  }}\n}}\n"
    );
    assert_eq!(ws.read(LOCKFILE).as_deref(), Some(expected.as_str()));
    ws.run(&["features", "lock"])
        .status(0)
        .stderr_has("devcontainer-lock.json is up to date");
    ws.run(&["features", "lock", "--frozen"]).status(0);

    // A Feature added to the config: `--frozen` names it and leaves the file alone.
    ws.write(
        CONFIG,
        &config(&format!(r#""{tool}:1": {{}}, "{extra}:2": {{}}"#)),
    );
    let run = ws.run(&["features", "lock", "--frozen"]);
    run.status(1)
        .stderr_has(&format!(
            "devcontainer-lock.json would change, and it must not: added {extra}:2"
        ))
        .stderr_has("help: run `devboot features lock` (or `devboot up --lockfile`) to update it, and commit it");
    assert_eq!(ws.read(LOCKFILE).as_deref(), Some(expected.as_str()));
    ws.run(&["features", "lock"])
        .status(0)
        .stderr_has("updated .devcontainer/devcontainer-lock.json (2 Feature(s) pinned");
    let lock: Value = serde_json::from_str(&ws.read(LOCKFILE).unwrap()).unwrap();
    assert_eq!(lock["features"][format!("{extra}:2")]["integrity"], digest2);
    assert_eq!(lock["features"][format!("{tool}:1")]["integrity"], digest);
}

#[test]
fn without_features_lock_and_outdated_say_so_and_write_nothing() {
    let ws = Workspace::new(r#"{ "image": "debian" }"#);
    ws.run(&["features", "lock"])
        .status(0)
        .stderr_has("names no Dev Container Features: there is nothing to lock");
    assert_eq!(ws.read(LOCKFILE), None);
    let run = ws.run(&["features", "outdated", "--json"]);
    run.status(0);
    assert_eq!(run.json()["features"], json!({}));
}

#[test]
fn outdated_shows_current_wanted_and_latest_and_skips_folders() {
    let Some(reg) = registry() else { return };
    let (tool, old) = publish(reg, "versions", &["1.0.0"], "1.0.0", json!({}));
    publish(reg, "versions", &["1.2.0", "1.2", "1"], "1.2.0", json!({}));
    publish(
        reg,
        "versions",
        &["2.0.0", "2", "latest"],
        "2.0.0",
        json!({}),
    );
    publish(reg, "versions", &["2.1.0-rc.1"], "2.1.0-rc.1", json!({}));
    let ws = Workspace::new(&format!(
        r#"{{ "image": "debian", "features": {{
            "{tool}:1": {{}}, "{tool}:1.0.0": {{}}, "{tool}@{old}": {{}}, "./greeter": {{}} }} }}"#
    ));

    let run = ws.run(&["features", "outdated"]);
    run.status(0)
        .stderr_has("skipped `./greeter`: a local folder has no published versions to compare");
    let width = tool.len();
    let line = |c: &str, w: &str, l: &str| format!("{tool:<width$}  {c:<7}  {w:<6}  {l}");
    assert_eq!(
        run.stdout,
        format!(
            "{:<width$}  Current  Wanted  Latest\n{}\n{}\n{}\n",
            "Feature",
            line("1.2.0", "1.2.0", "2.1.0-rc.1"),
            line("1.0.0", "1.0.0", "2.1.0-rc.1"),
            line("1.0.0", "1.0.0", "2.1.0-rc.1"),
        )
    );

    // The lockfile's version is the current one.
    ws.write(
        LOCKFILE,
        &json!({"features": {format!("{tool}:1"): {
            "version": "1.0.0", "resolved": format!("{tool}@{old}"), "integrity": old}}})
        .to_string(),
    );
    let run = ws.run(&["features", "outdated", "--json"]);
    run.status(0);
    assert_eq!(
        run.json(),
        json!({
            "features": {
                format!("{tool}:1"): {"current": "1.0.0", "wanted": "1.2.0", "wantedMajor": "1",
                    "latest": "2.1.0-rc.1", "latestMajor": "2"},
                format!("{tool}:1.0.0"): {"current": "1.0.0", "wanted": "1.0.0", "wantedMajor": "1",
                    "latest": "2.1.0-rc.1", "latestMajor": "2"},
                format!("{tool}@{old}"): {"current": "1.0.0", "wanted": "1.0.0", "wantedMajor": "1",
                    "latest": "2.1.0-rc.1", "latestMajor": "2"},
            },
            "skipped": [{"id": "./greeter", "kind": "local"}],
        })
    );
}

#[test]
fn outdated_names_a_feature_it_cannot_look_up_and_fails() {
    let (ws, tool) = Workspace::with_unreachable_feature();
    let run = ws.run(&["features", "outdated"]);
    run.status(1)
        .stderr_has(&format!("error: cannot look up `{tool}`"))
        .stderr_has("cannot reach 127.0.0.1");
    assert!(
        run.stdout.ends_with("-        -       -\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_lists_the_resolved_features_in_install_order() {
    let Some(reg) = registry() else { return };
    let flavor = json!({"options": {"flavor": {"type": "string", "default": "plain"}}});
    let (base, base_digest) = publish(reg, "base", &["1"], "1.1.0", flavor);
    let depends = json!({"dependsOn": {format!("{base}:1"): {"flavor": "spicy"}}});
    let (app, _) = publish(reg, "app", &["1"], "3.0.0", depends);
    let ws = Workspace::new(&format!(
        r#"{{ "image": "debian",
              "features": {{ "{app}:1": {{}}, "./greeter": {{ "greeting": "howdy" }} }} }}"#
    ));

    let run = ws.run(&["config", "--json"]);
    run.status(0);
    let json = run.json();
    assert_eq!(json["image"]["image"], "debian", "the rest is as before");
    let features = json["resolvedFeatures"].as_array().unwrap();
    let ids: Vec<&str> = features.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "./greeter",
            format!("{base}:1").as_str(),
            format!("{app}:1").as_str()
        ]
    );
    let greeter_path = ws.path().join(".devcontainer/greeter");
    assert_eq!(
        features[0]["source"],
        json!({"kind": "local", "path": greeter_path.display().to_string()})
    );
    assert_eq!(
        features[0]["options"],
        json!({"greeting": "howdy", "fail": false})
    );
    assert_eq!(
        features[0]["env"],
        json!({"GREETING": "howdy", "FAIL": "false"})
    );
    assert_eq!(features[0]["addedBy"], Value::Null);
    assert!(
        features[0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        features[1],
        json!({
            "id": format!("{base}:1"),
            "source": {"kind": "oci", "ref": format!("{base}:1"),
                       "resolved": format!("{base}@{base_digest}")},
            "digest": base_digest,
            "version": "1.1.0",
            "options": {"flavor": "spicy"},
            "env": {"FLAVOR": "spicy"},
            "addedBy": format!("{app}:1"),
        })
    );
    assert_eq!(features[2]["version"], "3.0.0");

    ws.run(&["config"])
        .status(0)
        .stdout_has("feature    ./greeter 1.0.0 from .devcontainer/greeter (sha256:")
        .stdout_has("feature    ./greeter env GREETING=\"howdy\"\n")
        .stdout_has(&format!(
            "feature    {base}:1 1.1.0 from {base}@{base_digest}, added by {app}:1\n"
        ));
}

#[test]
fn config_without_the_registry_keeps_the_rest_and_says_why_features_are_missing() {
    let (ws, tool) = Workspace::with_unreachable_feature();
    let run = ws.run(&["config", "--json"]);
    run.status(0)
        .stderr_has(&format!(
            "warning: the Features cannot be listed: feature `{tool}`"
        ))
        .stderr_has("cannot reach 127.0.0.1");
    let json = run.json();
    assert_eq!(json["image"]["image"], "debian");
    assert!(json.get("resolvedFeatures").is_none(), "{json}");
    assert!(
        json["featuresError"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{json}"
    );
    ws.run(&["config"])
        .status(0)
        .stdout_has("image      image debian");
}

#[test]
fn validate_features_checks_each_features_options_at_their_place() {
    let Some(reg) = registry() else { return };
    let flavor = json!({"options": {"flavor": {
        "type": "string", "enum": ["plain", "spicy"], "default": "plain"}}});
    let (spice, _) = publish(reg, "spice", &["1"], "1.0.0", flavor);
    let config = format!(
        "{{\n  \"image\": \"debian\",\n  \"features\": {{\n    \"{spice}:1\": {{ \"flavor\": \"sweet\" }},\n    \"./greeter\": {{ \"greting\": \"hi\", \"fail\": \"no\" }}\n  }}\n}}\n"
    );
    let ws = Workspace::new(&config);
    // Without --features, nothing is fetched.
    ws.run(&["validate"])
        .status(0)
        .stderr_has("devcontainer.json: ok");
    let run = ws.run(&["validate", "--features"]);
    run.status(2)
        .stderr_has(&format!(
            "error: Feature `{spice}:1`: `sweet` is not a value of option `flavor`\n --> .devcontainer/devcontainer.json:4:"
        ))
        .stderr_has("help: use one of: `plain`, `spicy`")
        .stderr_has("warning: Feature `./greeter`: unknown option `greting`\n --> .devcontainer/devcontainer.json:5:20")
        .stderr_has("help: did you mean `greeting`?")
        .stderr_has("error: Feature `./greeter`: option `fail` is a boolean, not a string\n --> .devcontainer/devcontainer.json:5:45")
        .stderr_has("2 error(s), 1 warning(s)");
}

#[test]
fn validate_features_says_when_the_features_cannot_be_fetched() {
    let (ws, tool) = Workspace::with_unreachable_feature();
    ws.run(&["validate", "--features"])
        .status(2)
        .stderr_has(&format!(
            "error: the Features cannot be checked: feature `{tool}`"
        ))
        .stderr_has("cannot reach 127.0.0.1");
}
