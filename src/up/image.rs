//! The image and the container: `docker run` (beside the label lookup for a first `up`),
//! and pulling or building the image when it is missing (a missing default says which
//! default it is and how to choose another).

use std::path::Path;
use std::time::Duration;

use crate::config::discover;
use crate::container::{self, FromImage};
use crate::diagnostic::Diagnostics;
use crate::engine::{Engine, EngineError, ImageConfig};
use crate::error::{DefaultImage, Error, Result};
use crate::ui;
use crate::workspace::Format;

use super::overlap::{self, Overlap};
use super::{BuildPlan, Target};

/// `docker run --pull never` (or podman's) saying the image is not here.
pub(super) fn missing_image(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such image")
        || s.contains("image not known")
        || s.contains("unable to find image")
}

/// Makes the container and returns its id. When `docker run` fails, what it left is
/// removed, so the next `up` starts clean. With `overlap`, the lookup for an existing
/// container runs beside it; `None` when that found one (the new container is removed).
pub(super) fn create(
    engine: &Engine,
    target: &Target,
    image: Option<&ImageConfig>,
    from_image: Option<&FromImage>,
    prebuild: Option<&str>,
    overlap: bool,
) -> Result<Option<String>> {
    let command: Vec<String> = image
        .map(|i| i.entrypoint.iter().chain(&i.cmd).cloned().collect())
        .unwrap_or_default();
    // What `gp env` set in an earlier container, for this new one (never a reason to make
    // one, so read only here).
    let gp_env = target
        .state
        .gp_env()
        .map(|text| crate::gp::set_values(&text))
        .unwrap_or_default();
    let gpus = target.check_host(engine)?;
    let (args, env) = if from_image.is_some() || prebuild.is_some() || !gp_env.is_empty() || gpus {
        let mut spec = target.spec.clone();
        spec.gpus = gpus;
        if let Some(adds) = from_image {
            spec.from_image = adds.clone();
        }
        spec.prebuild = prebuild.map(str::to_string);
        spec.gp_env = gp_env;
        spec.run_args(&target.name, &target.id_labels, &command)
    } else {
        target
            .spec
            .run_args(&target.name, &target.id_labels, &command)
    };
    if overlap {
        return match overlap::run_beside_lookup(engine, target, &args, &env)? {
            Overlap::Clear(ran) => Ok(Some(ran?)),
            Overlap::Found => Ok(None),
        };
    }
    if target.source.is_some() && !target.backend.shares_state() {
        return create_remote(engine, target, args, &env).map(Some);
    }
    match engine.call_with_env(&args, &env) {
        Ok(out) => Ok(Some(out.trim().to_string())),
        Err(err) => {
            let _ = engine.remove(&target.name);
            Err(err.into())
        }
    }
}

/// On a remote engine: the container is made, the workspace folder copied into it, then
/// it starts, so that its own command and every hook find the sources. A failure removes
/// it again (the next `up` is a first one).
fn create_remote(
    engine: &Engine,
    target: &Target,
    mut args: Vec<String>,
    env: &crate::engine::ChildEnv,
) -> Result<String> {
    debug_assert_eq!(args[..2], ["run", "-d"]);
    args.splice(..2, ["create".to_string()]);
    let made = engine
        .call_with_env(&args, env)
        .map(|out| out.trim().to_string())
        .map_err(Error::from)
        .and_then(|id| {
            super::remote::sync(engine, target, &id, true)?;
            engine.start(&id)?;
            Ok(id)
        });
    if made.is_err() {
        let _ = engine.remove(&target.name);
    }
    made
}

/// Makes sure the image exists (pulls a reference that is not local, builds a Dockerfile
/// whose tag is missing, or always with `rebuild`) and returns its own command.
pub(super) fn ensure_image(engine: &Engine, target: &Target, rebuild: bool) -> Result<ImageConfig> {
    let Some(uid) = &target.uid else {
        return ensure_unchanged(engine, target, &target.spec.image, rebuild);
    };
    if !rebuild && let Some(config) = engine.image_config(&uid.tag)? {
        return Ok(config);
    }
    let base = ensure_unchanged(engine, target, &uid.base, rebuild)?;
    super::uid::build(engine, target, uid, &base)
}

/// The image before `updateRemoteUserUID` (`image` when no Features extend it).
fn ensure_unchanged(
    engine: &Engine,
    target: &Target,
    image: &String,
    rebuild: bool,
) -> Result<ImageConfig> {
    let Some(plan) = &target.features else {
        return match &target.compose {
            Some(compose) => super::compose::ensure_service_image(engine, target, compose, rebuild),
            None => ensure_base(engine, target, image, rebuild),
        };
    };
    if !rebuild && let Some(config) = engine.image_config(&plan.tag)? {
        return Ok(config);
    }
    let base = match &target.compose {
        Some(compose) => super::compose::ensure_service_image(engine, target, compose, rebuild)?,
        None => ensure_base(engine, target, &plan.base, rebuild)?,
    };
    super::extend::build(engine, target, plan, &base, rebuild)
}

/// The config's own image (`image` is its name), pulled or built when missing.
fn ensure_base(
    engine: &Engine,
    target: &Target,
    image: &String,
    rebuild: bool,
) -> Result<ImageConfig> {
    let (image, present) = match &target.build {
        None => {
            if let Some(config) = engine.image_config(image)? {
                return Ok(config);
            }
            ui::note(&format!("pulling {image}"));
            engine
                .call(["pull", image.as_str()])
                .map(drop)
                .map_err(|e| match e {
                    EngineError::Failed { stderr, .. } => match default_of(target) {
                        Some(default) => Error::DefaultImageUnavailable {
                            image: image.clone(),
                            default,
                            detail: stderr,
                            here: images_here(engine),
                        },
                        None => Error::ImageUnavailable {
                            image: image.clone(),
                            detail: stderr,
                        },
                    },
                    e => e.into(),
                })?;
            (image, None)
        }
        Some(build) => {
            let present = if rebuild {
                None
            } else {
                engine.image_config(&build.tag)?
            };
            if present.is_none() {
                ui::note(&format!(
                    "building {} from {}",
                    build.tag,
                    build.dockerfile.display()
                ));
                run_build(engine, build, &target.cache_dir)?;
            }
            (&build.tag, present)
        }
    };
    match present {
        Some(config) => Ok(config),
        None => Ok(engine.image_config(image)?.unwrap_or_default()),
    }
}

/// Which default chose the image, when the config does not name it: a folder without a
/// config (its config file does not exist) runs devboot's built-in one, whose image is
/// the template's or `DEVBOOT_IMAGE`'s; a `.gitpod.yml` without `image:` gets Gitpod's.
fn default_of(target: &Target) -> Option<DefaultImage> {
    let config = Path::new(target.id_labels.get(container::LABEL_CONFIG_FILE)?);
    let image = target
        .features
        .as_ref()
        .map_or(&target.spec.image, |f| &f.base);
    if !config.exists() {
        return Some(if image == crate::template::DEFAULT_IMAGE {
            DefaultImage::BuiltIn
        } else {
            DefaultImage::FromEnv
        });
    }
    if image != crate::config::gitpod::DEFAULT_IMAGE
        || discover::format_of(config) != Format::Gitpod
    {
        return None;
    }
    let file = crate::config::read_source(config).ok()?;
    let doc = crate::config::yaml::parse(&file, &mut Diagnostics::default())?;
    doc.value
        .get("image")
        .is_none()
        .then_some(DefaultImage::Gitpod)
}

/// A few images the engine has (not the ones devboot built for a workspace), to choose
/// from when the default is missing.
fn images_here(engine: &Engine) -> Vec<String> {
    let listed = engine
        .call(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .unwrap_or_default();
    listed
        .lines()
        .map(str::trim)
        .filter(|name| !name.contains("<none>") && !name.starts_with("devboot-"))
        .take(5)
        .map(String::from)
        .collect()
}

pub(super) fn run_build(
    engine: &Engine,
    build: &BuildPlan,
    cache_dir: &std::path::Path,
) -> Result<()> {
    // On a terminal one progress line shows the latest build step; elsewhere (CI, a
    // start-up hook) every line is printed. Either way through `ui`, which keeps a
    // Dockerfile's escape sequences off the user's terminal.
    let progress = ui::stderr_is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut log = String::new();
    let status = engine.stream(&mut engine.command(&build.args), |line| {
        match &progress {
            // The one progress line goes without colours (NO_COLOR or not).
            Some(bar) => bar.set_message(format!(
                "building {}: {}",
                build.tag,
                anstream::adapter::strip_str(&ui::shown(&line))
            )),
            None => ui::line(&format!("build | {line}")),
        }
        log.push_str(&line);
        log.push('\n');
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let status = status?;
    if status.success() {
        return Ok(());
    }
    let dir = cache_dir.join("logs");
    let path = dir.join(format!("{}.build.log", build.tag));
    let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &log));
    let tail = log
        .lines()
        .rev()
        .take(10)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(String::from)
        .collect();
    // A build the engine dropped half-way is not the Dockerfile's fault: say so. One more
    // call, on the failure path only.
    if let Err(err) = engine.call(["version", "--format", "{{.Server.Version}}"])
        && err.daemon_is_gone()
    {
        return Err(Error::Engine(EngineError::Died {
            program: engine.program_name(),
            command: engine.short(&build.args),
            stderr: err.detail().unwrap_or_default().to_string(),
        }));
    }
    Err(Error::BuildFailed {
        dockerfile: build.dockerfile.clone(),
        code: status.code().unwrap_or(-1),
        log: path,
        tail,
    })
}
