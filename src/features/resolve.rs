//! Which Features a workspace gets, fetched and in install order: the config's requests with
//! the lockfile's pins honoured, and what to warn about (short ids, unknown or mistyped
//! options). Used by `up` (which then builds) and by the commands that only look
//! (`features lock`, `features outdated`, `config`).

use std::path::Path;

use super::fetch::Fetcher;
use super::lockfile::Lockfile;
use super::order::{self, Plan};
use super::{FeatureError, Request, options, reference};
use crate::workspace::EnvMap;

/// What decides the Features of a workspace.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub requests: &'a [Request],
    pub install_order: &'a [String],
    pub config_file: &'a Path,
    /// devboot's cache folder (fetched Features are kept under `features/`).
    pub cache_dir: &'a Path,
    /// The mirror setting, registry credentials, proxies.
    pub host_env: &'a EnvMap,
}

/// Fetches and orders the Features. The plan's warnings include the option problems of each
/// Feature the config names (a dependency's options are its parent's business).
pub fn resolve(wanted: &Wanted<'_>) -> Result<Plan, FeatureError> {
    let mut fetcher = Fetcher::new(wanted.cache_dir, wanted.host_env);
    let locked = Lockfile::read(wanted.config_file)?;
    for (id, entry) in locked.iter().flat_map(|l| &l.features) {
        if let Ok(classified) = reference::classify(id, wanted.config_file)
            && !entry.integrity.is_empty()
        {
            fetcher.pin(&classified.source, &entry.integrity);
        }
    }
    let mut plan = order::plan(
        wanted.requests,
        wanted.install_order,
        wanted.config_file,
        &mut fetcher,
    )?;
    let mut problems = Vec::new();
    for p in plan.features.iter().filter(|p| p.added_by.is_none()) {
        for problem in options::check(&p.value, &p.fetched.metadata) {
            problems.push(format!("Feature `{}`: {}", p.user_id, problem.message));
        }
        let values = options::values(&p.value, &p.fetched.metadata);
        let risky = options::risky(&values);
        if !risky.is_empty() {
            problems.push(format!(
                "Feature `{}`: the value of {} is shell syntax in its install script (option values are written unquoted, as the reference CLI writes them)",
                p.user_id,
                risky.join(", ")
            ));
        }
    }
    plan.warnings.extend(problems);
    Ok(plan)
}
