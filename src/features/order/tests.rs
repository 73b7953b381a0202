use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;
use crate::features::metadata::Metadata;

const CONFIG: &str = "/ws/.devcontainer/devcontainer.json";

/// Features in memory, keyed by source; records what was asked.
#[derive(Default)]
struct Fake {
    features: HashMap<Source, Fetched>,
    asked: Vec<Source>,
}

impl Fake {
    /// Adds a Feature named by `id` (as a config would write it); its metadata is `meta`
    /// with `"id"` added when missing (the id's last segment).
    fn add(&mut self, id: &str, digest: &str, mut meta: Value) -> &mut Self {
        let source = reference::classify(id, Path::new(CONFIG)).unwrap().source;
        if meta.get("id").is_none() {
            meta["id"] = json!(source.id());
        }
        let fetched = Fetched {
            folder: PathBuf::from("/cache").join(digest),
            digest: format!("sha256:{digest}"),
            resolved: None,
            metadata: Metadata::parse(&meta.to_string(), id).unwrap(),
        };
        self.features.insert(source, fetched);
        self
    }

    /// Local Features `./<name>` with these metadata objects.
    fn locals(features: &[(&str, Value)]) -> Fake {
        let mut fake = Fake::default();
        for (name, meta) in features {
            fake.add(&format!("./{name}"), name, meta.clone());
        }
        fake
    }
}

impl Resolve for Fake {
    fn resolve(&mut self, source: &Source) -> Result<Fetched, FeatureError> {
        self.asked.push(source.clone());
        self.features
            .get(source)
            .cloned()
            .ok_or_else(|| FeatureError::NotFound {
                id: source.id().to_string(),
                reason: "not in the fake".into(),
                help: String::new(),
            })
    }
}

fn requests(features: Value) -> Vec<Request> {
    let Value::Object(map) = features else {
        panic!("{features}")
    };
    map.into_iter()
        .map(|(id, value)| Request { id, value })
        .collect()
}

fn order(fake: &mut Fake, features: Value, overrides: &[&str]) -> Result<Plan, FeatureError> {
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_string()).collect();
    plan(&requests(features), &overrides, Path::new(CONFIG), fake)
}

/// `(user id, value)` in install order.
fn installed(plan: &Plan) -> Vec<(&str, &Value)> {
    plan.features
        .iter()
        .map(|p| (p.user_id.as_str(), &p.value))
        .collect()
}

fn ids(plan: &Plan) -> Vec<&str> {
    plan.features.iter().map(|p| p.user_id.as_str()).collect()
}

fn cycle_of(result: Result<Plan, FeatureError>) -> Vec<String> {
    match result {
        Err(FeatureError::Cycle { cycle }) => cycle,
        other => panic!("expected a cycle, got {other:?}"),
    }
}

// ---- The reference CLI's own vectors (src/test/container-features/containerFeaturesOrder
// .test.ts and configs/feature-dependencies), rewritten.

#[test]
fn cli_installs_after_local_simple() {
    let mut fake = Fake::locals(&[
        ("a", json!({"installsAfter": ["./b", "./c"]})),
        ("b", json!({})),
        ("c", json!({})),
    ]);
    let plan = order(
        &mut fake,
        json!({"./a": {}, "./c": {"magicNumber": "321"}}),
        &[],
    )
    .unwrap();
    let expected = [json!({"magicNumber": "321"}), json!({})];
    assert_eq!(
        installed(&plan),
        vec![("./c", &expected[0]), ("./a", &expected[1])]
    );
}

#[test]
fn cli_depends_on_local_simple_adds_the_dependency_with_its_options() {
    let mut fake = Fake::locals(&[
        ("a", json!({"dependsOn": {"./b": {"magicNumber": "50"}}})),
        ("b", json!({})),
    ]);
    let plan = order(&mut fake, json!({"./a": {}}), &[]).unwrap();
    let expected = [json!({"magicNumber": "50"}), json!({})];
    assert_eq!(
        installed(&plan),
        vec![("./b", &expected[0]), ("./a", &expected[1])]
    );
    assert_eq!(plan.features[0].added_by.as_deref(), Some("./a"));
    assert_eq!(plan.features[1].added_by, None);
    assert_eq!(plan.features[0].staging_name(), "b_0");
    assert_eq!(plan.features[1].staging_name(), "a_1");
}

#[test]
fn cli_depends_on_with_round_sorting_based_on_options() {
    let ab = |a: &str, b: &str| json!({"optA": a, "optB": b});
    let mut fake = Fake::locals(&[
        ("a", json!({"dependsOn": {"./b": ab("a", "a"), "./c": {}}})),
        ("b", json!({})),
        (
            "c",
            json!({"dependsOn": {"./b": ab("b", "a"), "./d": {}, "./e": {}}}),
        ),
        ("d", json!({"dependsOn": {"./b": ab("b", "b")}})),
        ("e", json!({"dependsOn": {"./b": {}}})),
    ]);
    let plan = order(
        &mut fake,
        json!({"./a": ab("a", "b"), "./b": ab("a", "b")}),
        &[],
    )
    .unwrap();
    let (empty, aa, abv, ba, bb) = (
        json!({}),
        ab("a", "a"),
        ab("a", "b"),
        ab("b", "a"),
        ab("b", "b"),
    );
    assert_eq!(
        installed(&plan),
        vec![
            ("./b", &empty),
            ("./b", &aa),
            ("./b", &abv),
            ("./b", &ba),
            ("./b", &bb),
            ("./d", &empty),
            ("./e", &empty),
            ("./c", &empty),
            ("./a", &abv),
        ]
    );
}

#[test]
fn cli_depends_on_and_installs_after_local_simple() {
    let mut fake = Fake::locals(&[
        (
            "a",
            json!({"installsAfter": ["./b"], "dependsOn": {"./c": {"magicNumber": "321"}}}),
        ),
        ("b", json!({})),
        ("c", json!({})),
    ]);
    let plan = order(&mut fake, json!({"./a": {}}), &[]).unwrap();
    assert_eq!(ids(&plan), vec!["./c", "./a"]);
}

#[test]
fn cli_circular_dependencies_are_an_error_naming_the_cycle() {
    let mut hard = Fake::locals(&[
        ("a", json!({"dependsOn": {"./b": {}}})),
        ("b", json!({"dependsOn": {"./c": {"magicNumber": "50"}}})),
        ("c", json!({"dependsOn": {"./a": {"magicNumber": "50"}}})),
    ]);
    // `./a` with `{}` and `./a` with a magic number are two installs: the cycle runs through
    // the second one.
    let cycle = cycle_of(order(&mut hard, json!({"./a": {}}), &[]));
    assert_eq!(cycle, vec!["./b", "./c", "./a", "./b"]);

    let mut soft = Fake::locals(&[
        ("a", json!({"installsAfter": ["./b"]})),
        ("b", json!({"installsAfter": ["./c"]})),
        ("c", json!({"installsAfter": ["./a"]})),
    ]);
    let cycle = cycle_of(order(
        &mut soft,
        json!({"./a": {}, "./b": {}, "./c": {}}),
        &[],
    ));
    assert_eq!(cycle, vec!["./a", "./b", "./c", "./a"]);
    let shown = FeatureError::Cycle { cycle }.to_string();
    assert!(shown.contains("./a -> ./b -> ./c -> ./a"), "{shown}");
}

#[test]
fn cli_override_install_order_local() {
    let mut simple = Fake::locals(&[
        ("a", json!({"dependsOn": {"./b": {}, "./c": {}, "./d": {}}})),
        ("b", json!({})),
        ("c", json!({})),
        ("d", json!({})),
    ]);
    let plan = order(&mut simple, json!({"./a": {}}), &["./c"]).unwrap();
    assert_eq!(ids(&plan), vec!["./c", "./b", "./d", "./a"]);

    let mut intermediate = Fake::locals(&[
        (
            "a",
            json!({"dependsOn": {"./b": {}, "./d": {}}, "installsAfter": ["./c"]}),
        ),
        ("b", json!({"dependsOn": {"./c": {}}})),
        ("c", json!({})),
        ("d", json!({})),
    ]);
    let plan = order(&mut intermediate, json!({"./a": {}}), &["./c", "./d"]).unwrap();
    assert_eq!(ids(&plan), vec!["./c", "./d", "./b", "./a"]);

    let mut priority = Fake::locals(&[
        ("a", json!({})),
        ("b", json!({"dependsOn": {"./a": {}}})),
        ("c", json!({})),
    ]);
    let plan = order(
        &mut priority,
        json!({"./b": {}, "./c": {}}),
        &["./a", "./b", "./c"],
    )
    .unwrap();
    assert_eq!(ids(&plan), vec!["./a", "./b", "./c"]);
}

// ---- devboot's own cases.

const NODE: &str = "ghcr.io/devcontainers/features/node:1";
const COMMON: &str = "ghcr.io/devcontainers/features/common-utils:2";
const DIND: &str = "ghcr.io/devcontainers/features/docker-in-docker:2";

#[test]
fn a_registry_dependency_is_added_once_with_its_options() {
    let mut fake = Fake::default();
    fake.add(
        "ghcr.io/o/f/app:1",
        "app",
        json!({"dependsOn": {NODE: {"version": "20"}}}),
    )
    .add(
        "ghcr.io/o/f/tool:1",
        "tool",
        json!({"dependsOn": {NODE: {"version": "20"}}}),
    )
    .add(
        NODE,
        "node",
        json!({"options": {"version": {"type": "string"}}}),
    );
    let plan = order(
        &mut fake,
        json!({"ghcr.io/o/f/tool:1": {}, "ghcr.io/o/f/app:1": {}}),
        &[],
    )
    .unwrap();
    assert_eq!(
        ids(&plan),
        vec![NODE, "ghcr.io/o/f/app:1", "ghcr.io/o/f/tool:1"]
    );
    assert_eq!(plan.features[0].value, json!({"version": "20"}));
    assert_eq!(
        plan.features[0].added_by.as_deref(),
        Some("ghcr.io/o/f/tool:1")
    );
    // Each source is fetched once.
    assert_eq!(fake.asked.len(), 3);
}

#[test]
fn the_same_digest_and_options_under_two_tags_is_one_install() {
    let mut fake = Fake::default();
    fake.add(NODE, "node", json!({}))
        .add(
            "ghcr.io/devcontainers/features/node:latest",
            "node",
            json!({}),
        )
        .add(
            "ghcr.io/o/f/app:1",
            "app",
            json!({"dependsOn": {"ghcr.io/devcontainers/features/node": {}}}),
        );
    let plan = order(&mut fake, json!({NODE: {}, "ghcr.io/o/f/app:1": {}}), &[]).unwrap();
    assert_eq!(ids(&plan), vec![NODE, "ghcr.io/o/f/app:1"]);
}

#[test]
fn installs_after_orders_only_features_that_are_installed() {
    let mut fake = Fake::default();
    fake.add(
        DIND,
        "dind",
        json!({"installsAfter": ["ghcr.io/devcontainers/features/common-utils"]}),
    )
    .add(COMMON, "common", json!({}))
    .add("ghcr.io/other/f/zz:1", "zz", json!({}));
    let plan = order(&mut fake, json!({DIND: {}, COMMON: {}}), &[]).unwrap();
    assert_eq!(ids(&plan), vec![COMMON, DIND]);

    // Without common-utils the soft edge goes, and common-utils is never fetched.
    let mut alone = Fake::default();
    alone
        .add(
            DIND,
            "dind",
            json!({"installsAfter": ["ghcr.io/devcontainers/features/common-utils"]}),
        )
        .add("ghcr.io/other/f/zz:1", "zz", json!({}));
    let plan = order(
        &mut alone,
        json!({"ghcr.io/other/f/zz:1": {}, DIND: {}}),
        &[],
    )
    .unwrap();
    assert_eq!(ids(&plan), vec![DIND, "ghcr.io/other/f/zz:1"]);
    assert_eq!(alone.asked.len(), 2, "{:?}", alone.asked);
    assert_eq!(fake.asked.len(), 2, "{:?}", fake.asked);
}

#[test]
fn installs_after_matches_a_renamed_feature_through_its_legacy_ids() {
    let dood = "ghcr.io/devcontainers/features/docker-outside-of-docker:1";
    let mut fake = Fake::default();
    fake.add(
        dood,
        "dood",
        json!({"id": "docker-outside-of-docker", "legacyIds": ["docker-from-docker"]}),
    )
    .add(
        "ghcr.io/acme/f/compose:1",
        "compose",
        json!({"installsAfter": ["ghcr.io/devcontainers/features/docker-from-docker"]}),
    );
    let plan = order(
        &mut fake,
        json!({"ghcr.io/acme/f/compose:1": {}, dood: {}}),
        &[],
    )
    .unwrap();
    assert_eq!(ids(&plan), vec![dood, "ghcr.io/acme/f/compose:1"]);
    // The old name itself is never fetched.
    assert_eq!(fake.asked.len(), 2, "{:?}", fake.asked);

    // Without the rename, no order is imposed: the ids decide.
    let mut plain = Fake::default();
    plain.add(dood, "dood", json!({})).add(
        "ghcr.io/acme/f/compose:1",
        "compose",
        json!({"installsAfter": ["ghcr.io/devcontainers/features/docker-from-docker"]}),
    );
    let plan = order(
        &mut plain,
        json!({dood: {}, "ghcr.io/acme/f/compose:1": {}}),
        &[],
    );
    assert_eq!(ids(&plan.unwrap()), vec!["ghcr.io/acme/f/compose:1", dood]);
}

#[test]
fn features_sharing_an_alias_sort_by_tag_not_by_id() {
    let new = json!({"id": "new", "legacyIds": ["old"]});
    let mut fake = Fake::default();
    fake.add("ghcr.io/o/f/new:2", "new2", new.clone())
        .add("ghcr.io/o/f/old:1", "new1", new);
    let plan = order(
        &mut fake,
        json!({"ghcr.io/o/f/new:2": {}, "ghcr.io/o/f/old:1": {}}),
        &[],
    );
    assert_eq!(
        ids(&plan.unwrap()),
        vec!["ghcr.io/o/f/old:1", "ghcr.io/o/f/new:2"]
    );

    // Without the alias the ids decide.
    let mut plain = Fake::default();
    plain
        .add("ghcr.io/o/f/new:2", "new2", json!({}))
        .add("ghcr.io/o/f/old:1", "old1", json!({}));
    let plan = order(
        &mut plain,
        json!({"ghcr.io/o/f/old:1": {}, "ghcr.io/o/f/new:2": {}}),
        &[],
    );
    assert_eq!(
        ids(&plan.unwrap()),
        vec!["ghcr.io/o/f/new:2", "ghcr.io/o/f/old:1"]
    );
}

#[test]
fn override_order_and_legacy_short_ids() {
    let mut fake = Fake::default();
    fake.add(NODE, "node", json!({}))
        .add(
            "ghcr.io/devcontainers/features/python:1",
            "python",
            json!({}),
        )
        .add("ghcr.io/devcontainers/features/git:1", "git", json!({}));
    let plan = order(
        &mut fake,
        json!({"git": "latest", "node": {}, "python": {}}),
        &["ghcr.io/devcontainers/features/python", "node"],
    )
    .unwrap();
    assert_eq!(ids(&plan), vec!["python", "node", "git"]);
    assert_eq!(plan.features[2].value, json!("latest"));
    let Source::Oci(node) = &plan.features[1].source else {
        panic!("{:?}", plan.features[1].source)
    };
    assert_eq!(node.to_string(), NODE);
    assert_eq!(plan.warnings.len(), 3, "{:?}", plan.warnings);
    assert!(plan.warnings[0].contains("`git`"), "{:?}", plan.warnings);
}

#[test]
fn gradle_becomes_java_with_its_option() {
    let mut fake = Fake::default();
    fake.add("ghcr.io/devcontainers/features/java:1", "java", json!({}));
    let plan = order(&mut fake, json!({"gradle": {}}), &[]).unwrap();
    assert_eq!(ids(&plan), vec!["ghcr.io/devcontainers/features/java:1"]);
    assert_eq!(plan.features[0].value, json!({"installGradle": true}));
    assert_eq!(plan.warnings.len(), 1);
}

#[test]
fn a_cycle_lists_only_the_features_in_it() {
    let mut fake = Fake::locals(&[
        ("c", json!({"dependsOn": {"./a": {}}})),
        ("a", json!({"dependsOn": {"./b": {}}})),
        ("b", json!({"dependsOn": {"./a": {}}})),
        ("free", json!({})),
    ]);
    let cycle = cycle_of(order(&mut fake, json!({"./free": {}, "./c": {}}), &[]));
    assert_eq!(cycle, vec!["./a", "./b", "./a"]);
}

#[test]
fn a_bad_dependency_id_names_the_feature_that_lists_it() {
    let mut fake = Fake::locals(&[("a", json!({"dependsOn": {"homebrew": {}}}))]);
    match order(&mut fake, json!({"./a": {}}), &[]) {
        Err(FeatureError::BadId { id, reason, .. }) => {
            assert_eq!(id, "homebrew");
            assert!(
                reason.ends_with("(in the `dependsOn` of `./a`)"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_round_of_mixed_kinds_sorts_by_id_as_written_in_locale_order() {
    let tgz = "https://h.example/devcontainer-feature-t.tgz";
    let mut fake = Fake::locals(&[("B", json!({})), ("a", json!({}))]);
    fake.add(tgz, "t", json!({})).add(NODE, "node", json!({}));
    let plan = order(
        &mut fake,
        json!({tgz: {}, NODE: {}, "./B": {}, "./a": {}}),
        &[],
    );
    assert_eq!(ids(&plan.unwrap()), vec!["./a", "./B", NODE, tgz]);
}

#[test]
fn locale_order_is_javascripts() {
    // Sorted by Node's `localeCompare` (ICU root collation).
    let sorted = [
        "./_x",
        "./-x",
        "./a",
        "./b",
        "./B",
        "./x_y",
        "./x-y",
        "./x.y",
        "1.10",
        "1.9",
        "2",
        "a\tb",
        "a b",
        "A:2",
        "E",
        "E:1",
        "ghcr.io/devcontainers-extra/features/fd:1",
        "ghcr.io/devcontainers/features/node:1",
        "https://h/devcontainer-feature-a.tgz",
        "latest",
        "node",
        "Node",
        "node-x",
        "node:1",
        "node1",
        "x@y",
        "x~",
        "x$",
        "x0",
    ];
    for (i, a) in sorted.iter().enumerate() {
        for (j, b) in sorted.iter().enumerate() {
            assert_eq!(locale_cmp(a, b), i.cmp(&j), "{a:?} vs {b:?}");
        }
    }
    assert_eq!(locale_cmp("\u{1}x", "x"), Ordering::Equal);
}

#[test]
fn options_compare_as_the_reference_cli_does() {
    assert_eq!(options_cmp(&json!({}), &json!({"a": "1"})), Ordering::Less);
    assert_eq!(
        options_cmp(&json!({"b": "1"}), &json!({"a": "2"})),
        Ordering::Greater
    );
    assert_eq!(
        options_cmp(&json!({"a": "b"}), &json!({"a": "B"})),
        Ordering::Less
    );
    assert_eq!(
        options_cmp(&json!({"a": false}), &json!({"a": true})),
        Ordering::Less
    );
    // Mixed types inside an object count as equal; at the top, by JavaScript type name.
    assert_eq!(
        options_cmp(&json!({"a": "x"}), &json!({"a": true})),
        Ordering::Equal
    );
    assert_eq!(options_cmp(&json!(true), &json!("1")), Ordering::Less);
    assert_eq!(options_cmp(&json!({}), &json!("1")), Ordering::Less);
    assert_eq!(options_cmp(&json!(1), &json!(2)), Ordering::Equal);
}
