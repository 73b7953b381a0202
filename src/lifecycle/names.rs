//! What lanes are called: each lane's id (its state folder's name, stable and unique in its
//! stage) and the name a person sees and types (`backend`, `onCreateCommand: backend`), and
//! finding the lanes a word names (`devboot logs WORD`).

use std::collections::BTreeMap;

use sha2::Digest as _;

use super::{LaneReport, is_gitpod_stage, is_host_stage};
use crate::container::slug;
use crate::workspace::{Lane, Stage, Workspace};

/// A lane's stable id: its state folder name in the container, the slug of its stage and
/// name (`tasks-api-server`). A name that is not its own slug and shares it with another
/// lane of the stage (`api server` beside `api-server`, `Web` beside `web`) also gets a
/// short hash of the name as written, so each lane has its own folder; other ids stay as
/// they were, so an existing container's lanes keep theirs.
pub fn lane_id(stage: &Stage, lane: &Lane) -> String {
    if lane.name == stage.name {
        return slug(&stage.name);
    }
    let name = slug(&lane.name);
    let shared = stage
        .lanes
        .iter()
        .any(|other| other.name != lane.name && slug(&other.name) == name);
    if shared && name != lane.name {
        let hash = crate::container::hex(&sha2::Sha256::digest(lane.name.as_bytes())[..4]);
        format!("{}-{name}-{hash}", slug(&stage.name))
    } else {
        format!("{}-{name}", slug(&stage.name))
    }
}

impl LaneReport {
    /// Its name as written, with its stage where the name alone may not tell it apart: a
    /// hook's entry `backend` is `onCreateCommand: backend`, a Gitpod task just `backend`.
    pub fn shown_name(&self) -> String {
        if self.name == self.stage || self.stage == "tasks" {
            self.name.clone()
        } else {
            format!("{}: {}", self.stage, self.name)
        }
    }
}

/// Names of the lanes (`name` → id), for `logs` to match against.
pub fn lane_ids(ws: &Workspace) -> BTreeMap<String, String> {
    ws.stages
        .iter()
        .flat_map(|s| s.lanes.iter().map(move |l| (l.name.clone(), lane_id(s, l))))
        .collect()
}

/// Every in-container lane as (shown name, id, its stage, itself), in workspace
/// order. The shown name is the name as written, with its stage where that tells it apart
/// (`onCreateCommand: backend`; a Gitpod task is just `backend`).
fn named_lanes(ws: &Workspace) -> Vec<(String, String, &Stage, &Lane)> {
    ws.stages
        .iter()
        .filter(|s| !is_host_stage(s))
        .flat_map(|s| {
            s.lanes.iter().map(move |l| {
                let shown = if l.name == s.name || is_gitpod_stage(s) {
                    l.name.clone()
                } else {
                    format!("{}: {}", s.name, l.name)
                };
                (shown, lane_id(s, l), s, l)
            })
        })
        .collect()
}

/// Every lane as (shown name, id), in workspace order.
pub fn shown_lanes(ws: &Workspace) -> Vec<(String, String)> {
    named_lanes(ws)
        .into_iter()
        .map(|(shown, id, ..)| (shown, id))
        .collect()
}

/// The lanes a user's word names, as (shown name, id): a lane's shown name, else every
/// lane with that name, else every lane of the stage of that name, else a lane id.
pub fn find_lanes(ws: &Workspace, word: &str) -> Vec<(String, String)> {
    type Named<'a> = (String, String, &'a Stage, &'a Lane);
    let all = named_lanes(ws);
    let pick = |keep: &dyn Fn(&Named<'_>) -> bool| -> Vec<(String, String)> {
        all.iter()
            .filter(|l| keep(l))
            .map(|(shown, id, ..)| (shown.clone(), id.clone()))
            .collect()
    };
    for found in [
        pick(&|(shown, ..)| shown == word),
        pick(&|(_, _, _, lane)| lane.name == word),
        pick(&|(_, _, stage, _)| stage.name == word),
        pick(&|(_, id, ..)| id == word),
    ] {
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}
