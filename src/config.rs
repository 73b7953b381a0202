//! Loading a workspace: discover the config file, read it, parse it into a [`Document`], and
//! lower it into the format-agnostic [`Workspace`].
//!
//! Parsing never stops at the first problem it can step over: every error and warning is
//! collected into [`Diagnostics`], and loading fails (with all of them) only at the end.
//! A folder with no config but a recognisable Flask backend loads the built-in template,
//! rendered in memory.
//!
//! The border: this module picks the file and the format and runs the steps in order; what
//! a key means is the format's module (`gitpod.rs`, `devcontainer.rs`), and nothing here
//! touches a container.

pub mod compose;
pub mod devcontainer;
pub mod discover;
pub mod gitpod;
pub mod jsonc;
pub mod lint;
pub mod schema;
pub mod source;
pub mod substitute;
pub(crate) mod suggest;
pub mod typed;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Error, Result};
use crate::workspace::{EnvMap, Format, Workspace};
use source::{Document, Location, SourceFile, Span};

/// What a command needs to know to find and read a workspace's config.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Absolute workspace folder.
    pub workspace_folder: PathBuf,
    /// `--config`, relative to the workspace folder or absolute.
    pub config: Option<PathBuf>,
    /// `--format`.
    pub format: Option<Format>,
    /// The host's environment, for `${localEnv:...}`.
    pub host_env: EnvMap,
}

/// What lowering needs besides the document itself.
#[derive(Debug, Clone)]
pub struct Context {
    /// Absolute workspace folder on the host.
    pub local_folder: PathBuf,
    /// Absolute path of the config file.
    pub config_file: PathBuf,
    /// The host's environment, for `${localEnv:...}`.
    pub host_env: EnvMap,
}

impl Context {
    /// The workspace folder's own name, which both formats name the workspace and its folder
    /// in the container after.
    pub(crate) fn folder_name(&self) -> String {
        self.local_folder.file_name().map_or_else(
            || "workspace".to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// A loaded workspace and what loading it had to say.
#[derive(Debug)]
pub struct Loaded {
    pub workspace: Workspace,
    /// Warnings only: loading fails when there is an error.
    pub diagnostics: Diagnostics,
    /// Why this config file was chosen, when there was a choice.
    pub note: Option<String>,
    pub document: Document,
}

/// Finds, reads, parses and lowers the workspace's config.
pub fn load(options: &LoadOptions) -> Result<Loaded> {
    let found = match discover::discover(
        &options.workspace_folder,
        options.config.as_deref(),
        options.format,
    ) {
        Err(Error::NoConfig { folder }) => return built_in(&folder, options),
        found => found?,
    };
    let context = Context {
        local_folder: options.workspace_folder.clone(),
        config_file: found.path.clone(),
        host_env: options.host_env.clone(),
    };
    let mut loaded = load_file(&found.path, found.format, &context)?;
    loaded.note = found.note;
    Ok(loaded)
}

/// The zero-config default: a folder with no config but a recognizable Flask backend runs
/// as the `flask-backend` template would have it, rendered in memory (nothing is written).
/// The config's path is where `devboot init` would write it, so a later `init` keeps the
/// container's identity.
fn built_in(folder: &Path, options: &LoadOptions) -> Result<Loaded> {
    let detected = crate::detect::detect(folder);
    let template =
        crate::template::find("flask-backend").expect("the flask-backend template is built in");
    if detected.backend.is_none() {
        return Err(Error::NoConfig {
            folder: folder.to_path_buf(),
        });
    }
    let mut answers = crate::template::Answers::defaults(&detected);
    answers.formats = crate::template::Formats::Gitpod;
    if let Some(image) = options
        .host_env
        .get(crate::template::IMAGE_VAR)
        .filter(|i| !i.is_empty())
    {
        answers.image.clone_from(image);
    }
    let rendered = crate::template::render(template, &answers).map_err(|e| Error::Usage {
        message: format!("the built-in flask-backend template failed: {e}"),
        help: None,
    })?;
    let gitpod = rendered
        .into_iter()
        .find(|f| f.path == Path::new(".gitpod.yml"))
        .expect("flask-backend writes a .gitpod.yml");
    let path = folder.join(".gitpod.yml");
    let context = Context {
        local_folder: folder.to_path_buf(),
        config_file: path.clone(),
        host_env: options.host_env.clone(),
    };
    let file = SourceFile::new(&path, gitpod.contents);
    let mut diagnostics = Diagnostics::default();
    let document = parse(&file, Format::Gitpod, &mut diagnostics);
    let workspace = document
        .as_ref()
        .and_then(|doc| gitpod::lower(doc, &context, &mut diagnostics));
    match (workspace, document) {
        (Some(workspace), Some(document)) if !diagnostics.has_errors() => Ok(Loaded {
            workspace,
            diagnostics,
            note: Some(format!(
                "no config in {}: using devboot's built-in flask-backend template (image {}; nothing written); `devboot init` writes it out",
                source::display_path(folder),
                answers.image
            )),
            document,
        }),
        _ => Err(Error::Config(diagnostics)),
    }
}

/// Reads, parses and lowers one config file of a known format.
pub fn load_file(path: &Path, format: Format, context: &Context) -> Result<Loaded> {
    let mut diagnostics = Diagnostics::default();
    let file = read_source(path).map_err(|d| Error::Config(Diagnostics(vec![d])))?;
    let document = parse(&file, format, &mut diagnostics);
    let workspace = document.as_ref().and_then(|doc| match format {
        Format::Gitpod => gitpod::lower(doc, context, &mut diagnostics),
        Format::Devcontainer => devcontainer::lower(doc, context, &mut diagnostics),
    });
    match (workspace, document) {
        (Some(workspace), Some(document)) if !diagnostics.has_errors() => Ok(Loaded {
            workspace,
            diagnostics,
            note: None,
            document,
        }),
        _ => Err(Error::Config(diagnostics)),
    }
}

/// Parses a file of a known format into a document, pushing syntax problems.
pub fn parse(
    file: &Arc<SourceFile>,
    format: Format,
    diagnostics: &mut Diagnostics,
) -> Option<Document> {
    match format {
        Format::Gitpod => yaml::parse(file, diagnostics),
        Format::Devcontainer => jsonc::parse(file, diagnostics),
    }
}

/// Reads a config file. A file that is not UTF-8 is an error located at its first bad byte.
pub fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::error(format!("cannot read {}", source::display_path(path)))
            .cause(e.to_string())
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            // Quote the valid part so the location can be shown with its line.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let file = SourceFile::new(path, text);
            let prefix = String::from_utf8_lossy(&bytes[..valid]).len();
            Err(Diagnostic::error("the file is not valid UTF-8")
                .at(Location::new(&file, Span::new(prefix, prefix + 1)))
                .label("invalid byte here")
                .help("save the file as UTF-8"))
        }
    }
}
