//! `devboot features outdated [--json]`: for each registry Feature the config names, the
//! version in use, the newest its tag allows and the newest published, as the devcontainer
//! CLI's `outdated` shows them (`loadVersionInfo`): the same columns (Feature, Current,
//! Wanted, Latest) and the same JSON (`features` → id as written → `current`, `wanted`,
//! `wantedMajor`, `latest`, `latestMajor`).
//!
//! - *Latest*: the highest tag that is a semantic version (`1`, `1.2` and `latest` are not).
//! - *Wanted*: the highest such tag the requested tag matches as a version range (`node:1`
//!   → the highest `1.x.y`, `node:1.2` → `1.2.x`, `node:1.2.3` → itself, `latest` → the
//!   highest); for a `@sha256:` reference, the version in use.
//! - *Current*: the version `devcontainer-lock.json` pins, else the `version` of the Feature
//!   the reference resolves to now (what `up` would install). The devcontainer CLI shows
//!   *wanted* there instead; the two differ only when the registry's tags disagree with
//!   the Feature's own `version`.
//!
//! Local folders and tarball URLs have no published versions: they are skipped, and said
//! so. Legacy short ids (`node`) are looked up as the Feature they stand for.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::Global;
use crate::diagnostic::Diagnostic;
use crate::error::{Result, exit};
use crate::features::fetch::Fetcher;
use crate::features::lockfile::Lockfile;
use crate::features::reference::{self, OciRef, Version};
use crate::features::{FeatureError, Resolve, Source};
use crate::ui;

use super::semver::{SemVer, sorted_versions};

#[derive(Debug, clap::Args)]
pub(super) struct OutdatedArgs {
    /// Print one JSON object on stdout (the devcontainer CLI's `outdated --output-format
    /// json` shape, plus `error` per Feature and `skipped`).
    #[arg(long)]
    json: bool,
}

/// What was found for one Feature.
#[derive(Debug, Default)]
struct Row {
    /// The id as written in the config.
    id: String,
    /// `registry/namespace/id`, without the tag.
    feature: String,
    current: Option<String>,
    wanted: Option<String>,
    latest: Option<String>,
    error: Option<FeatureError>,
}

#[derive(Serialize)]
struct OutdatedJson {
    features: Map<String, Value>,
    skipped: Vec<Skipped>,
}

/// A Feature with no published versions to compare.
#[derive(Serialize)]
struct Skipped {
    id: String,
    /// `local` or `tarball`.
    kind: &'static str,
}

pub(super) fn run(args: &OutdatedArgs, global: &Global) -> Result<u8> {
    let Some((loaded, host_env)) = super::with_features(global, "there is nothing to compare")?
    else {
        if args.json {
            print_json(&[], Vec::new())?;
        }
        return Ok(exit::OK);
    };
    let ws = &loaded.workspace;
    let locked = Lockfile::read(&ws.config_file)
        .map_err(super::feature_error(ws))?
        .unwrap_or_default();
    let mut fetcher = Fetcher::new(&crate::dirs::cache_dir(&host_env), &host_env);
    let (requests, _) = reference::fold_deprecated(ws.features.clone());
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    for request in &requests {
        let source = match reference::classify(&request.id, &ws.config_file) {
            Ok(classified) => classified.source,
            Err(error) => {
                rows.push(Row {
                    id: request.id.clone(),
                    feature: request.id.clone(),
                    error: Some(error),
                    ..Row::default()
                });
                continue;
            }
        };
        let kind = match &source {
            Source::Oci(r) => {
                rows.push(look_up(&mut fetcher, &locked, &request.id, r));
                continue;
            }
            Source::Local { .. } => "local",
            Source::Tarball { .. } => "tarball",
        };
        ui::note(&format!(
            "skipped `{}`: a {} has no published versions to compare",
            request.id,
            if kind == "local" {
                "local folder"
            } else {
                "tarball URL"
            }
        ));
        skipped.push(Skipped {
            id: request.id.clone(),
            kind,
        });
    }
    for (row, error) in rows.iter().filter_map(|r| r.error.as_ref().map(|e| (r, e))) {
        let d = Diagnostic::error(format!("cannot look up `{}`: {error}", row.id));
        ui::diagnostic(&super::with_help(d, error));
    }
    if args.json {
        print_json(&rows, skipped)?;
    } else if !rows.is_empty() {
        ui::stdout(&table(&rows))?;
    }
    Ok(if rows.iter().any(|r| r.error.is_some()) {
        exit::FAILURE
    } else {
        exit::OK
    })
}

/// The versions of one registry Feature: its tags, and what it resolves to now unless the
/// lockfile says.
fn look_up(fetcher: &mut Fetcher, locked: &Lockfile, id: &str, r: &OciRef) -> Row {
    let entry = locked
        .features
        .iter()
        .find(|(k, _)| k == id)
        .map(|(_, e)| e);
    let mut row = Row {
        id: id.to_string(),
        feature: r.resource(),
        current: entry.and_then(|e| e.version.clone()),
        ..Row::default()
    };
    let tags = match fetcher.tags(r) {
        Ok(tags) => tags,
        Err(error) => {
            row.error = Some(error);
            return row;
        }
    };
    let versions = sorted_versions(&tags);
    row.latest = versions.last().map(|(_, tag)| (*tag).to_string());
    if row.current.is_none() {
        let source = Source::Oci(r.clone());
        if let Some(pin) = locked.pinned(id) {
            fetcher.pin(&source, pin);
        }
        match fetcher.resolve(&source) {
            Ok(fetched) => row.current = fetched.metadata.version,
            Err(error) => row.error = Some(error),
        }
    }
    row.wanted = match &r.version {
        Version::Tag(tag) if tag == "latest" => row.latest.clone(),
        Version::Tag(tag) => versions
            .iter()
            .rev()
            .find(|(v, _)| v.satisfies(tag))
            .map(|(_, tag)| (*tag).to_string()),
        Version::Digest(_) => row.current.clone(),
    };
    row
}

fn print_json(rows: &[Row], skipped: Vec<Skipped>) -> Result<()> {
    let features = rows
        .iter()
        .map(|row| {
            let mut entry = Map::new();
            let mut put = |key: &str, value: Option<String>| {
                if let Some(value) = value {
                    entry.insert(key.into(), Value::String(value));
                }
            };
            let major = |v: &Option<String>| {
                v.as_deref()
                    .and_then(SemVer::parse)
                    .map(|v| v.major.to_string())
            };
            put("current", row.current.clone());
            put("wanted", row.wanted.clone());
            put("wantedMajor", major(&row.wanted));
            put("latest", row.latest.clone());
            put("latestMajor", major(&row.latest));
            put("error", row.error.as_ref().map(ToString::to_string));
            (row.id.clone(), Value::Object(entry))
        })
        .collect();
    let json = OutdatedJson { features, skipped };
    let mut text = serde_json::to_string_pretty(&json).expect("JSON values always serialize");
    text.push('\n');
    ui::stdout(&text)
}

/// The devcontainer CLI's table: left-aligned columns two spaces apart, `-` for what is
/// not known, no trailing spaces.
fn table(rows: &[Row]) -> String {
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut lines = vec![["Feature", "Current", "Wanted", "Latest"].map(String::from)];
    for row in rows {
        lines.push([
            row.feature.clone(),
            cell(&row.current),
            cell(&row.wanted),
            cell(&row.latest),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_its_columns_and_marks_the_unknown() {
        let rows = [
            Row {
                feature: "ghcr.io/devcontainers/features/node".into(),
                current: Some("1.4.2".into()),
                wanted: Some("1.6.1".into()),
                latest: Some("2.0.0".into()),
                ..Row::default()
            },
            Row {
                feature: "localhost:5000/x/y".into(),
                ..Row::default()
            },
        ];
        assert_eq!(
            table(&rows),
            "Feature                              Current  Wanted  Latest\n\
             ghcr.io/devcontainers/features/node  1.4.2    1.6.1   2.0.0\n\
             localhost:5000/x/y                   -        -       -\n"
        );
    }
}
