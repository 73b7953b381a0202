//! Prebuilds, as Gitpod has them: what a workspace's first start would spend minutes on
//! (Gitpod tasks' `before`, `init` and `prebuild`; devcontainer `onCreateCommand` and
//! `updateContentCommand`, as the reference CLI's `--prebuild` runs them) is run once in a
//! fresh container and saved as an image; a new container then starts from that image and
//! runs only what a start runs (`before` + `command`; `postCreate`/`postStart`/`postAttach`).
//!
//! A prebuild is keyed by the config's digest (the config file and the image it names,
//! Features and Dockerfile included) and the repository's commit, with a mark when the
//! working tree had changes; `up` takes the one of its commit, or with
//! `--prebuild-ancestors` the one of the newest ancestor commit that has one (as Gitpod's
//! incremental prebuilds do). The image's labels say all that; a container made from one
//! carries [`LABEL`], so later `up`s never run its `init` either.
//!
//! What a prebuild cannot hold: files `init` wrote into the workspace folder, which is
//! mounted from the host (they are on the host already, in the same folder, but do not travel
//! with a pushed image), and the variables of `devboot env`, which are left out of the
//! prebuild's container so that no value is baked into an image that may be shared.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::container::{hex, slug};
use crate::workspace::{Command, Lane, Phase, Stage, Step, Workspace};

/// On a container made from a prebuild: the image it came from.
pub const LABEL: &str = "dev.devboot.prebuild";
/// On a prebuild image: the config digest, the commit, and whether the tree had changes.
pub const LABEL_CONFIG: &str = "dev.devboot.prebuild.config";
pub const LABEL_COMMIT: &str = "dev.devboot.prebuild.commit";
pub const LABEL_DIRTY: &str = "dev.devboot.prebuild.dirty";

/// What a prebuild is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Digest of the config file and the image it names (12 hex digits).
    pub config: String,
    /// The repository's `HEAD`; `None` outside a git repository.
    pub commit: Option<String>,
    /// The working tree had changes.
    pub dirty: bool,
}

impl Key {
    /// The key of `ws` as it is now, whose container runs `image`.
    pub fn of(ws: &Workspace, image: &str) -> Key {
        let commit = git(&ws.local_folder, &["rev-parse", "--verify", "-q", "HEAD"]);
        let dirty = commit.is_some()
            && git(
                &ws.local_folder,
                &["status", "--porcelain", "--untracked-files=no"],
            )
            .is_some_and(|s| !s.is_empty());
        Key {
            config: config_digest(ws, image),
            commit,
            dirty,
        }
    }

    /// The image tag of this key's prebuild.
    pub fn tag(&self, ws: &Workspace) -> String {
        let commit = self
            .commit
            .as_deref()
            .map_or("nogit", |c| &c[..c.len().min(12)]);
        let dirty = if self.dirty { "-dirty" } else { "" };
        format!(
            "devboot-prebuild-{}:{}-{commit}{dirty}",
            slug(&ws.name),
            self.config
        )
    }

    /// The image's labels, as `KEY=VALUE`.
    pub fn labels(&self) -> Vec<String> {
        vec![
            format!("{LABEL_CONFIG}={}", self.config),
            format!("{LABEL_COMMIT}={}", self.commit.as_deref().unwrap_or("")),
            format!("{LABEL_DIRTY}={}", self.dirty),
        ]
    }
}

/// The digest of the config file and the image it names (12 hex digits).
pub fn config_digest(ws: &Workspace, image: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(std::fs::read(&ws.config_file).unwrap_or_default());
    hasher.update([0]);
    hasher.update(image.as_bytes());
    hex(&hasher.finalize()[..6])
}

/// The prebuilds this machine made or fetched, per config digest: one file per digest
/// under `<cache>/prebuilds/`, a line `TAG COMMIT` per prebuild. A new container looks
/// here first, so a workspace without prebuilds costs no engine call.
pub struct Index {
    dir: PathBuf,
}

impl Index {
    pub fn new(cache_dir: &Path) -> Index {
        Index {
            dir: cache_dir.join("prebuilds"),
        }
    }

    /// `(tag, commit)` of each prebuild recorded for `config`.
    pub fn entries(&self, config: &str) -> Vec<(String, String)> {
        std::fs::read_to_string(self.dir.join(config))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (tag, commit) = l.split_once(' ').unwrap_or((l, ""));
                (!tag.is_empty()).then(|| (tag.to_string(), commit.to_string()))
            })
            .collect()
    }

    /// Forgets a prebuild, under whichever config it is recorded.
    pub fn remove(&self, tag: &str) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().any(|l| l.split(' ').next() == Some(tag)) {
                let kept: String = text
                    .lines()
                    .filter(|l| l.split(' ').next() != Some(tag))
                    .flat_map(|l| [l, "\n"])
                    .collect();
                std::fs::write(&path, kept)?;
            }
        }
        Ok(())
    }

    /// Records a prebuild (a tag already there moves to the end).
    pub fn add(&self, key: &Key, tag: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut entries = self.entries(&key.config);
        entries.retain(|(t, _)| t != tag);
        entries.push((tag.to_string(), key.commit.clone().unwrap_or_default()));
        let mut text = String::new();
        for (t, c) in &entries {
            text.push_str(t);
            text.push(' ');
            text.push_str(c);
            text.push('\n');
        }
        let path = self.dir.join(&key.config);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)
    }
}

/// The commit `HEAD` names in the repository at `folder`, read from `.git` without running
/// git (a new container looks it up on every first `up` that has prebuilds), through the
/// door to container-writable places (the workspace folder is one: a link or a FIFO there
/// is refused, not followed); git itself when `.git` is not a plain folder (a worktree, a
/// submodule) or the ref is not a loose one.
pub fn head(folder: &Path) -> Option<String> {
    let from_files = || -> Option<String> {
        let door = crate::boundary::Door::open(folder)?;
        let head = door.read_small(".git/HEAD")?;
        let sha = match head.strip_prefix("ref: ") {
            Some(reference) => door.read_small(&format!(".git/{reference}"))?,
            None => head,
        };
        (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
    };
    from_files().or_else(|| git(folder, &["rev-parse", "--verify", "-q", "HEAD"]))
}

/// Runs git in `folder`; its trimmed output when it succeeds.
fn git(folder: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commits whose prebuild `up` may take, newest first: `HEAD`, then (with `ancestors`)
/// its ancestors, up to 100.
pub fn usable_commits(folder: &Path, head: &str, ancestors: bool) -> Vec<String> {
    if !ancestors {
        return vec![head.to_string()];
    }
    git(folder, &["rev-list", "--max-count=100", "HEAD"]).map_or_else(
        || vec![head.to_string()],
        |list| list.lines().map(str::to_string).collect(),
    )
}

/// Of the prebuild images (`(tag, commit)`), the one of the newest usable commit.
pub fn choose<'a>(images: &'a [(String, String)], commits: &[String]) -> Option<&'a str> {
    commits.iter().find_map(|commit| {
        images
            .iter()
            .find(|(_, c)| c == commit)
            .map(|(tag, _)| tag.as_str())
    })
}

/// What a prebuild runs: each Gitpod task's `before`, `init` and `prebuild` (not its
/// `command`); `onCreateCommand` and `updateContentCommand`. No port is published.
pub fn prebuild_part(ws: &Workspace) -> Workspace {
    let mut part = keep(ws, |phase| {
        matches!(
            phase,
            Phase::Before | Phase::Init | Phase::OnCreateCommand | Phase::UpdateContentCommand
        )
    })
    .without_ports();
    // A task's `prebuild` runs after its `init` succeeded, in the same shell (so what
    // `before` exported holds): part of the init step, as one step is recorded once. A
    // task with only a `prebuild` is a lane of its own.
    for (name, command) in &ws.prebuild_commands {
        let step = Step {
            phase: Phase::Init,
            command: Command::Shell(command.clone()),
        };
        if part.stages.iter().all(|s| s.name != "tasks") {
            part.stages.push(Stage {
                name: "tasks".into(),
                lanes: Vec::new(),
            });
        }
        let Some(tasks) = part.stages.iter_mut().find(|s| s.name == "tasks") else {
            continue;
        };
        let lane = tasks.lanes.iter_mut().find(|l| l.name == *name);
        let init = lane.and_then(|l| l.steps.iter_mut().find(|s| s.phase == Phase::Init));
        if let Some(Step {
            command: Command::Shell(text),
            ..
        }) = init
        {
            *text = format!("{{\n{text}\n}} && {{\n{command}\n}}");
            continue;
        }
        match tasks.lanes.iter_mut().find(|l| l.name == *name) {
            Some(lane) => lane.steps.push(step),
            None => tasks.lanes.push(Lane {
                name: name.clone(),
                env: ws
                    .stages
                    .iter()
                    .flat_map(|s| &s.lanes)
                    .find(|l| l.name == *name)
                    .map(|l| l.env.clone())
                    .unwrap_or_default(),
                steps: vec![step],
            }),
        }
    }
    part
}

/// What a container made from a prebuild still runs: everything but `init`,
/// `onCreateCommand` and `updateContentCommand`.
pub fn after_prebuild(ws: &Workspace) -> Workspace {
    keep(ws, |phase| {
        !matches!(
            phase,
            Phase::Init | Phase::OnCreateCommand | Phase::UpdateContentCommand
        )
    })
}

fn keep(ws: &Workspace, wanted: impl Fn(Phase) -> bool) -> Workspace {
    let mut ws = ws.clone();
    for stage in &mut ws.stages {
        for lane in &mut stage.lanes {
            lane.steps.retain(|s| wanted(s.phase));
        }
        stage.lanes.retain(|l| !l.steps.is_empty());
    }
    ws.stages.retain(|s| !s.lanes.is_empty());
    ws
}

impl Workspace {
    fn without_ports(mut self) -> Workspace {
        self.ports.clear();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Command as Cmd;

    fn lane(name: &str, phases: &[Phase]) -> Lane {
        Lane {
            name: name.into(),
            env: crate::workspace::EnvMap::default(),
            steps: phases
                .iter()
                .map(|&phase| Step {
                    phase,
                    command: Cmd::Shell(format!("echo {phase}")),
                })
                .collect(),
        }
    }

    fn ws(stages: Vec<Stage>) -> Workspace {
        let mut ws = crate::config::gitpod::tests::workspace("image: x\n");
        ws.stages = stages;
        ws
    }

    fn phases(ws: &Workspace) -> Vec<(String, Vec<Phase>)> {
        ws.stages
            .iter()
            .flat_map(|s| s.lanes.iter())
            .map(|l| (l.name.clone(), l.steps.iter().map(|s| s.phase).collect()))
            .collect()
    }

    #[test]
    fn a_prebuild_runs_before_and_init_and_a_start_from_it_runs_the_rest() {
        let gitpod = ws(vec![Stage {
            name: "tasks".into(),
            lanes: vec![
                lane("api", &[Phase::Before, Phase::Init, Phase::Command]),
                lane("web", &[Phase::Command]),
            ],
        }]);
        assert_eq!(
            phases(&prebuild_part(&gitpod)),
            [("api".to_string(), vec![Phase::Before, Phase::Init])]
        );
        assert_eq!(
            phases(&after_prebuild(&gitpod)),
            [
                ("api".to_string(), vec![Phase::Before, Phase::Command]),
                ("web".to_string(), vec![Phase::Command])
            ]
        );
        let hooks = ws(vec![
            Stage {
                name: "onCreateCommand".into(),
                lanes: vec![lane("onCreateCommand", &[Phase::OnCreateCommand])],
            },
            Stage {
                name: "postCreateCommand".into(),
                lanes: vec![lane("postCreateCommand", &[Phase::PostCreateCommand])],
            },
        ]);
        assert_eq!(
            phases(&prebuild_part(&hooks)),
            [("onCreateCommand".to_string(), vec![Phase::OnCreateCommand])]
        );
        assert_eq!(
            phases(&after_prebuild(&hooks)),
            [(
                "postCreateCommand".to_string(),
                vec![Phase::PostCreateCommand]
            )]
        );
    }

    #[test]
    fn a_tasks_prebuild_runs_after_its_init_and_only_in_a_prebuild() {
        let ws = crate::config::gitpod::tests::workspace(
            "image: x\ntasks:\n  - name: api\n    init: make deps\n    prebuild: make cache\n    command: make run\n  - name: warm\n    prebuild: make warm\n",
        );
        assert_eq!(
            phases(&ws),
            [("api".to_string(), vec![Phase::Init, Phase::Command])]
        );
        let part = prebuild_part(&ws);
        let api = &part.stages[0].lanes[0];
        let commands: Vec<String> = api.steps.iter().map(|s| s.command.to_string()).collect();
        assert_eq!(commands, ["{\nmake deps\n} && {\nmake cache\n}"]);
        assert_eq!(part.stages[0].lanes[1].name, "warm");
        assert!(
            after_prebuild(&ws).stages[0].lanes[0]
                .steps
                .iter()
                .all(|s| s.phase == Phase::Command)
        );
    }

    #[test]
    fn the_newest_usable_commit_with_a_prebuild_wins() {
        let images = [
            ("p:old".to_string(), "c3".to_string()),
            ("p:new".to_string(), "c2".to_string()),
        ];
        let commits = ["c1".to_string(), "c2".into(), "c3".into()];
        assert_eq!(choose(&images, &commits), Some("p:new"));
        assert_eq!(choose(&images, &commits[..1]), None);
    }

    #[test]
    fn head_is_read_from_the_git_folder_as_git_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "0123456789abcdef0123456789abcdef01234567";
        std::fs::create_dir_all(dir.path().join(".git/refs/heads")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.path().join(".git/refs/heads/main"), format!("{sha}\n")).unwrap();
        assert_eq!(head(dir.path()).as_deref(), Some(sha));
        // Detached.
        std::fs::write(dir.path().join(".git/HEAD"), format!("{sha}\n")).unwrap();
        assert_eq!(head(dir.path()).as_deref(), Some(sha));
        // Not a repository at all.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(head(empty.path()), None);
    }

    #[test]
    fn the_tag_names_the_config_digest_and_the_commit() {
        let key = Key {
            config: "abcdef012345".into(),
            commit: Some("0123456789abcdef0123".into()),
            dirty: true,
        };
        let ws = ws(Vec::new());
        assert!(key.tag(&ws).ends_with(":abcdef012345-0123456789ab-dirty"));
        assert!(key.labels().contains(&format!("{LABEL_DIRTY}=true")));
    }
}
