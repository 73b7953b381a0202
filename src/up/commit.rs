//! An image made the way the classic builder runs one `RUN` step, without what the builder
//! costs around it: a container of the base image is created, a folder is copied into it
//! (owned by root, as `COPY` leaves it), a script runs in it attached (its output is the
//! build's), and on success it is committed with the config instructions and tagged. The
//! container is then removed by a process of its own that `up` does not wait for (an
//! interrupted removal leaves a container of a known name, which the next build of the
//! image replaces); a failure removes it before `up` ends, and tags nothing. The builder
//! would also start a container and commit a layer for the copy and for each config
//! instruction (~0.1 s each here), and remove the step's container before going on
//! (~0.4 s for a few hundred MB written).
//!
//! The image keeps the base's entrypoint and command: the container runs the script with
//! its own, and a commit keeps the container's unless told otherwise.

use std::path::{Path, PathBuf};

use crate::engine::{Engine, ImageConfig};
use crate::error::{Error, Result};

use super::BuildPlan;
use super::image::run_build;

/// What to make.
pub(super) struct Recipe<'a> {
    /// The image it starts from, and its config.
    pub base: &'a str,
    pub base_config: &'a ImageConfig,
    /// A folder on this machine, copied whole to `into` (an absolute path) in the image.
    pub content: &'a Path,
    pub into: &'a str,
    /// The script in the image that does the work, run as root with `/bin/sh`; `shown` is
    /// the file a failure names.
    pub script: String,
    pub shown: PathBuf,
    /// Instructions for the image's config (`ENV`, `USER`, `LABEL`), in order.
    pub changes: Vec<String>,
    /// The first is committed, the others are tagged after it.
    pub tags: Vec<String>,
    /// The container's name (one per image: one an interrupted run left is replaced).
    pub container: String,
}

/// Makes the image; on success the container goes in the background
/// (`Engine::remove_later`).
pub(super) fn build(engine: &Engine, recipe: &Recipe<'_>, cache_dir: &Path) -> Result<()> {
    create(engine, recipe)?;
    let made = copy_in(engine, recipe)
        .and_then(|()| {
            run_build(
                engine,
                &BuildPlan {
                    tag: recipe.tags[0].clone(),
                    dockerfile: recipe.shown.clone(),
                    args: ["start", "-a", &recipe.container]
                        .map(String::from)
                        .to_vec(),
                },
                cache_dir,
            )
        })
        .and_then(|()| commit(engine, recipe));
    if let Err(err) = made {
        // Gone before `up` reports the failure, so nothing half-made outlives it.
        let _ = engine.remove(&recipe.container);
        return Err(err);
    }
    engine.remove_later(&recipe.container);
    // A base without a command: the commit kept the script's, which `CMD []` takes away.
    if recipe.base_config.cmd.is_empty() {
        without_command(engine, recipe, cache_dir)?;
    }
    for tag in &recipe.tags[1..] {
        engine.call(["tag", recipe.tags[0].as_str(), tag.as_str()])?;
    }
    Ok(())
}

/// The container, stopped: `--init` so that an interrupt the engine CLI passes on reaches
/// the script (a shell as the container's first process would ignore it).
fn create(engine: &Engine, recipe: &Recipe<'_>) -> Result<()> {
    let mut args = [
        "create",
        "--init",
        "--name",
        &recipe.container,
        "--user",
        "root",
    ]
    .map(String::from)
    .to_vec();
    // No entrypoint stays none (`""`); one to give back is replaced by the shell.
    if recipe.base_config.entrypoint.is_empty() {
        args.extend(["--entrypoint".into(), String::new(), recipe.base.into()]);
        args.push("/bin/sh".into());
    } else {
        args.extend(["--entrypoint", "/bin/sh", recipe.base].map(String::from));
    }
    args.push(recipe.script.clone());
    match engine.call(&args) {
        Err(err) if err.detail().is_some_and(|d| d.contains("already in use")) => {
            engine.remove(&recipe.container)?;
            engine.call(&args).map(drop).map_err(Error::from)
        }
        other => other.map(drop).map_err(Error::from),
    }
}

/// The folder, as one archive owned by root, unpacked at `/` in the container.
fn copy_in(engine: &Engine, recipe: &Recipe<'_>) -> Result<()> {
    let archive = archive(recipe.content, recipe.into)
        .map_err(|e| Error::io("archive", recipe.content, e))?;
    let to = format!("{}:/", recipe.container);
    engine.call_with_input(&["cp", "-", to.as_str()], archive)?;
    Ok(())
}

/// `content`'s files under `into` (without a leading `/`), owned by root, links kept.
fn archive(content: &Path, into: &str) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    builder.append_dir_all(into.trim_start_matches('/'), content)?;
    builder.into_inner()
}

fn commit(engine: &Engine, recipe: &Recipe<'_>) -> Result<()> {
    let mut args = vec!["commit".to_string()];
    let config = recipe.base_config;
    let json = |list: &Vec<String>| serde_json::to_string(list).expect("strings serialize");
    let restore = [
        (!config.entrypoint.is_empty()).then(|| format!("ENTRYPOINT {}", json(&config.entrypoint))),
        (!config.cmd.is_empty()).then(|| format!("CMD {}", json(&config.cmd))),
    ];
    for change in recipe
        .changes
        .iter()
        .cloned()
        .chain(restore.into_iter().flatten())
    {
        args.push("--change".into());
        args.push(change);
    }
    args.push(recipe.container.clone());
    args.push(recipe.tags[0].clone());
    crate::ui::note(&format!(
        "install done; committing image {}",
        recipe.tags[0]
    ));
    engine.call(&args)?;
    Ok(())
}

/// The committed image again, with no command (a one-line build: a commit cannot empty
/// one).
fn without_command(engine: &Engine, recipe: &Recipe<'_>, cache_dir: &Path) -> Result<()> {
    let dir = cache_dir.join("commit").join(&recipe.container);
    let dockerfile = dir.join("Dockerfile");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&dockerfile, format!("FROM {}\nCMD []\n", recipe.tags[0])))
        .map_err(|e| Error::io("write", &dockerfile, e))?;
    let args = [
        "build",
        "-f",
        &dockerfile.display().to_string(),
        "-t",
        &recipe.tags[0],
        &dir.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    run_build(
        engine,
        &BuildPlan {
            tag: recipe.tags[0].clone(),
            dockerfile,
            args,
        },
        cache_dir,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_puts_the_folder_under_its_path_owned_by_root_with_links_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/install.sh"), "echo hi").unwrap();
        std::os::unix::fs::symlink("install.sh", dir.path().join("a/link")).unwrap();
        let bytes = archive(dir.path(), "/tmp/dev-container-features").unwrap();
        let mut seen = Vec::new();
        for entry in tar::Archive::new(bytes.as_slice()).entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            seen.push((
                entry.path().unwrap().display().to_string(),
                header.entry_type().is_symlink(),
            ));
        }
        seen.sort();
        assert_eq!(
            seen,
            [
                ("tmp/dev-container-features/".to_string(), false),
                ("tmp/dev-container-features/a".to_string(), false),
                ("tmp/dev-container-features/a/install.sh".to_string(), false),
                ("tmp/dev-container-features/a/link".to_string(), true),
            ]
        );
    }
}
