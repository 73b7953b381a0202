//! devcontainer.json: the exact text of devboot's diagnostics, the lowered model as
//! `devboot config --json` prints it, the shared corpus, and never-panic properties.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use devboot::config::source::SourceFile;
use devboot::config::{self, Context, devcontainer, jsonc, substitute};
use devboot::diagnostic::Diagnostics;
use devboot::error::Error;
use devboot::workspace::{EnvMap, Format};
use proptest::prelude::*;

use crate::harness::{Run, Test, shared_dir};

const CONFIG: &str = ".devcontainer/devcontainer.json";

fn validate(config: impl AsRef<[u8]>) -> Run {
    Test::new()
        .file(CONFIG, config)
        .args(["validate", CONFIG])
        .run()
}

#[track_caller]
fn assert_stderr(run: &Run, status: i32, expected: &str) {
    run.status(status);
    assert_eq!(run.stderr, expected, "stderr differs; got:\n{}", run.stderr);
}

// ---- golden diagnostics of `devboot validate` ----

#[test]
fn missing_comma() {
    let run = validate(
        "{\n  \"image\": \"mcr.microsoft.com/devcontainers/base:ubuntu\"\n  \"remoteUser\": \"vscode\"\n}\n",
    );
    assert_stderr(
        &run,
        2,
        r#"error: missing comma
 --> .devcontainer/devcontainer.json:2:57
  |
2 |   "image": "mcr.microsoft.com/devcontainers/base:ubuntu"
  |                                                         ^ expected `,` here
  |
help: separate the entries with a comma
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn unclosed_brace() {
    let run = validate(
        "{\n  \"image\": \"mcr.microsoft.com/devcontainers/base:ubuntu\",\n  \"customizations\": {\n    \"vscode\": {}\n",
    );
    assert_stderr(
        &run,
        2,
        r#"error: unclosed `{`
 --> .devcontainer/devcontainer.json:3:21
  |
3 |   "customizations": {
  |                     ^ this `{` is never closed
  |
help: add the matching `}`
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn property_without_colon() {
    let run = validate(
        "{\n  \"image\": \"mcr.microsoft.com/devcontainers/base:ubuntu\",\n  \"remoteUser\" \"vscode\"\n}\n",
    );
    assert_stderr(
        &run,
        2,
        r#"error: property without `:`
 --> .devcontainer/devcontainer.json:3:3
  |
3 |   "remoteUser" "vscode"
  |   ^^^^^^^^^^^^ expected `:` and a value after this name
  |
help: write the property as `"name": value`
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn unterminated_string() {
    let run = validate("{\n  \"name\": \"x,\n  \"image\": \"ubuntu\"\n}\n");
    assert_stderr(
        &run,
        2,
        r#"error: unterminated string
 --> .devcontainer/devcontainer.json:2:11
  |
2 |   "name": "x,
  |           ^^^ this string is not closed on its line
  |
help: add the closing `"` (a line break inside a string is written `\n`)
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn array_root() {
    let run = validate("[\n  { \"image\": \"ubuntu\" }\n]\n");
    assert_stderr(
        &run,
        2,
        r#"error: the file must contain a JSON object
 --> .devcontainer/devcontainer.json:1:1
  |
1 | [
  | ^ this is an array
  |
help: put the settings in one object: `{ "image": "...", ... }`
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn empty_file() {
    let run = validate("");
    assert_stderr(
        &run,
        2,
        r#"error: the file is empty
 --> .devcontainer/devcontainer.json:1:1
  |
1 |
  | ^ expected a JSON object
  |
help: write the settings as one JSON object, for example `{ "image": "mcr.microsoft.com/devcontainers/base:ubuntu" }`
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn duplicate_key() {
    let run = validate(
        "{\n  \"image\": \"ubuntu\",\n  \"remoteUser\": \"vscode\",\n  \"image\": \"debian\"\n}\n",
    );
    assert_stderr(
        &run,
        2,
        r#"error: duplicate key `image`: it is already set on line 2
 --> .devcontainer/devcontainer.json:4:3
  |
4 |   "image": "debian"
  |   ^^^^^^^ set again here
  |
help: remove one of the two; other tools silently keep only the last one, so the first one has no effect
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn build_without_dockerfile() {
    let run = validate("{\n  \"build\": {\n    \"context\": \"..\"\n  }\n}\n");
    assert_stderr(
        &run,
        2,
        r#"error: `build` has no `dockerfile`
 --> .devcontainer/devcontainer.json:2:3
  |
2 |   "build": {
  |   ^^^^^^^ expected `"dockerfile": "..."` in here
  |
help: name the Dockerfile (relative to this file's folder), or use `image` instead of `build`
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn missing_dockerfile() {
    let run = Test::new()
        .file(
            CONFIG,
            "{\n  \"build\": { \"dockerfile\": \"Dockerfile\" }\n}\n",
        )
        .args(["validate", CONFIG])
        .run();
    let expected = format!(
        r#"error: cannot find the Dockerfile `Dockerfile`
 --> .devcontainer/devcontainer.json:2:28
  |
2 |   "build": {{ "dockerfile": "Dockerfile" }}
  |                            ^^^^^^^^^^^^ no such file
  |
help: looked for {}; the path is relative to the folder of devcontainer.json
1 error(s), 0 warning(s)
"#,
        run.dir.join(".devcontainer/Dockerfile").display()
    );
    assert_stderr(&run, 2, &expected);
}

#[test]
fn local_env_without_a_name() {
    let run = validate(
        "{\n  \"image\": \"ubuntu\",\n  \"containerEnv\": {\n    \"TOKEN\": \"${localEnv:}\"\n  }\n}\n",
    );
    assert_stderr(
        &run,
        2,
        r#"error: `${localEnv:}` names no environment variable
 --> .devcontainer/devcontainer.json:4:15
  |
4 |     "TOKEN": "${localEnv:}"
  |               ^^^^^^^^^^^^ no variable name
  |
help: write `${localEnv:NAME}` or `${localEnv:NAME:default}`
1 error(s), 0 warning(s)
"#,
    );
}

#[test]
fn not_utf8() {
    let run = validate(b"{\n  \"name\": \"caf\xe9\",\n  \"image\": \"ubuntu\"\n}\n");
    assert_stderr(
        &run,
        2,
        "error: the file is not valid UTF-8
 --> .devcontainer/devcontainer.json:2:15
  |
2 |   \"name\": \"caf\u{fffd}\",
  |               ^ invalid byte here
  |
help: save the file as UTF-8
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn trailing_comma_is_a_warning() {
    let run = validate("{\n  \"image\": \"ubuntu\",\n  \"forwardPorts\": [3000],\n}\n");
    assert_stderr(
        &run,
        0,
        r#"warning: trailing comma
 --> .devcontainer/devcontainer.json:3:25
  |
3 |   "forwardPorts": [3000],
  |                         ^ remove this comma
  |
help: remove it: the devcontainer.json schema does not allow trailing commas (VS Code and the reference CLI accept them, stricter tools do not)
0 error(s), 1 warning(s)
"#,
    );
}

#[test]
fn ignored_property_is_a_warning_at_its_key() {
    let run = validate("{\n  \"image\": \"ubuntu\",\n  \"devPort\": 8000\n}\n");
    assert_stderr(
        &run,
        0,
        r#"warning: `devPort` is ignored: legacy VS Code setting, not used by devboot
 --> .devcontainer/devcontainer.json:3:3
  |
3 |   "devPort": 8000
  |   ^^^^^^^^^
0 error(s), 1 warning(s)
"#,
    );
}

#[test]
fn type_errors_are_located_and_all_reported() {
    let run = validate(
        "{\n  \"image\": \"ubuntu\",\n  \"runArgs\": [\"--init\", 3],\n  \"forwardPorts\": [0]\n}\n",
    );
    run.status(2)
        .stderr_has("error: runArgs[1]: invalid type: integer `3`, expected a string\n --> .devcontainer/devcontainer.json:3:25")
        .stderr_has("error: forwardPorts[0]: port 0 is out of range\n --> .devcontainer/devcontainer.json:4:20")
        .stderr_has("2 error(s), 0 warning(s)");
}

#[test]
fn a_valid_file_is_ok() {
    let run = validate("{ \"image\": \"ubuntu\" }");
    assert_stderr(&run, 0, ".devcontainer/devcontainer.json: ok\n");
}

// ---- the lowered model, as `devboot config --json` prints it ----

fn config_json(config: &str, extra: &[(&str, &str)]) -> (serde_json::Value, PathBuf) {
    let mut test = Test::new().file(CONFIG, config);
    for (path, contents) in extra {
        test = test.file(path, contents);
    }
    let run = test
        .env("DEVBOOT_TEST_USER", "me")
        .args(["config", "--json"])
        .run();
    run.status(0);
    (run.json(), run.dir)
}

#[test]
fn config_json_image_mount_folder_and_env() {
    let (json, dir) = config_json(
        r#"{
  "image": "mcr.microsoft.com/devcontainers/base:${localEnv:NO_SUCH_VARIABLE_HERE:ubuntu}",
  "containerEnv": { "USER_NAME": "${localEnv:DEVBOOT_TEST_USER}", "WS": "${containerWorkspaceFolder}" },
  "remoteEnv": { "PATH": "${containerEnv:PATH}:/opt/bin", "GONE": null }
}"#,
        &[],
    );
    let base = dir.file_name().unwrap().to_str().unwrap();
    assert_eq!(json["format"], "devcontainer");
    assert_eq!(json["name"], base);
    assert_eq!(
        json["image"],
        serde_json::json!({"kind": "reference", "image": "mcr.microsoft.com/devcontainers/base:ubuntu"})
    );
    assert_eq!(
        json["mount"],
        serde_json::json!({
            "source": dir.display().to_string(),
            "target": format!("/workspaces/{base}"),
            "spec": null,
        })
    );
    assert_eq!(json["folder"], format!("/workspaces/{base}"));
    assert_eq!(
        json["containerEnv"],
        serde_json::json!({"USER_NAME": "me", "WS": format!("/workspaces/{base}")})
    );
    // `${containerEnv:...}` waits for the container; null cannot unset, so it is dropped.
    assert_eq!(
        json["remoteEnv"],
        serde_json::json!({"PATH": "${containerEnv:PATH}:/opt/bin"})
    );
    assert_eq!(
        json["warnings"][0]["message"],
        "`remoteEnv.GONE` is null, so it is not set"
    );
    assert_eq!(json["options"]["overrideCommand"], true);
}

#[test]
fn config_json_workspace_mount_and_folder() {
    let (json, dir) = config_json(
        r#"{
  "image": "ubuntu",
  "workspaceMount": "source=${localWorkspaceFolder},target=/src/${devcontainerId},type=bind",
  "postCreateCommand": "cd ${containerWorkspaceFolder}"
}"#,
        &[],
    );
    let labels = substitute::id_labels(&dir, &dir.join(CONFIG));
    let id = substitute::devcontainer_id(&labels);
    assert_eq!(json["mount"]["source"], dir.display().to_string());
    assert_eq!(json["mount"]["target"], format!("/src/{id}"));
    assert_eq!(
        json["mount"]["spec"],
        format!("source={},target=/src/{id},type=bind", dir.display())
    );
    assert_eq!(json["folder"], format!("/src/{id}"));
    assert_eq!(
        json["stages"][0]["lanes"][0]["steps"][0]["command"]["shell"],
        format!("cd /src/{id}")
    );
}

#[test]
fn config_json_dockerfile_build() {
    let (json, dir) = config_json(
        r#"{
  "name": "built",
  "build": { "dockerfile": "../docker/Dockerfile", "args": { "V": "1" }, "target": "dev", "cacheFrom": ["a", "b"], "options": ["--pull"] },
  "workspaceMount": "",
  "workspaceFolder": "/work"
}"#,
        &[("docker/Dockerfile", "FROM ubuntu\n")],
    );
    assert_eq!(json["name"], "built");
    assert_eq!(json["image"]["kind"], "dockerfile");
    assert_eq!(
        json["image"]["dockerfile"],
        dir.join("docker/Dockerfile").display().to_string()
    );
    // The reference CLI's default context is the Dockerfile's folder.
    assert_eq!(
        json["image"]["context"],
        dir.join("docker").display().to_string()
    );
    assert_eq!(json["image"]["args"], serde_json::json!({"V": "1"}));
    assert_eq!(json["image"]["target"], "dev");
    assert_eq!(json["mount"], serde_json::Value::Null);
    assert_eq!(json["folder"], "/work");
}

#[test]
fn config_json_compose() {
    let (json, dir) = config_json(
        r#"{
  "dockerComposeFile": ["../compose.yml", "compose.override.yml"],
  "service": "app",
  "runServices": ["app", "db"],
  "forwardPorts": ["db:5432"]
}"#,
        &[
            ("compose.yml", "services: {}\n"),
            (".devcontainer/compose.override.yml", "services: {}\n"),
        ],
    );
    assert_eq!(
        json["image"],
        serde_json::json!({
            "kind": "compose",
            "files": [
                dir.join("compose.yml").display().to_string(),
                dir.join(".devcontainer/compose.override.yml").display().to_string(),
            ],
            "service": "app",
            "runServices": ["app", "db"],
        })
    );
    assert_eq!(json["mount"], serde_json::Value::Null);
    assert_eq!(json["folder"], "/");
    assert_eq!(json["options"]["overrideCommand"], false);
    assert_eq!(json["ports"][0]["port"], 5432);
    assert!(
        json["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("forwarding to another compose service is not supported")
    );
}

#[test]
fn config_json_stages() {
    let (json, _) = config_json(
        r#"{
  "image": "ubuntu",
  "postAttachCommand": "echo attach",
  "onCreateCommand": ["npm", "ci"],
  "postCreateCommand": { "server": "npm start", "watch": ["npm", "run", "watch"], "none": "" },
  "updateContentCommand": ""
}"#,
        &[],
    );
    assert_eq!(
        json["stages"],
        serde_json::json!([
            {"name": "onCreateCommand", "lanes": [
                {"name": "onCreateCommand", "env": {}, "steps": [
                    {"phase": "onCreateCommand", "command": {"exec": ["npm", "ci"]}}]}]},
            {"name": "postCreateCommand", "lanes": [
                {"name": "server", "env": {}, "steps": [
                    {"phase": "postCreateCommand", "command": {"shell": "npm start"}}]},
                {"name": "watch", "env": {}, "steps": [
                    {"phase": "postCreateCommand", "command": {"exec": ["npm", "run", "watch"]}}]}]},
            {"name": "postAttachCommand", "lanes": [
                {"name": "postAttachCommand", "env": {}, "steps": [
                    {"phase": "postAttachCommand", "command": {"shell": "echo attach"}}]}]},
        ])
    );
}

#[test]
fn config_json_ports() {
    let (json, _) = config_json(
        r#"{
  "image": "ubuntu",
  "forwardPorts": [3000, "localhost:5432", "${localEnv:DEVBOOT_TEST_NO_PORT:8000}"],
  "appPort": [3000, "0.0.0.0:4567:4567", "8080:80"],
  "portsAttributes": {
    "3000": { "label": "App", "protocol": "https", "onAutoForward": "openBrowserOnce" },
    "9000-9002": { "onAutoForward": "ignore" },
    "5432": { "visibility": "public", "onAutoForward": "silent" }
  }
}"#,
        &[],
    );
    let ports: Vec<_> = json["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_u64().unwrap(),
                p["end"].as_u64().unwrap(),
                p["hostPort"].clone(),
                p["hostIp"].clone(),
                p["visibility"].as_str().unwrap().to_string(),
                p["onOpen"].as_str().unwrap().to_string(),
                p["publish"].as_bool().unwrap(),
            )
        })
        .collect();
    let null = serde_json::Value::Null;
    let s = |v: &str| serde_json::Value::from(v);
    assert_eq!(
        ports,
        [
            (
                3000,
                3000,
                null.clone(),
                s("127.0.0.1"),
                "private".into(),
                "openBrowserOnce".into(),
                true
            ),
            (
                5432,
                5432,
                null.clone(),
                null.clone(),
                "public".into(),
                "silent".into(),
                true
            ),
            (
                8000,
                8000,
                null.clone(),
                null.clone(),
                "private".into(),
                "notify".into(),
                true
            ),
            (
                4567,
                4567,
                4567.into(),
                s("0.0.0.0"),
                "public".into(),
                "notify".into(),
                true
            ),
            (
                80,
                80,
                8080.into(),
                null.clone(),
                "private".into(),
                "notify".into(),
                true
            ),
            (
                9000,
                9002,
                null.clone(),
                null,
                "private".into(),
                "ignore".into(),
                false
            ),
        ]
    );
    assert_eq!(json["ports"][0]["label"], "App");
    assert_eq!(json["ports"][0]["protocol"], "https");
}

#[test]
fn config_fails_with_exit_2_on_errors() {
    Test::new()
        .file(
            CONFIG,
            "{ \"image\": \"ubuntu\", \"forwardPorts\": [\"web\"] }",
        )
        .args(["config", "--json"])
        .run()
        .status(2)
        .stderr_has("error: forwardPorts[0]: `web` is not a port");
}

// ---- the shared corpus ----

/// Fixture configs of the reference CLI that do not load: the name, the error they must fail
/// with, and the reason a person would give. (The `features-configs__invalid-configs__*`
/// fixtures are invalid only in their Features, which devboot does not install and warns
/// about, so they load.)
const EXPECTED_FIXTURE_FAILURES: &[(&str, &str, &str)] = &[(
    "cli-configs__set-up-with-config/devcontainer.json",
    "needs `image`, `build.dockerfile` or `dockerComposeFile`",
    "a config for `devcontainer set-up`, which adopts a running container: it names no image",
)];

const CODESPACES_DEFAULT: (&str, &str) = (
    "needs `image`, `build.dockerfile` or `dockerComposeFile`",
    "names no image: it relies on the GitHub Codespaces default image (the reference CLI rejects it too)",
);

/// Files of the wild corpus that do not load: the file, the error it must fail with, and why.
const EXPECTED_WILD_FAILURES: &[(&str, &str, &str)] = &[
    (
        "01WarpDrive__MyPIDSMaker.json",
        "forwardPorts[0]: the port is empty",
        "`forwardPorts` is `${env:DOCKER_PORT}`, empty when DOCKER_PORT is not set",
    ),
    (
        "9brada6__tabs-with-posts.json",
        "cannot find the compose file `../../../../docker-compose.yml`",
        "`dockerComposeFile` points four folders above the repository root, outside the checkout",
    ),
    (
        "23W-INCO__Mediplus-so-mb.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "A-Maugli__akt02.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "AdamLisicki__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "Benedicta-Onyekwere__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "CFelt22__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "Chinyere-nwalie__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "Firdous2307__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "PatrickCmd__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "aravindvcyber__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "bhanumalhotra123__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "dontworryjohn__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "jess-bk__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "jhargett1__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "jidegithub__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "madhavi-chavva__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "oxblixxx__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "sm1lexops__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
    (
        "vishnukumarkvs__aws-bootcamp-cruddur-2023.json",
        CODESPACES_DEFAULT.0,
        CODESPACES_DEFAULT.1,
    ),
];

/// Checks one load result against the expected failures; `None` when it is as expected.
fn judge(
    name: &str,
    result: &Result<usize, Diagnostics>,
    expected: Option<&(&str, &str, &str)>,
) -> Option<String> {
    match (result, expected) {
        (Ok(_), None) => None,
        (Err(d), Some((_, error, _))) if messages(d).contains(error) => None,
        (Err(d), Some((_, error, _))) => Some(format!(
            "{name}: expected to fail with {error:?}, but: {}",
            messages(d)
        )),
        (Ok(_), Some((_, _, why))) => Some(format!("{name}: loads, but is listed to fail ({why})")),
        (Err(d), None) => Some(format!("{name}: {}", messages(d))),
    }
}

fn corpus_context(local_folder: &Path, config_file: &Path) -> Context {
    Context {
        local_folder: local_folder.to_path_buf(),
        config_file: config_file.to_path_buf(),
        // A fixed host environment, so the results do not depend on the machine.
        host_env: EnvMap::from([("HOME".to_string(), "/home/user".to_string())]),
    }
}

fn fixture_configs(root: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut fixtures: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    fixtures.sort();
    for fixture in fixtures {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let mut candidates = vec![
            fixture.join(".devcontainer/devcontainer.json"),
            fixture.join(".devcontainer.json"),
            fixture.join("devcontainer.json"),
        ];
        if let Ok(entries) = std::fs::read_dir(fixture.join(".devcontainer")) {
            let mut subs: Vec<_> = entries
                .map(|e| e.unwrap().path().join("devcontainer.json"))
                .collect();
            subs.sort();
            candidates.extend(subs);
        }
        for config in candidates.into_iter().filter(|c| c.is_file()) {
            let rel = config.strip_prefix(&fixture).unwrap().display().to_string();
            out.push((format!("{name}/{rel}"), fixture.clone(), config));
        }
    }
    out
}

/// Loads one config; on failure, the error messages.
fn try_load(local_folder: &Path, config_file: &Path) -> Result<usize, Diagnostics> {
    let context = corpus_context(local_folder, config_file);
    match config::load_file(config_file, Format::Devcontainer, &context) {
        Ok(loaded) => Ok(loaded.diagnostics.len()),
        Err(Error::Config(diagnostics)) => Err(diagnostics),
        Err(other) => panic!("{}: {other}", config_file.display()),
    }
}

fn messages(diagnostics: &Diagnostics) -> String {
    diagnostics
        .errors()
        .map(|d| format!("{} ({})", d.message, d.position().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn corpus_fixtures_of_the_reference_cli() {
    let root = shared_dir().join("corpus/devcontainer-cli-fixtures");
    let configs = fixture_configs(&root);
    let (mut ok, mut failed, mut warnings) = (0, 0, 0);
    let mut unexpected = Vec::new();
    for (name, fixture, config) in &configs {
        let expected = EXPECTED_FIXTURE_FAILURES.iter().find(|(n, _, _)| n == name);
        let result = try_load(fixture, config);
        match &result {
            Ok(count) => {
                ok += 1;
                warnings += count;
            }
            Err(_) => failed += 1,
        }
        unexpected.extend(judge(name, &result, expected));
    }
    println!(
        "devcontainer-cli-fixtures: {} configs, {ok} load ({warnings} warnings), {failed} fail",
        configs.len()
    );
    assert!(configs.len() >= 90, "found only {} configs", configs.len());
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

/// The wild corpus holds only the devcontainer.json files, not the Dockerfiles and compose
/// files next to them. Each file is put back where it was in its repository (MANIFEST.tsv);
/// when the only errors are "not found" for such sibling files, the test creates them empty
/// and loads again, which must then succeed: so the config itself is sound, and the
/// missing-file check is still exercised.
#[test]
fn corpus_wild() {
    let root = shared_dir().join("corpus/devcontainer-wild");
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let placed: BTreeMap<&str, &str> = manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some((fields.next()?, fields.nth(1)?))
        })
        .collect();
    let (mut ok, mut needed_siblings, mut failed, mut warnings) = (0, 0, 0, 0);
    let mut unexpected = Vec::new();
    for (file, path_in_repo) in &placed {
        let workspace = tempfile::tempdir().unwrap();
        let config = workspace.path().join(path_in_repo);
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), &config).unwrap();
        let expected = EXPECTED_WILD_FAILURES.iter().find(|(n, _, _)| n == file);

        let mut result = try_load(workspace.path(), &config);
        if let Err(diagnostics) = &result {
            // Only files inside the repository can have been left out of the corpus.
            let missing: Vec<_> = missing_siblings(diagnostics)
                .into_iter()
                .filter(|path| path.starts_with(workspace.path()))
                .collect();
            if !missing.is_empty() && missing.len() == diagnostics.errors().count() {
                for path in &missing {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(path, "").unwrap();
                }
                needed_siblings += 1;
                result = try_load(workspace.path(), &config);
            }
        }
        match &result {
            Ok(count) => {
                ok += 1;
                warnings += count;
            }
            Err(_) => failed += 1,
        }
        unexpected.extend(judge(file, &result, expected));
    }
    println!(
        "devcontainer-wild: {} files, {ok} load ({needed_siblings} after creating their Dockerfile or compose file; {warnings} warnings), {failed} fail",
        placed.len()
    );
    assert_eq!(placed.len(), 150);
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

/// The files named by "not found" errors (their help says where devboot looked).
fn missing_siblings(diagnostics: &Diagnostics) -> Vec<PathBuf> {
    diagnostics
        .errors()
        .filter(|d| d.label.as_deref() == Some("no such file"))
        .filter_map(|d| {
            let help = d.help.as_deref()?;
            let path = help.strip_prefix("looked for ")?.split("; ").next()?;
            Some(PathBuf::from(path))
        })
        .collect()
}

// ---- never panic ----

fn parse_and_lower(text: &str) {
    let file = SourceFile::new("/w/.devcontainer/devcontainer.json", text);
    let mut diagnostics = Diagnostics::default();
    if let Some(doc) = jsonc::parse(&file, &mut diagnostics) {
        let context = corpus_context(Path::new("/w"), &file.path);
        let _ = devcontainer::lower(&doc, &context, &mut diagnostics);
    }
    for d in &diagnostics.0 {
        // Rendering must not panic either, wherever the span points.
        let _ = devboot::diagnostic::render(d, false);
    }
}

/// A real config, with comments, every hook form, ports and variables.
const SEED: &str = r#"// seed
{
  "name": "seed-${localEnv:USER:me}",
  "image": "mcr.microsoft.com/devcontainers/base:ubuntu",
  "workspaceMount": "source=${localWorkspaceFolder},target=/w/${devcontainerId},type=bind",
  "forwardPorts": [3000, "localhost:5432", "db:1"],
  "appPort": ["0.0.0.0:4567:4567", 8080, "[::1]:9000-9001:9000-9001/tcp"],
  "portsAttributes": { "3000": { "label": "App", "onAutoForward": "openBrowser" }, "1-2": {}, ".*": {} },
  "containerEnv": { "A": "${containerWorkspaceFolderBasename}" },
  "remoteEnv": { "P": "${containerEnv:PATH}", "N": null },
  "mounts": [{ "type": "volume", "source": "v", "target": "/v" }, "type=tmpfs,target=/t"],
  "postCreateCommand": { "a": "echo ${HOME}", "b": ["ls", "-l"] },
  "postStartCommand": ["echo", "x"],
  "features": {}, /* trailing */
}"#;

fn mutation() -> impl Strategy<Value = String> {
    let len = SEED.len();
    (0..len, 0..16usize, "[{}\\[\\],:\"$ a-z0-9\\\\/*\n-]{0,6}").prop_map(
        move |(at, cut, insert)| {
            let mut at = at;
            while !SEED.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(len);
            while !SEED.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{insert}{}", &SEED[..at], &SEED[end..])
        },
    )
}

/// Property names lowering looks at (and some it warns about), for structured inputs.
const KEYS: &[&str] = &[
    "name",
    "image",
    "build",
    "dockerfile",
    "dockerFile",
    "context",
    "args",
    "target",
    "cacheFrom",
    "options",
    "dockerComposeFile",
    "service",
    "runServices",
    "workspaceFolder",
    "workspaceMount",
    "mounts",
    "type",
    "source",
    "forwardPorts",
    "appPort",
    "portsAttributes",
    "label",
    "protocol",
    "onAutoForward",
    "visibility",
    "requireLocalPort",
    "containerEnv",
    "remoteEnv",
    "containerUser",
    "remoteUser",
    "runArgs",
    "overrideCommand",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "initializeCommand",
    "onCreateCommand",
    "postCreateCommand",
    "postStartCommand",
    "features",
    "3000",
    "1-2",
    "0",
];

/// Arbitrary JSON whose object keys are property names and whose strings look like the
/// values lowering parses (ports, mounts, variables).
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (0u32..70_000).prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        r"[a-z0-9:./\$\{\}\[\]=,-]{0,20}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "",
            "Dockerfile",
            "3000",
            "localhost:3000",
            "db:1",
            "0.0.0.0:1:1",
            "[::]:1-2:1-2/udp",
            "type=bind,source=/a,target=/b",
            "${localEnv:X}",
            "${localEnv}",
            "${containerEnv:P}",
            "${devcontainerId}",
            "${containerWorkspaceFolder}",
            "openBrowser",
            "ignore",
            "public",
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn config_object() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..12).prop_map(|entries| {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        serde_json::Value::Object(map).to_string()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lowering_never_panics_on_structured_configs(text in config_object()) {
        parse_and_lower(&text);
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        parse_and_lower(&text);
    }

    #[test]
    fn never_panics_on_json_like_text(text in "[{}\\[\\],:\" a-z0-9$\\\\/*\n.-]{0,120}") {
        parse_and_lower(&text);
    }

    #[test]
    fn never_panics_on_mutations_of_a_real_config(text in mutation()) {
        parse_and_lower(&text);
    }

    #[test]
    fn substitution_never_panics(text in "(\\$\\{|\\}|:|[a-zA-Z]{1,12}|\n|\u{e9})*") {
        let host = EnvMap::from([("A".to_string(), "${devcontainerId}".to_string())]);
        let vars = substitute::Variables {
            host_env: &host,
            local_folder: Path::new("/w"),
            container_folder: Some("/c"),
            devcontainer_id: Some("id"),
        };
        let local = substitute::resolve_local(&text, &vars);
        let _ = substitute::resolve_devcontainer_id(&local, "id");
        let _ = substitute::resolve_container_env_text(&text, &host);
        let json = serde_json::json!({ "name": text, "remoteEnv": { "X": text } }).to_string();
        parse_and_lower(&json);
    }
}

#[test]
fn the_seed_itself_parses() {
    let file = SourceFile::new("/w/.devcontainer/devcontainer.json", SEED);
    let mut diagnostics = Diagnostics::default();
    let doc = jsonc::parse(&file, &mut diagnostics).expect("seed parses");
    let context = corpus_context(Path::new("/w"), &file.path);
    let workspace = devcontainer::lower(&doc, &context, &mut diagnostics);
    assert!(workspace.is_some(), "{diagnostics:?}");
}
