//! `updateRemoteUserUID`, as the reference CLI does it on Linux: when the workspace's user
//! is not root and this machine's user is not root either, a new container runs a small
//! image derived from the one it would have run, in which that user's UID and GID are
//! this machine's user's. Files the container writes into the bind-mounted workspace then
//! belong to the user on the host, and theirs can be written inside.
//!
//! Decided without an engine call (the warm path pays nothing): the derived image's tag
//! is a digest of the base image's name, the user and the ids. Built when a new
//! container needs it and it is missing (or with `--rebuild`).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::container;
use crate::engine::{Engine, ImageConfig};
use crate::error::{Error, Result};
use crate::workspace::{ImageSource, Workspace};

use super::image::run_build;
use super::target::{BuildPlan, Target};

/// The derived image, when the workspace gets one.
#[derive(Debug, Clone)]
pub struct UidPlan {
    /// The image the container would run otherwise (the config's, or its Features').
    pub base: String,
    pub tag: String,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
}

/// The plan for `ws` on `image`, or `None`: `updateRemoteUserUID: false`, no user named
/// (`remoteUser`, else `containerUser`) or root, this machine's user root, a Compose
/// service (its image is Compose's), or not Linux.
pub(super) fn plan(ws: &Workspace, image: &str) -> Option<UidPlan> {
    if !cfg!(target_os = "linux")
        || ws.options.update_remote_user_uid == Some(false)
        || matches!(ws.image, ImageSource::Compose { .. })
    {
        return None;
    }
    let user = ws
        .options
        .remote_user
        .as_deref()
        .or(ws.options.container_user.as_deref())?;
    // `user:group` as `docker run -u` takes it: the user part.
    let user = user.split(':').next().unwrap_or(user);
    if user.is_empty() || user == "root" || user == "0" || user.contains("${") {
        return None;
    }
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    if uid == 0 {
        return None;
    }
    let mut hasher = Sha256::new();
    for part in [image, user, &uid.to_string(), &gid.to_string()] {
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
        user: user.to_string(),
        uid,
        gid,
    })
}

/// Builds the derived image on `base` (its config), back to the base's user at the end.
pub(super) fn build(
    engine: &Engine,
    target: &Target,
    plan: &UidPlan,
    base: &ImageConfig,
) -> Result<ImageConfig> {
    crate::ui::note(&format!(
        "giving {} this machine's UID {} and GID {} in {} (updateRemoteUserUID)",
        plan.user, plan.uid, plan.gid, plan.tag
    ));
    let dir = target.cache_dir.join("uid").join(&plan.tag);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(&dockerfile, dockerfile_text(plan, &base.user))
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

/// The Dockerfile: as root, the user's line in /etc/passwd (and its primary group's in
/// /etc/group) given the new ids, unless the user is not there, already has them, or
/// another user has the UID (each said in the build's output); its home folder chowned.
fn dockerfile_text(plan: &UidPlan, base_user: &str) -> String {
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
        user = shell_words::quote(&plan.user),
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
    let user = if base_user.is_empty() {
        "root"
    } else {
        base_user
    };
    let _ = writeln!(out, "USER {user}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_non_root_user_gets_new_ids() {
        let mut ws = crate::workspace::tests::workspace();
        assert!(plan(&ws, "img").is_none(), "no user named");
        ws.options.remote_user = Some("root".into());
        assert!(plan(&ws, "img").is_none());
        ws.options.remote_user = Some("dev".into());
        let running_as_root = nix::unistd::getuid().is_root();
        assert_eq!(plan(&ws, "img").is_none(), running_as_root);
        ws.options.update_remote_user_uid = Some(false);
        assert!(plan(&ws, "img").is_none());
    }

    #[test]
    fn the_dockerfile_changes_the_ids_as_root_and_gives_the_user_back() {
        let plan = UidPlan {
            base: "b:1".into(),
            tag: "t".into(),
            user: "dev".into(),
            uid: 1234,
            gid: 1235,
        };
        let text = dockerfile_text(&plan, "dev");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FROM b:1");
        assert_eq!(lines[1], "USER root");
        assert!(lines[2].starts_with("RUN [\"/bin/sh\",\"-c\",\"set -e; u=dev; nu=1234; ng=1235;"));
        assert_eq!(lines[3], "USER dev");
    }
}
