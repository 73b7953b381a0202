//! `devboot convert`: round trips through the other format keep what runs, what is
//! published and with what environment, for every file of the wild Gitpod corpus and for
//! realistic devcontainer configs; what cannot be carried over is said.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{Run, Test, devboot_bin, shared_dir};

/// Runs devboot in `dir` (as the current and the workspace folder).
fn devboot(dir: &Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(devboot_bin())
        .current_dir(dir)
        .args(args)
        .arg("--workspace-folder")
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: dir.to_path_buf(),
    }
}

/// What a task or hook entry runs: phase -> command text.
type Steps = BTreeMap<String, String>;

/// The parts of a workspace a conversion must keep, from `devboot config --json`.
#[derive(Debug, PartialEq)]
struct Kept {
    /// Task (lane) name -> its steps.
    tasks: BTreeMap<String, Steps>,
    /// Every variable the workspace sets, for the container or for a task: task env has
    /// no per-hook place in devcontainer.json, so it is set for all of them.
    env: BTreeMap<String, String>,
    /// `GITPOD_REPO_ROOT` and `THEIA_WORKSPACE_ROOT`: where Gitpod checks out and opens the
    /// repository (`checkoutLocation`, `workspaceLocation`, which devcontainer.json lacks).
    layout: BTreeMap<String, String>,
    /// port-end -> (label, onOpen, visibility).
    ports: BTreeMap<String, (Value, Value, Value)>,
    image: Value,
}

fn kept(config: &Value, folder: &Path) -> Kept {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for key in ["containerEnv", "remoteEnv"] {
        for (k, v) in config[key].as_object().unwrap() {
            env.insert(k.clone(), v.as_str().unwrap().to_string());
        }
    }
    let mut tasks = BTreeMap::new();
    for stage in config["stages"].as_array().unwrap() {
        for lane in stage["lanes"].as_array().unwrap() {
            let name = lane["name"].as_str().unwrap().to_string();
            let steps: &mut Steps = tasks.entry(name.clone()).or_default();
            for step in lane["steps"].as_array().unwrap() {
                let command = step["command"]["shell"].as_str().unwrap().to_string();
                steps.insert(step["phase"].as_str().unwrap().to_string(), command);
            }
            for (k, v) in lane["env"].as_object().unwrap() {
                let v = v.as_str().unwrap();
                let old = env.insert(k.clone(), v.to_string());
                assert!(old.is_none_or(|old| old == v), "{k} set twice");
            }
        }
    }
    let layout = ["GITPOD_REPO_ROOT", "THEIA_WORKSPACE_ROOT"]
        .into_iter()
        .filter_map(|k| Some((k.to_string(), env.remove(k)?)))
        .collect();
    let ports = config["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}-{}", p["port"], p["end"]),
                (
                    p["label"].clone(),
                    p["onOpen"].clone(),
                    p["visibility"].clone(),
                ),
            )
        })
        .collect();
    // Paths relative to the workspace folder, so that two folders compare equal.
    let mut image = config["image"].clone();
    for key in ["dockerfile", "context"] {
        if let Some(path) = image[key].as_str() {
            let rel = Path::new(path)
                .strip_prefix(folder)
                .unwrap_or(Path::new(path))
                .display()
                .to_string();
            image[key] = rel.into();
        }
    }
    Kept {
        tasks,
        env,
        layout,
        ports,
        image,
    }
}

fn config_json(dir: &Path, format: &str) -> Value {
    let run = devboot(dir, &["config", "--json", "--config-format", format]);
    run.status(0);
    run.json()
}

/// The Dockerfiles (and contexts) a `.gitpod.yml` names, made empty so that it loads.
fn make_image_files(dir: &Path, text: &str) {
    let mut in_image = false;
    for line in text.lines() {
        if line.starts_with("image:") {
            in_image = true;
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            in_image = false;
        }
        let trimmed = line.trim();
        if in_image {
            let value = |key: &str| {
                trimmed
                    .strip_prefix(key)
                    .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
            };
            if let Some(file) = value("file:") {
                let path = dir.join(file);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "FROM scratch\n").unwrap();
            } else if let Some(context) = value("context:") {
                std::fs::create_dir_all(dir.join(context)).unwrap();
            }
        }
    }
}

/// Gitpod -> devcontainer -> Gitpod in a fresh folder; returns the original and the
/// round-tripped model.
fn gitpod_round_trip(text: &str) -> (Kept, Kept, String) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap().join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".gitpod.yml"), text).unwrap();
    make_image_files(&dir, text);
    let before = kept(&config_json(&dir, "gitpod"), &dir);

    let to_dc = devboot(
        &dir,
        &[
            "convert",
            "--to",
            "devcontainer",
            "--output",
            dir.join(".devcontainer/devcontainer.json")
                .to_str()
                .unwrap(),
        ],
    );
    to_dc.status(0);
    let devcontainer =
        std::fs::read_to_string(dir.join(".devcontainer/devcontainer.json")).unwrap();
    // The devcontainer.json loads, with no error.
    config_json(&dir, "devcontainer");

    std::fs::remove_file(dir.join(".gitpod.yml")).unwrap();
    devboot(
        &dir,
        &["convert", "--to", "gitpod", "--output", ".gitpod.yml"],
    )
    .status(0);
    let gitpod = std::fs::read_to_string(dir.join(".gitpod.yml")).unwrap();
    let after = kept(&config_json(&dir, "gitpod"), &dir);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    (before, after, format!("{devcontainer}\n---\n{gitpod}"))
}

#[test]
fn gitpod_corpus_round_trips_through_devcontainer() {
    let corpus = shared_dir().join("corpus/gitpod-wild");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 200, "the corpus is there: {}", files.len());
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(files.len().div_ceil(4))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for file in chunk {
                        let text = std::fs::read_to_string(file).unwrap();
                        let (mut before, after, written) = gitpod_round_trip(&text);
                        // A layout of its own is the one thing said to be left out.
                        if before.layout != after.layout
                            && (written.contains("`checkoutLocation` is left out")
                                || written.contains("`workspaceLocation` is left out"))
                        {
                            before.layout.clone_from(&after.layout);
                        }
                        if before != after {
                            failures.push(format!(
                                "{}:\nbefore {before:#?}\nafter {after:#?}\n{written}",
                                file.display()
                            ));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} files changed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

const FULL_GITPOD: &str = r#"image:
  file: .gitpod.Dockerfile
env:
  SHARED: one
tasks:
  - name: backend
    env:
      FRONTEND_URL: "${portUrl:3000}"
    before: |
      export PATH=$HOME/bin:$PATH
    init: pip install -r requirements.txt
    command: |
      cd backend
      flask run --port=4567
  - name: docs
    before: echo start
  - command: gp sync-await backend && npm start
    openMode: split-right
ports:
  - port: 4567
    name: backend
    description: the API
    visibility: public
    onOpen: open-preview
  - port: 6000-6010
    onOpen: ignore
  - port: 9229
    onOpen: ignore-completely
github:
  prebuilds:
    master: true
vscode:
  extensions:
    - ms-python.python
"#;

#[test]
fn gitpod_to_devcontainer_maps_and_warns() {
    let t = Test::new()
        .file(".gitpod.yml", FULL_GITPOD)
        .file(".gitpod.Dockerfile", "FROM gitpod/workspace-full\n")
        .args(["convert", "--to", "devcontainer"]);
    let run = t.run();
    run.status(0)
        .stderr_has("not carried over: `github` is left out")
        .stderr_has("port 4567: `description` is left out")
        .stderr_has("`openMode` is left out")
        .stderr_has("uses the `gp` CLI")
        .stderr_has("Gitpod runs `before` ahead of `init`");
    let text = &run.stdout;
    assert!(
        text.starts_with(
            "// Converted from .gitpod.yml by `devboot convert`.\n// Not carried over:\n"
        ),
        "{text}"
    );
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["build"],
        serde_json::json!({"dockerfile": "../.gitpod.Dockerfile", "context": ".."})
    );
    assert_eq!(json["containerEnv"], serde_json::json!({"SHARED": "one"}));
    assert_eq!(
        json["remoteEnv"],
        serde_json::json!({"FRONTEND_URL": "${portUrl:3000}"})
    );
    assert_eq!(json["forwardPorts"], serde_json::json!([4567]));
    assert_eq!(
        json["portsAttributes"],
        serde_json::json!({
            "4567": {"label": "backend", "onAutoForward": "openPreview", "visibility": "public"},
            "6000-6010": {"onAutoForward": "silent"},
            "9229": {"onAutoForward": "ignore"},
        })
    );
    assert_eq!(
        json["onCreateCommand"],
        serde_json::json!({"backend": "pip install -r requirements.txt"})
    );
    assert_eq!(
        json["postStartCommand"],
        serde_json::json!({
            "backend": "{\nexport PATH=$HOME/bin:$PATH\n\n} && { nohup sh -c 'cd backend\nflask run --port=4567\n' > /tmp/backend.log 2>&1 & }",
            "docs": "{\necho start\n}",
            "Gitpod Task 3": "nohup sh -c 'gp sync-await backend && npm start' > /tmp/gitpod-task-3.log 2>&1 &",
        })
    );
    assert_eq!(
        json["customizations"]["vscode"]["extensions"][0],
        "ms-python.python"
    );

    // Written to a file, it is a devcontainer.json devboot validates without errors, and
    // an existing different file is not replaced without --force.
    let t = Test::new()
        .file(".gitpod.yml", FULL_GITPOD)
        .file(".gitpod.Dockerfile", "FROM gitpod/workspace-full\n")
        .file(".devcontainer/devcontainer.json", "{}\n")
        .args([
            "convert",
            "--to",
            "devcontainer",
            "--config-format",
            "gitpod",
        ])
        .args(["--output", ".devcontainer/devcontainer.json"]);
    let run = t.run();
    run.status(2).stderr_has("already exists");
    assert_eq!(
        std::fs::read_to_string(run.dir.join(".devcontainer/devcontainer.json")).unwrap(),
        "{}\n"
    );
    let dir = run.dir.clone();
    devboot(
        &dir,
        &[
            "convert",
            "--to",
            "devcontainer",
            "--config-format",
            "gitpod",
            "--output",
            ".devcontainer/devcontainer.json",
            "--force",
        ],
    )
    .status(0);
    let validate = devboot(&dir, &["validate", ".devcontainer/devcontainer.json"]);
    validate.status(0);
    assert!(!validate.stderr.contains("error:"), "{}", validate.stderr);
}

#[test]
fn converting_to_the_same_format_is_a_usage_error() {
    Test::new()
        .file(".gitpod.yml", "tasks:\n  - command: echo hi\n")
        .args(["convert", "--to", "gitpod"])
        .run()
        .status(2)
        .stderr_has("is already a gitpod config");
}

/// devcontainer -> Gitpod -> devcontainer: every command still runs in a hook of the same
/// timing (or backgrounded as a Gitpod command), with the same ports, env and image.
fn devcontainer_round_trip(json: &str, extra: &[(&str, &str)]) -> String {
    let mut t = Test::new().file(".devcontainer/devcontainer.json", json);
    for (path, text) in extra {
        t = t.file(path, text);
    }
    let dir = t.path().to_path_buf();
    let before = config_json(&dir, "devcontainer");
    let to_gitpod = devboot(
        &dir,
        &["convert", "--to", "gitpod", "--output", ".gitpod.yml"],
    );
    to_gitpod.status(0);
    let gitpod = std::fs::read_to_string(dir.join(".gitpod.yml")).unwrap();
    let validate = devboot(&dir, &["validate", ".gitpod.yml"]);
    assert_eq!(validate.status, 0, "{}\n{gitpod}", validate.stderr);
    std::fs::remove_dir_all(dir.join(".devcontainer")).unwrap();
    devboot(
        &dir,
        &[
            "convert",
            "--to",
            "devcontainer",
            "--output",
            ".devcontainer/devcontainer.json",
        ],
    )
    .status(0);
    let after = config_json(&dir, "devcontainer");

    let runs = |config: &Value| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for stage in config["stages"].as_array().unwrap() {
            let timing = match stage["name"].as_str().unwrap() {
                "onCreateCommand" | "updateContentCommand" | "postCreateCommand" => "once",
                other => other,
            };
            for lane in stage["lanes"].as_array().unwrap() {
                for step in lane["steps"].as_array().unwrap() {
                    let command = step["command"]["shell"]
                        .as_str()
                        .map_or_else(|| step["command"].to_string(), str::to_string);
                    out.push((timing.to_string(), command));
                }
            }
        }
        out.sort();
        out
    };
    let unwrap = |(timing, command): (String, String)| {
        let inner = shell_words::split(&command)
            .ok()
            .filter(|w| w.len() == 8 && w[0] == "nohup" && w[1] == "sh")
            .map_or(command, |w| w[3].clone());
        (timing, inner)
    };
    let (b, a) = (runs(&before), runs(&after));
    // Sorted again once unwrapped: the wrapper's quoting changes the order.
    let mut a: Vec<_> = a.into_iter().map(unwrap).collect();
    a.sort();
    assert_eq!(b, a, "\n{gitpod}");
    let folder = dir.clone();
    let (kb, ka) = (kept(&before, &folder), kept(&after, &folder));
    assert_eq!(kb.ports, ka.ports, "\n{gitpod}");
    assert_eq!(kb.image, ka.image, "\n{gitpod}");
    let env = |c: &Value| {
        let mut env = c["containerEnv"].as_object().unwrap().clone();
        env.extend(c["remoteEnv"].as_object().unwrap().clone());
        env
    };
    assert_eq!(env(&before), env(&after), "\n{gitpod}");
    gitpod
}

#[test]
fn devcontainer_configs_round_trip_through_gitpod() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/configs");
    let image = std::fs::read_to_string(
        examples.join("devcontainer-image/.devcontainer/devcontainer.json"),
    )
    .unwrap();
    let gitpod = devcontainer_round_trip(&image, &[]);
    assert!(
        gitpod.contains("\n    command: cd backend-flask && nohup python3"),
        "{gitpod}"
    );

    let build = std::fs::read_to_string(
        examples.join("devcontainer-build/.devcontainer/devcontainer.json"),
    )
    .unwrap();
    let gitpod = devcontainer_round_trip(&build, &[("backend-flask/Dockerfile", "FROM scratch\n")]);
    assert!(
        gitpod.contains("image:\n  file: backend-flask/Dockerfile\n  context: backend-flask\n"),
        "{gitpod}"
    );
    assert!(gitpod.contains("`overrideCommand` is left out"), "{gitpod}");

    // Several hooks, object and array forms, remoteEnv over containerEnv, a range.
    let many = r#"{
      // A realistic Node + Python setup.
      "image": "mcr.microsoft.com/devcontainers/python:3.11",
      "features": { "ghcr.io/devcontainers/features/node:1": {} },
      "containerEnv": { "A": "1", "B": "x" },
      "remoteEnv": { "B": "y", "PATH": "${containerEnv:PATH}:/extra" },
      "forwardPorts": [8000, "db:5432"],
      "portsAttributes": {
        "8000": { "label": "api", "onAutoForward": "openBrowser" },
        "9000-9005": { "label": "workers", "onAutoForward": "silent" }
      },
      "onCreateCommand": ["pip", "install", "-r", "requirements dev.txt"],
      "postCreateCommand": { "npm": "npm ci", "pip": "pip check" },
      "postStartCommand": "nohup python -m http.server 8000 > /tmp/http.log 2>&1 &",
      "postAttachCommand": "echo attached",
      "customizations": { "vscode": { "extensions": ["ms-python.python"] } }
    }"#;
    // What `devboot init` writes goes there and back too.
    for template in ["flask-backend", "fullstack"] {
        let t = Test::new().file("backend-flask/app.py", "").args([
            "init",
            "--yes",
            "--format",
            "devcontainer",
            "--template",
            template,
        ]);
        t.run().status(0);
        let json =
            std::fs::read_to_string(t.path().join(".devcontainer/devcontainer.json")).unwrap();
        devcontainer_round_trip(&json, &[]);
    }

    let dir = Test::new().file(".devcontainer/devcontainer.json", many);
    let run = dir.args(["convert", "--to", "gitpod"]).run();
    run.status(0)
        .stderr_has("`features` is left out")
        .stderr_has("`remoteEnv.PATH` is left out: it uses `${containerEnv:PATH}`")
        .stderr_has("`containerEnv.B` (\"x\") is left out")
        .stderr_has("postAttachCommand of `app` is in the task's `before`");
    assert!(
        run.stdout
            .contains("vscode:\n  extensions:\n    - ms-python.python\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("    init: pip install -r 'requirements dev.txt'\n"),
        "{}",
        run.stdout
    );
}
