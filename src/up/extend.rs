//! The image Dev Container Features extend: resolved, ordered, staged and built on top of
//! the config's image (`features::build` says what is built; this runs the engine), and
//! what its `devcontainer.metadata` label then adds to the workspace: the Features' hooks
//! before the config's own, their flags, mounts and entrypoints on `docker run`.
//!
//! A warm `up` never gets here to build: the derived image's tag is known from the config
//! alone (`FeaturesPlan`), and an existing container's label says what the image added.

use std::path::PathBuf;

use crate::container::FromImage;
use crate::engine::{Engine, EngineKind, ImageConfig};
use crate::error::{Error, Result};
use crate::features::build::{self, Install, Users};
use crate::features::label::{self, Entry};
use crate::features::lockfile::{self, Lockfile, Mode};
use crate::features::{self, FeatureError, options};
use crate::ui;
use crate::workspace::Workspace;

use super::image::run_build;
use super::{BuildPlan, FeaturesPlan, Target};

/// The label the derived image carries: the digest of what decided it.
const LABEL_CONTENT: &str = "devboot.features.content";

/// The workspace with what the image's label adds: the Features' hooks as stages, and the
/// flags for `docker run`. `label` is the image's (a new container) or the container's.
pub(super) fn featured(
    ws: &Workspace,
    target: &Target,
    image: Option<ImageConfig>,
    label: Option<&str>,
) -> (Workspace, (Option<ImageConfig>, FromImage)) {
    let entries = without_config_entry(label.map(label::parse).unwrap_or_default());
    let adds = label::adds(&entries, &target.devcontainer_id);
    let from_image = FromImage {
        metadata: label.map(String::from),
        ..adds.run.clone()
    };
    (label::with_hooks(ws, &adds), (image, from_image))
}

/// The entries of the image's label but the config's own (the last, without an `id`):
/// devboot reads the config itself, which may have changed since the image was built.
fn without_config_entry(mut entries: Vec<Entry>) -> Vec<Entry> {
    if entries.last().is_some_and(|e| !e.contains_key("id")) {
        entries.pop();
    }
    entries
}

/// Builds the derived image on `base` (the config's image, there already) and returns its
/// config. Nothing is tagged when a Feature fails.
pub(super) fn build(
    engine: &Engine,
    target: &Target,
    plan: &FeaturesPlan,
    base: &ImageConfig,
    rebuild: bool,
) -> Result<ImageConfig> {
    let feature_error = |error| Error::Feature {
        error,
        config_file: plan.config_file.clone(),
    };
    let installs = resolve(plan, target).map_err(feature_error)?;
    let users = users(plan, base);
    let base_id = engine
        .call([
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            plan.base.as_str(),
        ])?
        .trim()
        .to_string();
    let digest = build::content_digest(&base_id, &installs, &users);
    let short = digest
        .trim_start_matches("sha256:")
        .get(..12)
        .unwrap_or_default();
    let by_content = format!("devboot-features:{short}");
    // The same Features on the same image were built before (by another workspace, or
    // before an edit that changed nothing that matters): tag that image. `--rebuild` runs
    // the install scripts again (they may fetch newer tools).
    if !rebuild
        && let Some(config) = engine.image_config(&by_content)?
        && config.labels.get(LABEL_CONTENT) == Some(&digest)
    {
        ui::note(&format!(
            "the same Features were installed on this image before: using {by_content}"
        ));
        return own_tag(engine, target, plan, &by_content);
    }
    let names: Vec<&str> = installs.iter().map(|i| i.user_id.as_str()).collect();
    ui::note(&format!(
        "installing {} Feature(s) into {}: {}",
        installs.len(),
        plan.tag,
        names.join(", ")
    ));
    let dir = target
        .cache_dir
        .join("features")
        .join("build")
        .join(&plan.tag);
    let labels = [
        (
            label::LABEL.to_string(),
            metadata_label(plan, base, &installs),
        ),
        (LABEL_CONTENT.to_string(), digest.clone()),
        folder_label(target),
    ];
    let image = build::Image {
        user: &base.user,
        labels: &labels,
    };
    let content = build::stage(&dir, &installs, &users).map_err(|e| Error::io("write", &dir, e))?;
    let changes = build::changes(&image, &installs);
    let tags = vec![plan.tag.clone(), by_content];
    let made = match engine.kind {
        EngineKind::Docker => super::commit::build(
            engine,
            &super::commit::Recipe {
                base: &plan.base,
                base_config: base,
                shown: content.join(build::INSTALL_SCRIPT),
                content: &content,
                into: build::IN_IMAGE,
                script: build::script_in_image(),
                changes,
                tags,
                // The workspace's own (`up` holds its lock): never another build's.
                container: format!("{}-build", plan.tag),
            },
            &target.cache_dir,
        ),
        EngineKind::Podman => {
            let text = build::dockerfile_text(&plan.base, &base.user, &changes);
            build_from_dockerfile(engine, target, &dir, &text, &tags)
        }
    };
    made.map_err(|e| which_feature_failed(e, &installs))?;
    Ok(engine.image_config(&plan.tag)?.unwrap_or_default())
}

/// Builds `text` in the staging folder `dir` as the `tags`.
fn build_from_dockerfile(
    engine: &Engine,
    target: &Target,
    dir: &std::path::Path,
    text: &str,
    tags: &[String],
) -> Result<()> {
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(&dockerfile, text).map_err(|e| Error::io("write", &dockerfile, e))?;
    let mut args = ["build", "--force-rm", "-f"].map(String::from).to_vec();
    args.push(dockerfile.display().to_string());
    for tag in tags {
        args.extend(["-t".to_string(), tag.clone()]);
    }
    args.push(dir.display().to_string());
    let build_plan = BuildPlan {
        tag: tags[0].clone(),
        dockerfile,
        args,
    };
    run_build(engine, &build_plan, &target.cache_dir)
}

/// Tags an image built for another workspace as this one's, through a one-line build that
/// labels it with this workspace's folder, so that `down --remove --images` (which goes by
/// that label) finds it here as for a build of its own.
fn own_tag(
    engine: &Engine,
    target: &Target,
    plan: &FeaturesPlan,
    image: &str,
) -> Result<ImageConfig> {
    let dir = target
        .cache_dir
        .join("features")
        .join("build")
        .join(&plan.tag);
    let dockerfile = dir.join("Dockerfile.tag");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&dockerfile, format!("FROM {image}\n")))
        .map_err(|e| Error::io("write", &dockerfile, e))?;
    let (key, value) = folder_label(target);
    let args = vec![
        "build".to_string(),
        "--label".into(),
        format!("{key}={value}"),
        "-f".into(),
        dockerfile.display().to_string(),
        "-t".into(),
        plan.tag.clone(),
        dir.display().to_string(),
    ];
    let build_plan = BuildPlan {
        tag: plan.tag.clone(),
        dockerfile,
        args,
    };
    run_build(engine, &build_plan, &target.cache_dir)?;
    Ok(engine.image_config(&plan.tag)?.unwrap_or_default())
}

/// The label that says which workspace folder an image was built for.
fn folder_label(target: &Target) -> (String, String) {
    let folder = target
        .id_labels
        .get(crate::container::LABEL_LOCAL_FOLDER)
        .cloned()
        .unwrap_or_default();
    (super::LABEL_IMAGE_FOLDER.to_string(), folder)
}

/// Fetches and orders the Features, says what it warns about, and writes or checks the
/// lockfile as `up` was asked.
fn resolve(plan: &FeaturesPlan, target: &Target) -> Result<Vec<Install>, FeatureError> {
    let planned = features::resolve(&features::Wanted {
        requests: &plan.requests,
        install_order: &plan.install_order,
        config_file: &plan.config_file,
        cache_dir: &target.cache_dir,
        host_env: &plan.host_env,
    })?;
    // What loading the config said already (short ids) is not said twice.
    let said: Vec<String> = plan
        .requests
        .iter()
        .filter_map(|r| {
            features::reference::check_request(r, &plan.config_file)
                .ok()
                .flatten()
        })
        .collect();
    for warning in planned.warnings.iter().filter(|w| !said.contains(w)) {
        ui::warning(warning);
    }
    if plan.lockfile != Mode::Read {
        let lockfile = Lockfile::from_plan(&planned.features, &[]);
        if lockfile::write(&plan.config_file, &lockfile, plan.lockfile == Mode::Frozen)? {
            ui::note(&format!(
                "wrote {}",
                lockfile::path_for(&plan.config_file).display()
            ));
        }
    }
    Ok(planned
        .features
        .iter()
        .map(|p| Install {
            user_id: p.user_id.clone(),
            folder_name: p.staging_name(),
            fetched: p.fetched.clone(),
            values: options::values(&p.value, &p.fetched.metadata),
        })
        .collect())
}

/// The users the install scripts are told about, as the reference CLI finds them: the
/// config's (or the image's label's last) `containerUser`, else the image's `USER`, else
/// root; `remoteUser` likewise, else the container user.
fn users(plan: &FeaturesPlan, base: &ImageConfig) -> Users {
    let entries = base
        .labels
        .get(label::LABEL)
        .map(|l| label::parse(l))
        .unwrap_or_default();
    let from_label = |key: &str| {
        entries
            .iter()
            .rev()
            .find_map(|e| e.get(key).and_then(|v| v.as_str()).map(String::from))
    };
    let container = plan
        .container_user
        .clone()
        .or_else(|| from_label("containerUser"))
        .or_else(|| (!base.user.is_empty()).then(|| base.user.clone()))
        .unwrap_or_else(|| "root".into());
    let remote = plan
        .remote_user
        .clone()
        .or_else(|| from_label("remoteUser"))
        .unwrap_or_else(|| container.clone());
    Users { container, remote }
}

/// The label as the reference CLI writes it: the base image's entries, one per Feature,
/// then the config's own properties as written.
fn metadata_label(plan: &FeaturesPlan, base: &ImageConfig, installs: &[Install]) -> String {
    let mut entries = base
        .labels
        .get(label::LABEL)
        .map(|l| label::parse(l))
        .unwrap_or_default();
    for install in installs {
        entries.push(label::feature_entry(
            &install.user_id,
            &install.fetched.metadata,
        ));
    }
    if let Some(config) = config_as_written(&plan.config_file) {
        let own = label::config_entry(&config);
        if !own.is_empty() {
            entries.push(own);
        }
    }
    label::write(&entries)
}

/// The config file's top-level object, comments and all removed.
fn config_as_written(path: &std::path::Path) -> Option<serde_json::Map<String, serde_json::Value>> {
    let file = crate::config::read_source(path).ok()?;
    let doc = crate::config::jsonc::parse(&file, &mut crate::diagnostic::Diagnostics::default())?;
    match doc.value {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A failed build of Features: which one failed (the last install banner in the log), its
/// options, and its output since that banner.
fn which_feature_failed(error: Error, installs: &[Install]) -> Error {
    let Error::BuildFailed { log, tail, .. } = &error else {
        return error;
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let failed = installs.iter().rev().find_map(|install| {
        let banner = build::install_banner(&install.folder_name);
        text.rfind(&banner).map(|at| (install, at + banner.len()))
    });
    let Some((install, after)) = failed else {
        return error;
    };
    let lines: Vec<String> = text[after..].lines().map(String::from).collect();
    let tail = if lines.is_empty() {
        tail.clone()
    } else {
        lines[lines.len().saturating_sub(15)..].to_vec()
    };
    Error::FeatureInstallFailed {
        feature: install.user_id.clone(),
        options: install.env(),
        log: PathBuf::from(log),
        tail,
    }
}
