//! `devboot config [--json]`: the resolved workspace, as a summary (every command whole) or
//! as one JSON object, with the warnings loading it gave; a config's Features resolved and
//! in install order (fetched, or from devboot's cache), or a warning saying why not.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::Global;
use crate::config::{self, Loaded};
use crate::diagnostic::Diagnostic;
use crate::error::{Result, exit};
use crate::features::FeatureError;
use crate::features::order::Plan;
use crate::ui;
use crate::workspace::{Command, ImageSource, Workspace};

#[derive(Debug, clap::Args)]
pub(crate) struct ConfigArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Print one JSON object on stdout (field names documented in the README).
    #[arg(long)]
    json: bool,
    /// Show your own settings instead (dotfiles, registry mirror, wait timeout): each
    /// effective value and where it came from (a flag, the environment, your settings file
    /// or devboot's default).
    #[arg(long)]
    settings: bool,
}

/// The JSON form: the workspace's own fields, plus the warnings loading it gave; for a
/// config with Features, those Features resolved (or why they could not be).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigJson<'a> {
    #[serde(flatten)]
    workspace: &'a Workspace,
    warnings: Vec<WarningJson>,
    /// The Features in install order, dependencies included.
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_features: Option<Vec<crate::cli::features::Resolved>>,
    /// Why the Features could not be resolved (the rest is still right).
    #[serde(skip_serializing_if = "Option::is_none")]
    features_error: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct WarningJson {
    pub(crate) message: String,
    /// `path:line:col`, when the warning is about a place in a file.
    pub(crate) position: Option<String>,
}

pub(crate) fn run(args: &ConfigArgs, global: &Global) -> Result<u8> {
    if args.settings {
        let settings =
            crate::settings::load(&crate::cli::host_env(), &crate::settings::Flags::default())?;
        let text = if args.json {
            let mut text = serde_json::to_string_pretty(&settings).expect("the settings serialize");
            text.push('\n');
            text
        } else {
            crate::settings::describe(&settings)
        };
        ui::stdout(&text)?;
        return Ok(exit::OK);
    }
    let options = global.load_options_for(args.source)?;
    let mut loaded = config::load(&options)?;
    let persisted = crate::up::persisted_env(&options.host_env, &options.workspace_folder)?;
    ui::set_secrets(crate::env::secret_values(
        &loaded.workspace,
        &persisted.values,
        &persisted.secrets,
        [],
    ));
    mask_secrets(&mut loaded.workspace);
    crate::config::lint::name_ide_extensions(
        &loaded.document,
        loaded.workspace.format,
        &mut loaded.diagnostics,
    );
    if let Some(note) = &loaded.note {
        ui::note(note);
    }
    for warning in loaded.diagnostics.warnings() {
        ui::diagnostic(warning);
    }
    // Only a config with Features pays for resolving them (it may need the network).
    let features = (!loaded.workspace.features.is_empty())
        .then(|| resolve_features(&loaded.workspace, &options.host_env));
    if args.json {
        let mut warnings = warnings_json(&loaded);
        let (mut resolved_features, mut features_error) = (None, None);
        match features {
            Some(Ok(plan)) => {
                warnings.extend(plan.warnings.iter().map(|message| WarningJson {
                    message: message.clone(),
                    position: None,
                }));
                resolved_features = Some(crate::cli::features::Resolved::list(&plan));
            }
            Some(Err(error)) => features_error = Some(error.to_string()),
            None => {}
        }
        let json = ConfigJson {
            workspace: &loaded.workspace,
            warnings,
            resolved_features,
            features_error,
        };
        let mut text = serde_json::to_string_pretty(&json).expect("the model always serializes");
        text.push('\n');
        ui::stdout(&text)?;
    } else {
        let mut text = summary(&loaded.workspace);
        if let Some(Ok(plan)) = &features {
            text.push_str(&crate::cli::features::summary(plan));
        }
        ui::stdout(&text)?;
    }
    Ok(exit::OK)
}

/// The workspace's Features resolved, their warnings printed; when that fails, a warning
/// says why and what to do, and `config` goes on without them.
fn resolve_features(
    ws: &Workspace,
    host_env: &crate::workspace::EnvMap,
) -> std::result::Result<Plan, FeatureError> {
    let resolved = crate::cli::features::resolve(ws, host_env);
    match &resolved {
        Ok(plan) => {
            for warning in &plan.warnings {
                ui::warning(warning);
            }
        }
        Err(error) => {
            let message = format!(
                "the Features cannot be listed: {error} (in {})",
                config::source::display_path(&ws.config_file)
            );
            let d = crate::cli::features::with_help(Diagnostic::warning(message), error);
            ui::diagnostic(&d);
        }
    }
    resolved
}

/// Values of secret-looking variables are never printed.
fn mask_secrets(ws: &mut Workspace) {
    ws.container_env = crate::env::masked(&ws.container_env, &[]);
    ws.remote_env = crate::env::masked(&ws.remote_env, &[]);
    for lane in ws.stages.iter_mut().flat_map(|s| s.lanes.iter_mut()) {
        lane.env = crate::env::masked(&lane.env, &[]);
    }
}

pub(crate) fn warnings_json(loaded: &Loaded) -> Vec<WarningJson> {
    loaded
        .diagnostics
        .warnings()
        .map(|d| WarningJson {
            message: d.message.clone(),
            position: d.position(),
        })
        .collect()
}

/// A readable summary of the workspace, one aspect per line.
pub(crate) fn summary(ws: &Workspace) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workspace  {} ({}: {})",
        ws.name,
        ws.format,
        ws.config_file.display()
    );
    let image = match &ws.image {
        ImageSource::Reference { image } => format!("image {image}"),
        ImageSource::Dockerfile {
            dockerfile,
            context,
            target,
            ..
        } => {
            let mut s = format!(
                "build {} (context {})",
                dockerfile.display(),
                context.display()
            );
            if let Some(target) = target {
                let _ = write!(s, " target {target}");
            }
            s
        }
        ImageSource::Compose { files, service, .. } => {
            let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            format!("compose service {service} of {}", files.join(", "))
        }
    };
    let _ = writeln!(out, "image      {image}");
    match &ws.mount {
        Some(mount) => {
            let _ = writeln!(
                out,
                "folder     {} (mounted from {})",
                ws.folder,
                mount.source.display()
            );
        }
        None => {
            let _ = writeln!(out, "folder     {} (not mounted)", ws.folder);
        }
    }
    for (name, value) in &ws.container_env {
        let _ = writeln!(out, "env        {name}={value}");
    }
    for (name, value) in &ws.remote_env {
        let _ = writeln!(out, "remote env {name}={value}");
    }
    for port in &ws.ports {
        let mut line = format!("port       {port}");
        if let Some(label) = &port.label {
            let _ = write!(line, " ({label})");
        }
        let visibility = match port.visibility {
            crate::workspace::Visibility::Private => "private",
            crate::workspace::Visibility::Public => "public",
        };
        let _ = write!(line, " {visibility}");
        if !port.publish {
            line.push_str(", not published");
        }
        let _ = writeln!(out, "{line}");
    }
    for stage in &ws.stages {
        for lane in &stage.lanes {
            for (name, value) in &lane.env {
                let _ = writeln!(out, "task       {} env {name}={value}", lane.name);
            }
            for step in &lane.steps {
                let head = format!("task       {} {}: ", lane.name, step.phase);
                let command = match &step.command {
                    Command::Shell(s) => indent_continuation(s.trim_end(), head.chars().count()),
                    c @ Command::Exec(_) => c.to_string(),
                };
                let _ = writeln!(out, "{head}{command}");
            }
        }
    }
    out
}

/// A multi-line script, whole, its later lines lined up under its first.
fn indent_continuation(script: &str, column: usize) -> String {
    let pad = " ".repeat(column);
    let mut lines = script.lines();
    let mut out = lines.next().unwrap_or_default().to_string();
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Format;

    fn load(text: &str) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".gitpod.yml");
        std::fs::write(&path, text).unwrap();
        let context = config::Context {
            local_folder: dir.path().to_path_buf(),
            config_file: path.clone(),
            host_env: crate::workspace::EnvMap::new(),
        };
        config::load_file(&path, Format::Gitpod, &context).unwrap()
    }

    #[test]
    fn multi_line_commands_are_shown_whole() {
        let loaded = load(
            "image: x\ntasks:\n  - name: api\n    init: |\n      pip install -r requirements.txt\n      python3 -m compileall .\n    command: flask run\n",
        );
        let text = summary(&loaded.workspace);
        let tasks: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("env"))
            .skip(3)
            .collect();
        assert_eq!(
            tasks,
            [
                "task       api init: pip install -r requirements.txt",
                "                     python3 -m compileall .",
                "task       api command: flask run",
            ],
            "{text}"
        );
    }
}
