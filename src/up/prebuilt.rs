//! Which prebuild a new container starts from (see `crate::prebuild`): the one of the
//! repository's commit, or with `--prebuild-ancestors` of its newest ancestor that has one,
//! among those this machine made or fetched, whose image is still there.

use super::{Target, UpOptions};
use crate::engine::Engine;
use crate::error::Result;
use crate::prebuild::{self, Index, Key};
use crate::ui;
use crate::workspace::Workspace;

pub(super) fn find(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    options: &UpOptions,
) -> Result<Option<String>> {
    if options.no_prebuild {
        return Ok(None);
    }
    let index = Index::new(&target.cache_dir);
    let config = prebuild::config_digest(ws, &target.spec.image);
    if let Some(reference) = &options.prebuild_from {
        fetch(engine, ws, &index, &config, reference)?;
    }
    let mut entries = index.entries(&config);
    if entries.is_empty() {
        return Ok(None);
    }
    // Newest commit first; of one commit, the newest prebuild. Outside git, the prebuilds
    // made outside git (recorded with no commit).
    entries.reverse();
    let head = prebuild::head(&ws.local_folder);
    let commits = match &head {
        Some(head) => prebuild::usable_commits(&ws.local_folder, head, options.prebuild_ancestors),
        None => vec![String::new()],
    };
    let Some(tag) = prebuild::choose(&entries, &commits) else {
        if head.is_some() && !options.prebuild_ancestors {
            ui::note(
                "no prebuild for this commit (`--prebuild-ancestors` would take an older commit's)",
            );
        }
        return Ok(None);
    };
    // Not looked up on the engine: `docker run` says when it is gone (see `bring`).
    ui::note(&format!(
        "starting from prebuild {tag}: init, onCreateCommand and updateContentCommand ran when it was made"
    ));
    Ok(Some(tag.to_string()))
}

/// Pulls a prebuild shared through a registry (`devboot prebuild --push`) and records it
/// under its local name, when it was made for this config; one made for another config is
/// left out, with a note saying so.
fn fetch(
    engine: &Engine,
    ws: &Workspace,
    index: &Index,
    config: &str,
    reference: &str,
) -> Result<()> {
    ui::note(&format!("pulling prebuild {reference}"));
    engine.call(["pull", reference])?;
    let Some(image) = engine.image_config(reference)? else {
        return Ok(());
    };
    let label = |k: &str| image.labels.get(k).cloned().unwrap_or_default();
    if label(prebuild::LABEL_CONFIG) != config {
        ui::note(&format!(
            "{reference} is a prebuild of another config (digest {}, this one's is {config}): not used",
            label(prebuild::LABEL_CONFIG)
        ));
        return Ok(());
    }
    let commit = label(prebuild::LABEL_COMMIT);
    let key = Key {
        config: config.to_string(),
        commit: (!commit.is_empty()).then_some(commit),
        dirty: label(prebuild::LABEL_DIRTY) == "true",
    };
    let tag = key.tag(ws);
    engine.call(["tag", reference, &tag])?;
    index
        .add(&key, &tag)
        .map_err(|e| crate::error::Error::io("write", "the prebuild index", e))
}

/// Forgets a prebuild whose image is gone.
pub(super) fn forget(target: &Target, tag: &str) {
    let _ = Index::new(&target.cache_dir).remove(tag);
}
