//! `devboot features lock` and `devboot features outdated`: the Dev Container Features a
//! devcontainer.json names, pinned in `devcontainer-lock.json` or compared with what their
//! registries publish, without building anything. Also what `config` and `validate` show of
//! them: the resolved Features in install order ([`Resolved`], [`summary`]).
//!
//! Resolving fetches each Feature (from its registry, its tarball URL or its folder) into
//! devboot's cache, as `up` would before it builds; a pinned Feature already cached needs no
//! network.

mod outdated;
mod semver;

use std::fmt::Write as _;

use clap::Subcommand;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::Global;
use crate::config::{self, Loaded};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result, exit};
use crate::features::lockfile::{self, Lockfile};
use crate::features::order::{Plan, Planned};
use crate::features::{self, FeatureError, Source, options};
use crate::ui;
use crate::workspace::{EnvMap, Workspace};

#[derive(Debug, clap::Args)]
pub(crate) struct FeaturesArgs {
    #[command(subcommand)]
    command: FeaturesCommand,
}

#[derive(Debug, Subcommand)]
enum FeaturesCommand {
    /// Pin the config's Features in devcontainer-lock.json (the file the devcontainer CLI
    /// reads and writes too), without building anything.
    ///
    /// Features pinned there already keep their pins, as `devboot up` honours them; a
    /// Feature new to the config (or asked for by another tag) is pinned to what its
    /// registry or URL has now. Local folders are not pinned. To take a newer version,
    /// remove its entry (or the file) and lock again; `devboot features outdated` shows
    /// which are newer.
    Lock(LockArgs),
    /// Show which of the config's Features have newer versions.
    ///
    /// For each Feature from a registry: Current, the version in use (the one
    /// devcontainer-lock.json pins, else the one its tag gives now); Wanted, the newest its
    /// tag allows (`node:1`: the newest 1.x.y); Latest, the newest published. Features in
    /// local folders or tarballs have no published versions and are skipped. Exits 1 when
    /// a Feature cannot be looked up.
    Outdated(outdated::OutdatedArgs),
}

#[derive(Debug, clap::Args)]
struct LockArgs {
    /// Only check that devcontainer-lock.json is up to date, and fail naming the Features
    /// that would change (for CI); nothing is written.
    #[arg(long)]
    frozen: bool,
}

pub(crate) fn run(args: &FeaturesArgs, global: &Global) -> Result<u8> {
    match &args.command {
        FeaturesCommand::Lock(lock_args) => lock(lock_args, global),
        FeaturesCommand::Outdated(outdated_args) => outdated::run(outdated_args, global),
    }
}

/// The workspace and the host environment, when its config names Features; otherwise
/// says so (there is then nothing to do).
fn with_features(global: &Global, nothing_to: &str) -> Result<Option<(Loaded, EnvMap)>> {
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    for warning in loaded.diagnostics.warnings() {
        ui::diagnostic(warning);
    }
    if loaded.workspace.features.is_empty() {
        ui::note(&format!(
            "{} names no Dev Container Features: {nothing_to}",
            config::source::display_path(&loaded.workspace.config_file)
        ));
        return Ok(None);
    }
    Ok(Some((loaded, options.host_env)))
}

/// Fetches (network, or devboot's cache) and orders the workspace's Features, honouring
/// `devcontainer-lock.json`'s pins, as `up` does before it builds.
pub(crate) fn resolve(
    ws: &Workspace,
    host_env: &EnvMap,
) -> std::result::Result<Plan, FeatureError> {
    features::resolve(&features::Wanted {
        requests: &ws.features,
        install_order: &ws.feature_install_order,
        config_file: &ws.config_file,
        cache_dir: &crate::dirs::cache_dir(host_env),
        host_env,
    })
}

/// `d` with what the user can do about `error`.
pub(crate) fn with_help(d: Diagnostic, error: &FeatureError) -> Diagnostic {
    match error.help() {
        Some(help) => d.help(help.to_string()),
        None => d,
    }
}

/// A Feature error of the workspace's config, for the one error renderer.
fn feature_error(ws: &Workspace) -> impl Fn(FeatureError) -> Error + '_ {
    |error| Error::Feature {
        error,
        config_file: ws.config_file.clone(),
    }
}

fn lock(args: &LockArgs, global: &Global) -> Result<u8> {
    let Some((loaded, host_env)) = with_features(global, "there is nothing to lock")? else {
        return Ok(exit::OK);
    };
    let ws = &loaded.workspace;
    let plan = resolve(ws, &host_env).map_err(feature_error(ws))?;
    for warning in &plan.warnings {
        ui::warning(warning);
    }
    let lockfile = Lockfile::from_plan(&plan.features, &[]);
    let path = lockfile::path_for(&ws.config_file);
    let shown = config::source::display_path(&path);
    let existed = path.symlink_metadata().is_ok();
    // `resolve` has read the lockfile already, so an error here is about its content.
    let written =
        lockfile::write(&ws.config_file, &lockfile, args.frozen).map_err(feature_error(ws))?;
    let mut pinned = format!("{} Feature(s) pinned", lockfile.features.len());
    if plan
        .features
        .iter()
        .any(|p| matches!(p.source, Source::Local { .. }))
    {
        pinned.push_str("; local folders never are");
    }
    let message = match (written, existed) {
        (false, _) => format!("{shown} is up to date ({pinned})"),
        (true, false) => format!("created {shown} ({pinned})"),
        (true, true) => format!("updated {shown} ({pinned})"),
    };
    ui::line(&message);
    Ok(exit::OK)
}

/// One resolved Feature, as `devboot config --json` lists it (in install order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Resolved {
    /// The id as written (in the config's `features`, or in the `dependsOn` that added it).
    id: String,
    source: SourceJson,
    /// `sha256:<hex>`: the manifest's (registry), the tarball's, or the folder's content.
    digest: String,
    /// The Feature's own `version`.
    version: Option<String>,
    /// The option values the install gets (declared defaults, then the config's), by name.
    options: Map<String, Value>,
    /// The same as the install script's variables (`GREETING` → `howdy`).
    env: Map<String, Value>,
    /// The id as written of the Feature whose `dependsOn` added this one.
    added_by: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum SourceJson {
    /// `ref` as resolved to a digest in `resolved` (`<registry>/<path>@sha256:<hex>`).
    Oci {
        r#ref: String,
        resolved: Option<String>,
    },
    Local {
        path: String,
    },
    Tarball {
        url: String,
    },
}

impl Resolved {
    fn of(p: &Planned) -> Resolved {
        let values = options::values(&p.value, &p.fetched.metadata);
        let env = values
            .iter()
            .map(|(name, v)| (options::safe_id(name), Value::String(options::js_text(v))))
            .collect();
        let source = match &p.source {
            Source::Oci(r) => SourceJson::Oci {
                r#ref: r.to_string(),
                resolved: p.fetched.resolved.clone(),
            },
            Source::Local { path, .. } => SourceJson::Local {
                path: path.display().to_string(),
            },
            Source::Tarball { url, .. } => SourceJson::Tarball { url: url.clone() },
        };
        Resolved {
            id: p.user_id.clone(),
            source,
            digest: p.fetched.digest.clone(),
            version: p.fetched.metadata.version.clone(),
            options: values.into_iter().collect(),
            env,
            added_by: p.added_by.clone(),
        }
    }

    /// The plan's Features, in install order.
    pub(crate) fn list(plan: &Plan) -> Vec<Resolved> {
        plan.features.iter().map(Resolved::of).collect()
    }
}

/// `feature` lines for `devboot config`: each Feature in install order (version, where it
/// comes from, its digest), then the variables its install script gets.
pub(crate) fn summary(plan: &Plan) -> String {
    let mut out = String::new();
    for p in &plan.features {
        let short = |digest: &str| {
            let hex = digest.trim_start_matches("sha256:");
            format!("sha256:{}", hex.get(..12).unwrap_or(hex))
        };
        let from = match &p.source {
            Source::Oci(_) => p
                .fetched
                .resolved
                .clone()
                .unwrap_or_else(|| short(&p.fetched.digest)),
            Source::Local { path, .. } => format!(
                "{} ({})",
                config::source::display_path(path),
                short(&p.fetched.digest)
            ),
            Source::Tarball { url, .. } => format!("{url} ({})", short(&p.fetched.digest)),
        };
        let version = p
            .fetched
            .metadata
            .version
            .as_deref()
            .unwrap_or("(no version)");
        let _ = write!(out, "feature    {} {version} from {from}", p.user_id);
        if let Some(parent) = &p.added_by {
            let _ = write!(out, ", added by {parent}");
        }
        out.push('\n');
        for line in options::env_lines(&options::values(&p.value, &p.fetched.metadata)) {
            let _ = writeln!(out, "feature    {} env {line}", p.user_id);
        }
    }
    out
}
