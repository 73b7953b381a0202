//! The schema check (`devboot validate`'s second step), driven through the library.
//!
//! The parsers are written separately, so documents are built here: a JSON or YAML text
//! becomes a `serde_json::Value`, and the span index holds only the keys a test asserts on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use devboot::config::schema::{self, Schema};
use devboot::config::source::{Document, SourceFile, Span, SpanIndex};
use devboot::diagnostic::{Diagnostic, Diagnostics, Severity};
use devboot::workspace::Format;

use crate::harness::shared_dir;

/// A document of `text` (already turned into `value`), with the key spans of `keys` indexed:
/// each is a JSON pointer and the key's text, found as the first `"key"` or `key:` at or
/// after the previous one.
fn document(text: &str, value: serde_json::Value, keys: &[&str]) -> Document {
    let file = SourceFile::new("/workspace/config", text);
    let mut spans = SpanIndex::default();
    let mut from = 0;
    for pointer in keys {
        let name = pointer.rsplit('/').next().unwrap_or_default();
        let quoted = format!("\"{name}\"");
        let start = from
            + text[from..]
                .find(&quoted)
                .or_else(|| text[from..].find(&format!("{name}:")))
                .unwrap_or_else(|| panic!("{name} is not in the text"));
        let end = start
            + if text[start..].starts_with('"') {
                quoted.len()
            } else {
                name.len()
            };
        spans.insert(
            (*pointer).to_string(),
            Some(Span::new(start, end)),
            Span::at(end),
        );
        from = end;
    }
    Document {
        file: Arc::clone(&file),
        value,
        spans,
    }
}

fn devcontainer(json: &str, keys: &[&str]) -> (Document, Vec<Diagnostic>) {
    let value = serde_json::from_str(json).expect("test JSON is valid");
    let doc = document(json, value, keys);
    let found = check(&doc, Format::Devcontainer);
    (doc, found)
}

fn gitpod(yaml: &str, keys: &[&str]) -> (Document, Vec<Diagnostic>) {
    let value = serde_saphyr::from_str(yaml).expect("test YAML is valid");
    let doc = document(yaml, value, keys);
    let found = check(&doc, Format::Gitpod);
    (doc, found)
}

fn check(doc: &Document, format: Format) -> Vec<Diagnostic> {
    let mut diagnostics = Diagnostics::default();
    schema::check(doc, format, &mut diagnostics);
    diagnostics.0
}

fn messages(found: &[Diagnostic]) -> Vec<&str> {
    found.iter().map(|d| d.message.as_str()).collect()
}

/// The one diagnostic found, or a failure listing all of them.
fn only(found: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(found.len(), 1, "{:#?}", messages(found));
    &found[0]
}

fn key_span(doc: &Document, pointer: &str) -> Option<Span> {
    doc.spans.get(pointer).and_then(|s| s.key)
}

#[test]
fn misspelt_devcontainer_key_is_one_warning_with_a_suggestion() {
    let (doc, found) = devcontainer(
        r#"{"image": "ubuntu", "forwardPort": [3000], "postCreateCommand": "make"}"#,
        &["/forwardPort"],
    );
    let d = only(&found);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        d.message,
        "`forwardPort` is not a devcontainer.json property"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `forwardPorts`?"));
    assert_eq!(
        d.location.as_ref().map(|l| l.span),
        key_span(&doc, "/forwardPort")
    );
}

#[test]
fn bad_value_is_reported_at_its_place_not_as_a_cascade() {
    let (doc, found) = devcontainer(
        r#"{"name": "x", "image": "ubuntu", "waitFor": "postCreate", "remoteUser": "dev"}"#,
        &["/waitFor"],
    );
    let d = only(&found);
    assert_eq!(
        d.message,
        "waitFor: \"postCreate\" is not one of initializeCommand, onCreateCommand, \
         updateContentCommand, postCreateCommand, postStartCommand"
    );
    assert_eq!(
        d.location.as_ref().map(|l| l.span.start),
        doc.spans.get("/waitFor").map(|s| s.value.start)
    );
}

#[test]
fn out_of_range_port_names_the_item() {
    let (_, found) = devcontainer(r#"{"image": "ubuntu", "forwardPorts": [3000, 70000]}"#, &[]);
    assert_eq!(
        only(&found).message,
        "forwardPorts[1]: 70000 is greater than the maximum of 65535"
    );
}

#[test]
fn substituted_strings_skip_type_pattern_and_enum_checks() {
    let (_, found) = devcontainer(
        r#"{"image": "ubuntu", "forwardPorts": ["${localEnv:PORT}", "db:5432"],
            "appPort": "${localEnv:APP_PORT}", "privileged": "${localEnv:PRIV}",
            "waitFor": "${localEnv:WAIT}"}"#,
        &[],
    );
    assert!(found.is_empty(), "{:#?}", messages(&found));
    // The same places without `${` are still checked.
    let (_, found) = devcontainer(
        r#"{"image": "ubuntu", "forwardPorts": ["localEnv:PORT"], "privileged": "yes"}"#,
        &[],
    );
    assert_eq!(
        messages(&found),
        [
            "forwardPorts[0]: \"localEnv:PORT\" does not match `^([a-z0-9-]+):(\\d{1,5})$`",
            "privileged: expected true or false, found a string",
        ]
    );
}

#[test]
fn legacy_vscode_keys_give_one_deprecation_each() {
    let (doc, found) = devcontainer(
        r#"{"name": "legacy", "image": "ubuntu", "forwardPorts": [3000],
            "extensions": ["ms-python.python"], "settings": {"editor.tabSize": 2},
            "devPort": 8000, "postCreateCommand": "make"}"#,
        &["/extensions", "/settings", "/devPort"],
    );
    assert_eq!(
        messages(&found),
        [
            "`extensions` is deprecated: move it to `customizations.vscode.extensions`",
            "`settings` is deprecated: move it to `customizations.vscode.settings`",
            "`devPort` is deprecated: move it to `customizations.vscode.devPort`",
        ]
    );
    assert!(found.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(
        found[0].location.as_ref().map(|l| l.span),
        key_span(&doc, "/extensions")
    );
}

#[test]
fn legacy_key_beside_a_bad_value_does_not_hide_it() {
    let (_, found) = devcontainer(
        r#"{"image": "ubuntu", "extensions": ["ms-python.python"], "shutdownAction": "stopCompose"}"#,
        &["/extensions", "/shutdownAction"],
    );
    assert_eq!(
        messages(&found),
        [
            "`extensions` is deprecated: move it to `customizations.vscode.extensions`",
            "shutdownAction: \"stopCompose\" is not one of none, stopContainer",
        ]
    );
}

#[test]
fn extension_ids_are_checked_with_the_schema_own_hint() {
    let (_, found) = devcontainer(
        r#"{"image": "ubuntu", "customizations": {"vscode": {"extensions": ["python"]}}}"#,
        &[],
    );
    let d = only(&found);
    assert_eq!(
        d.message,
        "customizations.vscode.extensions[0]: \"python\" is not in the expected format"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap_or_default()
            .contains("ms-dotnettools.csharp"),
        "{d:#?}"
    );
}

#[test]
fn unknown_key_in_a_mount_object() {
    let (_, found) = devcontainer(
        r#"{"image": "ubuntu", "mounts": [{"type": "bind", "source": "/a", "target": "/b", "consistency": "cached"}]}"#,
        &[],
    );
    assert_eq!(
        only(&found).message,
        "`mounts[0].consistency` is not a devcontainer.json property"
    );
}

#[test]
fn misspelt_key_inside_build() {
    let (_, found) = devcontainer(
        r#"{"build": {"dockerfile": "Dockerfile", "contxt": ".."}}"#,
        &[],
    );
    let d = only(&found);
    assert_eq!(
        d.message,
        "`build.contxt` is not a devcontainer.json property"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `context`?"));
}

#[test]
fn config_without_image_build_or_compose_needs_one() {
    let (_, found) = devcontainer(r#"{"name": "x", "forwardPorts": [3000]}"#, &[]);
    assert_eq!(
        only(&found).message,
        "the file needs one of `build`, `dockerFile`, `image` or `dockerComposeFile`"
    );
    let (_, found) = devcontainer("{}", &[]);
    assert!(found.is_empty(), "{:#?}", messages(&found));
}

#[test]
fn half_a_compose_config_is_missing_the_rest() {
    let (_, found) = devcontainer(
        r#"{"dockerComposeFile": "compose.yml", "workspaceFolder": "/w", "shutdownAction": "stopCompose"}"#,
        &[],
    );
    assert_eq!(only(&found).message, "the file is missing `service`");
}

#[test]
fn image_and_dockerfile_together_are_ambiguous() {
    let (doc, found) = devcontainer(
        r#"{"image": "ubuntu", "build": {"dockerfile": "Dockerfile"}}"#,
        &["/image", "/build"],
    );
    let d = only(&found);
    assert_eq!(d.message, "`build` and `image` cannot be used together");
    assert_eq!(
        d.location.as_ref().map(|l| l.span),
        key_span(&doc, "/image")
    );
}

#[test]
fn a_key_of_another_config_kind_is_told_apart_from_a_typo() {
    let (_, found) = devcontainer(
        r#"{"dockerComposeFile": "compose.yml", "service": "app", "workspaceFolder": "/w", "runArgs": ["--init"]}"#,
        &[],
    );
    let d = only(&found);
    assert_eq!(
        d.message,
        "`runArgs` does not apply to this kind of devcontainer.json"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("image, Dockerfile and Docker Compose configs each take different properties")
    );
}

#[test]
fn rendered_warning_points_at_the_key() {
    let json = "{\n  \"image\": \"ubuntu\",\n  \"forwardPort\": [3000]\n}\n";
    let (_, found) = devcontainer(json, &["/image", "/forwardPort"]);
    assert_eq!(
        devboot::diagnostic::render(only(&found), false),
        "warning: `forwardPort` is not a devcontainer.json property\n \
         --> /workspace/config:3:3\n  \
         |\n\
         3 |   \"forwardPort\": [3000]\n  \
         |   ^^^^^^^^^^^^^ unknown property\n  \
         |\n\
         help: did you mean `forwardPorts`?\n"
    );
}

#[test]
fn legacy_features_are_deprecated_with_the_schema_note() {
    let (_, found) = devcontainer(
        r#"{"image": "ubuntu", "features": {"fish": "latest", "ghcr.io/devcontainers/features/node:1": {}}}"#,
        &[],
    );
    let d = only(&found);
    assert_eq!(d.message, "`features.fish` is deprecated");
    assert!(
        d.help
            .as_deref()
            .unwrap_or_default()
            .starts_with("Legacy feature")
    );
}

#[test]
fn gitpod_violations_are_errors_with_places() {
    let yaml = "tasks:\n  - init: make\n    comand: make run\nports:\n  - port: 3000\n    onOpen: open-browsr\n  - visibility: public\n";
    let (doc, found) = gitpod(yaml, &["/tasks/0/comand"]);
    assert_eq!(
        messages(&found),
        [
            "`tasks[0].comand` is not a .gitpod.yml property",
            "ports[0].onOpen: \"open-browsr\" is not one of open-browser, open-preview, notify, \
             ignore, ignore-completely",
            "`ports[1]` is missing `port`",
        ]
    );
    assert!(found.iter().all(|d| d.severity == Severity::Error));
    assert_eq!(found[0].help.as_deref(), Some("did you mean `command`?"));
    assert_eq!(
        found[0].location.as_ref().map(|l| l.span),
        key_span(&doc, "/tasks/0/comand")
    );
}

#[test]
fn gitpod_has_no_substitution_and_speaks_yaml() {
    let (_, found) = gitpod("ports:\n  - port: ${PORT}\ntasks:\nimage: {}\n", &[]);
    assert_eq!(
        messages(&found),
        [
            "ports[0].port: \"${PORT}\" does not match `^\\d+[:-]\\d+$`",
            "tasks: expected a list, found an empty value",
            "`image` is missing `file`",
        ]
    );
    assert_eq!(
        found[0].help.as_deref(),
        Some("the port number (e.g. 1337) or range (e.g. 3000-3999) to expose")
    );
}

#[test]
fn valid_configs_are_quiet() {
    let (_, found) = gitpod(
        "image:\n  file: .gitpod.Dockerfile\ntasks:\n  - name: dev\n    init: npm ci\n    command: npm start\n    env:\n      A: 1\nports:\n  - port: 3000\n    onOpen: open-preview\n  - port: 5000-5010\nvscode:\n  extensions:\n    - dbaeumer.vscode-eslint\n",
        &[],
    );
    assert!(found.is_empty(), "{:#?}", messages(&found));
    let (_, found) = devcontainer(
        r#"{"name": "ok", "build": {"dockerfile": "Dockerfile", "context": "..", "args": {"V": "1"}},
            "features": {"ghcr.io/devcontainers/features/node:1": {"version": "20"}},
            "forwardPorts": [3000, "db:5432"], "portsAttributes": {"3000": {"label": "web"}},
            "hostRequirements": {"cpus": 2, "memory": "8gb"},
            "customizations": {"vscode": {"extensions": ["ms-python.python@2024.1.0"]}},
            "postCreateCommand": ["npm", "ci"], "remoteUser": "node"}"#,
        &[],
    );
    assert!(found.is_empty(), "{:#?}", messages(&found));
}

#[test]
fn a_document_that_is_not_an_object_is_one_type_problem() {
    let (_, found) = devcontainer(r#"["image", "ubuntu"]"#, &[]);
    assert_eq!(
        messages(&found),
        ["the file: expected an object, found an array"]
    );
    let (_, found) = gitpod("- port: 3000\n", &[]);
    assert_eq!(
        messages(&found),
        ["the file: expected a mapping, found a list"]
    );
}

/// Keys the schemas know, so random documents reach deep into them.
const KEYS: &[&str] = &[
    "image",
    "build",
    "dockerfile",
    "dockerFile",
    "context",
    "dockerComposeFile",
    "service",
    "workspaceFolder",
    "forwardPorts",
    "portsAttributes",
    "mounts",
    "type",
    "target",
    "features",
    "customizations",
    "vscode",
    "extensions",
    "settings",
    "devPort",
    "secrets",
    "hostRequirements",
    "gpu",
    "waitFor",
    "tasks",
    "ports",
    "port",
    "onOpen",
    "init",
    "command",
    "env",
    "github",
    "prebuilds",
    "jetbrains",
    "intellij",
    "${x}",
    "a/b~c",
    "",
];

fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e9f64..1e9).prop_map(serde_json::Value::from),
        prop::sample::select(KEYS).prop_map(serde_json::Value::from),
        "[a-z${}:/ .-]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|pairs| {
                serde_json::Value::Object(
                    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                )
            }),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Whatever the document, the check returns (no panic), and a key is reported at most
    /// once: no cascade repeats a place.
    #[test]
    fn any_document_is_checked_without_panic(value in json_value()) {
        let text = value.to_string();
        for format in [Format::Gitpod, Format::Devcontainer] {
            let doc = document(&text, value.clone(), &[]);
            let found = check(&doc, format);
            let mut seen = std::collections::HashSet::new();
            for d in &found {
                proptest::prop_assert!(
                    seen.insert((d.message.clone(), d.is_error())),
                    "repeated: {}", d.message
                );
            }
        }
    }
}

/// Every wild `.gitpod.yml` is one Gitpod accepted, so none may give an error.
#[test]
fn gitpod_wild_corpus_has_no_errors() {
    let (mut files, mut probed) = (0, 0);
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    for (path, text) in corpus("gitpod-wild", ".gitpod.yml") {
        let value: serde_json::Value = match serde_saphyr::from_str(&text) {
            Ok(value) => value,
            Err(err) => panic!("{}: {err}", path.display()),
        };
        let found = check(&document(&text, value.clone(), &[]), Format::Gitpod);
        let errors: Vec<&str> = found
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.as_str())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        for d in &found {
            *warnings.entry(category(&d.message)).or_default() += 1;
        }
        files += 1;
        // One stray key in a real file is one error, not a cascade.
        if let Some(with_probe) = with_probe_key(&value) {
            let found = check(&document(&text, with_probe, &[]), Format::Gitpod);
            let errors: Vec<&str> = found
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.as_str())
                .collect();
            assert_eq!(errors, [PROBE_ERROR_GITPOD], "{}", path.display());
            probed += 1;
        }
    }
    assert!(files >= 200, "only {files} corpus files found");
    assert!(probed >= 200, "only {probed} files are mappings");
    println!("gitpod-wild: {files} files, warnings by category: {warnings:?}");
}

/// No wild devcontainer.json may drown its reader: a cascade flags every key of a file
/// (typically 8 to 20), while a legacy file's real problems are its few legacy keys (at most
/// `extensions`, `settings`, `devPort` and `codespaces`) plus a stray value or two. Hence at
/// most 6 warnings per file.
#[test]
fn devcontainer_wild_corpus_gives_few_warnings_per_file() {
    const MOST_PER_FILE: usize = 6;
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        ..Default::default()
    };
    let (mut files, mut failing, mut legacy_extensions, mut worst) = (0, 0, 0, 0);
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    for (path, text) in corpus("devcontainer-wild", ".json") {
        let value: serde_json::Value = match jsonc_parser::parse_to_serde_value(&text, &options) {
            Ok(value) => value,
            Err(err) => panic!("{}: {err}", path.display()),
        };
        legacy_extensions += usize::from(value.get("extensions").is_some());
        let found = check(&document(&text, value.clone(), &[]), Format::Devcontainer);
        // One stray key in a real file is one more warning, not a cascade.
        if let Some(with_probe) = with_probe_key(&value) {
            let probed = check(&document(&text, with_probe, &[]), Format::Devcontainer);
            let extra: Vec<&str> = messages(&probed)
                .into_iter()
                .filter(|m| !messages(&found).contains(m))
                .collect();
            assert_eq!(extra, [PROBE_WARNING_DEVCONTAINER], "{}", path.display());
            assert_eq!(probed.len(), found.len() + 1, "{}", path.display());
        }
        assert!(found.iter().all(|d| !d.is_error()), "{}", path.display());
        assert!(
            found.len() <= MOST_PER_FILE,
            "{}: {:#?}",
            path.display(),
            messages(&found)
        );
        for d in &found {
            *warnings.entry(category(&d.message)).or_default() += 1;
        }
        if !found.is_empty() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            println!("{name}: {:?}", messages(&found));
        }
        failing += usize::from(!found.is_empty());
        worst = worst.max(found.len());
        files += 1;
    }
    assert!(files >= 140, "only {files} corpus files found");
    println!(
        "devcontainer-wild: {files} files, {failing} with warnings, at most {worst} in one file"
    );
    println!("devcontainer-wild warnings by category: {warnings:#?}");
    // Each top-level `extensions` gives exactly one deprecation, nothing more and nothing less.
    assert_eq!(
        warnings
            .get("`extensions` is deprecated")
            .copied()
            .unwrap_or(0),
        legacy_extensions
    );
    assert!(failing > 0, "the wild corpus is known to have legacy keys");
}

/// Compiling each validator, and checking a file with it, printed (run with `--release
/// --nocapture` for the real figures). Nothing is asserted about time.
#[test]
fn schema_compile_time() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let samples = [
        (
            Format::Gitpod,
            "tasks:\n  - init: make\nports:\n  - port: 3000\n",
        ),
        (
            Format::Devcontainer,
            r#"{"image": "ubuntu", "forwardPorts": [3000]}"#,
        ),
    ];
    for (format, text) in samples {
        let start = Instant::now();
        let compiled = Schema::compile(format);
        let compiling = start.elapsed();
        let schema = match compiled {
            Ok(schema) => schema,
            Err(err) => panic!("{format}: {err}"),
        };
        let value = serde_saphyr::from_str(text).expect("sample parses");
        let doc = document(text, value, &[]);
        let start = Instant::now();
        let mut diagnostics = Diagnostics::default();
        schema.check(&doc, &mut diagnostics);
        let checking = start.elapsed();
        assert!(diagnostics.is_empty(), "{:#?}", messages(&diagnostics.0));
        println!(
            "{format} schema: compiled in {compiling:?}, one file checked in {checking:?} \
             ({profile} build)"
        );
    }
}

const PROBE_ERROR_GITPOD: &str = "`devbootProbe` is not a .gitpod.yml property";
const PROBE_WARNING_DEVCONTAINER: &str = "`devbootProbe` is not a devcontainer.json property";

/// `value` with one more top-level key that no schema knows, when it is an object.
fn with_probe_key(value: &serde_json::Value) -> Option<serde_json::Value> {
    let mut value = value.clone();
    value
        .as_object_mut()?
        .insert("devbootProbe".to_string(), serde_json::Value::Bool(true));
    Some(value)
}

/// What kind of problem a message is about, and where, to count them.
fn category(message: &str) -> String {
    if let Some((what, _)) = message.split_once(": move it to") {
        return what.to_string();
    }
    if message.contains(" is not a ") && message.ends_with(" property") {
        let key = message.split('`').nth(1).unwrap_or(message);
        let name = key.rsplit('.').next().unwrap_or(key);
        return format!("unknown property `{name}`");
    }
    let Some((path, rest)) = message.split_once(": ") else {
        return message.to_string();
    };
    let kind = if rest.starts_with("expected") {
        "wrong type"
    } else if rest.contains(" is not one of ") {
        "value not allowed"
    } else if rest.contains(" does not match ") || rest.contains("expected format") {
        "wrong format"
    } else {
        rest
    };
    format!("{path}: {kind}")
}

/// The files of a corpus folder whose names end in `suffix`, sorted, with their text.
fn corpus(folder: &str, suffix: &str) -> Vec<(std::path::PathBuf, String)> {
    let dir = shared_dir().join("corpus").join(folder);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable corpus folder").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}
