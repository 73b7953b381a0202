//! The derived image's build: a staging folder (each Feature's files with its options as
//! `devcontainer-features.env` and the reference CLI's install wrapper, plus the users in
//! `devcontainer-features.builtin.env`) and the Dockerfile that installs them one by one
//! on top of the base image. Written so that the classic builder, `BuildKit` and Podman all
//! build it: plain `COPY` and `RUN`, nothing fetched by the build itself.
//!
//! What is built is decided here; building it (the engine) is `up::extend`'s business.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Fetched, options};

/// Where the Features are staged in the image, as the reference CLI has them.
pub const IN_IMAGE: &str = "/tmp/dev-container-features";

/// One Feature to install, in install order.
#[derive(Debug, Clone)]
pub struct Install {
    /// The id as the user (or a `dependsOn`) wrote it: the label's `id`, and messages.
    pub user_id: String,
    /// `<id>_<n>`: its folder in the staging folder and in the image.
    pub folder_name: String,
    pub fetched: Fetched,
    /// Its option values (see `options::values`), in order.
    pub values: Vec<(String, serde_json::Value)>,
}

impl Install {
    /// The option values as the install script's variables (`VERSION` → `18`), in order.
    pub fn env(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(name, value)| (options::safe_id(name), options::js_text(value)))
            .collect()
    }
}

/// The users the install scripts are told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Users {
    pub container: String,
    pub remote: String,
}

/// A digest of everything that decides the derived image: the base image's id, and each
/// Feature's content digest, options and place. Equal digests build equal images.
pub fn content_digest(base_image_id: &str, installs: &[Install], users: &Users) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"devboot-features-1\0");
    hasher.update(base_image_id.as_bytes());
    hasher.update([0]);
    hasher.update(users.container.as_bytes());
    hasher.update([0]);
    hasher.update(users.remote.as_bytes());
    for install in installs {
        for part in [
            &install.user_id,
            &install.folder_name,
            &install.fetched.digest,
        ] {
            hasher.update([0]);
            hasher.update(part.as_bytes());
        }
        for (k, v) in &install.env() {
            hasher.update([1]);
            hasher.update(k.as_bytes());
            hasher.update([2]);
            hasher.update(v.as_bytes());
        }
    }
    format!("sha256:{}", crate::container::hex(&hasher.finalize()))
}

/// Writes the staging folder `dir` (emptied first): the Dockerfile, the users' file, and
/// one folder per Feature.
pub fn stage(
    dir: &Path,
    image: &Image<'_>,
    installs: &[Install],
    users: &Users,
) -> std::io::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let content = dir.join(CONTENT);
    std::fs::create_dir_all(&content)?;
    std::fs::write(
        content.join("devcontainer-features.builtin.env"),
        format!(
            "_CONTAINER_USER={}\n_REMOTE_USER={}\n",
            users.container, users.remote
        ),
    )?;
    for install in installs {
        let to = content.join(&install.folder_name);
        copy_tree(&install.fetched.folder, &to)?;
        std::fs::write(
            to.join("devcontainer-features.env"),
            options::env_file(&install.values),
        )?;
        std::fs::write(
            to.join("devcontainer-features-install.sh"),
            wrapper(install),
        )?;
    }
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(&dockerfile, dockerfile_text(image, installs, users))?;
    Ok(dockerfile)
}

/// The folder of the staging folder that is copied into the image, whole, in one step.
const CONTENT: &str = "features";

/// What the derived image is built on and what it is labelled with.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    /// The base image.
    pub base: &'a str,
    /// The base image's `USER` (empty: root), set again at the end.
    pub user: &'a str,
    /// Labels, in one `LABEL` step.
    pub labels: &'a [(String, String)],
}

/// Copies a Feature's folder (regular files and folders; links are not followed, they are
/// copied as links, as the reference CLI's copy keeps them).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The Dockerfile: as root, the users' homes appended to the users' file, then per
/// Feature its `containerEnv` and its install; back to the image's user at the end.
pub fn dockerfile_text(image: &Image<'_>, installs: &[Install], users: &Users) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "FROM {}", image.base);
    out.push_str("USER root\n");
    // One step for every Feature's files (the classic builder commits a layer per step).
    let _ = writeln!(out, "COPY {CONTENT}/ {IN_IMAGE}/");
    let home = |user: &str| {
        let q = sh_quote(user);
        format!(
            "$( (getent passwd {q} || grep -E \"^{user}:|^[^:]*:[^:]*:{user}:\" /etc/passwd || true) | cut -d: -f6)",
            user = grep_literal(user)
        )
    };
    // The homes go into the users' file in the first Feature's step.
    let mut homes = Some(format!(
        "echo \"_CONTAINER_USER_HOME={}\" >> {IN_IMAGE}/devcontainer-features.builtin.env && echo \"_REMOTE_USER_HOME={}\" >> {IN_IMAGE}/devcontainer-features.builtin.env",
        home(&users.container),
        home(&users.remote)
    ));
    for install in installs {
        for (name, value) in &install.fetched.metadata.container_env {
            // As the reference CLI writes it: `$` is left alone, so a value may use an
            // earlier variable (`PATH=/x:${PATH}`).
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "ENV {name}=\"{escaped}\"");
        }
        let folder = &install.folder_name;
        let first = homes.take().map(|h| format!("{h} && ")).unwrap_or_default();
        let _ = writeln!(
            out,
            "RUN {first}chmod -R 0755 {IN_IMAGE}/{folder} && cd {IN_IMAGE}/{folder} && ./devcontainer-features-install.sh"
        );
    }
    if let Some(homes) = homes {
        let _ = writeln!(out, "RUN {homes}");
    }
    let user = if image.user.is_empty() {
        "root"
    } else {
        image.user
    };
    let _ = writeln!(out, "USER {user}");
    if !image.labels.is_empty() {
        // Quoted, with `$` escaped: a label holds JSON such as `${devcontainerId}`, which
        // the builder would otherwise substitute.
        let quoted: Vec<String> = image
            .labels
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('$', "\\$");
                format!("{k}=\"{v}\"")
            })
            .collect();
        let _ = writeln!(out, "LABEL {}", quoted.join(" "));
    }
    out
}

/// The line the wrapper prints first: how a failed build's log is split by Feature.
pub fn install_banner(folder_name: &str) -> String {
    format!("devboot: installing Feature {folder_name}")
}

/// The reference CLI's install wrapper: says which Feature with which options, exports the
/// users and the options, runs `install.sh` as root in the Feature's folder.
fn wrapper(install: &Install) -> String {
    let m = &install.fetched.metadata;
    let name = m.name.as_deref().unwrap_or(&m.id);
    let mut out = String::from("#!/bin/sh\nset -e\n");
    let doc = m
        .documentation_url
        .as_deref()
        .map(|u| format!(" Look at the documentation at {u} for help troubleshooting this error."))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "on_exit () {{\n\t[ $? -eq 0 ] && exit\n\techo {}\n}}\ntrap on_exit EXIT",
        sh_quote(&format!(
            "ERROR: Feature \"{name}\" ({}) failed to install!{doc}",
            install.user_id
        ))
    );
    let _ = writeln!(
        out,
        "echo {}",
        sh_quote(&install_banner(&install.folder_name))
    );
    out.push_str(
        "echo ===========================================================================\n",
    );
    let mut lines = vec![
        format!("Feature       : {name}"),
        format!(
            "Description   : {}",
            m.description.as_deref().unwrap_or_default()
        ),
        format!("Id            : {}", install.user_id),
        format!(
            "Version       : {}",
            m.version.as_deref().unwrap_or_default()
        ),
        format!(
            "Documentation : {}",
            m.documentation_url.as_deref().unwrap_or_default()
        ),
        "Options       :".to_string(),
    ];
    for line in options::env_lines(&install.values) {
        lines.push(format!("    {line}"));
    }
    for line in lines {
        let _ = writeln!(out, "echo {}", sh_quote(&line));
    }
    out.push_str(
        "echo ===========================================================================\n",
    );
    out.push_str(
        "set -a\n. ../devcontainer-features.builtin.env\n. ./devcontainer-features.env\nset +a\n",
    );
    out.push_str("chmod +x ./install.sh\n./install.sh\n");
    out
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A user name as a literal inside an extended regular expression in double quotes.
fn grep_literal(user: &str) -> String {
    user.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::metadata::Metadata;

    fn install(id: &str, n: usize, env: &[(&str, &str)], container_env: &str) -> Install {
        let text = format!(
            r#"{{"id":"{id}","name":"The {id}","version":"1.2.3","containerEnv":{container_env}}}"#
        );
        Install {
            user_id: format!("ghcr.io/devcontainers/features/{id}:1"),
            folder_name: format!("{id}_{n}"),
            fetched: Fetched {
                folder: PathBuf::from("/nonexistent"),
                digest: format!("sha256:{id}"),
                resolved: None,
                metadata: Metadata::parse(&text, id).unwrap(),
            },
            values: env
                .iter()
                .map(|(k, v)| {
                    (
                        (*k).to_string(),
                        serde_json::Value::String((*v).to_string()),
                    )
                })
                .collect(),
        }
    }

    fn users() -> Users {
        Users {
            container: "root".into(),
            remote: "vscode".into(),
        }
    }

    #[test]
    fn the_dockerfile_installs_each_feature_in_order_with_its_env_first() {
        let text = dockerfile_text(
            &Image {
                base: "devboot/python-flask:bookworm",
                user: "",
                labels: &[("a.b".into(), r#"{"m":"${x}"}"#.into())],
            },
            &[
                install(
                    "node",
                    0,
                    &[],
                    r#"{"NVM_DIR":"/usr/local/share/nvm","PATH":"/x:${PATH}"}"#,
                ),
                install("python", 1, &[], r#"{"Q":"a\"b"}"#),
            ],
            &users(),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FROM devboot/python-flask:bookworm");
        let node_env = lines
            .iter()
            .position(|l| *l == "ENV PATH=\"/x:${PATH}\"")
            .unwrap();
        let run = |folder: &str| {
            lines
                .iter()
                .position(|l| {
                    l.starts_with("RUN ")
                        && l.contains(&format!("cd /tmp/dev-container-features/{folder} "))
                })
                .unwrap()
        };
        assert_eq!(lines[2], "COPY features/ /tmp/dev-container-features/");
        assert!(
            node_env < run("node_0") && run("node_0") < run("python_1"),
            "{text}"
        );
        assert!(text.contains("ENV Q=\"a\\\"b\""), "{text}");
        // The homes are found in the first Feature's step.
        assert!(
            lines[run("node_0")].contains("getent passwd 'vscode'"),
            "{text}"
        );
        assert_eq!(lines[lines.len() - 2], "USER root");
        assert_eq!(*lines.last().unwrap(), r#"LABEL a.b="{\"m\":\"\${x}\"}""#);
    }

    #[test]
    fn the_image_user_comes_back_at_the_end() {
        let text = dockerfile_text(
            &Image {
                base: "b",
                user: "app",
                labels: &[],
            },
            &[],
            &users(),
        );
        assert!(text.ends_with("USER app\n"), "{text}");
        assert!(text.contains("RUN echo \"_CONTAINER_USER_HOME="), "{text}");
    }

    #[test]
    fn the_wrapper_names_the_feature_and_its_options_and_runs_install_sh() {
        let w = wrapper(&install("node", 0, &[("VERSION", "18")], "{}"));
        assert!(
            w.contains("echo 'devboot: installing Feature node_0'"),
            "{w}"
        );
        assert!(w.contains("echo '    VERSION=\"18\"'"), "{w}");
        assert!(
            w.contains("ERROR: Feature \"The node\" (ghcr.io/devcontainers/features/node:1) failed to install!"),
            "{w}"
        );
        assert!(w.ends_with("./install.sh\n"), "{w}");
        assert!(
            w.contains(". ../devcontainer-features.builtin.env\n. ./devcontainer-features.env")
        );
    }

    #[test]
    fn the_content_digest_changes_with_options_order_and_base() {
        let a = install("node", 0, &[("VERSION", "18")], "{}");
        let b = install("python", 1, &[], "{}");
        let d = |base: &str, list: &[Install]| content_digest(base, list, &users());
        let same = d("sha256:base", &[a.clone(), b.clone()]);
        assert_eq!(same, d("sha256:base", &[a.clone(), b.clone()]));
        assert_ne!(same, d("sha256:other", &[a.clone(), b.clone()]));
        assert_ne!(same, d("sha256:base", &[b.clone(), a.clone()]));
        let mut a20 = a.clone();
        a20.values[0].1 = "20".into();
        assert_ne!(same, d("sha256:base", &[a20, b]));
    }
}
