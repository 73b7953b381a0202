//! `devboot prebuild`: run what a Gitpod prebuild runs (each task's `before`, `init` and
//! `prebuild`; devcontainer `onCreateCommand` and `updateContentCommand`) in a fresh
//! container and save the result as an image a new container starts from (see
//! `crate::prebuild`).

use std::time::Instant;

use serde::Serialize;

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result, exit};
use crate::prebuild::{self, Index, Key};
use crate::ui;
use crate::up::{self, Persisted, Target, UpOptions};
use crate::workspace::ImageSource;

#[derive(Debug, clap::Args)]
pub(crate) struct PrebuildArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Also push the prebuild to this image reference (any OCI registry), for `devboot up
    /// --prebuild-from` on other machines and in CI.
    #[arg(long, value_name = "REF")]
    push: Option<String>,
    /// Print one JSON object on stdout (the image, its digest and size, the time taken).
    #[arg(long)]
    json: bool,
}

/// What `prebuild --json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    image: String,
    image_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pushed: Option<String>,
    size_bytes: u64,
    seconds: f64,
    config_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    dirty: bool,
}

pub(crate) fn run(args: &PrebuildArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    let ws = &loaded.workspace;
    if matches!(ws.image, ImageSource::Compose { .. }) {
        return Err(Error::Usage {
            message: "prebuilds of Docker Compose configs are not supported yet".into(),
            help: Some("use an image or a Dockerfile in the config".into()),
        });
    }
    let engine = global.engine(&options.host_env)?;
    let started = Instant::now();
    // No `devboot env` variable goes into the prebuild's container: none may end up in an
    // image that can be shared.
    let persisted = Persisted::default();
    let full = Target::new(ws, &options.host_env, 0, &persisted)?;
    let key = Key::of(ws, &full.spec.image);
    let tag = key.tag(ws);
    let part = prebuild::prebuild_part(ws);
    let target = Target::new(&part, &options.host_env, 0, &persisted)?.for_prebuild(&part);
    let labels: Vec<(String, String)> = target.id_labels.clone().into_iter().collect();
    let state = target.state.path.clone();
    ui::note(&format!(
        "prebuilding {tag}: running init, onCreateCommand and updateContentCommand in a fresh container"
    ));
    let up_options = UpOptions {
        recreate: true,
        no_prebuild: true,
        ..UpOptions::default()
    };
    let made = up::up_with(&engine, &part, target, &options.host_env, &up_options);
    // The prebuild's container goes, whatever happened; only the image stays.
    let cleanup = || {
        for id in engine.find_by_labels(&labels).unwrap_or_default() {
            let _ = engine.remove(&id);
        }
        let _ = std::fs::remove_dir_all(&state);
    };
    let report = match made
        .and_then(|report| commit(&engine, &report.container_id, &full.spec.image, &key, &tag))
    {
        Ok(()) => {
            cleanup();
            Index::new(&full.cache_dir)
                .add(&key, &tag)
                .map_err(|e| Error::io("write", full.cache_dir.join("prebuilds"), e))?;
            describe(&engine, &tag, &key, started)?
        }
        Err(err) => {
            cleanup();
            return Err(err);
        }
    };
    let report = match &args.push {
        Some(reference) => {
            push(&engine, &tag, reference)?;
            Report {
                pushed: Some(reference.clone()),
                ..report
            }
        }
        None => report,
    };
    if args.json {
        ui::stdout(&format!(
            "{}\n",
            serde_json::to_string(&report).expect("a report serializes")
        ))?;
    } else {
        ui::stdout(&format!(
            "prebuild {} ({} MB) in {:.1} s{}\n",
            report.image,
            report.size_bytes / 1_000_000,
            report.seconds,
            report
                .pushed
                .as_ref()
                .map_or(String::new(), |r| format!(", pushed to {r}"))
        ))?;
    }
    Ok(exit::OK)
}

/// Stops the prebuild's container and saves it as `tag`, with the image's own entrypoint,
/// command and user (not devboot's keep-alive) and the prebuild's labels.
fn commit(
    engine: &crate::engine::Engine,
    id: &str,
    image: &str,
    key: &Key,
    tag: &str,
) -> Result<()> {
    let base = engine.image_config(image)?.ok_or_else(|| Error::Usage {
        message: format!("the image {image} is gone"),
        help: Some("run `devboot prebuild` again".into()),
    })?;
    engine.call(["stop", "-t", "5", id])?;
    let json = |v: &[String]| serde_json::to_string(v).expect("strings serialize");
    // `ENTRYPOINT []` would keep the container's (devboot's keep-alive shell); `[""]` is
    // docker's "none".
    let entrypoint = if base.entrypoint.is_empty() {
        vec![String::new()]
    } else {
        base.entrypoint.clone()
    };
    let user = if base.user.is_empty() {
        "root"
    } else {
        &base.user
    };
    let mut args = vec![
        "commit".to_string(),
        "--change".into(),
        format!("ENTRYPOINT {}", json(&entrypoint)),
        "--change".into(),
        format!("CMD {}", json(&base.cmd)),
        "--change".into(),
        format!("USER {user}"),
    ];
    for label in key.labels() {
        args.extend(["--change".into(), format!("LABEL {label}")]);
    }
    args.extend([id.to_string(), tag.to_string()]);
    engine.call(&args)?;
    Ok(())
}

fn describe(
    engine: &crate::engine::Engine,
    tag: &str,
    key: &Key,
    started: Instant,
) -> Result<Report> {
    let out = engine.call(["image", "inspect", "--format", "{{.Id}} {{.Size}}", tag])?;
    let (id, size) = out.trim().split_once(' ').unwrap_or((out.trim(), "0"));
    Ok(Report {
        image: tag.to_string(),
        image_id: id.to_string(),
        pushed: None,
        size_bytes: size.parse().unwrap_or(0),
        seconds: started.elapsed().as_secs_f64(),
        config_digest: key.config.clone(),
        commit: key.commit.clone(),
        dirty: key.dirty,
    })
}

fn push(engine: &crate::engine::Engine, tag: &str, reference: &str) -> Result<()> {
    engine.call(["tag", tag, reference])?;
    ui::note(&format!("pushing {reference}"));
    engine.call(["push", reference])?;
    Ok(())
}
