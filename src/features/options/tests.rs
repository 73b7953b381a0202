use serde_json::{Value, json};

use super::*;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/devcontainers-features/src"
);

/// An upstream Feature's metadata, or `None` (the test is skipped) when the corpus is absent.
fn upstream(id: &str) -> Option<Metadata> {
    let path = format!("{CORPUS}/{id}/devcontainer-feature.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {path} is not here");
        return None;
    };
    Some(Metadata::parse(&text, id).unwrap())
}

#[test]
fn an_empty_entry_gets_the_defaults_in_declaration_order() {
    let Some(node) = upstream("node") else { return };
    assert_eq!(
        env_file(&values(&json!({}), &node)),
        "VERSION=\"lts\"\nNODEGYPDEPENDENCIES=\"true\"\nNVMINSTALLPATH=\"/usr/local/share/nvm\"\n\
         NPMVERSION=\"none\"\nPNPMVERSION=\"latest\"\nNVMVERSION=\"latest\"\n\
         INSTALLYARNUSINGAPT=\"false\""
    );
}

#[test]
fn an_object_is_merged_over_the_defaults_new_names_last() {
    let Some(node) = upstream("node") else { return };
    let v = values(&json!({"extra-tool": "x", "version": "20"}), &node);
    assert_eq!(v[0], ("version".to_string(), json!("20")));
    assert_eq!(v.len(), node.options.len() + 1);
    assert_eq!(v.last().unwrap(), &("extra-tool".to_string(), json!("x")));
    assert_eq!(env_lines(&v).last().unwrap(), "EXTRA_TOOL=\"x\"");
}

#[test]
fn a_string_or_a_boolean_is_the_version_when_the_feature_has_one() {
    let Some(node) = upstream("node") else { return };
    assert_eq!(
        values(&json!("18"), &node)[0],
        ("version".into(), json!("18"))
    );
    // The reference CLI's quirk, kept: a bare `true` is the version "true".
    assert_eq!(
        env_lines(&values(&json!(true), &node))[0],
        "VERSION=\"true\""
    );
    let Some(common) = upstream("common-utils") else {
        return;
    };
    let defaults = values(&json!({}), &common);
    assert_eq!(values(&json!("latest"), &common), defaults);
    assert_eq!(values(&json!(true), &common), defaults);
    assert_eq!(defaults.len(), common.options.len());
}

#[test]
fn option_names_are_mangled_as_the_reference_cli_does() {
    for (name, id) in [
        ("nodeGypDependencies", "NODEGYPDEPENDENCIES"),
        ("install-tools", "INSTALL_TOOLS"),
        ("2fa", "_FA"),
        ("_x", "_X"),
        ("__9a", "_A"),
        ("a.b c", "A_B_C"),
        ("ünï", "_N_"),
        ("😀x", "_X"),
        ("123", "_"),
    ] {
        assert_eq!(safe_id(name), id, "{name}");
    }
}

#[test]
fn values_are_written_as_javascript_prints_them_without_escaping() {
    for (value, text) in [
        (json!("a \"b\" $(id)"), "a \"b\" $(id)"),
        (json!(1.0), "1"),
        (json!(1.5), "1.5"),
        (json!(20), "20"),
        (json!(null), "null"),
        (json!([1, null, "a"]), "1,,a"),
        (json!({"a": 1}), "[object Object]"),
    ] {
        assert_eq!(js_text(&value), text);
    }
    let v = vec![
        ("plain".to_string(), json!("ok $HOME")),
        ("quote".to_string(), json!("say \"hi\"")),
        ("tick".to_string(), json!("`id`")),
        ("sub".to_string(), json!("$(id)")),
    ];
    assert_eq!(risky(&v), vec!["quote", "tick", "sub"]);
    assert_eq!(
        env_file(&v),
        "PLAIN=\"ok $HOME\"\nQUOTE=\"say \"hi\"\"\nTICK=\"`id`\"\nSUB=\"$(id)\""
    );
}

fn kinds(problems: &[Problem]) -> Vec<(ProblemKind, Option<&str>)> {
    problems
        .iter()
        .map(|p| (p.kind.clone(), p.option.as_deref()))
        .collect()
}

#[test]
fn a_value_outside_an_enum_lists_the_allowed_ones() {
    let Some(sshd) = upstream("sshd") else { return };
    let problems = check(&json!({"gatewayPorts": "maybe"}), &sshd);
    assert_eq!(
        kinds(&problems),
        vec![(ProblemKind::NotAllowed, Some("gatewayPorts"))]
    );
    assert_eq!(
        problems[0].message,
        "`maybe` is not a value of option `gatewayPorts`"
    );
    assert_eq!(
        problems[0].help,
        "use one of: `no`, `yes`, `clientspecified`"
    );
    assert!(check(&json!({"gatewayPorts": "yes"}), &sshd).is_empty());
}

#[test]
fn proposals_are_only_hints() {
    let Some(node) = upstream("node") else { return };
    assert!(check(&json!({"version": "21"}), &node).is_empty());
    assert!(check(&json!("16"), &node).is_empty());
    assert!(check(&json!(null), &node).is_empty());
}

#[test]
fn an_unknown_option_suggests_the_near_one_or_lists_them() {
    let Some(sshd) = upstream("sshd") else { return };
    let problems = check(&json!({"gatewayport": "no", "colour": "red"}), &sshd);
    assert_eq!(
        kinds(&problems),
        vec![
            (ProblemKind::UnknownOption, Some("gatewayport")),
            (ProblemKind::UnknownOption, Some("colour")),
        ]
    );
    assert_eq!(problems[0].help, "did you mean `gatewayPorts`?");
    assert_eq!(
        problems[1].help,
        "remove it; it declares: `version`, `gatewayPorts`"
    );
}

#[test]
fn a_wrong_type_says_how_to_write_it() {
    let Some(node) = upstream("node") else { return };
    let problems = check(
        &json!({"nodeGypDependencies": "yes", "npmVersion": 10}),
        &node,
    );
    assert_eq!(
        kinds(&problems),
        vec![
            (ProblemKind::WrongType, Some("nodeGypDependencies")),
            (ProblemKind::WrongType, Some("npmVersion")),
        ]
    );
    assert_eq!(
        problems[0].message,
        "option `nodeGypDependencies` is a boolean, not a string"
    );
    assert!(problems[1].help.contains("quotes"), "{}", problems[1].help);
    let bare_true = check(&json!(true), &node);
    assert_eq!(
        kinds(&bare_true),
        vec![(ProblemKind::WrongType, Some("version"))]
    );
    assert!(
        bare_true[0].help.contains("version: \"true\""),
        "{}",
        bare_true[0].help
    );
}

#[test]
fn values_the_script_never_sees_are_flagged() {
    let Some(common) = upstream("common-utils") else {
        return;
    };
    let ignored = check(&json!("latest"), &common);
    assert_eq!(kinds(&ignored), vec![(ProblemKind::Ignored, None)]);
    assert!(
        ignored[0].message.contains("no `version` option"),
        "{}",
        ignored[0].message
    );
    assert!(
        ignored[0].help.contains("`installZsh`"),
        "{}",
        ignored[0].help
    );
    assert!(check(&json!(true), &common).is_empty());
    let off = check(&Value::Bool(false), &common);
    assert_eq!(kinds(&off), vec![(ProblemKind::Ignored, None)]);
    assert!(off[0].help.contains("remove the entry"), "{}", off[0].help);
    let listed = check(&json!(["a"]), &common);
    assert_eq!(kinds(&listed), vec![(ProblemKind::WrongType, None)]);
}
