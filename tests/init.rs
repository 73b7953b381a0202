//! `devboot init` and `devboot templates`: what the templates write loads and validates with
//! no warning, runs on the real engine and answers over HTTP; files are never replaced
//! without `--force`; the prompts work in a real terminal; without one, nothing waits.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::engine::{Repo, assert_home_feed, get_ok};
use crate::harness::{Run, Terminal, Test, devboot_bin};

const IMAGE: &str = "devboot/python-flask:bookworm";
/// `IMAGE` plus Debian's node and npm, for the fullstack template (`scripts/node-image.sh`).
const NODE_IMAGE: &str = "devboot/python-node:bookworm";

/// A repository with a Flask backend at the Cruddur place (and a frontend with `frontend`).
fn repo(frontend: bool) -> Test {
    let t = Test::new()
        .file(
            "backend-flask/app.py",
            "from flask import Flask\napp = Flask(__name__)\n",
        )
        .file("backend-flask/requirements.txt", "flask\nflask-cors\n");
    if frontend {
        t.file(
            "frontend-react-js/package.json",
            r#"{"scripts": {"start": "react-scripts start"}}"#,
        )
    } else {
        t
    }
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// JSONC with whole-line `//` comments (what the templates write) as JSON.
fn jsonc(text: &str) -> Value {
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

#[test]
fn templates_lists_each_template_on_one_line() {
    let run = Test::new().args(["templates"]).run();
    run.status(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[0].starts_with("flask-backend  Flask backend"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("fullstack      Flask backend + Node"),
        "{}",
        run.stdout
    );
}

#[test]
fn without_a_terminal_init_needs_yes_and_writes_nothing() {
    let t = repo(false).args(["init"]);
    let run = t.run();
    run.status(2)
        .stderr_has("no terminal is attached")
        .stderr_has("pass --yes");
    assert!(!t.path().join(".gitpod.yml").exists());
    assert!(!t.path().join(".devcontainer").exists());
    assert!(!t.path().join("backend-flask/Dockerfile").exists());

    repo(false)
        .args(["init", "--yes", "--template", "django"])
        .run()
        .status(2)
        .stderr_has("there is no template `django`");
}

/// Every template, every format, with and without the hook: `validate` has nothing to say.
#[test]
fn every_generated_config_validates_without_a_warning() {
    for template in ["flask-backend", "fullstack"] {
        for format in ["gitpod", "devcontainer", "both"] {
            for hook in [false, true] {
                let mut args = vec!["init", "--yes", "--template", template, "--format", format];
                if hook {
                    args.push("--hook");
                }
                let t = repo(true).args(args);
                t.run().status(0);
                let mut files = Vec::new();
                if format != "devcontainer" {
                    files.push(".gitpod.yml");
                }
                if format != "gitpod" {
                    files.push(".devcontainer/devcontainer.json");
                }
                let validate = Test::new()
                    .args(["validate", "--workspace-folder"])
                    .args([t.path().to_str().unwrap()])
                    .args(files.iter().map(|f| t.path().join(f).display().to_string()))
                    .run();
                let what = format!("{template} --format {format} hook={hook}");
                assert_eq!(validate.status, 0, "{what}: {}", validate.stderr);
                assert!(
                    !validate.stderr.contains("warning") && !validate.stderr.contains("error"),
                    "{what}:\n{}",
                    validate.stderr
                );
                assert_eq!(
                    validate.stderr.matches(": ok").count(),
                    files.len(),
                    "{what}: {}",
                    validate.stderr
                );
                assert_eq!(t.path().join(".vscode/tasks.json").exists(), hook, "{what}");
            }
        }
    }
}

fn config(dir: &Path, format: &str) -> Value {
    let run = Test::new()
        .args([
            "config",
            "--json",
            "--config-format",
            format,
            "--workspace-folder",
        ])
        .args([dir.to_str().unwrap()])
        .run();
    run.status(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    run.json()
}

/// (lane name, phase, command) of every step.
fn steps(config: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for stage in config["stages"].as_array().unwrap() {
        for lane in stage["lanes"].as_array().unwrap() {
            for step in lane["steps"].as_array().unwrap() {
                out.push((
                    stage["name"].as_str().unwrap().to_string(),
                    lane["name"].as_str().unwrap().to_string(),
                    step["phase"].as_str().unwrap().to_string(),
                    step["command"]["shell"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

fn ports(config: &Value) -> Vec<(u64, String, String, String)> {
    config["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_u64().unwrap(),
                p["label"].as_str().unwrap().to_string(),
                p["onOpen"].as_str().unwrap().to_string(),
                p["visibility"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The fullstack template reads back as the right model (its e2e runs are further down).
#[test]
fn fullstack_reads_back_with_its_tasks_ports_and_env() {
    let t = repo(true).args([
        "init",
        "--yes",
        "--template",
        "fullstack",
        "--format",
        "both",
        "--backend-port",
        "5000",
        "--frontend-port",
        "8080",
        "--frontend-visibility",
        "private",
    ]);
    t.run().status(0);
    let dir = t.path();
    let expected_ports = vec![
        (5000, "backend".into(), "notify".into(), "public".into()),
        (
            8080,
            "frontend".into(),
            "openBrowser".into(),
            "private".into(),
        ),
    ];
    let urls = [
        ("FRONTEND_URL", "${portUrl:8080}"),
        ("BACKEND_URL", "${portUrl:5000}"),
        ("REACT_APP_BACKEND_URL", "${portUrl:5000}"),
    ];

    let gitpod = config(dir, "gitpod");
    assert_eq!(gitpod["image"]["image"], "python:3.11-slim-bookworm");
    assert_eq!(ports(&gitpod), expected_ports);
    for (k, v) in urls {
        assert_eq!(gitpod["containerEnv"][k], v, "{k}");
    }
    let gitpod_steps = steps(&gitpod);
    let phases: Vec<(&str, &str)> = gitpod_steps
        .iter()
        .map(|(_, lane, phase, _)| (lane.as_str(), phase.as_str()))
        .collect();
    assert_eq!(
        phases,
        [
            ("backend", "init"),
            ("backend", "command"),
            ("frontend", "init"),
            ("frontend", "command")
        ]
    );
    assert_eq!(
        gitpod_steps[1].3,
        "cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=5000"
    );
    assert_eq!(gitpod_steps[3].3, "cd frontend-react-js && npm start");
    let frontend_env = &gitpod["stages"][0]["lanes"][1]["env"];
    assert_eq!(frontend_env["PORT"], "8080");
    assert_eq!(frontend_env["CI"], "true");

    let dc = config(dir, "devcontainer");
    assert_eq!(ports(&dc), expected_ports);
    for (k, v) in urls {
        assert_eq!(dc["containerEnv"][k], v, "{k}");
    }
    let dc_steps = steps(&dc);
    let hooks: Vec<(&str, &str)> = dc_steps
        .iter()
        .map(|(stage, lane, _, _)| (stage.as_str(), lane.as_str()))
        .collect();
    // Nothing of the frontend's runs before the backend starts: its install is in its own
    // postStartCommand lane.
    assert_eq!(
        hooks,
        [
            ("onCreateCommand", "backend"),
            ("postStartCommand", "backend"),
            ("postStartCommand", "frontend")
        ]
    );
    assert!(
        dc_steps[2].3.ends_with(
            "cd frontend-react-js && { test -f /tmp/frontend-installed || { npm install && touch /tmp/frontend-installed; }; } && { PORT=8080 CI=true nohup npm start > /tmp/frontend.log 2>&1 & }"
        ),
        "{}",
        dc_steps[2].3
    );

    let compose = read(dir, "docker-compose.yml");
    assert!(
        compose.contains("devboot env --format dotenv > .env"),
        "{compose}"
    );
    assert!(compose.contains("      - \"5000:5000\"\n"), "{compose}");
    assert!(
        compose.contains("FRONTEND_URL: ${FRONTEND_URL}\n"),
        "{compose}"
    );
    // The backend's Dockerfile, for compose's build.
    let dockerfile = read(dir, "backend-flask/Dockerfile");
    assert!(
        dockerfile.contains("\nFROM python:3.11-slim-bookworm\n"),
        "{dockerfile}"
    );
    assert!(dockerfile.contains("\nEXPOSE 5000\n"), "{dockerfile}");
}

#[test]
fn the_hook_runs_devboot_up_at_start_up() {
    let t = repo(false).args(["init", "--yes", "--format", "both", "--hook"]);
    t.run().status(0);
    let gitpod = config(t.path(), "gitpod");
    let steps = steps(&gitpod);
    assert_eq!(
        steps,
        [(
            "tasks".into(),
            "devboot".into(),
            "command".into(),
            "devboot up".into()
        )]
    );
    assert_eq!(ports(&gitpod)[0].0, 4567);
    let text = read(t.path(), ".gitpod.yml");
    assert!(text.contains("makes its ports public with `gp`"), "{text}");
    let tasks = jsonc(&read(t.path(), ".vscode/tasks.json"));
    assert_eq!(tasks["tasks"][0]["command"], "devboot up");
    assert_eq!(tasks["tasks"][0]["runOptions"]["runOn"], "folderOpen");
    // The devcontainer config has the app, and no hook of its own to run devboot.
    let dc = jsonc(&read(t.path(), ".devcontainer/devcontainer.json"));
    for hook in ["onCreateCommand", "postStartCommand"] {
        let command = dc[hook].as_str().unwrap();
        assert!(!command.contains("devboot"), "{hook}: {command}");
    }

    // With .gitpod.yml alone, its tasks stay the app's and only VS Code gets the hook.
    let t = repo(false).args(["init", "--yes", "--format", "gitpod", "--hook"]);
    t.run()
        .status(0)
        .stderr_has("the Gitpod start-up task is written only with devcontainer.json");
    let names: Vec<String> = self::steps(&config(t.path(), "gitpod"))
        .into_iter()
        .map(|s| s.1)
        .collect();
    assert_eq!(names, ["backend", "backend"]);
    assert!(t.path().join(".vscode/tasks.json").exists());
}

#[test]
fn existing_files_are_not_replaced_without_force() {
    let t = repo(false).file("backend-flask/Dockerfile", "FROM my-own-image\n");
    let dir = t.path().to_path_buf();
    let init = |args: &[&str]| -> Run {
        let mut all = vec!["init", "--yes", "--workspace-folder", dir.to_str().unwrap()];
        all.extend(args);
        Test::new().args(all).run()
    };

    let run = init(&["--format", "gitpod"]);
    run.status(0)
        .stdout_has("created .gitpod.yml\n")
        .stdout_has("kept backend-flask/Dockerfile (it exists");
    assert_eq!(
        read(&dir, "backend-flask/Dockerfile"),
        "FROM my-own-image\n"
    );

    // The same again: nothing to do.
    init(&["--format", "gitpod"])
        .status(0)
        .stdout_has("unchanged .gitpod.yml\n");

    // An edited config: a diff, exit 2, and nothing written (not even the new file).
    let edited = read(&dir, ".gitpod.yml").replace("onOpen: notify", "onOpen: open-browser");
    std::fs::write(dir.join(".gitpod.yml"), &edited).unwrap();
    let run = init(&["--format", "both"]);
    run.status(2)
        .stdout_has("--- a/.gitpod.yml\n+++ b/.gitpod.yml\n")
        .stdout_has("\n-    onOpen: open-browser\n+    onOpen: notify\n")
        .stderr_has(".gitpod.yml already exists and differs")
        .stderr_has("pass --force");
    assert_eq!(read(&dir, ".gitpod.yml"), edited);
    assert!(!dir.join(".devcontainer").exists());

    // --dry-run shows what would happen and writes nothing.
    let run = init(&["--format", "both", "--dry-run"]);
    run.status(0)
        .stdout_has("==> .gitpod.yml: exists and differs: init would stop unless --force <==\n")
        .stdout_has("+    onOpen: notify\n")
        .stdout_has("==> .devcontainer/devcontainer.json: would be created <==\n")
        .stdout_has("\"postStartCommand\": \"cd backend-flask && nohup python3")
        .stdout_has("==> backend-flask/Dockerfile: exists: kept, it is the app's file <==\n");
    assert_eq!(read(&dir, ".gitpod.yml"), edited);
    assert!(!dir.join(".devcontainer").exists());

    // --force replaces the config, and still keeps the app's Dockerfile.
    let run = init(&["--format", "both", "--force"]);
    run.status(0)
        .stdout_has("replaced .gitpod.yml\n")
        .stdout_has("created .devcontainer/devcontainer.json\n");
    assert!(read(&dir, ".gitpod.yml").contains("onOpen: notify"));
    assert_eq!(
        read(&dir, "backend-flask/Dockerfile"),
        "FROM my-own-image\n"
    );
}

#[test]
fn image_comes_from_the_settings_file_when_the_environment_names_none() {
    let t = repo(false);
    let config_home = t.path().join(".config-home");
    std::fs::create_dir_all(config_home.join("devboot")).unwrap();
    std::fs::write(
        config_home.join("devboot/config.toml"),
        "image = \"example.org/team/python:3.13\"\n",
    )
    .unwrap();
    let config_home = config_home.display().to_string();
    Test::new()
        .env("DEVBOOT_IMAGE", "")
        .env("XDG_CONFIG_HOME", &config_home)
        .args(["config", "--settings"])
        .run()
        .status(0)
        .stdout_has("image")
        .stdout_has("\"example.org/team/python:3.13\"");
    let t = t
        .env("DEVBOOT_IMAGE", "")
        .env("XDG_CONFIG_HOME", &config_home)
        .args(["init", "--yes", "--format", "devcontainer"]);
    t.run().status(0);
    assert_eq!(
        jsonc(&read(t.path(), ".devcontainer/devcontainer.json"))["image"],
        "example.org/team/python:3.13"
    );
}

#[test]
fn image_comes_from_the_flag_then_the_environment() {
    let t = repo(false)
        .env("DEVBOOT_IMAGE", "example.org/team/python:3.12")
        .args(["init", "--yes", "--format", "devcontainer"]);
    t.run().status(0);
    assert_eq!(
        jsonc(&read(t.path(), ".devcontainer/devcontainer.json"))["image"],
        "example.org/team/python:3.12"
    );
    let t = repo(false)
        .env("DEVBOOT_IMAGE", "example.org/team/python:3.12")
        .args([
            "init",
            "--yes",
            "--format",
            "devcontainer",
            "--image",
            IMAGE,
        ]);
    t.run().status(0);
    assert_eq!(
        jsonc(&read(t.path(), ".devcontainer/devcontainer.json"))["image"],
        IMAGE
    );
}

// ---------------------------------------------------------------------------------------
// End to end: init, validate, up on the real engine, HTTP from the host, down.

fn init_and_serve(format: &str, backend_port: u16, offset: u16) {
    let repo = Repo::example();
    let port = backend_port.to_string();
    repo.devboot([
        "init",
        "--yes",
        "--template",
        "flask-backend",
        "--format",
        format,
        "--image",
        IMAGE,
        "--backend-port",
        &port,
    ])
    .status(0)
    .stdout_has("kept backend-flask/Dockerfile");
    validate_quietly(&repo);
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);
    // FRONTEND_URL (${portUrl:3000}) reached flask: CORS allows exactly that origin.
    assert_feed_allows(
        backend_port + offset,
        &format!("http://localhost:{}", 3000 + offset),
    );
    repo.devboot(["down", "--remove"]).status(0);
    assert!(repo.containers().is_empty());
}

/// `devboot validate` of what init wrote: ok, and not a warning.
#[track_caller]
fn validate_quietly(repo: &Repo) {
    let validate = repo.devboot(["validate"]);
    validate.status(0);
    assert!(!validate.stderr.contains("warning"), "{}", validate.stderr);
}

/// The backend on `host_port` answers the home feed, and for a request from `origin` its
/// CORS header allows exactly that origin.
#[track_caller]
pub fn assert_feed_allows(host_port: u16, origin: &str) {
    let response = get_ok(
        host_port,
        "/api/activities/home",
        &[("Origin", origin)],
        Duration::from_secs(20),
    );
    assert_home_feed(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some(origin),
        "{response:?}"
    );
}

#[test]
fn flask_backend_gitpod_comes_up() {
    init_and_serve("gitpod", 5101, 40101);
}

#[test]
fn flask_backend_devcontainer_comes_up() {
    init_and_serve("devcontainer", 5102, 40202);
}

/// A stand-in for the React app (`tests/fixtures/fullstack/`): `npm start` runs a server on
/// `$PORT` made with Node's `http` module. With no dependencies, `npm install` needs no
/// registry (none is reachable here) and the fullstack template's commands run unchanged.
const FRONTEND: [(&str, &str); 2] = [
    (
        "frontend-react-js/package.json",
        include_str!("fixtures/fullstack/frontend-react-js/package.json"),
    ),
    (
        "frontend-react-js/server.js",
        include_str!("fixtures/fullstack/frontend-react-js/server.js"),
    ),
];

/// `devboot init` of the fullstack template in `format`, with the node image.
#[track_caller]
fn init_fullstack(repo: &Repo, format: &str) -> Run {
    let run = repo.devboot([
        "init",
        "--yes",
        "--template",
        "fullstack",
        "--format",
        format,
        "--image",
        NODE_IMAGE,
    ]);
    run.status(0);
    run
}

#[track_caller]
fn require_node_image() {
    let engine = crate::engine::engine();
    let has_image = Command::new(&engine)
        .args(["image", "inspect", NODE_IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_image,
        "{engine} has no {NODE_IMAGE}: run scripts/node-image.sh (scripts/test.sh does) first"
    );
}

/// The fullstack template in `format`, on the example backend plus the stand-in frontend:
/// both come up, the backend allows the frontend's origin, and the frontend got the
/// backend's URL.
fn fullstack_serves(format: &str, offset: u16) {
    let repo = Repo::example();
    require_node_image();
    for (path, text) in FRONTEND {
        repo.write(path, text);
    }
    init_fullstack(&repo, format).stdout_has("created docker-compose.yml");
    validate_quietly(&repo);
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);

    // The frontend's `init` / onCreateCommand ran `npm install` in the workspace folder.
    assert!(
        repo.path()
            .join("frontend-react-js/package-lock.json")
            .exists()
    );

    let backend_port = 4567 + offset;
    let frontend_port = 3000 + offset;
    assert_feed_allows(backend_port, &format!("http://localhost:{frontend_port}"));
    // npm start ran with PORT=3000 and REACT_APP_BACKEND_URL = the backend's URL.
    let page = get_ok(frontend_port, "/", &[], Duration::from_secs(20));
    assert!(
        page.body
            .contains(&format!("<p>backend: http://localhost:{backend_port}</p>")),
        "{page:?}"
    );

    repo.devboot(["down", "--remove"]).status(0);
    assert!(repo.containers().is_empty());
}

/// The fullstack template with a frontend whose `npm install` fails (its package.json is
/// not JSON): `up` says the frontend failed, and the backend is served all the same, with
/// its env. In devcontainer.json the frontend's install used to be an onCreateCommand lane,
/// which every postStartCommand lane (the backend's start too) waited for.
fn fullstack_backend_without_its_frontend(format: &str, offset: u16) {
    let repo = Repo::example();
    require_node_image();
    repo.write("frontend-react-js/package.json", "{ this is not JSON");
    init_fullstack(&repo, format);
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(1)
        .stderr_has("frontend");
    assert_feed_allows(
        4567 + offset,
        &format!("http://localhost:{}", 3000 + offset),
    );
}

#[test]
fn fullstack_gitpod_serves_the_backend_when_the_frontend_fails() {
    fullstack_backend_without_its_frontend("gitpod", 41440);
}

#[test]
fn fullstack_devcontainer_serves_the_backend_when_the_frontend_fails() {
    fullstack_backend_without_its_frontend("devcontainer", 41450);
}

/// The built-in config's image missing: the error names it as the default of a folder
/// without a config, and says how to choose another. The image is named by
/// `DEVBOOT_IMAGE` so that no registry is asked for a real one.
#[test]
fn a_missing_built_in_image_says_how_to_choose_another() {
    let repo = Repo::example();
    let run = repo.devboot_env(["up"], &[("DEVBOOT_IMAGE", "devboot/does-not-exist:never")]);
    run.status(1)
        .stderr_has("error: image devboot/does-not-exist:never is not available (DEVBOOT_IMAGE (or `image` in your settings file) names it, for devboot's built-in flask-backend config: this folder has no config)\n")
        .stderr_has("help: choose an image that is here or can be pulled: `DEVBOOT_IMAGE=<image> devboot up` (or `image = \"<image>\"` in your settings file), or write the config with `devboot init --image <image>` (its `image:` decides from then on); images here: ")
        .stderr_has(IMAGE);
}

#[test]
fn fullstack_gitpod_comes_up() {
    fullstack_serves("gitpod", 41010);
}

#[test]
fn fullstack_devcontainer_comes_up() {
    fullstack_serves("devcontainer", 41020);
}

// ---------------------------------------------------------------------------------------
// The prompts, in a real terminal (a pseudo-terminal the test drives).

/// `devboot ARGS` in a terminal, with no colours and no image from the environment.
fn init_in_terminal(args: &[&str], env: &[(&str, &str)]) -> Terminal {
    let mut cmd = Command::new(devboot_bin());
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("DEVBOOT_IMAGE")
        .envs(env.iter().copied());
    Terminal::spawn(cmd)
}

/// What init may take in a terminal.
const INIT_TIME: Duration = Duration::from_secs(30);
const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

#[test]
fn init_asks_in_a_terminal() {
    let t = repo(true);
    let dir = t.path().to_str().unwrap().to_string();
    let mut term = init_in_terminal(
        &["init", "--workspace-folder", &dir],
        &[("DEVBOOT_IMAGE", "example.org/team/python:3.12")],
    );
    term.expect("found a Flask backend in backend-flask/");
    term.expect("Which config files should init write?");
    term.send(&format!("{DOWN}{DOWN}{ENTER}")); // .devcontainer/devcontainer.json
    term.expect("Which template?");
    term.send(ENTER); // the suggestion: fullstack, as there is a frontend
    term.expect("Backend port");
    term.send(&format!("4600{ENTER}"));
    term.expect("Frontend port");
    term.send(ENTER); // the default, 3000
    term.expect("Who may open the backend (port 4600)?");
    term.send(&format!("{DOWN}{ENTER}")); // private
    term.expect("Who may open the frontend (port 3000)?");
    term.send(ENTER); // public
    // The variable's image is offered; typing another one wins.
    term.expect("Base image [example.org/team/python:3.12]");
    term.send(&format!("{IMAGE}{ENTER}"));
    term.expect("Run `devboot up` at start-up");
    term.send("y");
    let (status, output) = term.wait(INIT_TIME);
    assert_eq!(status, 0, "{output}");
    assert!(
        output.contains("created .devcontainer/devcontainer.json"),
        "{output}"
    );

    let dir = Path::new(&dir);
    assert!(
        !dir.join(".gitpod.yml").exists(),
        "only devcontainer.json was chosen"
    );
    let json = jsonc(&read(dir, ".devcontainer/devcontainer.json"));
    assert_eq!(json["image"], IMAGE);
    assert_eq!(json["forwardPorts"], serde_json::json!([4600, 3000]));
    assert_eq!(json["portsAttributes"]["4600"]["visibility"], "private");
    assert_eq!(json["portsAttributes"]["3000"]["visibility"], "public");
    assert!(
        json["postStartCommand"]["frontend"]
            .as_str()
            .unwrap()
            .contains("npm install"),
        "the frontend installs in its own lane: {json}"
    );
    assert!(
        dir.join(".vscode/tasks.json").exists(),
        "the hook was asked for"
    );
    assert!(dir.join("docker-compose.yml").exists());
}

#[test]
fn flags_answer_their_questions_in_a_terminal() {
    let t = repo(false);
    let dir = t.path().to_str().unwrap().to_string();
    let mut term = init_in_terminal(
        &[
            "init",
            "--workspace-folder",
            &dir,
            "--format",
            "gitpod",
            "--template",
            "flask-backend",
            "--backend-port",
            "4999",
            "--backend-visibility",
            "public",
            "--image",
            IMAGE,
        ],
        &[],
    );
    // Only the hook is left to ask.
    term.expect("Run `devboot up` at start-up");
    term.send("n");
    let (status, output) = term.wait(INIT_TIME);
    assert_eq!(status, 0, "{output}");
    assert!(!output.contains("Backend port"), "{output}");
    let text = read(Path::new(&dir), ".gitpod.yml");
    assert!(text.contains("--port=4999"), "{text}");
    assert!(!Path::new(&dir).join(".vscode").exists());
}
