//! The container a workspace runs in: its identity (labels, name), the spec it is created
//! from, and the hash that says when an existing container no longer matches the config.
//!
//! Identity follows the reference CLI: `devcontainer.local_folder` and
//! `devcontainer.config_file` labels, so VS Code and `devcontainer exec` find devboot's
//! container and devboot finds theirs. devboot adds `devboot.config_hash` (a hash of
//! everything that needs a new container to take effect) and `devboot.spec` (that
//! everything, so a recreate can say what changed; the reference CLI silently keeps the old
//! container, devcontainers/cli#651).
//!
//! No variable's value is in a label: the spec holds a keyed digest of each
//! (`value_digest`), and the hash is made from the spec, so it holds none either.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::ChildEnv;
use crate::workspace::EnvMap;

pub const LABEL_LOCAL_FOLDER: &str = "devcontainer.local_folder";
pub const LABEL_CONFIG_FILE: &str = "devcontainer.config_file";
pub const LABEL_HASH: &str = "devboot.config_hash";
pub const LABEL_SPEC: &str = "devboot.spec";

/// Everything `docker run` is given. Two specs that serialize the same make the same
/// container, so the hash of this is the container's config hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSpec {
    pub image: String,
    /// The container's own variables (`docker run -e`). Never serialized: the label holds
    /// `env_digest`.
    #[serde(skip)]
    pub env: EnvMap,
    /// A keyed digest of each of `env`.
    #[serde(default)]
    pub env_digest: BTreeMap<String, String>,
    /// A keyed digest of each secret given to the commands devboot runs in the container
    /// (not container env, see `up::target`): a new value makes a new container, as a
    /// changed variable always has.
    #[serde(default)]
    pub secret_digest: BTreeMap<String, String>,
    /// `--mount` values (built with `crate::mount`), the workspace mount first.
    pub mounts: Vec<String>,
    /// `-p` values (`ip:host:container`).
    pub publish: Vec<String>,
    pub user: Option<String>,
    pub run_args: Vec<String>,
    pub init: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    pub override_command: bool,
    /// The Dev Container Features asked for, each `id` or `id options-JSON`, as written:
    /// so that a recreate says which one changed (the image's name only says that one did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// What the image's `devcontainer.metadata` label adds (its Features' flags, mounts
    /// and entrypoints), known once the image is there. The image decides it, and the
    /// image's name is in the spec: not part of the hash.
    #[serde(skip)]
    pub from_image: FromImage,
    /// The prebuild image a new container starts from instead of `image` (see
    /// `prebuild`). The config decides the workspace and a prebuild only saves running its
    /// `init`: not part of the hash.
    #[serde(skip)]
    pub prebuild: Option<String>,
    /// Variables `gp env` set inside an earlier container of the workspace: a new
    /// container gets them (as Gitpod gives them to the next workspace) under `env`, which
    /// wins. They never make a new container: not part of the hash.
    #[serde(skip)]
    pub gp_env: EnvMap,
    /// `--gpus all`: the config's `hostRequirements` asks for a GPU and the engine has a
    /// runtime for one (known when a container is made; see `up::host_requirements`).
    #[serde(skip)]
    pub gpus: bool,
}

/// What an image's `devcontainer.metadata` adds to `docker run`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FromImage {
    pub init: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    /// `--mount` values; the config's own mount of the same target wins.
    pub mounts: Vec<String>,
    /// Run at every start, before devboot's runner.
    pub entrypoints: Vec<String>,
    /// The label to put on the container, as the reference CLI does.
    pub metadata: Option<String>,
}

/// The entrypoint script, the reference CLI's keep-alive with one line added: stop cleanly
/// on TERM; at every start let the runner record the start and run the plan devboot left in
/// the state folder; then run the image's command when there is one (`exec "$@"`), else
/// sleep forever.
const KEEP_ALIVE: &str = "echo Container started\ntrap \"exit 0\" 15\n\
[ -f /.devboot/runner.sh ] && sh /.devboot/runner.sh boot /.devboot\n\
exec \"$@\"\nwhile sleep 1 & wait $!; do :; done";

/// The keep-alive script with the image's Features' entrypoints first (one per line, as
/// the reference CLI runs them): a Feature's daemon (dockerd, sshd) is up before any hook.
fn keep_alive(entrypoints: &[String]) -> String {
    let (start, rest) = KEEP_ALIVE
        .split_once("[ -f")
        .expect("the keep-alive script runs the runner");
    let mut script = start.to_string();
    for line in entrypoints {
        script.push_str(line);
        script.push('\n');
    }
    script.push_str("[ -f");
    script.push_str(rest);
    script
}

/// Bytes as lower-case hex: the short hashes in labels and image tags.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The keep-alive entrypoint of a container whose command devboot overrides.
pub fn keep_alive_entrypoint() -> Vec<String> {
    keep_alive_entrypoint_with(&[])
}

/// The same, with the image's Features' entrypoints run first.
pub fn keep_alive_entrypoint_with(entrypoints: &[String]) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        keep_alive(entrypoints),
        "-".into(),
    ]
}

impl ContainerSpec {
    /// Short, stable hash of the spec.
    pub fn hash(&self) -> String {
        let json = serde_json::to_string(self).expect("a spec always serializes");
        hex(&Sha256::digest(json.as_bytes())[..8])
    }

    /// The `docker run` arguments for a detached container, and the environment the engine
    /// process needs for the variables passed by name (see `engine::pass_env`). `command` is
    /// the image's own entrypoint and command, run after the keep-alive script's start work
    /// when the config keeps them (`overrideCommand: false`).
    pub fn run_args(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        command: &[String],
    ) -> (Vec<String>, ChildEnv) {
        let mut args: Vec<String> = vec!["run".into(), "-d".into(), "--name".into(), name.into()];
        for (key, value) in labels {
            args.push("--label".into());
            args.push(format!("{key}={value}"));
        }
        args.push("--label".into());
        args.push(format!("{LABEL_HASH}={}", self.hash()));
        args.push("--label".into());
        args.push(format!(
            "{LABEL_SPEC}={}",
            serde_json::to_string(self).expect("a spec always serializes")
        ));
        if let Some(prebuild) = &self.prebuild {
            args.push("--label".into());
            args.push(format!("{}={prebuild}", crate::prebuild::LABEL));
        }
        if self.gpus {
            args.extend(["--gpus".into(), "all".into()]);
        }
        let from_image = &self.from_image;
        if let Some(metadata) = &from_image.metadata {
            args.push("--label".into());
            args.push(format!("{}={metadata}", crate::features::label::LABEL));
        }
        let with_gp;
        let env = if self.gp_env.is_empty() {
            &self.env
        } else {
            with_gp = self
                .gp_env
                .iter()
                .chain(&self.env)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<EnvMap>();
            &with_gp
        };
        let child_env = crate::engine::pass_env(&mut args, env, &[]);
        let targets: Vec<Option<String>> = self
            .mounts
            .iter()
            .map(|m| crate::mount::source_target(m).1)
            .collect();
        let image_mounts = from_image
            .mounts
            .iter()
            .filter(|m| !targets.contains(&crate::mount::source_target(m).1));
        for mount in image_mounts.chain(&self.mounts) {
            args.push("--mount".into());
            args.push(mount.clone());
        }
        for publish in &self.publish {
            args.push("-p".into());
            args.push(publish.clone());
        }
        if let Some(user) = &self.user {
            args.push("-u".into());
            args.push(user.clone());
        }
        args.extend(self.run_args.iter().cloned());
        if self.init || from_image.init {
            args.push("--init".into());
        }
        if self.privileged || from_image.privileged {
            args.push("--privileged".into());
        }
        let union = |own: &[String], added: &[String]| {
            let mut all = own.to_vec();
            all.extend(added.iter().filter(|a| !own.contains(a)).cloned());
            all
        };
        for cap in union(&self.cap_add, &from_image.cap_add) {
            args.push("--cap-add".into());
            args.push(cap);
        }
        for opt in union(&self.security_opt, &from_image.security_opt) {
            args.push("--security-opt".into());
            args.push(opt);
        }
        // Our script is the entrypoint (`-` is its `$0`); the image's command follows
        // unless the keep-alive loop replaces it. A missing image is devboot's to fetch
        // (with a clear error), not `docker run`'s.
        args.extend(["--pull".into(), "never".into()]);
        let image = self.prebuild.as_ref().unwrap_or(&self.image);
        args.extend(["--entrypoint".into(), "/bin/sh".into(), image.clone()]);
        args.extend(["-c".into(), keep_alive(&from_image.entrypoints), "-".into()]);
        if !self.override_command {
            args.extend(command.iter().cloned());
        }
        (args, child_env)
    }

    /// Fills the digests of `env` and of `secrets` (the secrets given to commands).
    pub fn seal(&mut self, key: &crate::value_digest::DigestKey, secrets: &EnvMap) {
        self.env_digest = key.digests(&self.env);
        self.secret_digest = key.digests(secrets);
    }

    /// What differs from an older spec, in words, for "recreating because ...".
    /// Values of variables are not shown: they may be secrets.
    pub fn changes_from(&self, old: &ContainerSpec) -> Vec<String> {
        let mut changes = Vec::new();
        if self.features != old.features {
            let gone = old.features.iter().filter(|f| !self.features.contains(f));
            let new = self.features.iter().filter(|f| !old.features.contains(f));
            let mut said: Vec<String> = gone.map(|f| format!("feature {f} removed")).collect();
            said.extend(new.map(|f| format!("feature {f} added")));
            if said.is_empty() {
                said.push("features reordered".into());
            }
            changes.extend(said);
        } else if self.image != old.image {
            changes.push(format!("image {} -> {}", old.image, self.image));
        }
        for (before, after) in [
            (&old.env_digest, &self.env_digest),
            (&old.secret_digest, &self.secret_digest),
        ] {
            let names: std::collections::BTreeSet<&String> =
                after.keys().chain(before.keys()).collect();
            for name in names {
                match (before.get(name), after.get(name)) {
                    (None, Some(_)) => changes.push(format!("env {name} added")),
                    (Some(_), None) => changes.push(format!("env {name} removed")),
                    (Some(a), Some(b)) if a != b => changes.push(format!("env {name} changed")),
                    _ => {}
                }
            }
        }
        let lists: [(&str, &Vec<String>, &Vec<String>); 5] = [
            ("mounts", &old.mounts, &self.mounts),
            ("ports", &old.publish, &self.publish),
            ("runArgs", &old.run_args, &self.run_args),
            ("capAdd", &old.cap_add, &self.cap_add),
            ("securityOpt", &old.security_opt, &self.security_opt),
        ];
        for (what, before, after) in lists {
            if before != after {
                changes.push(format!(
                    "{what} [{}] -> [{}]",
                    before.join(", "),
                    after.join(", ")
                ));
            }
        }
        if self.user != old.user {
            changes.push(format!(
                "user {} -> {}",
                old.user.as_deref().unwrap_or("(image default)"),
                self.user.as_deref().unwrap_or("(image default)")
            ));
        }
        for (what, before, after) in [
            ("init", old.init, self.init),
            ("privileged", old.privileged, self.privileged),
            (
                "overrideCommand",
                old.override_command,
                self.override_command,
            ),
        ] {
            if before != after {
                changes.push(format!("{what} {before} -> {after}"));
            }
        }
        if changes.is_empty() {
            changes.push("the container options changed".into());
        }
        changes
    }
}

/// The container's name: readable, and unique per workspace (from its devcontainerId).
pub fn container_name(workspace_name: &str, devcontainer_id: &str) -> String {
    format!(
        "devboot-{}-{}",
        slug(workspace_name),
        &devcontainer_id[..devcontainer_id.len().min(8)]
    )
}

/// Lower-case letters, digits and `-`, for names docker and file systems accept.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "workspace".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::value_digest::DigestKey;

    fn key() -> DigestKey {
        DigestKey::from_bytes([1; 32])
    }

    fn spec() -> ContainerSpec {
        let mut spec = ContainerSpec {
            image: "img".into(),
            env: [("A".to_string(), "1".to_string())].into(),
            mounts: vec!["type=bind,source=/w,target=/workspaces/w".into()],
            publish: vec!["127.0.0.1:4567:4567".into()],
            init: true,
            override_command: true,
            ..ContainerSpec::default()
        };
        spec.seal(&key(), &EnvMap::new());
        spec
    }

    #[test]
    fn hash_changes_with_anything_that_matters() {
        let a = spec();
        let mut b = spec();
        assert_eq!(a.hash(), b.hash());
        b.env.insert("A".into(), "2".into());
        b.seal(&key(), &EnvMap::new());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(b.changes_from(&a), vec!["env A changed"]);
        let mut c = spec();
        c.seal(
            &key(),
            &[("API_TOKEN".to_string(), "t0ken".to_string())].into(),
        );
        assert_ne!(a.hash(), c.hash());
        assert_eq!(c.changes_from(&a), vec!["env API_TOKEN added"]);
    }

    #[test]
    fn no_value_is_in_the_label() {
        let mut spec = spec();
        spec.env.insert("API_TOKEN".into(), "hunter2-value".into());
        let secrets = [("DEPLOY_KEY".to_string(), "k3y-value".to_string())].into();
        spec.seal(&key(), &secrets);
        let label = serde_json::to_string(&spec).unwrap();
        assert!(
            !label.contains("hunter2") && !label.contains("k3y-value"),
            "{label}"
        );
        assert!(
            label.contains("API_TOKEN") && label.contains("DEPLOY_KEY"),
            "{label}"
        );
        let back: ContainerSpec = serde_json::from_str(&label).unwrap();
        assert_eq!(back.hash(), spec.hash());
        assert!(
            spec.changes_from(&back)
                .iter()
                .all(|c| !c.starts_with("env"))
        );
    }

    #[test]
    fn run_args_keep_the_container_alive() {
        let (args, _) = spec().run_args("devboot-x-1", &BTreeMap::new(), &[]);
        let joined = args.join(" ");
        assert!(joined.contains("--entrypoint /bin/sh img -c"), "{joined}");
        assert!(joined.contains("-p 127.0.0.1:4567:4567"), "{joined}");
        assert!(joined.contains("--init"), "{joined}");
        assert!(joined.contains("-e A=1"), "{joined}");
    }

    #[test]
    fn what_the_image_adds_goes_to_run_but_not_into_the_hash() {
        let mut spec = spec();
        spec.mounts = vec!["type=volume,source=mine,target=/var/lib/docker".into()];
        spec.cap_add = vec!["SYS_PTRACE".into()];
        let hash = spec.hash();
        spec.from_image = FromImage {
            privileged: true,
            cap_add: vec!["SYS_PTRACE".into(), "NET_ADMIN".into()],
            mounts: vec![
                "type=volume,source=dind,target=/var/lib/docker".into(),
                "type=volume,source=cache,target=/cache".into(),
            ],
            entrypoints: vec!["/usr/local/share/docker-init.sh".into()],
            metadata: Some(r#"[{"id":"x"}]"#.into()),
            ..FromImage::default()
        };
        assert_eq!(spec.hash(), hash);
        let (args, _) = spec.run_args("n", &BTreeMap::new(), &[]);
        let joined = args.join(" ");
        assert!(joined.contains("--privileged"), "{joined}");
        assert_eq!(
            joined.matches("--cap-add SYS_PTRACE").count(),
            1,
            "{joined}"
        );
        assert!(joined.contains("--cap-add NET_ADMIN"), "{joined}");
        // The config's own mount of a target wins over the Feature's.
        assert!(!joined.contains("source=dind"), "{joined}");
        assert!(joined.contains("source=mine"), "{joined}");
        assert!(joined.contains("source=cache"), "{joined}");
        assert!(
            joined.contains(r#"--label devcontainer.metadata=[{"id":"x"}]"#),
            "{joined}"
        );
        let script = &args[args.len() - 2];
        let entry = script.find("docker-init.sh").unwrap();
        assert!(entry < script.find("runner.sh boot").unwrap(), "{script}");
    }

    #[test]
    fn secret_values_go_by_name() {
        let mut spec = spec();
        spec.env.insert("GITHUB_TOKEN".into(), "ghp_value".into());
        spec.env
            .insert("URL".into(), "https://x:ghp_value@h".into());
        let (args, env) = spec.run_args("devboot-x-1", &BTreeMap::new(), &[]);
        assert!(args.iter().all(|a| !a.contains("ghp_value")), "{args:?}");
        assert!(
            args.windows(2).any(|w| w == ["-e", "GITHUB_TOKEN"]),
            "{args:?}"
        );
        assert!(args.windows(2).any(|w| w == ["-e", "URL"]), "{args:?}");
        assert_eq!(
            env,
            vec![
                ("GITHUB_TOKEN".to_string(), "ghp_value".to_string()),
                ("URL".to_string(), "https://x:ghp_value@h".to_string())
            ]
        );
    }

    #[test]
    fn slugs_and_names() {
        assert_eq!(slug("Cruddur Backend!"), "cruddur-backend");
        assert_eq!(slug("..."), "workspace");
        assert_eq!(
            container_name("My App", "0ns9efvs2cg8"),
            "devboot-my-app-0ns9efvs"
        );
    }
}
