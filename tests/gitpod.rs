//! `.gitpod.yml`: golden texts of `devboot validate`, the JSON of `devboot config --json`,
//! every file of the wild corpus, and parsing that never panics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use devboot::config::{self, Context, gitpod, yaml};
use devboot::diagnostic::Diagnostics;
use devboot::error::Error;
use devboot::workspace::{EnvMap, Format};
use proptest::prelude::*;
use serde_json::json;

use crate::harness::{Run, Test, shared_dir};

const REALISTIC: &str = include_str!("fixtures/gitpod/realistic.gitpod.yml");

/// `devboot validate .gitpod.yml` on a workspace holding only that file.
fn validate(contents: impl AsRef<[u8]>) -> Run {
    Test::new()
        .file(".gitpod.yml", contents)
        .args(["validate", ".gitpod.yml"])
        .run()
}

#[track_caller]
fn assert_stderr(run: &Run, status: i32, expected: &str) {
    assert_eq!(
        run.stderr, expected,
        "\n--- got ---\n{}\n--- expected ---\n{expected}",
        run.stderr
    );
    run.status(status);
}

#[test]
fn validate_bad_indentation() {
    let run = validate("tasks:\n  - init: npm install\n   command: npm start\n");
    assert_stderr(
        &run,
        2,
        "\
error: invalid YAML: while parsing a block collection, did not find expected '-' indicator
 --> .gitpod.yml:3:4
  |
3 |    command: npm start
  |    ^
  |
help: check the indentation: the keys of one mapping start in the same column, and a nested value is indented more than its key
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_tab_in_indentation() {
    let run = validate("tasks:\n\t- init: npm install\n");
    assert_stderr(
        &run,
        2,
        "\
error: invalid YAML: a tab is used for indentation
 --> .gitpod.yml:2:1
  |
2 |     - init: npm install
  | ^^^^
  |
help: indent with spaces; YAML does not allow tabs in indentation
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_port_that_is_not_a_number() {
    let run = validate("ports:\n  - port: \"abc\"\n");
    assert_stderr(
        &run,
        2,
        "\
error: ports[0].port: \"abc\" is not a port number
 --> .gitpod.yml:2:11
  |
2 |   - port: \"abc\"
  |           ^^^^^
  |
help: write a number like 3000, or a range like 3000-3010
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_unknown_task_key() {
    let run = validate("tasks:\n  - name: web\n    commnd: npm start\n");
    assert_stderr(
        &run,
        2,
        "\
error: tasks[0].commnd: unknown field `commnd`, expected one of `name`, `before`, `init`, `command`, `prebuild`, `env`, `openIn`, `openMode`
 --> .gitpod.yml:3:5
  |
3 |     commnd: npm start
  |     ^^^^^^
  |
help: did you mean `command`?
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_reversed_port_range() {
    let run = validate("ports:\n  - port: 5000-3000\n");
    assert_stderr(
        &run,
        2,
        "\
error: ports[0].port: range end is below its start
 --> .gitpod.yml:2:11
  |
2 |   - port: 5000-3000
  |           ^^^^^^^^^
  |
help: write the lower port first: 3000-5000
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_port_out_of_range() {
    let run = validate("ports:\n  - port: 70000\n");
    assert_stderr(
        &run,
        2,
        "\
error: ports[0].port: port must be between 1 and 65535
 --> .gitpod.yml:2:11
  |
2 |   - port: 70000
  |           ^^^^^
  |
help: use a port number from 1 to 65535
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_duplicate_key() {
    let run = validate("image: node:20\ntasks:\n  - init: npm ci\nimage: node:22\n");
    assert_stderr(
        &run,
        2,
        "\
error: duplicate key `image` (first defined on line 1)
 --> .gitpod.yml:4:1
  |
4 | image: node:22
  | ^^^^^ defined again here
  |
help: remove one of the two; Gitpod rejects a file with duplicate keys
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_empty_and_comment_only_files_are_ok() {
    assert_stderr(&validate(""), 0, ".gitpod.yml: ok\n");
    assert_stderr(&validate("# nothing yet\n\n"), 0, ".gitpod.yml: ok\n");
}

#[test]
fn validate_file_that_is_not_utf8() {
    let run = validate(b"tasks:\n  - name: caf\xe9\n");
    assert_stderr(
        &run,
        2,
        "\
error: the file is not valid UTF-8
 --> .gitpod.yml:2:14
  |
2 |   - name: caf\u{fffd}
  |              ^ invalid byte here
  |
help: save the file as UTF-8
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_list_as_root() {
    let run = validate("- init: npm ci\n- command: npm start\n");
    assert_stderr(
        &run,
        2,
        "\
error: the file must be a mapping of keys like `tasks:` and `ports:`, not a list
 --> .gitpod.yml:1:1
  |
1 | - init: npm ci
  | ^^^^^^^^^^^^^^
  |
help: write the top-level keys at the start of their lines, like `tasks:`, `ports:` or `image:`
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_two_documents() {
    let run = validate("image: a\n---\nimage: b\n");
    assert_stderr(
        &run,
        2,
        "\
error: the file holds more than one YAML document
 --> .gitpod.yml:2:1
  |
2 | ---
  | ^^^ a second document starts here
  |
help: keep one document: remove this `---` and what follows it, or move its keys into the first document
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_missing_dockerfile() {
    let run = validate("image:\n  file: .gitpod.Dockerfile\n");
    assert_stderr(
        &run,
        2,
        "\
error: image.file: the Dockerfile does not exist
 --> .gitpod.yml:2:9
  |
2 |   file: .gitpod.Dockerfile
  |         ^^^^^^^^^^^^^^^^^^
  |
help: devboot looked for .gitpod.Dockerfile; the path is relative to the repository root
1 error(s), 0 warning(s)
",
    );
}

#[test]
fn validate_reports_every_problem_and_warnings_do_not_fail() {
    let run = validate(
        "tasks:\n  - openMode: tab-after\n    command: make run\nports:\n  - port: abc\n  - port: 0\n",
    );
    assert_stderr(
        &run,
        2,
        "\
warning: tasks[0].openMode: ignored, it places the task's terminal in Gitpod's IDE
 --> .gitpod.yml:2:5
  |
2 |   - openMode: tab-after
  |     ^^^^^^^^
error: ports[0].port: \"abc\" is not a port number
 --> .gitpod.yml:5:11
  |
5 |   - port: abc
  |           ^^^
  |
help: write a number like 3000, or a range like 3000-3010
error: ports[1].port: port must be between 1 and 65535
 --> .gitpod.yml:6:11
  |
6 |   - port: 0
  |           ^
  |
help: use a port number from 1 to 65535
2 error(s), 1 warning(s)
",
    );

    let run = validate("vscode:\n  extensions: [ms-python.python]\n");
    assert_stderr(
        &run,
        0,
        "\
warning: vscode: ignored, devboot does not install IDE extensions (it lists the VS Code extensions ms-python.python: install them in your editor)
 --> .gitpod.yml:1:1
  |
1 | vscode:
  | ^^^^^^
0 error(s), 1 warning(s)
",
    );
}

#[test]
fn config_json_of_a_realistic_file() {
    let test = Test::new()
        .file(".gitpod.yml", REALISTIC)
        .file(".gitpod.Dockerfile", "FROM gitpod/workspace-python\n")
        .args(["config", "--json"]);
    let dir = test.path().to_path_buf();
    let basename = dir.file_name().unwrap().to_string_lossy().into_owned();
    let run = test.run();
    run.status(0);
    let json = run.json();

    assert_eq!(json["format"], "gitpod");
    assert_eq!(json["name"], basename.as_str());
    let repo_root = format!("/workspace/{basename}");
    assert_eq!(json["folder"], repo_root.as_str());
    assert_eq!(json["mount"]["target"], repo_root.as_str());
    assert_eq!(json["mount"]["source"], dir.to_str().unwrap());
    assert_eq!(
        json["image"],
        json!({
            "kind": "dockerfile",
            "dockerfile": dir.join(".gitpod.Dockerfile").to_str().unwrap(),
            "context": dir.to_str().unwrap(),
            "args": {},
            "target": null,
            "cacheFrom": [],
            "options": [],
        })
    );
    assert_eq!(
        json["containerEnv"],
        json!({
            "FLASK_ENV": "development",
            "GITPOD_REPO_ROOT": repo_root,
            "THEIA_WORKSPACE_ROOT": repo_root,
        })
    );

    let lanes = &json["stages"][0]["lanes"];
    assert_eq!(json["stages"][0]["name"], "tasks");
    assert_eq!(
        lanes[0],
        json!({
            "name": "backend",
            "env": {"AWS_CLI_AUTO_PROMPT": "on-partial", "DEBUG": "false", "PORT": "4567"},
            "steps": [
                {"phase": "init", "command": {"shell": "pip install -r requirements.txt"}},
                {"phase": "command", "command": {"shell": "cd backend-flask\npython3 -m flask run --host=0.0.0.0 --port=4567\n"}},
            ],
        })
    );
    let phases: Vec<&str> = lanes[1]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["before", "init", "command"]);
    assert_eq!(lanes[2]["name"], "Gitpod Task 3");

    assert_eq!(
        json["ports"],
        json!([
            {"port": 4567, "end": 4567, "hostPort": null, "hostIp": null, "label": "backend",
             "description": "Flask API", "visibility": "public", "onOpen": "silent",
             "protocol": null, "publish": true},
            {"port": 3000, "end": 3000, "hostPort": null, "hostIp": null, "label": null,
             "description": null, "visibility": "private", "onOpen": "openBrowser",
             "protocol": "http", "publish": true},
            {"port": 5900, "end": 5910, "hostPort": null, "hostIp": null, "label": null,
             "description": null, "visibility": "private", "onOpen": "ignore",
             "protocol": null, "publish": false},
        ])
    );
    assert_eq!(json["options"]["init"], true);
    assert_eq!(json["options"]["overrideCommand"], true);
    assert_eq!(
        json["warnings"],
        json!([
            {"message": "vscode: ignored, devboot does not install IDE extensions (it lists the VS Code extensions ms-python.python, 42Crunch.vscode-openapi: install them in your editor)",
             "position": ".gitpod.yml:33:1"},
            {"message": "tasks[1].openMode: ignored, it places the task's terminal in Gitpod's IDE",
             "position": ".gitpod.yml:20:5"},
        ])
    );
    // Warnings go to stderr too, so a person sees them; stdout stays one JSON object.
    run.stderr_has("warning: vscode: ignored");
}

// ---------------------------------------------------------------------------------------
// The wild corpus.

/// Corpus files that are expected not to load, with the reason. Empty: all 210 load.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// Loads every `.gitpod.yml` of `shared/corpus/gitpod-wild`.
///
/// Only the `.gitpod.yml` of each repository was copied into the corpus, so a Dockerfile it
/// names (`image: {file: ...}`) is missing, and the model's rule makes that an error. The test
/// puts back what the repository had: an empty Dockerfile at the path the file names (inside
/// the test's own folder), then loads the file through the real `load_file`. Everything else
/// is checked as for a user; the missing-Dockerfile rule has its own golden test above.
#[test]
fn every_corpus_file_loads() {
    let corpus = shared_dir().join("corpus").join("gitpod-wild");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", corpus.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".gitpod.yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 200, "corpus has only {} files", files.len());

    let (mut tasks, mut ports, mut warnings, mut dockerfiles) = (0, 0, 0, 0);
    let mut by_warning: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let sandbox = tempfile::tempdir().unwrap();
        let repo = sandbox.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let config_file = repo.join(".gitpod.yml");
        std::fs::copy(path, &config_file).unwrap();
        if restore_dockerfile(&config_file, sandbox.path()) {
            dockerfiles += 1;
        }
        let context = Context {
            local_folder: repo.clone(),
            config_file: config_file.clone(),
            host_env: EnvMap::new(),
        };
        match config::load_file(&config_file, Format::Gitpod, &context) {
            Ok(loaded) => {
                let ws = &loaded.workspace;
                tasks += ws.stages.iter().map(|s| s.lanes.len()).sum::<usize>();
                ports += ws.ports.len();
                for warning in loaded.diagnostics.warnings() {
                    warnings += 1;
                    // `tasks[3].prebuild` and `tasks[0].prebuild` are one kind: `tasks[].prebuild`.
                    let path = warning.message.split(':').next().unwrap_or_default();
                    let kind: String = path.chars().filter(|c| !c.is_ascii_digit()).collect();
                    *by_warning.entry(kind).or_default() += 1;
                }
            }
            Err(Error::Config(diagnostics)) => failures.push((name, render(&diagnostics))),
            Err(other) => failures.push((name, other.to_string())),
        }
    }

    println!(
        "gitpod corpus: {} files, {tasks} tasks, {ports} ports, {warnings} warnings, \
         {dockerfiles} Dockerfiles stood in",
        files.len()
    );
    for (kind, count) in &by_warning {
        println!("  {count:4} warning(s) about {kind}");
    }
    let unexpected: Vec<String> = failures
        .iter()
        .filter(|(name, _)| !EXPECTED_FAILURES.iter().any(|(f, _)| f == name))
        .map(|(name, why)| format!("{name}:\n{why}"))
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    for (name, reason) in EXPECTED_FAILURES {
        assert!(
            failures.iter().any(|(f, _)| f == name),
            "{name} now loads; drop it from EXPECTED_FAILURES ({reason})"
        );
    }
    // The corpus is real: it has tasks and ports, and keys devboot only warns about.
    assert!(
        tasks > 200 && ports > 100 && warnings > 100,
        "{tasks} {ports} {warnings}"
    );
}

/// Writes an empty Dockerfile where the config's `image.file` points, when that is inside
/// `sandbox`. Returns whether it wrote one.
fn restore_dockerfile(config_file: &Path, sandbox: &Path) -> bool {
    let file = config::read_source(config_file).expect("corpus files are UTF-8");
    let Some(doc) = config::parse(&file, Format::Gitpod, &mut Diagnostics::default()) else {
        return false;
    };
    let Some(dockerfile) = doc.value["image"]["file"].as_str() else {
        return false;
    };
    let path = config_file.parent().unwrap().join(dockerfile);
    let inside = std::path::absolute(&path)
        .is_ok_and(|p| p.starts_with(sandbox) && !p.components().any(|c| c.as_os_str() == ".."));
    if !inside || path.is_dir() {
        return false;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "FROM gitpod/workspace-full\n").unwrap();
    true
}

fn render(diagnostics: &Diagnostics) -> String {
    diagnostics
        .0
        .iter()
        .map(|d| devboot::diagnostic::render(d, false))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Never panic.

/// Parses and lowers `text`; only a panic can fail this.
fn parse_and_lower(text: &str) {
    let file = config::source::SourceFile::new("/nonexistent/devboot/repo/.gitpod.yml", text);
    let mut diagnostics = Diagnostics::default();
    if let Some(doc) = yaml::parse(&file, &mut diagnostics) {
        let context = Context {
            local_folder: PathBuf::from("/nonexistent/devboot/repo"),
            config_file: file.path.clone(),
            host_env: EnvMap::new(),
        };
        let _ = gitpod::lower(&doc, &context, &mut diagnostics);
    }
    // Every diagnostic must render, wherever it points.
    for d in &diagnostics.0 {
        let _ = devboot::diagnostic::render(d, false);
    }
}

/// A regex class of the characters that mean something to YAML, plus a few plain and
/// multi-byte ones.
macro_rules! yaml_chars {
    () => {
        "[ \t\n\r:,\\-\\[\\]{}#&*!|>'\"<~?%@`a-z0-9.é]"
    };
}

// 256 cases each by default; set PROPTEST_CASES for a longer hunt.
proptest! {
    #[test]
    fn any_text_never_panics(text in "(?s).{0,200}") {
        parse_and_lower(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in concat!(yaml_chars!(), "{0,300}")) {
        parse_and_lower(&text);
    }

    #[test]
    fn mutations_of_a_real_file_never_panic(
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), 0..4usize, concat!(yaml_chars!(), "{0,4}")),
            1..12,
        )
    ) {
        let mut text = REALISTIC.to_string();
        for (at, removed, inserted) in edits {
            let mut start = at.index(text.len() + 1);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + removed).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, &inserted);
        }
        parse_and_lower(&text);
    }
}
