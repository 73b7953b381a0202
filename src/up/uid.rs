//! `updateRemoteUserUID`, as the reference CLI does it on Linux: when the workspace's user
//! is not root and this machine's user is not root either, a new container runs a small
//! image derived from the one it would have run, in which that user's UID and GID are
//! this machine's user's. Files the container writes into the bind-mounted workspace then
//! belong to the user on the host, and theirs can be written inside.
//!
//! Decided without an engine call (the warm path pays nothing): the derived image's tag
//! is a digest of the base image's name, the user and the ids. Built when a new
//! container needs it and it is missing (or with `--rebuild`). When the config names no
//! user, the user is the image's own `USER`, known once the image is there: a root (or
//! no) `USER` gets no build, the tag then names the base image itself.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::container;
use crate::engine::{Engine, ImageConfig};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

use super::image::run_build;
use super::target::{BuildPlan, Target};

/// The derived image, when the workspace gets one.
#[derive(Debug, Clone)]
pub struct UidPlan {
    /// The image the container would run otherwise (the config's, or its Features').
    pub base: String,
    pub tag: String,
    /// The user named by the config (`remoteUser`, else `containerUser`); `None`: the
    /// image's `USER`.
    pub user: Option<String>,
    pub uid: u32,
    pub gid: u32,
}

/// The plan for `ws` on `image`, or `None`: `updateRemoteUserUID: false`, root named
/// (`remoteUser`, else `containerUser`), this machine's user root, or not Linux.
pub(super) fn plan(ws: &Workspace, image: &str) -> Option<UidPlan> {
    if !cfg!(target_os = "linux") || ws.options.update_remote_user_uid == Some(false) {
        return None;
    }
    let named = ws
        .options
        .remote_user
        .as_deref()
        .or(ws.options.container_user.as_deref());
    let user = match named {
        Some(user) if user.contains("${") => return None,
        Some(user) => Some(user_part(user)?.to_string()),
        None => None,
    };
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    if uid == 0 {
        return None;
    }
    let mut hasher = Sha256::new();
    let user_key = user.as_deref().unwrap_or("\0image USER");
    for part in [image, user_key, &uid.to_string(), &gid.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = container::hex(&hasher.finalize());
    Some(UidPlan {
        base: image.to_string(),
        tag: format!(
            "devboot-uid-{}-{}",
            container::slug(&ws.name),
            &digest[..12]
        ),
        user,
        uid,
        gid,
    })
}

/// The user part of `user[:group]` (as `docker run -u` takes it), `None` for root.
fn user_part(user: &str) -> Option<&str> {
    let user = user.split(':').next().unwrap_or(user);
    (!user.is_empty() && user != "root" && user != "0").then_some(user)
}

/// Makes the derived image on `base` (its config): built, back to the base's user at the
/// end; or, when the user is the image's `USER` and that is root, the base tagged as it.
pub(super) fn build(
    engine: &Engine,
    target: &Target,
    plan: &UidPlan,
    base: &ImageConfig,
) -> Result<ImageConfig> {
    let mut passwd = Passwd::of(engine, &plan.base);
    let image_user = user_part(&base.user);
    let user = match plan.user.as_deref().or(image_user) {
        Some(user) => passwd.name(user)?,
        None => None,
    };
    let Some(user) = user else {
        if let Some(user) = plan.user.as_deref().or(image_user) {
            crate::ui::note(&format!(
                "no user {user} in {}: its ids are left as they are (updateRemoteUserUID)",
                plan.base
            ));
        }
        engine.call(["tag", plan.base.as_str(), plan.tag.as_str()])?;
        return Ok(base.clone());
    };
    // The image's own USER at the end; by name when it is the UID this user leaves.
    let back = match image_user {
        Some(id) if is_uid(id) && passwd.name(id)?.as_deref() == Some(user.as_str()) => {
            user.clone()
        }
        _ => base.user.clone(),
    };
    crate::ui::note(&format!(
        "giving {user} this machine's UID {} and GID {} in {} (updateRemoteUserUID)",
        plan.uid, plan.gid, plan.tag
    ));
    let dir = target.cache_dir.join("uid").join(&plan.tag);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(&dockerfile, dockerfile_text(plan, &user, &back))
        .map_err(|e| Error::io("write", &dockerfile, e))?;
    let args = vec![
        "build".to_string(),
        "--force-rm".into(),
        "-f".into(),
        dockerfile.display().to_string(),
        "-t".into(),
        plan.tag.clone(),
        dir.display().to_string(),
    ];
    run_build(
        engine,
        &BuildPlan {
            tag: plan.tag.clone(),
            dockerfile,
            args,
        },
        &target.cache_dir,
    )?;
    engine
        .image_config(&plan.tag)?
        .ok_or_else(|| Error::usage(format!("the build of {} made no image", plan.tag)))
}

fn is_uid(user: &str) -> bool {
    !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit())
}

/// An image's /etc/passwd, read (one short container) only when a UID is to be named.
struct Passwd<'a> {
    engine: &'a Engine,
    image: &'a str,
    text: Option<String>,
}

impl<'a> Passwd<'a> {
    fn of(engine: &'a Engine, image: &'a str) -> Self {
        Passwd {
            engine,
            image,
            text: None,
        }
    }

    /// The user's name: a name as it is, a UID's from the image's /etc/passwd (`None`
    /// when no user has it, or its name is not a plain one).
    fn name(&mut self, user: &str) -> Result<Option<String>> {
        if !is_uid(user) {
            return Ok(Some(user.to_string()));
        }
        if self.text.is_none() {
            let args = [
                "run",
                "--rm",
                "--network",
                "none",
                "--user",
                "0",
                "--entrypoint",
                "cat",
                self.image,
                "/etc/passwd",
            ];
            self.text = Some(self.engine.call(args)?);
        }
        Ok(self
            .text
            .as_deref()
            .and_then(|text| name_of_uid(text, user)))
    }
}

/// The name /etc/passwd's `text` gives `uid`, when it is a plain one (written into a
/// Dockerfile: letters, digits, `_`, `.`, `-`).
fn name_of_uid(text: &str, uid: &str) -> Option<String> {
    text.lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() >= 3 && fields[2] == uid)
        .map(|fields| fields[0].to_string())
        .filter(|name| {
            !name.is_empty()
                && !name.starts_with('-')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        })
}

/// The Dockerfile: as root, the user's line in /etc/passwd (and its primary group's in
/// /etc/group) given the new ids, unless the user is not there, already has them, or
/// another user has the UID (each said in the build's output); its home folder chowned.
/// `back` is the user the image ends with.
fn dockerfile_text(plan: &UidPlan, user: &str, back: &str) -> String {
    let script = format!(
        "set -e; u={user}; nu={uid}; ng={gid}; \
         line=$(grep \"^$u:\" /etc/passwd) || {{ echo \"devboot: no user $u in the image: ids left as they are\"; exit 0; }}; \
         ou=$(echo \"$line\" | cut -d: -f3); og=$(echo \"$line\" | cut -d: -f4); home=$(echo \"$line\" | cut -d: -f6); \
         if [ \"$ou\" = \"$nu\" ] && [ \"$og\" = \"$ng\" ]; then echo \"devboot: $u already has $nu:$ng\"; exit 0; fi; \
         if [ \"$ou\" != \"$nu\" ] && cut -d: -f3 /etc/passwd | grep -qx \"$nu\"; then echo \"devboot: UID $nu belongs to another user: ids left as they are\"; exit 0; fi; \
         awk -F: -v OFS=: -v u=\"$u\" -v nu=\"$nu\" -v ng=\"$ng\" '$1 == u {{ $3 = nu; $4 = ng }} 1' /etc/passwd > /tmp/devboot-passwd; \
         cat /tmp/devboot-passwd > /etc/passwd; \
         if ! cut -d: -f3 /etc/group | grep -qx \"$ng\"; then \
           awk -F: -v OFS=: -v og=\"$og\" -v ng=\"$ng\" '$3 == og {{ $3 = ng }} 1' /etc/group > /tmp/devboot-group; cat /tmp/devboot-group > /etc/group; fi; \
         rm -f /tmp/devboot-passwd /tmp/devboot-group; \
         [ -d \"$home\" ] && chown -R \"$nu:$ng\" \"$home\"; \
         echo \"devboot: $u is now $nu:$ng\"",
        user = shell_words::quote(user),
        uid = plan.uid,
        gid = plan.gid,
    );
    let mut out = String::new();
    let _ = writeln!(out, "FROM {}", plan.base);
    out.push_str("USER root\n");
    let _ = writeln!(
        out,
        "RUN {}",
        serde_json::to_string(&["/bin/sh", "-c", &script]).expect("strings serialize")
    );
    let back = if back.is_empty() { "root" } else { back };
    let _ = writeln!(out, "USER {back}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_non_root_user_gets_new_ids() {
        let mut ws = crate::workspace::tests::workspace();
        let running_as_root = nix::unistd::getuid().is_root();
        // No user named: the image's USER, known once the image is there.
        let image_user = plan(&ws, "img");
        assert_eq!(image_user.is_none(), running_as_root);
        assert!(image_user.as_ref().is_none_or(|p| p.user.is_none()));
        ws.options.remote_user = Some("root".into());
        assert!(plan(&ws, "img").is_none());
        ws.options.remote_user = Some("0:0".into());
        assert!(plan(&ws, "img").is_none());
        ws.options.remote_user = Some("dev:staff".into());
        assert_eq!(plan(&ws, "img").is_none(), running_as_root);
        if let Some(named) = plan(&ws, "img") {
            assert_eq!(named.user.as_deref(), Some("dev"));
            assert_ne!(Some(named.tag), image_user.map(|p| p.tag));
        }
        ws.options.update_remote_user_uid = Some(false);
        assert!(plan(&ws, "img").is_none());
    }

    #[test]
    fn a_uid_is_named_from_passwd_only_with_a_plain_name() {
        let passwd = "root:x:0:0::/root:/bin/sh\ndev:x:1000:1000::/home/dev:/bin/bash\n\
                      bad name:x:1001:1001::/:/bin/sh\n-o:x:1002:1002::/:/bin/sh\n";
        assert_eq!(name_of_uid(passwd, "1000").as_deref(), Some("dev"));
        assert_eq!(name_of_uid(passwd, "1001"), None);
        assert_eq!(name_of_uid(passwd, "1002"), None);
        assert_eq!(name_of_uid(passwd, "1003"), None);
        assert!(is_uid("1000") && !is_uid("dev") && !is_uid(""));
    }

    #[test]
    fn the_dockerfile_changes_the_ids_as_root_and_gives_the_user_back() {
        let plan = UidPlan {
            base: "b:1".into(),
            tag: "t".into(),
            user: Some("dev".into()),
            uid: 1234,
            gid: 1235,
        };
        let text = dockerfile_text(&plan, "dev", "dev");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FROM b:1");
        assert_eq!(lines[1], "USER root");
        assert!(lines[2].starts_with("RUN [\"/bin/sh\",\"-c\",\"set -e; u=dev; nu=1234; ng=1235;"));
        assert_eq!(lines[3], "USER dev");
    }
}
