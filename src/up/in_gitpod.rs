//! `up` run by a task of the very Gitpod workspace its `.gitpod.yml` describes: Gitpod runs
//! the tasks, so devboot makes no nested workspace; it applies visibility and says so.

use crate::engine::Engine;
use crate::ports;
use crate::ui;
use crate::workspace::{EnvMap, Format, Workspace};

use super::{Action, Target, UpReport, observe_ports};

/// True when devboot runs inside the Gitpod workspace of this very `.gitpod.yml` (a task of
/// it ran `devboot up`): Gitpod already runs its tasks, and a nested workspace would run
/// them twice.
pub(super) fn runs_inside_its_own_gitpod(ws: &Workspace, host_env: &EnvMap) -> bool {
    ws.format == Format::Gitpod
        && host_env
            .get("GITPOD_WORKSPACE_ID")
            .is_some_and(|v| !v.is_empty())
        && host_env
            .get("GITPOD_REPO_ROOT")
            .is_some_and(|root| std::path::Path::new(root) == ws.local_folder)
}

/// What `up` does inside its own Gitpod workspace: apply the configured visibilities and
/// show the resolved environment, and say so.
pub(super) fn in_gitpod(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    host_env: &EnvMap,
) -> UpReport {
    ui::note(
        "running inside the Gitpod workspace of this .gitpod.yml: Gitpod runs its tasks, so devboot starts no nested workspace; it applies port visibility and the environment",
    );
    let applied = crate::expose::apply_visibility(&target.environment, &target.bindings, host_env);
    for call in &applied {
        ui::note(&format!("applied: {call}"));
    }
    let env: Vec<String> = target
        .spec
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !env.is_empty() {
        ui::note(&format!(
            "workspace environment (eval \"$(devboot env)\" puts it in a shell): {}",
            env.join(" ")
        ));
    }
    UpReport {
        container_id: String::new(),
        container_name: String::new(),
        action: Action::InGitpod,
        image: target.spec.image.clone(),
        workspace_folder: ws.local_folder.display().to_string(),
        environment: target.environment.name(),
        tasks: Vec::new(),
        ports: observe_ports(target, None)
            .into_iter()
            .map(|mut p| {
                // Gitpod's own ports: the workspace serves them directly.
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p.port));
                p.state = if ports::tcp_served(addr) {
                    "ready"
                } else {
                    "not served"
                };
                p
            })
            .collect(),
        engine_calls: engine.calls(),
        engine: None,
    }
}
