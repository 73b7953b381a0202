//! What kind of app a repository holds, from the files at known places: a Flask backend, a
//! Node (React) frontend. `devboot init` starts from this, and so does the zero-config
//! default of `up`.
//!
//! The border: this module only reads a few files and says what it found; it decides
//! nothing about ports, images or commands (that is `template.rs`).

use std::path::Path;

/// The folder a backend is in when the repository has the Cruddur layout.
pub const BACKEND_DIR: &str = "backend-flask";
/// The folder a frontend is in when the repository has the Cruddur layout.
pub const FRONTEND_DIR: &str = "frontend-react-js";

/// What [`detect`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    pub backend: Option<Backend>,
    pub frontend: Option<Frontend>,
}

/// A Flask app: `python3 -m flask run` started in `dir` finds it (`app.py` or `wsgi.py`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// Relative to the repository: `backend-flask` or `.`.
    pub dir: String,
    /// Distribution names listed in the app's `requirements.txt` (empty when it has none).
    pub requirements: Vec<String>,
}

/// A Node app whose `package.json` has a `start` script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontend {
    /// Relative to the repository: `frontend-react-js` or `.`.
    pub dir: String,
}

/// Looks for a Flask backend and a Node frontend in `folder`.
///
/// - Backend: `backend-flask/app.py`; else `app.py` or `wsgi.py` next to a `requirements.txt`
///   that lists `flask`, in `backend-flask/` or at the root.
/// - Frontend: `frontend-react-js/package.json`; else a root `package.json` with a `start`
///   script.
pub fn detect(folder: &Path) -> Detected {
    Detected {
        backend: detect_backend(folder),
        frontend: detect_frontend(folder),
    }
}

fn detect_backend(folder: &Path) -> Option<Backend> {
    let backend = |dir: &str| Backend {
        dir: dir.to_string(),
        requirements: requirements(&folder.join(dir).join("requirements.txt")),
    };
    if folder.join(BACKEND_DIR).join("app.py").is_file() {
        return Some(backend(BACKEND_DIR));
    }
    [BACKEND_DIR, "."]
        .into_iter()
        .find(|dir| {
            let dir = folder.join(dir);
            let has_app = ["app.py", "wsgi.py"].iter().any(|f| dir.join(f).is_file());
            has_app
                && requirements(&dir.join("requirements.txt"))
                    .iter()
                    .any(|name| name == "flask")
        })
        .map(backend)
}

fn detect_frontend(folder: &Path) -> Option<Frontend> {
    if folder.join(FRONTEND_DIR).join("package.json").is_file() {
        return Some(Frontend {
            dir: FRONTEND_DIR.into(),
        });
    }
    let text = std::fs::read_to_string(folder.join("package.json")).ok()?;
    let package: serde_json::Value = serde_json::from_str(&text).ok()?;
    package
        .pointer("/scripts/start")
        .is_some_and(serde_json::Value::is_string)
        .then(|| Frontend { dir: ".".into() })
}

/// The distribution names a `requirements.txt` lists, lower-cased, without versions, extras
/// or markers. Options (`-r other.txt`), URLs and comments are skipped; a missing file lists
/// nothing.
pub fn requirements(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let line = line.split(" #").next().unwrap_or_default().trim();
            if !line.starts_with(|c: char| c.is_ascii_alphanumeric()) || line.contains("://") {
                return None;
            }
            let end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .unwrap_or(line.len());
            Some(line[..end].to_ascii_lowercase().replace('_', "-"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn cruddur_layout() {
        let dir = folder(&[
            ("backend-flask/app.py", ""),
            ("backend-flask/requirements.txt", "flask>=2.2\nflask-cors\n"),
            ("frontend-react-js/package.json", "{}"),
        ]);
        let found = detect(dir.path());
        assert_eq!(
            found.backend,
            Some(Backend {
                dir: "backend-flask".into(),
                requirements: vec!["flask".into(), "flask-cors".into()],
            })
        );
        assert_eq!(found.frontend.unwrap().dir, "frontend-react-js");
    }

    #[test]
    fn root_app_needs_flask_in_requirements() {
        let with = folder(&[("wsgi.py", ""), ("requirements.txt", "Flask==3.0 # web\n")]);
        assert_eq!(detect(with.path()).backend.unwrap().dir, ".");
        let without = folder(&[("app.py", ""), ("requirements.txt", "django\nflask-cors\n")]);
        assert_eq!(detect(without.path()).backend, None);
        let nothing = folder(&[("app.py", "")]);
        assert_eq!(detect(nothing.path()), Detected::default());
    }

    #[test]
    fn root_package_needs_a_start_script() {
        let with = folder(&[("package.json", r#"{"scripts": {"start": "node ."}}"#)]);
        assert_eq!(detect(with.path()).frontend.unwrap().dir, ".");
        let without = folder(&[("package.json", r#"{"scripts": {"test": "jest"}}"#)]);
        assert_eq!(detect(without.path()).frontend, None);
        let broken = folder(&[("package.json", "{")]);
        assert_eq!(detect(broken.path()).frontend, None);
    }

    #[test]
    fn requirement_names() {
        let dir = folder(&[(
            "r.txt",
            "# deps\n-r base.txt\nPsycopg[binary]>=3 ; python_version>'3'\nPython_Dotenv\n\nhttps://x/y.whl\n",
        )]);
        assert_eq!(
            requirements(&dir.path().join("r.txt")),
            ["psycopg", "python-dotenv"]
        );
    }
}
