//! The files `devboot init` writes: one folder of minijinja templates per template under
//! `templates/`, embedded in the binary, and the answers they are rendered with.
//!
//! The commands a file runs are built here, in Rust, and the templates only place them: a
//! `*.json.j2`/`*.yml.j2` template is JSON-escaped by minijinja, so a whole string goes into
//! one `{{ ... }}` and comes out as one valid quoted scalar. The border: nothing here reads
//! or writes the disk (`cli/init.rs` does), and nothing asks questions.

use std::fmt;
use std::path::PathBuf;

use minijinja::{Environment, UndefinedBehavior, syntax::SyntaxConfig};
use serde::Serialize;

use crate::detect::{self, Detected};
use crate::workspace::Visibility;

/// The base image when neither `--image` nor [`IMAGE_VAR`] names one: a real image with
/// python3 and pip, on Debian like most dev images.
pub const DEFAULT_IMAGE: &str = "python:3.11-slim-bookworm";
/// The environment variable that names the base image when `--image` is not given.
pub const IMAGE_VAR: &str = "DEVBOOT_IMAGE";
/// The image of the frontend service in `docker-compose.yml`.
pub const NODE_IMAGE: &str = "node:20-bookworm-slim";
pub const DEFAULT_BACKEND_PORT: u16 = 4567;
pub const DEFAULT_FRONTEND_PORT: u16 = 3000;

/// A set of files `devboot init` can write.
#[derive(Debug)]
pub struct Template {
    pub name: &'static str,
    pub description: &'static str,
    /// It has a frontend, so it asks for the frontend's port and visibility.
    pub frontend: bool,
    files: &'static [Source],
}

/// Whose file a rendered file is, which decides what `init` does when it already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// devboot's config (`.gitpod.yml`, `devcontainer.json`, `.vscode/tasks.json`): replaced
    /// only with `--force`.
    Config,
    /// The app's own file (a Dockerfile, `docker-compose.yml`): an existing one is kept.
    Support,
}

/// One file `devboot init` would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Relative to the workspace folder.
    pub path: PathBuf,
    pub contents: String,
    pub kind: FileKind,
}

/// Which config formats to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    Gitpod,
    Devcontainer,
    Both,
}

impl Formats {
    pub fn gitpod(self) -> bool {
        matches!(self, Formats::Gitpod | Formats::Both)
    }

    pub fn devcontainer(self) -> bool {
        matches!(self, Formats::Devcontainer | Formats::Both)
    }
}

impl fmt::Display for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Formats::Gitpod => "gitpod",
            Formats::Devcontainer => "devcontainer",
            Formats::Both => "both",
        })
    }
}

/// What a template is rendered with: `devboot init`'s questions, plus what detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    pub formats: Formats,
    pub image: String,
    pub backend_port: u16,
    pub frontend_port: u16,
    pub backend_visibility: Visibility,
    pub frontend_visibility: Visibility,
    /// Wire `devboot up` as a start-up hook (Gitpod task, VS Code folder-open task).
    pub hook: bool,
    /// Relative to the workspace folder; `.` for the root.
    pub backend_dir: String,
    pub frontend_dir: String,
    /// The workspace's name (devcontainer `name`, comments).
    pub name: String,
    /// Distribution names of the backend's `requirements.txt`; empty when it has none.
    pub requirements: Vec<String>,
}

impl Answers {
    /// The answers to use when nobody is asked: both formats, public ports, no hook.
    pub fn defaults(detected: &Detected) -> Answers {
        let backend = detected.backend.as_ref();
        Answers {
            formats: Formats::Both,
            image: DEFAULT_IMAGE.into(),
            backend_port: DEFAULT_BACKEND_PORT,
            frontend_port: DEFAULT_FRONTEND_PORT,
            backend_visibility: Visibility::Public,
            frontend_visibility: Visibility::Public,
            hook: false,
            backend_dir: backend.map_or_else(|| detect::BACKEND_DIR.into(), |b| b.dir.clone()),
            frontend_dir: detected
                .frontend
                .as_ref()
                .map_or_else(|| detect::FRONTEND_DIR.into(), |f| f.dir.clone()),
            name: "workspace".into(),
            requirements: backend.map(|b| b.requirements.clone()).unwrap_or_default(),
        }
    }

    /// Why these answers cannot make a working config, if they cannot.
    pub fn check(&self, template: &Template) -> Result<(), String> {
        if self.image.trim().is_empty() || self.image.contains(char::is_whitespace) {
            return Err(format!(
                "`{}` is not an image name: write one like {DEFAULT_IMAGE}",
                self.image
            ));
        }
        for (what, port) in [
            ("backend", self.backend_port),
            ("frontend", self.frontend_port),
        ] {
            if port == 0 {
                return Err(format!("the {what} port must be between 1 and 65535"));
            }
        }
        if template.frontend && self.backend_port == self.frontend_port {
            return Err(format!(
                "the backend and the frontend cannot both listen on port {}",
                self.backend_port
            ));
        }
        for dir in [&self.backend_dir, &self.frontend_dir] {
            if dir.is_empty() || dir.starts_with('/') || dir.split('/').any(|s| s == "..") {
                return Err(format!(
                    "`{dir}` must be a folder inside the workspace, like backend-flask or ."
                ));
            }
        }
        Ok(())
    }
}

/// A template file: where it goes and when it is written.
#[derive(Debug)]
struct Source {
    /// Output path; `{backend}` stands for the backend folder.
    path: &'static str,
    /// Template name: its extension decides the escaping.
    name: &'static str,
    text: &'static str,
    kind: FileKind,
    when: When,
}

#[derive(Debug, Clone, Copy)]
enum When {
    Gitpod,
    Devcontainer,
    Always,
    Hook,
}

const GITPOD: &str = ".gitpod.yml";
const DEVCONTAINER: &str = ".devcontainer/devcontainer.json";

const DOCKERFILE: Source = Source {
    path: "{backend}/Dockerfile",
    name: "Dockerfile.j2",
    text: include_str!("../templates/common/Dockerfile.j2"),
    kind: FileKind::Support,
    when: When::Always,
};
const VSCODE_TASKS: Source = Source {
    path: ".vscode/tasks.json",
    name: "tasks.json.j2",
    text: include_str!("../templates/common/tasks.json.j2"),
    kind: FileKind::Config,
    when: When::Hook,
};

static TEMPLATES: [Template; 2] = [
    Template {
        name: "flask-backend",
        description: "Flask backend (the Cruddur week-1 backend): flask run on 0.0.0.0, \
                      FRONTEND_URL/BACKEND_URL from the port URLs",
        frontend: false,
        files: &[
            Source {
                path: GITPOD,
                name: "gitpod.yml.j2",
                text: include_str!("../templates/flask-backend/gitpod.yml.j2"),
                kind: FileKind::Config,
                when: When::Gitpod,
            },
            Source {
                path: DEVCONTAINER,
                name: "devcontainer.json.j2",
                text: include_str!("../templates/flask-backend/devcontainer.json.j2"),
                kind: FileKind::Config,
                when: When::Devcontainer,
            },
            DOCKERFILE,
            VSCODE_TASKS,
        ],
    },
    Template {
        name: "fullstack",
        description: "Flask backend + Node/React frontend (npm start), with a \
                      docker-compose.yml for both",
        frontend: true,
        files: &[
            Source {
                path: GITPOD,
                name: "gitpod.yml.j2",
                text: include_str!("../templates/fullstack/gitpod.yml.j2"),
                kind: FileKind::Config,
                when: When::Gitpod,
            },
            Source {
                path: DEVCONTAINER,
                name: "devcontainer.json.j2",
                text: include_str!("../templates/fullstack/devcontainer.json.j2"),
                kind: FileKind::Config,
                when: When::Devcontainer,
            },
            Source {
                path: "docker-compose.yml",
                name: "docker-compose.yml.j2",
                text: include_str!("../templates/fullstack/docker-compose.yml.j2"),
                kind: FileKind::Support,
                when: When::Always,
            },
            DOCKERFILE,
            VSCODE_TASKS,
        ],
    },
];

/// Every template, in the order `devboot templates` lists them.
pub fn all() -> &'static [Template] {
    &TEMPLATES
}

/// The template called `name`.
pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// The template that fits what was detected: `fullstack` when there is a frontend.
pub fn suggest(detected: &Detected) -> &'static Template {
    let name = if detected.frontend.is_some() {
        "fullstack"
    } else {
        "flask-backend"
    };
    find(name).expect("built-in template")
}

/// A template that did not render: a bug in the template, never in the answers.
#[derive(Debug, thiserror::Error)]
#[error("template {template}/{file} does not render: {source}")]
pub struct RenderError {
    template: &'static str,
    file: &'static str,
    #[source]
    source: minijinja::Error,
}

/// Renders every file of `template` that `answers` ask for.
pub fn render(template: &Template, answers: &Answers) -> Result<Vec<RenderedFile>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters"),
    );
    let context = Context::new(template, answers);
    let mut out = Vec::new();
    for source in template.files {
        let wanted = match source.when {
            When::Gitpod => answers.formats.gitpod(),
            When::Devcontainer => answers.formats.devcontainer(),
            When::Always => true,
            When::Hook => answers.hook,
        };
        if !wanted {
            continue;
        }
        let error = |source_error| RenderError {
            template: template.name,
            file: source.name,
            source: source_error,
        };
        let contents = env
            .template_from_named_str(source.name, source.text)
            .and_then(|t| t.render(minijinja::value::Serde(&context)))
            .map_err(error)?;
        out.push(RenderedFile {
            path: output_path(source.path, &answers.backend_dir),
            contents,
            kind: source.kind,
        });
    }
    Ok(out)
}

fn output_path(path: &str, backend_dir: &str) -> PathBuf {
    match path.strip_prefix("{backend}/") {
        Some(rest) if backend_dir == "." => PathBuf::from(rest),
        Some(rest) => PathBuf::from(backend_dir).join(rest),
        None => PathBuf::from(path),
    }
}

/// What the template files see: the answers, and every command already built.
#[derive(Serialize)]
struct Context {
    template: &'static str,
    name: String,
    image: String,
    node_image: &'static str,
    /// The `.gitpod.yml` holds only the `devboot up` hook: the app's commands are in
    /// `devcontainer.json`, and having both would start the app twice in Gitpod.
    gitpod_hook: bool,
    backend_port: u16,
    backend_visibility: Visibility,
    frontend_port: u16,
    frontend_visibility: Visibility,
    frontend_url: String,
    backend_url: String,
    /// Installs the backend's requirements unless they are there (from the workspace root).
    backend_install: String,
    /// The same, run in the backend folder (the Dockerfile's).
    backend_install_here: String,
    /// Runs the backend in the foreground (a Gitpod `command`).
    backend_run: String,
    /// Starts the backend in the background (a `postStartCommand`).
    backend_start: String,
    /// `docker-compose.yml` build context of the backend.
    backend_build: String,
    frontend_install: String,
    frontend_run: String,
    /// Installs what the frontend needs once per container, then starts it in the
    /// background (a `postStartCommand` lane of its own: the backend never waits on it).
    frontend_setup_and_start: String,
    frontend_volume: String,
}

/// `pip` distribution names whose module is called something else.
const MODULES: &[(&str, &str)] = &[
    ("beautifulsoup4", "bs4"),
    ("pillow", "PIL"),
    ("python-dotenv", "dotenv"),
    ("pyyaml", "yaml"),
    ("scikit-learn", "sklearn"),
    ("opencv-python", "cv2"),
    ("psycopg2-binary", "psycopg2"),
];

impl Context {
    fn new(template: &Template, answers: &Answers) -> Context {
        let cd = |dir: &str| {
            if dir == "." {
                String::new()
            } else {
                format!("cd {} && ", shell_words::quote(dir))
            }
        };
        let in_dir = |dir: &str, file: &str| {
            if dir == "." {
                file.to_string()
            } else {
                format!("{}/{file}", dir.trim_end_matches('/'))
            }
        };
        let context_of = |dir: &str| {
            if dir == "." {
                ".".to_string()
            } else {
                format!("./{dir}")
            }
        };
        let (backend, frontend) = (&answers.backend_dir, &answers.frontend_dir);
        let port = answers.backend_port;
        let flask = format!("python3 -m flask run --host=0.0.0.0 --port={port}");
        let install = |requirements: &str| {
            if answers.requirements.is_empty() {
                "python3 -c 'import flask, flask_cors' 2>/dev/null || pip3 install flask flask-cors"
                    .to_string()
            } else {
                format!(
                    "python3 -c 'import {}' 2>/dev/null || pip3 install -r {}",
                    modules(&answers.requirements).join(", "),
                    shell_words::quote(requirements)
                )
            }
        };
        // Node is installed when the image lacks it (Debian images; Gitpod's have it).
        let node = "(command -v npm > /dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends nodejs npm))";
        let frontend_install = format!("{node} && ({}npm install)", cd(frontend));
        // Once per container: the marker lives in the container, not in the mounted folder.
        let marker = "/tmp/frontend-installed";
        Context {
            template: template.name,
            name: answers.name.clone(),
            image: answers.image.clone(),
            node_image: NODE_IMAGE,
            gitpod_hook: answers.hook && answers.formats.devcontainer(),
            backend_port: port,
            backend_visibility: answers.backend_visibility,
            frontend_port: answers.frontend_port,
            frontend_visibility: answers.frontend_visibility,
            frontend_url: format!("${{portUrl:{}}}", answers.frontend_port),
            backend_url: format!("${{portUrl:{port}}}"),
            backend_install: install(&in_dir(backend, "requirements.txt")),
            backend_install_here: install("requirements.txt"),
            backend_run: format!("{}{flask}", cd(backend)),
            backend_start: format!("{}nohup {flask} > /tmp/backend.log 2>&1 &", cd(backend)),
            backend_build: context_of(backend),
            frontend_install,
            frontend_run: format!("{}npm start", cd(frontend)),
            frontend_setup_and_start: format!(
                "{node} && {}{{ test -f {marker} || {{ npm install && touch {marker}; }}; }} && {{ PORT={} CI=true nohup npm start > /tmp/frontend.log 2>&1 & }}",
                cd(frontend),
                answers.frontend_port
            ),
            frontend_volume: context_of(frontend),
        }
    }
}

/// The modules to import to tell whether the requirements are installed. A name that maps
/// to no importable module only makes the check fail, so pip runs: the safe side.
fn modules(requirements: &[String]) -> Vec<String> {
    requirements
        .iter()
        .map(|name| {
            MODULES
                .iter()
                .find(|(dist, _)| dist == name)
                .map_or_else(|| name.replace(['-', '.'], "_"), |(_, m)| (*m).to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(formats: Formats) -> Answers {
        Answers {
            formats,
            requirements: vec!["flask".into(), "flask-cors".into()],
            name: "cruddur".into(),
            ..Answers::defaults(&Detected::default())
        }
    }

    fn file<'a>(files: &'a [RenderedFile], path: &str) -> &'a str {
        &files
            .iter()
            .find(|f| f.path == std::path::Path::new(path))
            .unwrap_or_else(|| panic!("no {path} in {files:#?}"))
            .contents
    }

    #[test]
    fn formats_decide_the_files() {
        let template = find("flask-backend").unwrap();
        let paths = |formats| -> Vec<String> {
            render(template, &answers(formats))
                .unwrap()
                .iter()
                .map(|f| f.path.display().to_string())
                .collect()
        };
        assert_eq!(
            paths(Formats::Gitpod),
            [".gitpod.yml", "backend-flask/Dockerfile"]
        );
        assert_eq!(
            paths(Formats::Devcontainer),
            [
                ".devcontainer/devcontainer.json",
                "backend-flask/Dockerfile"
            ]
        );
        assert_eq!(paths(Formats::Both).len(), 3);
    }

    #[test]
    fn commands_are_quoted_whole() {
        let files = render(find("flask-backend").unwrap(), &answers(Formats::Both)).unwrap();
        let gitpod = file(&files, ".gitpod.yml");
        assert!(
            gitpod.contains(
                r#"command: "cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567""#
            ),
            "{gitpod}"
        );
        assert!(
            gitpod.contains(r#"init: "python3 -c 'import flask, flask_cors' 2>/dev/null || pip3 install -r backend-flask/requirements.txt""#),
            "{gitpod}"
        );
        assert!(
            gitpod.contains(r#"FRONTEND_URL: "${portUrl:3000}""#),
            "{gitpod}"
        );
        let dockerfile = file(&files, "backend-flask/Dockerfile");
        assert!(dockerfile.starts_with("# "), "{dockerfile}");
        assert!(
            dockerfile.contains("\nFROM python:3.11-slim-bookworm\n"),
            "{dockerfile}"
        );
        assert!(dockerfile.ends_with("\"--port=4567\"]\n"), "{dockerfile}");
    }

    #[test]
    fn a_root_backend_has_no_cd_and_its_dockerfile_at_the_root() {
        let mut a = answers(Formats::Devcontainer);
        a.backend_dir = ".".into();
        let files = render(find("flask-backend").unwrap(), &a).unwrap();
        assert!(
            files
                .iter()
                .any(|f| f.path == std::path::Path::new("Dockerfile"))
        );
        let json = file(&files, ".devcontainer/devcontainer.json");
        assert!(
            json.contains(r#""postStartCommand": "nohup python3 -m flask"#),
            "{json}"
        );
    }

    /// The fullstack devcontainer.json: nothing of the frontend runs before the backend's
    /// start (a hook stage waits for every lane of the one before it).
    #[test]
    fn the_backend_never_waits_on_the_frontends_install() {
        let files = render(find("fullstack").unwrap(), &answers(Formats::Devcontainer)).unwrap();
        let text = file(&files, ".devcontainer/devcontainer.json");
        let json: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let lanes = |hook: &str| -> Vec<String> {
            json[hook].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(lanes("onCreateCommand"), ["backend"]);
        assert_eq!(lanes("postStartCommand"), ["backend", "frontend"]);
        let frontend = json["postStartCommand"]["frontend"].as_str().unwrap();
        assert!(
            frontend.contains("cd frontend-react-js && { test -f /tmp/frontend-installed || { npm install && touch /tmp/frontend-installed; }; } && { PORT=3000 CI=true nohup npm start > /tmp/frontend.log 2>&1 & }"),
            "{frontend}"
        );
    }

    #[test]
    fn module_names() {
        let names = ["flask", "flask-cors", "python-dotenv", "zope.interface"].map(String::from);
        assert_eq!(
            modules(&names),
            ["flask", "flask_cors", "dotenv", "zope_interface"]
        );
    }

    #[test]
    fn answers_are_checked() {
        let template = find("fullstack").unwrap();
        let mut a = answers(Formats::Both);
        assert_eq!(a.check(template), Ok(()));
        a.frontend_port = a.backend_port;
        assert!(a.check(template).unwrap_err().contains("both listen"));
        let mut a = answers(Formats::Both);
        a.image = "two words".into();
        assert!(a.check(template).is_err());
        let mut a = answers(Formats::Both);
        a.backend_dir = "../x".into();
        assert!(a.check(template).is_err());
    }
}
