//! `.gitpod.yml` <-> `devcontainer.json`: a loaded workspace written in the other format.
//!
//! The mapping (both ways): tasks <-> lifecycle hooks (`init` -> `onCreateCommand`, `before`
//! and the long-running `command` -> `postStartCommand`, the command backgrounded), ports <->
//! `forwardPorts` + `portsAttributes` (`onOpen` <-> `onAutoForward`, `name` <-> `label`,
//! devboot's `visibility` attribute), `image` / `image.file` <-> `image` / `build` (paths
//! re-based: Gitpod's are relative to the repository, devcontainer's to the file's folder),
//! top-level `env` <-> `containerEnv`, `vscode.extensions` <->
//! `customizations.vscode.extensions`.
//!
//! What the target cannot say is not written: it is a warning, on stderr and in the
//! output's header comment. Values come from the file as written (not the lowered model)
//! wherever substitution would put this machine's paths or variables into the output.
//!
//! Here: the choice of direction and what both directions share (re-based paths, the
//! header, the port-action names). Each direction is its own file. The border: the
//! conversion is text; `cli/convert.rs` decides where it goes and writes it.

mod to_devcontainer;
mod to_gitpod;
mod yaml_out;

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::config::Loaded;
use crate::config::substitute::normalize;
use crate::workspace::{Format, OnOpen};

/// A config written in the other format.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The whole file.
    pub text: String,
    /// What could not be carried over, one sentence each.
    pub warnings: Vec<String>,
}

/// Writes `loaded` as a config of format `to`. `output` is where the file will be (absolute;
/// relative paths in it are made from there). `loaded` must be of the other format.
pub fn convert(loaded: &Loaded, to: Format, output: &Path) -> Conversion {
    match to {
        Format::Devcontainer => to_devcontainer::convert(loaded, output),
        Format::Gitpod => to_gitpod::convert(loaded),
    }
}

/// Where a converted config goes when no path is given: where devboot looks for it.
pub fn default_output(workspace_folder: &Path, to: Format) -> PathBuf {
    match to {
        Format::Devcontainer => workspace_folder.join(".devcontainer/devcontainer.json"),
        Format::Gitpod => workspace_folder.join(".gitpod.yml"),
    }
}

/// Gitpod's `onOpen` value of a port action.
fn on_open_gitpod(on_open: OnOpen) -> &'static str {
    match on_open {
        OnOpen::Notify => "notify",
        OnOpen::OpenBrowser | OnOpen::OpenBrowserOnce => "open-browser",
        OnOpen::OpenPreview => "open-preview",
        OnOpen::Silent => "ignore",
        OnOpen::Ignore => "ignore-completely",
    }
}

/// devcontainer's `onAutoForward` value of a port action.
fn on_auto_forward(on_open: OnOpen) -> &'static str {
    match on_open {
        OnOpen::Notify => "notify",
        OnOpen::OpenBrowser => "openBrowser",
        OnOpen::OpenBrowserOnce => "openBrowserOnce",
        OnOpen::OpenPreview => "openPreview",
        OnOpen::Silent => "silent",
        OnOpen::Ignore => "ignore",
    }
}

/// `path` relative to the folder `from`, with `/` separators (both absolute).
fn relative(from: &Path, path: &Path) -> String {
    let (from, path) = (normalize(from), normalize(path));
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = path.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The header comment lines of a converted file: where it came from, what was left out.
fn header(from: &Loaded, comment: &str, warnings: &[String]) -> String {
    let source = from
        .workspace
        .config_file
        .strip_prefix(&from.workspace.local_folder)
        .map_or_else(
            |_| from.workspace.config_file.display().to_string(),
            |p| p.display().to_string(),
        );
    let mut out = format!("{comment} Converted from {source} by `devboot convert`.\n");
    if !warnings.is_empty() {
        let _ = writeln!(out, "{comment} Not carried over:");
        for warning in warnings {
            for (i, line) in wrap(warning, 88 - comment.len() - 3).iter().enumerate() {
                let lead = if i == 0 { "- " } else { "  " };
                let _ = writeln!(out, "{comment} {lead}{line}");
            }
        }
    }
    out
}

/// Words of `text` in lines of at most `width` characters (a longer word gets its own line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// What a Gitpod-only name in a script means elsewhere, for warnings.
fn gitpod_only(script: &str) -> Option<&'static str> {
    let uses_gp = script
        .split(|c: char| c.is_whitespace() || ";&|()`$".contains(c))
        .any(|word| word == "gp");
    if uses_gp {
        Some("the `gp` CLI, which exists only in Gitpod")
    } else if [
        "GITPOD_WORKSPACE_ID",
        "GITPOD_WORKSPACE_URL",
        "GITPOD_WORKSPACE_CLUSTER_HOST",
    ]
    .iter()
    .any(|v| script.contains(v))
    {
        Some(
            "GITPOD_WORKSPACE_* variables, which only Gitpod (and devboot running a .gitpod.yml) sets",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(
                Path::new("/r/.devcontainer"),
                Path::new("/r/.gitpod.Dockerfile")
            ),
            "../.gitpod.Dockerfile"
        );
        assert_eq!(
            relative(Path::new("/r/.devcontainer"), Path::new("/r")),
            ".."
        );
        assert_eq!(relative(Path::new("/r"), Path::new("/r/./a/b")), "a/b");
        assert_eq!(relative(Path::new("/r"), Path::new("/r")), ".");
    }

    #[test]
    fn gp_is_found_as_a_word() {
        assert!(gitpod_only("gp sync-await x").is_some());
        assert!(gitpod_only("echo $(gp url 3000)").is_some());
        assert!(gitpod_only("npm run gpx && cd gp-dir").is_none());
        assert!(gitpod_only("echo $GITPOD_WORKSPACE_URL").is_some());
    }

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
    }
}
