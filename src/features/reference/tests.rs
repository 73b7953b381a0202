use std::path::Path;

use serde_json::{Value, json};

use super::*;

const CONFIG: &str = "/ws/.devcontainer/devcontainer.json";

fn source(id: &str) -> Source {
    classify(id, Path::new(CONFIG)).unwrap().source
}

fn bad_id(id: &str, config: &str) -> (String, String) {
    match classify(id, Path::new(config)) {
        Err(FeatureError::BadId {
            id: named,
            reason,
            help,
        }) => {
            assert_eq!(named, id);
            (reason, help)
        }
        other => panic!("{id}: expected a bad id, got {other:?}"),
    }
}

fn oci(id: &str) -> OciRef {
    match source(id) {
        Source::Oci(r) => r,
        other => panic!("{id}: {other:?}"),
    }
}

#[test]
fn legacy_short_ids_map_to_the_official_features_at_major_1_with_a_warning() {
    for (id, full) in [
        ("node", "ghcr.io/devcontainers/features/node:1"),
        (
            "docker-from-docker",
            "ghcr.io/devcontainers/features/docker-from-docker:1",
        ),
        ("golang", "ghcr.io/devcontainers/features/go:1"),
        ("common", "ghcr.io/devcontainers/features/common-utils:1"),
    ] {
        let classified = classify(id, Path::new(CONFIG)).unwrap();
        let Source::Oci(reference) = &classified.source else {
            panic!("{id}: {classified:?}");
        };
        assert_eq!(reference.to_string(), full);
        let warning = classified.warning.unwrap();
        assert!(warning.contains(&format!("`{id}`")), "{warning}");
        assert!(warning.contains(full), "{warning}");
    }
    assert_eq!(
        classify("ghcr.io/devcontainers/features/node:1", Path::new(CONFIG))
            .unwrap()
            .warning,
        None
    );
}

#[test]
fn an_unknown_short_id_is_an_error_saying_what_to_write() {
    let (reason, help) = bad_id("homebrew", CONFIG);
    assert!(reason.contains("short id"), "{reason}");
    assert!(
        help.contains("ghcr.io/<owner>/<repo>/homebrew:<version>"),
        "{help}"
    );
    assert!(help.contains("./homebrew"), "{help}");
}

#[test]
fn a_folded_short_id_alone_says_which_option_replaced_it() {
    let (reason, help) = bad_id("gradle", CONFIG);
    assert!(reason.contains("`java`"), "{reason}");
    assert!(help.contains("installGradle"), "{help}");
}

fn request(id: &str, value: Value) -> Request {
    Request {
        id: id.into(),
        value,
    }
}

#[test]
fn gradle_and_maven_fold_into_java_added_at_the_end() {
    let (requests, warnings) = fold_deprecated(vec![
        request("gradle", json!({"version": "8"})),
        request("node", json!("lts")),
        request("maven", json!(true)),
    ]);
    assert_eq!(
        requests,
        vec![
            request("node", json!("lts")),
            request(
                "ghcr.io/devcontainers/features/java:1",
                json!({"installGradle": true, "installMaven": true})
            ),
        ]
    );
    assert_eq!(warnings.len(), 2);
    assert!(warnings[0].contains("installGradle"), "{}", warnings[0]);
}

#[test]
fn jupyterlab_folds_into_the_listed_python_keeping_its_version() {
    let (requests, warnings) = fold_deprecated(vec![
        request("ghcr.io/devcontainers/features/python:1", json!("3.12")),
        request("jupyterlab", json!({})),
    ]);
    assert_eq!(
        requests,
        vec![request(
            "ghcr.io/devcontainers/features/python:1",
            json!({"version": "3.12", "installJupyterlab": true})
        )]
    );
    assert_eq!(warnings.len(), 1);
    let (same, none) = fold_deprecated(vec![request("java", json!({"version": "17"}))]);
    assert_eq!(same, vec![request("java", json!({"version": "17"}))]);
    assert!(none.is_empty());
}

#[test]
fn a_tarball_url_names_its_feature_by_file_name() {
    let url = "https://github.com/o/r/releases/download/v1/devcontainer-feature-color.tgz";
    assert_eq!(
        source(url),
        Source::Tarball {
            url: url.into(),
            id: "color".into()
        }
    );
    let with_query = "https://h.example/f/devcontainer-feature-my_tool-2.tgz?token=x#y";
    assert_eq!(source(with_query).id(), "my_tool-2");
    let (reason, help) = bad_id("https://h.example/f/color.tgz", CONFIG);
    assert!(reason.contains("`color.tgz`"), "{reason}");
    assert!(help.contains("devcontainer-feature-<id>.tgz"), "{help}");
    let (reason, _) = bad_id("https://h.example/f/devcontainer-feature-a.b.tgz", CONFIG);
    assert!(reason.contains("`a.b`"), "{reason}");
    let (reason, _) = bad_id("http://h.example/f/devcontainer-feature-a.tgz", CONFIG);
    assert!(reason.contains("plain HTTP"), "{reason}");
    // Plain HTTP to this machine only, as for registries.
    let local = "http://127.0.0.1:8000/devcontainer-feature-a.tgz";
    assert_eq!(source(local).id(), "a");
}

#[test]
fn a_local_folder_resolves_against_the_config_and_stays_in_devcontainer() {
    assert_eq!(
        source("./features/src/cuda"),
        Source::Local {
            path: "/ws/.devcontainer/features/src/cuda".into(),
            id: "cuda".into()
        }
    );
    // A config in a sub-folder of `.devcontainer` may reach a sibling folder.
    let nested = classify(
        "../shared/x/",
        Path::new("/ws/.devcontainer/py/devcontainer.json"),
    );
    assert_eq!(
        nested.unwrap().source,
        Source::Local {
            path: "/ws/.devcontainer/shared/x".into(),
            id: "x".into()
        }
    );
    // A `.devcontainer.json` at the root reaches into `.devcontainer`, not beside it.
    let root = "/ws/.devcontainer.json";
    assert_eq!(
        classify("./.devcontainer/a", Path::new(root))
            .unwrap()
            .source,
        Source::Local {
            path: "/ws/.devcontainer/a".into(),
            id: "a".into()
        }
    );
    let (reason, help) = bad_id("./a", root);
    assert!(reason.contains("outside `/ws/.devcontainer`"), "{reason}");
    assert!(help.contains("./<folder>"), "{help}");
    let (reason, _) = bad_id("../../etc", CONFIG);
    assert!(reason.contains("`/etc` is outside"), "{reason}");
    let (reason, _) = bad_id("/opt/features/a", CONFIG);
    assert!(reason.contains("absolute path"), "{reason}");
}

#[test]
fn an_oci_reference_splits_into_registry_namespace_id_and_version() {
    let r = oci("ghcr.io/devcontainers/features/node:1");
    assert_eq!(
        (r.registry.as_str(), r.namespace.as_str(), r.id.as_str()),
        ("ghcr.io", "devcontainers/features", "node")
    );
    assert_eq!(r.version, Version::Tag("1".into()));
    assert_eq!(r.path(), "devcontainers/features/node");
    assert_eq!(r.resource(), "ghcr.io/devcontainers/features/node");
    assert_eq!(r.tag(), Some("1"));

    let latest = oci("ghcr.io/rails/devcontainer/features/activestorage");
    assert_eq!(latest.namespace, "rails/devcontainer/features");
    assert_eq!(latest.version, Version::Tag("latest".into()));

    let port = oci("localhost:5000/Team/Features/Tool:1.2.3");
    assert_eq!(port.registry, "localhost:5000");
    assert_eq!(port.to_string(), "localhost:5000/team/features/tool:1.2.3");

    let port_no_tag = oci("127.0.0.1:5000/team/tool");
    assert_eq!(port_no_tag.to_string(), "127.0.0.1:5000/team/tool:latest");

    let hex = "a".repeat(64);
    let digest = oci(&format!("ghcr.io/o/f/x@sha256:{hex}"));
    assert_eq!(digest.version, Version::Digest(format!("sha256:{hex}")));
    assert_eq!(digest.tag(), None);
    assert_eq!(digest.to_string(), format!("ghcr.io/o/f/x@sha256:{hex}"));
}

#[test]
fn devcontainers_contrib_is_now_devcontainers_extra() {
    let r = oci("ghcr.io/devcontainers-contrib/features/ansible:2");
    assert_eq!(
        r.to_string(),
        "ghcr.io/devcontainers-extra/features/ansible:2"
    );
}

#[test]
fn malformed_references_say_what_is_wrong() {
    for (id, says) in [
        ("ghcr.io/o/f/x@sha256:abc", "not a digest"),
        ("ghcr.io/o/f/x@md5:abc", "not a digest"),
        ("ghcr.io/o/f/x:-1", "not a tag"),
        ("ghcr.io/o/f/x:", "not a tag"),
        ("ghcr.io/x:1", "<registry>/<namespace>/<id>"),
        ("ghcr.io/o__k/x", "<registry>/<namespace>/<id>"),
        ("ghcr.io/o/-x", "<registry>/<namespace>/<id>"),
        ("ghcr.io//x", "<registry>/<namespace>/<id>"),
    ] {
        let (reason, help) = bad_id(id, CONFIG);
        assert!(reason.contains(says), "{id}: {reason}");
        assert!(
            help.contains("ghcr.io/devcontainers/features/node:1"),
            "{help}"
        );
    }
}

#[test]
fn the_github_release_form_is_refused_with_what_to_use_instead() {
    let (reason, help) = bad_id("devcontainers/features/go@v1", CONFIG);
    assert!(reason.contains("GitHub release"), "{reason}");
    assert!(help.contains(".tgz"), "{help}");
}

#[test]
fn devcontainer_folder_is_the_nearest_one_holding_the_config() {
    for (config, folder) in [
        ("/ws/.devcontainer/devcontainer.json", "/ws/.devcontainer"),
        ("/ws/.devcontainer/a/devcontainer.json", "/ws/.devcontainer"),
        ("/ws/.devcontainer.json", "/ws/.devcontainer"),
        ("/ws/./x/../.devcontainer.json", "/ws/.devcontainer"),
    ] {
        assert_eq!(devcontainer_folder(Path::new(config)), Path::new(folder));
    }
}

/// Every `features` key of the wild corpus classifies, or is a bad id naming itself.
#[test]
fn every_feature_id_of_the_wild_corpus_classifies() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/devcontainer-wild"
    );
    let Ok(manifest) = std::fs::read_to_string(format!("{dir}/MANIFEST.tsv")) else {
        eprintln!("skipped: {dir} is not here");
        return;
    };
    let (mut oci, mut local, mut bad) = (0, 0, Vec::new());
    for line in manifest.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let text = std::fs::read_to_string(format!("{dir}/{}", fields[0])).unwrap();
        let config: Value =
            jsonc_parser::parse_to_serde_value(&text, &jsonc_parser::ParseOptions::default())
                .unwrap();
        let config_file = Path::new("/ws").join(fields[2]);
        let Some(Value::Object(features)) = config.get("features") else {
            continue;
        };
        for id in features.keys() {
            match classify(id, &config_file) {
                Ok(Classified {
                    source: Source::Oci(_),
                    ..
                }) => oci += 1,
                Ok(Classified {
                    source: Source::Local { .. },
                    ..
                }) => local += 1,
                Ok(other) => panic!("{id}: {other:?}"),
                Err(FeatureError::BadId { id: named, .. }) if named == *id => bad.push(named),
                Err(other) => panic!("{id}: {other:?}"),
            }
        }
    }
    assert_eq!((oci, local, bad), (156, 3, vec!["homebrew".to_string()]));
}
