//! The derived image's build: a staging folder (each Feature's files with its options as
//! `devcontainer-features.env` and the reference CLI's install wrapper, plus the users in
//! `devcontainer-features.builtin.env`), the script that installs them one by one, and the
//! config the image gets afterwards (its `containerEnv`, the image's user again, the
//! labels), in the instruction syntax Docker and Podman take with `commit --change`.
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

/// Writes the staging folder `dir` (emptied first): in its content folder (returned,
/// copied whole to [`IN_IMAGE`]) the install script, the users' file, and one folder per
/// Feature.
pub fn stage(dir: &Path, installs: &[Install], users: &Users) -> std::io::Result<PathBuf> {
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
        crate::dirs::copy_tree(&install.fetched.folder, &to)?;
        std::fs::write(
            to.join("devcontainer-features.env"),
            options::env_file(&install.values),
        )?;
        std::fs::write(
            to.join("devcontainer-features-install.sh"),
            wrapper(install),
        )?;
    }
    std::fs::write(
        content.join(INSTALL_SCRIPT),
        install_script(installs, users),
    )?;
    Ok(content)
}

/// The folder of the staging folder that is copied into the image, whole, in one step.
const CONTENT: &str = "features";

/// The script that installs every Feature, in the image.
pub fn script_in_image() -> String {
    format!("{IN_IMAGE}/{INSTALL_SCRIPT}")
}

/// What the derived image is built on and what it is labelled with.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    /// The base image's `USER` (empty: root), set again at the end.
    pub user: &'a str,
    /// Labels, in one `LABEL` instruction.
    pub labels: &'a [(String, String)],
}

/// The script that installs every Feature, in one build step (the classic builder starts a
/// container and commits a layer per step: ~0.2-0.4 s each before a single byte of a
/// Feature is installed). It does what the reference CLI's steps do, in their order: the
/// users' homes into the users' file, then per Feature its `containerEnv` (exported, so it
/// and every later Feature see it, as they see an earlier `ENV`) and its install wrapper,
/// each in a shell of its own.
pub fn install_script(installs: &[Install], users: &Users) -> String {
    let mut out =
        String::from("#!/bin/sh\n# Written by devboot: the Features, in install order.\nset -e\n");
    let home = |user: &str| {
        let q = sh_quote(user);
        format!(
            "$( (getent passwd {q} || grep -E \"^{user}:|^[^:]*:[^:]*:{user}:\" /etc/passwd || true) | cut -d: -f6)",
            user = grep_literal(user)
        )
    };
    let _ = writeln!(
        out,
        "echo \"_CONTAINER_USER_HOME={}\" >> {IN_IMAGE}/devcontainer-features.builtin.env",
        home(&users.container)
    );
    let _ = writeln!(
        out,
        "echo \"_REMOTE_USER_HOME={}\" >> {IN_IMAGE}/devcontainer-features.builtin.env",
        home(&users.remote)
    );
    for install in installs {
        for (name, value) in &install.fetched.metadata.container_env {
            if is_shell_name(name) {
                let _ = writeln!(out, "export {name}=\"{}\"", env_value_for_sh(value));
            }
        }
        let folder = &install.folder_name;
        let _ = writeln!(
            out,
            "(chmod -R 0755 {IN_IMAGE}/{folder} && cd {IN_IMAGE}/{folder} && ./devcontainer-features-install.sh)"
        );
    }
    out
}

/// A `containerEnv` value inside double quotes in `sh`, read as the builder reads it in
/// `ENV NAME="value"`: `$NAME`/`${NAME}` expand (a value may use an earlier variable,
/// `PATH=/x:${PATH}`), nothing is run (the builder knows no `$(...)` or backquotes).
fn env_value_for_sh(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('`', "\\`")
        .replace("$(", "\\$(")
}

fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The name of the install script in the staging folder and in the image.
pub const INSTALL_SCRIPT: &str = "devboot-install-features.sh";

/// The config the image gets once every Feature is installed, as instructions: each
/// Feature's `containerEnv` in order, the image's user again (root when it names none), the
/// labels.
pub fn changes(image: &Image<'_>, installs: &[Install]) -> Vec<String> {
    let mut out = Vec::new();
    for install in installs {
        for (name, value) in &install.fetched.metadata.container_env {
            // As the reference CLI writes it: `$` is left alone, so a value may use an
            // earlier variable (`PATH=/x:${PATH}`). One instruction per variable, in
            // order, so a later one builds on an earlier one as it did during the install.
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            out.push(format!("ENV {name}=\"{escaped}\""));
        }
    }
    let user = if image.user.is_empty() {
        "root"
    } else {
        image.user
    };
    out.push(format!("USER {user}"));
    if !image.labels.is_empty() {
        // Quoted, with `$` escaped: a label holds JSON such as `${devcontainerId}`, which
        // would otherwise be substituted.
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
        out.push(format!("LABEL {}", quoted.join(" ")));
    }
    out
}

/// The same as a Dockerfile, for engines whose `commit --change` reads instructions
/// otherwise (Podman's takes a `LABEL` value as it is written): as root, the staging
/// folder's content copied in one step, the install script run in one more, then
/// `changes`.
pub fn dockerfile_text(base: &str, base_user: &str, changes: &[String]) -> String {
    let mut out = format!("FROM {base}\n");
    if !base_user.is_empty() && base_user != "root" {
        out.push_str("USER root\n");
    }
    let _ = writeln!(out, "COPY {CONTENT}/ {IN_IMAGE}/");
    let _ = writeln!(out, "RUN sh {}", script_in_image());
    for change in changes {
        let _ = writeln!(out, "{change}");
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

    fn two() -> Vec<Install> {
        vec![
            install(
                "node",
                0,
                &[],
                r#"{"NVM_DIR":"/usr/local/share/nvm","PATH":"/x:${PATH}"}"#,
            ),
            install("python", 1, &[], r#"{"Q":"a\"b`c`$(d)"}"#),
        ]
    }

    #[test]
    fn the_env_comes_in_order_then_the_user_then_the_labels() {
        let changes = changes(
            &Image {
                user: "",
                labels: &[("a.b".into(), r#"{"m":"${x}"}"#.into())],
            },
            &two(),
        );
        assert_eq!(
            changes,
            [
                "ENV NVM_DIR=\"/usr/local/share/nvm\"",
                "ENV PATH=\"/x:${PATH}\"",
                "ENV Q=\"a\\\"b`c`$(d)\"",
                "USER root",
                r#"LABEL a.b="{\"m\":\"\${x}\"}""#,
            ]
        );
    }

    #[test]
    fn the_install_script_exports_each_features_env_before_its_install_in_order() {
        let text = install_script(&two(), &users());
        let lines: Vec<&str> = text.lines().collect();
        let at = |line: &str| lines.iter().position(|l| *l == line).unwrap();
        let run = |folder: &str| {
            format!(
                "(chmod -R 0755 /tmp/dev-container-features/{folder} && cd /tmp/dev-container-features/{folder} && ./devcontainer-features-install.sh)"
            )
        };
        assert!(lines[3].contains("getent passwd 'root'"), "{text}");
        assert!(lines[4].contains("getent passwd 'vscode'"), "{text}");
        assert!(at("export PATH=\"/x:${PATH}\"") < at(&run("node_0")));
        // Nothing in a value is run, as the builder runs nothing in an `ENV`.
        let q = at("export Q=\"a\\\"b\\`c\\`\\$(d)\"");
        assert!(at(&run("node_0")) < q && q < at(&run("python_1")), "{text}");
    }

    #[test]
    fn the_install_script_gives_values_to_sh_as_the_builder_reads_them() {
        let text = install_script(&two(), &users());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "PATH=/bin:/usr/bin; {}; printf '%s|%s' \"$PATH\" \"$Q\"",
                text.lines()
                    .filter(|l| l.starts_with("export "))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "/x:/bin:/usr/bin|a\"b`c`$(d)"
        );
    }

    #[test]
    fn the_dockerfile_copies_and_installs_in_two_steps_then_makes_the_changes() {
        let changes = ["ENV A=\"1\"".to_string(), "USER app".to_string()];
        assert_eq!(
            dockerfile_text("b:1", "app", &changes),
            "FROM b:1\nUSER root\nCOPY features/ /tmp/dev-container-features/\n\
             RUN sh /tmp/dev-container-features/devboot-install-features.sh\n\
             ENV A=\"1\"\nUSER app\n"
        );
        assert!(dockerfile_text("b:1", "", &changes).starts_with("FROM b:1\nCOPY"));
    }

    #[test]
    fn the_image_user_comes_back_at_the_end() {
        let changes = changes(
            &Image {
                user: "app",
                labels: &[],
            },
            &[],
        );
        assert_eq!(changes, ["USER app"]);
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
