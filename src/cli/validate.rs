//! `devboot validate [PATH...]`: every problem in the given config files (or the discovered
//! one), from the syntax, the official schema and devboot's own rules. The compose files a
//! devcontainer.json names are checked with it; a compose file can be given on its own.
//! With `--features`, a devcontainer.json's Features are fetched (or found in devboot's
//! cache) and the options it gives each are checked against what the Feature declares;
//! without it, `validate` never touches the network.

use std::path::{Path, PathBuf};

use crate::cli::Global;
use crate::config::source::Document;
use crate::config::{self, Context, compose, discover, lint, schema};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::{Result, exit};
use crate::ui;
use crate::workspace::{EnvMap, Format, ImageSource, Workspace};

#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Also fetch the config's Dev Container Features (from their registries, or devboot's
    /// cache) and check the options it gives each against the ones the Feature declares:
    /// unknown names, wrong types, values its list does not allow.
    #[arg(long)]
    features: bool,
    /// Config files to check; default: the workspace's config.
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: &ValidateArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let targets = if args.paths.is_empty() {
        let found = discover::discover(
            &options.workspace_folder,
            options.config.as_deref(),
            options.format,
        )?;
        vec![(found.path, found.format)]
    } else {
        args.paths
            .iter()
            .map(|p| {
                let path = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                let format = options.format.unwrap_or_else(|| discover::format_of(&path));
                (path, format)
            })
            .collect()
    };

    let (mut errors, mut warnings) = (0, 0);
    let mut report = |path: &Path, diagnostics: &Diagnostics| {
        errors += diagnostics.errors().count();
        warnings += diagnostics.warnings().count();
        for d in &diagnostics.0 {
            ui::diagnostic(d);
        }
        if diagnostics.is_empty() {
            ui::line(&format!("{}: ok", config::source::display_path(path)));
        }
    };
    let mut checked: Vec<PathBuf> = Vec::new();
    for (path, format) in targets {
        if format == Format::Gitpod && is_compose(&path) {
            if !checked.contains(&path) {
                let mut problems = Diagnostics::default();
                let docs: Vec<Document> = compose::read(&path, &mut problems).into_iter().collect();
                for (_, found) in check_compose(&docs, None, &[], &options.host_env) {
                    problems.extend(found);
                }
                report(&path, &problems);
                checked.push(path);
            }
            continue;
        }
        let (mut diagnostics, checked_doc) = check_file(&path, format, &options.host_env);
        if args.features
            && let Some((doc, ws)) = &checked_doc
        {
            diagnostics.extend(check_features(doc, ws, &options.host_env));
            sort_by_place(&mut diagnostics);
        }
        // A Compose config: its compose files are part of it.
        let compose_files = checked_doc
            .map(|(doc, ws)| compose_of(&doc, &ws, &mut diagnostics, &options.host_env))
            .unwrap_or_default();
        report(&path, &diagnostics);
        for (file, diagnostics) in compose_files {
            if !checked.contains(&file) {
                report(&file, &diagnostics);
                checked.push(file);
            }
        }
    }
    if errors + warnings > 0 {
        ui::line(&format!("{errors} error(s), {warnings} warning(s)"));
    }
    Ok(if errors > 0 { exit::USAGE } else { exit::OK })
}

/// A YAML file given on the command line that is a compose file: by its name, or (unless
/// it is named like a `.gitpod.yml`) by its top-level `services`.
fn is_compose(path: &Path) -> bool {
    if compose::is_compose_name(path) {
        return true;
    }
    let gitpod_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".gitpod"));
    !gitpod_name
        && compose::read(path, &mut Diagnostics::default())
            .is_some_and(|doc| compose::is_compose_document(&doc))
}

/// The compose files of a Compose config, each with its problems; a `service` that none
/// of them defines is an error of devcontainer.json's (`up` would fail on it).
fn compose_of(
    doc: &Document,
    ws: &Workspace,
    diagnostics: &mut Diagnostics,
    host_env: &EnvMap,
) -> Vec<(PathBuf, Diagnostics)> {
    let ImageSource::Compose { files, service, .. } = &ws.image else {
        return Vec::new();
    };
    let mut read_problems = Vec::new();
    let mut docs = Vec::new();
    for file in files {
        let mut problems = Diagnostics::default();
        match compose::read(file, &mut problems) {
            Some(doc) => docs.push(doc),
            None => read_problems.push((file.clone(), problems)),
        }
    }
    if read_problems.is_empty()
        && !docs
            .iter()
            .any(|d| compose::services(d).any(|(name, _)| name == service))
    {
        let defined: Vec<String> = docs
            .iter()
            .flat_map(|d| compose::services(d).map(|(name, _)| format!("`{name}`")))
            .collect();
        diagnostics.push(
            Diagnostic::error(format!(
                "service `{service}` is not in the compose files of `dockerComposeFile`"
            ))
            .at(doc.value_location("/service"))
            .help(if defined.is_empty() {
                "define it under `services:` in the compose file".to_string()
            } else {
                format!("name one of their services: {}", defined.join(", "))
            }),
        );
    }
    let forwarded: Vec<u16> = ws.ports.iter().map(|p| p.port).collect();
    let used_by = lint::ComposeUse {
        service,
        container_env: &ws.container_env,
    };
    let mut out = check_compose(&docs, Some(used_by), &forwarded, host_env);
    out.extend(read_problems);
    out
}

/// The advice for each of a project's compose files (the ports of all of them count).
fn check_compose(
    docs: &[Document],
    used_by: Option<lint::ComposeUse<'_>>,
    forwarded: &[u16],
    host_env: &EnvMap,
) -> Vec<(PathBuf, Diagnostics)> {
    let paths: Vec<PathBuf> = docs.iter().map(|d| d.file.path.clone()).collect();
    let vars = compose::variables(&paths, host_env);
    let published: Vec<compose::Published> = docs
        .iter()
        .flat_map(|d| compose::published(d, &vars))
        .collect();
    docs.iter()
        .map(|doc| {
            let found = lint::compose_environment_urls(doc, used_by, &published, forwarded);
            (doc.file.path.clone(), found)
        })
        .collect()
}

/// All problems of one file: syntax, schema, and the model's rules; with the document and
/// the workspace when it lowers.
fn check_file(
    path: &Path,
    format: Format,
    host_env: &EnvMap,
) -> (Diagnostics, Option<(Document, Workspace)>) {
    let mut diagnostics = Diagnostics::default();
    let file = match config::read_source(path) {
        Ok(file) => file,
        Err(d) => {
            diagnostics.push(d);
            return (diagnostics, None);
        }
    };
    let Some(document) = config::parse(&file, format, &mut diagnostics) else {
        return (diagnostics, None);
    };
    let context = Context {
        local_folder: workspace_folder_of(path),
        config_file: path.to_path_buf(),
        host_env: host_env.clone(),
    };
    let workspace = match format {
        Format::Gitpod => config::gitpod::lower(&document, &context, &mut diagnostics),
        Format::Devcontainer => config::devcontainer::lower(&document, &context, &mut diagnostics),
    };
    // The schema often sees what the model's own rules already said, in vaguer words:
    // keep the model's diagnostic and drop the schema's at the same place.
    let mut from_schema = Diagnostics::default();
    schema::check(&document, format, &mut from_schema);
    // Same place means the same line: the model points at a key, the schema at its value.
    let line_of = |d: &crate::diagnostic::Diagnostic| {
        d.location.as_ref().map(|l| l.file.line_col(l.span.start).0)
    };
    let taken: Vec<usize> = diagnostics.0.iter().filter_map(line_of).collect();
    for d in from_schema.0 {
        if !line_of(&d).is_some_and(|line| taken.contains(&line)) {
            diagnostics.push(d);
        }
    }
    // Advice beyond the rules (after the merge above, so it never hides a schema error):
    // port URLs hard-coded for one hosted service, and the IDE extensions devboot skips.
    diagnostics.extend(lint::hard_coded_port_urls(&document, format));
    lint::name_ide_extensions(&document, format, &mut diagnostics);
    sort_by_place(&mut diagnostics);
    (diagnostics, workspace.map(|ws| (document, ws)))
}

fn sort_by_place(diagnostics: &mut Diagnostics) {
    diagnostics
        .0
        .sort_by_key(|d| d.location.as_ref().map_or(0, |l| l.span.start));
}

/// The problems of the options a config gives its Features, once they are fetched; a
/// Feature that cannot be fetched or ordered is an error at `features`.
fn check_features(doc: &Document, ws: &Workspace, host_env: &EnvMap) -> Diagnostics {
    if ws.features.is_empty() {
        return Diagnostics::default();
    }
    match crate::cli::features::resolve(ws, host_env) {
        Ok(plan) => lint::feature_options(doc, &plan.features),
        Err(error) => {
            let d = Diagnostic::error(format!("the Features cannot be checked: {error}"))
                .at(doc.key_location("/features"));
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(crate::cli::features::with_help(d, &error));
            diagnostics
        }
    }
}

/// The workspace folder a config file belongs to: the folder holding `.devcontainer/`, or
/// the file's own folder.
fn workspace_folder_of(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(path);
    let mut folder = parent;
    for ancestor in parent.ancestors() {
        if ancestor.file_name().is_some_and(|n| n == ".devcontainer") {
            folder = ancestor.parent().unwrap_or(parent);
            break;
        }
    }
    folder.to_path_buf()
}
