//! `devboot validate [PATH...]`: every problem in the given config files (or the discovered
//! one), from the syntax, the official schema and devboot's own rules.

use std::path::PathBuf;

use crate::cli::Global;
use crate::config::{self, Context, discover, schema};
use crate::diagnostic::Diagnostics;
use crate::error::{Result, exit};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
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
    for (path, format) in targets {
        let diagnostics = check_file(&path, format, &options.host_env);
        errors += diagnostics.errors().count();
        warnings += diagnostics.warnings().count();
        for d in &diagnostics.0 {
            ui::diagnostic(d);
        }
        if diagnostics.is_empty() {
            ui::line(&format!("{}: ok", config::source::display_path(&path)));
        }
    }
    if errors + warnings > 0 {
        ui::line(&format!("{errors} error(s), {warnings} warning(s)"));
    }
    Ok(if errors > 0 { exit::USAGE } else { exit::OK })
}

/// All problems of one file: syntax, schema, and the model's rules.
fn check_file(
    path: &std::path::Path,
    format: crate::workspace::Format,
    host_env: &crate::workspace::EnvMap,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    let file = match config::read_source(path) {
        Ok(file) => file,
        Err(d) => {
            diagnostics.push(d);
            return diagnostics;
        }
    };
    let Some(document) = config::parse(&file, format, &mut diagnostics) else {
        return diagnostics;
    };
    let context = Context {
        local_folder: workspace_folder_of(path),
        config_file: path.to_path_buf(),
        host_env: host_env.clone(),
    };
    match format {
        crate::workspace::Format::Gitpod => {
            config::gitpod::lower(&document, &context, &mut diagnostics);
        }
        crate::workspace::Format::Devcontainer => {
            config::devcontainer::lower(&document, &context, &mut diagnostics);
        }
    }
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
    // port URLs hard-coded for one hosted service.
    diagnostics.extend(config::lint::hard_coded_port_urls(&document, format));
    diagnostics
        .0
        .sort_by_key(|d| d.location.as_ref().map_or(0, |l| l.span.start));
    diagnostics
}

/// The workspace folder a config file belongs to: the folder holding `.devcontainer/`, or
/// the file's own folder.
fn workspace_folder_of(path: &std::path::Path) -> PathBuf {
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
