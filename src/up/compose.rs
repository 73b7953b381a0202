//! A Docker Compose based devcontainer.json: devboot writes an override file that gives the
//! primary service what a `docker run` of devboot's would (the reference CLI's labels and
//! devboot's hash, `containerEnv`, the published ports, the keep-alive entrypoint when
//! `overrideCommand` is true), and runs `compose up -d`. Compose decides what to create,
//! recreate or start; devboot then runs the lanes the exec way, with the reference CLI's
//! marker files, as for a container another tool made.
//!
//! The ports the compose files publish for the service are the workspace's too (shown,
//! used for `${portUrl:N}`, never published twice), and their host ports are checked
//! before Compose runs. When `compose up` fails anyway, the container the workspace had is
//! put back as it was.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::compose::{self as file, Published};
use crate::container::{self, FromImage, LABEL_HASH, LABEL_SPEC};
use crate::engine::{ContainerInfo, Engine, EngineError, ImageConfig};
use crate::error::{Error, Result};
use crate::lifecycle::{Output, RunResult};
use crate::ports::Binding;
use crate::ui;
use crate::workspace::{EnvMap, OnOpen, Port, Visibility, Workspace};

use super::lanes::run_by_exec;
use super::published::check_ports;
use super::{Action, ComposePlan, Decision, Made, Target, UpOptions};

/// Brings the service up as `decision` says and runs what is due in it.
#[allow(clippy::too_many_arguments)]
pub(super) fn bring_up(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    plan: &ComposePlan,
    options: &UpOptions,
    decision: Decision,
    info: Option<&ContainerInfo>,
    output: &Output,
    from_image: Option<&FromImage>,
) -> Result<(Made, Action, RunResult)> {
    if let (Decision::Reuse, Some(info)) = (decision, info) {
        let result = run_by_exec(engine, ws, target, info, output)?;
        return Ok((Made::of(info), Action::Reused, result));
    }
    check_ports(engine, target, info)?;
    let published = published_ports(plan);
    check_published(engine, plan, &published)?;
    note_not_published_twice(ws, plan, &published);
    // The image devboot made for the service: with Features (built before, with the
    // user's ids on top when they change), or with only the user's ids, made here.
    let made_image = match (&target.uid, &target.features) {
        (Some(uid), None) => {
            super::image::ensure_image(engine, target, options.rebuild)?;
            Some(uid.tag.as_str())
        }
        (Some(uid), Some(_)) => Some(uid.tag.as_str()),
        (None, features) => features.as_ref().map(|f| f.tag.as_str()),
    };
    write_override(target, plan, made_image, from_image)?;
    let mut args = project_args(target, plan);
    args.extend(["up".into(), "-d".into()]);
    // With an image of devboot's, it is built already (and `--build` would overwrite it
    // with the service's own).
    if options.rebuild && made_image.is_none() {
        args.push("--build".into());
    }
    if options.recreate {
        args.push("--force-recreate".into());
    } else if options.no_recreate {
        args.push("--no-recreate".into());
    }
    if !plan.run_services.is_empty() {
        args.extend(plan.run_services.iter().cloned());
        if !plan.run_services.contains(&plan.service) {
            args.push(plan.service.clone());
        }
    }
    if let Err(err) = run_compose(engine, &args, "up", plan) {
        if let Some(old) = info {
            restore(engine, target, old);
        }
        return Err(explain_port_failure(engine, err, &published));
    }
    let made = target.find(engine)?.ok_or_else(|| {
        Error::Engine(EngineError::BadOutput {
            command: "compose up".into(),
            detail: format!(
                "no container of service `{}` has the workspace's labels after `compose up`",
                plan.service
            ),
        })
    })?;
    let action = match info {
        Some(old) if old.id == made.id => Action::Started,
        Some(_) => Action::Recreated,
        None => Action::Created,
    };
    let result = run_by_exec(engine, ws, target, &made, output)?;
    Ok((Made::of(&made), action, result))
}

/// The workspace's ports with what the compose files publish for its service. A
/// `forwardPorts` entry Compose already publishes takes Compose's host port and is not
/// published again (`publish: false`: Compose does it); a port only Compose publishes is
/// added, so that `ports`, `status`, `url` and `${portUrl:N}` know it. A port whose host
/// port the engine picks (none in the file) is left out.
pub(super) fn service_bindings(
    mut bindings: Vec<Binding>,
    files: &[PathBuf],
    service: &str,
    host_env: &EnvMap,
) -> Vec<Binding> {
    let vars = file::variables(files, host_env);
    let docs = file::read_all(files);
    let published = docs
        .iter()
        .flat_map(|d| file::published(d, &vars))
        .filter(|p| p.service == service);
    for p in published {
        let Some(host_port) = p.host else { continue };
        let host_ip = p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into());
        // What Compose binds decides who can reach it.
        let visibility = if matches!(host_ip.as_str(), "127.0.0.1" | "::1") {
            Visibility::Private
        } else {
            Visibility::Public
        };
        let single = p.container == p.end;
        if let Some(forwarded) = bindings
            .iter_mut()
            .find(|b| single && !b.port.is_range() && b.port.port == p.container)
        {
            forwarded.host_port = host_port;
            forwarded.host_ip = host_ip;
            forwarded.port.visibility = visibility;
            forwarded.port.publish = false;
            continue;
        }
        if bindings
            .iter()
            .any(|b| b.host_port_of(p.container).is_some())
        {
            continue;
        }
        bindings.push(Binding {
            port: Port {
                port: p.container,
                end: p.end,
                host_port: Some(host_port),
                host_ip: Some(host_ip.clone()),
                label: None,
                description: None,
                visibility,
                on_open: OnOpen::Notify,
                protocol: None,
                publish: false,
                awaited: true,
            },
            host_ip,
            host_port,
        });
    }
    bindings
}

/// Every port the project's compose files publish (all services).
fn published_ports(plan: &ComposePlan) -> Vec<Published> {
    file::read_all(&plan.files)
        .iter()
        .flat_map(|d| file::published(d, &plan.vars))
        .collect()
}

/// Fails before Compose runs when a host port a service publishes is taken by something
/// other than the project's own containers (Compose would first stop the old container,
/// then fail in the engine's words). The engine is asked only about a taken port.
fn check_published(engine: &Engine, plan: &ComposePlan, published: &[Published]) -> Result<()> {
    for p in published {
        let Some(first) = p.host else { continue };
        let ip = p.host_ip.as_deref().unwrap_or("0.0.0.0");
        for container in p.container..=p.end {
            let port = first + (container - p.container);
            if std::net::TcpListener::bind((ip, port)).is_ok() {
                continue;
            }
            let users = engine.containers_publishing(port).unwrap_or_default();
            if users.iter().any(|u| in_project(u, &plan.project)) {
                continue;
            }
            return Err(Error::ComposePortTaken {
                port,
                by: users.into_iter().next(),
                service: p.service.clone(),
                container,
                at: p.at.clone(),
            });
        }
    }
    Ok(())
}

/// A container of the project, by Compose's names (`project_service_1`, `project-service-1`).
fn in_project(name: &str, project: &str) -> bool {
    name.strip_prefix(project)
        .is_some_and(|rest| rest.starts_with('_') || rest.starts_with('-'))
}

/// Says which `forwardPorts` entries the compose files already publish (devboot leaves them
/// to Compose: publishing one twice fails with "address already in use").
fn note_not_published_twice(ws: &Workspace, plan: &ComposePlan, published: &[Published]) {
    for port in ws.ports.iter().filter(|p| p.publish && !p.is_range()) {
        let by_compose = published
            .iter()
            .filter(|p| p.service == plan.service)
            .find_map(|p| Some((p.host_port_of(port.port)?, p)));
        if let Some((host_port, p)) = by_compose {
            ui::note(&format!(
                "port {} of `forwardPorts` is published by {} (service `{}`, host port {host_port}): devboot does not publish it again",
                port.port, p.at, p.service
            ));
        }
    }
}

/// A failed `compose up` that says a host port is taken, as the port-in-use error.
fn explain_port_failure(engine: &Engine, err: Error, published: &[Published]) -> Error {
    let Error::Engine(EngineError::Failed { stderr, .. }) = &err else {
        return err;
    };
    let Some(port) = taken_port(stderr) else {
        return err;
    };
    let by = engine
        .containers_publishing(port)
        .unwrap_or_default()
        .into_iter()
        .next();
    let written = published.iter().find_map(|p| {
        (p.container..=p.end)
            .find(|c| p.host_port_of(*c) == Some(port))
            .map(|c| (p, c))
    });
    match written {
        Some((p, container)) => Error::ComposePortTaken {
            port,
            by,
            service: p.service.clone(),
            container,
            at: p.at.clone(),
        },
        None => Error::PortTaken {
            port,
            host_ip: "0.0.0.0".into(),
            by,
        },
    }
}

/// The host port in the engine's "address already in use" / "port is already allocated".
fn taken_port(text: &str) -> Option<u16> {
    text.lines().find_map(|line| {
        let at = line
            .find("address already in use")
            .or_else(|| line.find("port is already allocated"))?;
        let before = &line[..at];
        before.rmatch_indices(':').find_map(|(i, _)| {
            let digits: String = before[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            Port::number(&digits)
        })
    })
}

/// After a failed `compose up`: the workspace's container as it was. Compose (v1) stops and
/// renames the old container before it starts the new one, so a new one that cannot start
/// leaves both: the new ones go, the old one gets its name back and runs again if it ran.
fn restore(engine: &Engine, target: &Target, old: &ContainerInfo) {
    let ids = target.find_ids(engine).unwrap_or_default();
    let name = old.short_name();
    if !ids.contains(&old.id) {
        ui::warning(&format!(
            "Compose removed container {name} before its new one failed; the next `devboot up` makes a new one"
        ));
        return;
    }
    let mut changed = false;
    for id in ids.iter().filter(|id| **id != old.id) {
        changed |= engine.remove(id).is_ok();
    }
    let Ok(Some(now)) = engine.inspect_container(&old.id) else {
        return;
    };
    if now.short_name() != name {
        changed |= engine.call(["rename", old.id.as_str(), name]).is_ok();
    }
    let restarted = old.state.running && !now.state.running && engine.start(&old.id).is_ok();
    if restarted {
        ui::note(&format!(
            "container {name} is back as it was before this `up` (Compose had stopped it: it runs again, and the next `devboot up` runs its start hooks)"
        ));
    } else if changed {
        ui::note(&format!(
            "container {name} is back as it was before this `up`"
        ));
    }
}

/// `devboot down` of a Compose workspace: the whole project stops (`compose stop`), or with
/// `remove` goes (`compose down`: its containers and network), as the reference CLI's
/// `shutdownAction: stopCompose` treats the project as one.
pub fn down(engine: &Engine, target: &Target, plan: &ComposePlan, remove: bool) -> Result<()> {
    let verb = if remove { "down" } else { "stop" };
    let mut args = project_args(target, plan);
    args.push(verb.into());
    run_compose(engine, &args, verb, plan)
}

/// `-p PROJECT -f FILE...`, with devboot's override file when it was written.
fn project_args(target: &Target, plan: &ComposePlan) -> Vec<String> {
    let mut args: Vec<String> = vec!["-p".into(), plan.project.clone()];
    let file = override_path(target);
    for f in plan.files.iter().chain(file.is_file().then_some(&file)) {
        args.extend(["-f".into(), f.display().to_string()]);
    }
    args
}

pub(super) fn override_path(target: &Target) -> PathBuf {
    target
        .cache_dir
        .join("compose")
        .join(format!("{}.json", target.devcontainer_id))
}

/// Runs `compose ARGS`, its output on stderr as it comes.
fn run_compose(engine: &Engine, args: &[String], verb: &str, plan: &ComposePlan) -> Result<()> {
    let mut cmd = engine.compose(args);
    let mut tail = Vec::new();
    let status = engine.stream(&mut cmd, |line| {
        ui::line(&format!("compose | {line}"));
        tail.push(line);
    })?;
    if status.success() {
        return Ok(());
    }
    // Compose's own error lines say it; the rest was printed as it came.
    let errors: Vec<&str> = tail
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("ERROR") || l.starts_with("Error"))
        .collect();
    let stderr = if errors.is_empty() {
        tail[tail.len().saturating_sub(10)..].join("\n")
    } else {
        errors.join("\n")
    };
    if stderr.contains("No such service") {
        return Err(Error::Unsupported {
            what: format!(
                "service `{}` (devcontainer.json `service`) is not in the Docker Compose files",
                plan.service
            ),
            help: "name one of the services of `dockerComposeFile`".into(),
        });
    }
    Err(Error::Engine(EngineError::Failed {
        command: format!("{}-compose {verb}", engine.program_name()),
        code: status.code().unwrap_or(-1),
        stderr,
    }))
}

/// The service's image as Features see it: its `image:` (interpolated), else the name
/// devboot gives the image Compose builds for it; and whether Compose builds it.
pub(super) fn service_image(plan: &ComposePlan) -> (String, bool) {
    let mut image = None;
    let mut build = false;
    for doc in file::read_all(&plan.files) {
        for (name, fields) in file::services(&doc) {
            if *name != plan.service {
                continue;
            }
            if let Some(i) = fields.get("image").and_then(serde_json::Value::as_str) {
                image = Some(file::interpolate(i, &plan.vars));
            }
            build |= fields.contains_key("build");
        }
    }
    let name = image.unwrap_or_else(|| {
        format!(
            "devboot-compose-{}-{}",
            container::slug(&plan.project),
            container::slug(&plan.service)
        )
    });
    (name, build)
}

/// Makes the service's own image there for Features to extend: Compose builds it (under
/// [`service_image`]'s name) when it has `build`, else it is pulled when missing.
pub(super) fn ensure_service_image(
    engine: &Engine,
    target: &Target,
    plan: &ComposePlan,
    rebuild: bool,
) -> Result<ImageConfig> {
    let (image, build) = service_image(plan);
    if !build {
        if let Some(config) = engine.image_config(&image)? {
            return Ok(config);
        }
        ui::note(&format!("pulling {image}"));
        engine.call(["pull", image.as_str()]).map_err(|e| match e {
            EngineError::Failed { stderr, .. } => Error::ImageUnavailable {
                image: image.clone(),
                detail: stderr,
            },
            e => e.into(),
        })?;
    } else if rebuild || engine.image_config(&image)?.is_none() {
        write_override(target, plan, Some(&image), None)?;
        let mut args = project_args(target, plan);
        args.extend(["build".into(), plan.service.clone()]);
        run_compose(engine, &args, "build", plan)?;
    }
    Ok(engine.image_config(&image)?.unwrap_or_default())
}

/// Writes the override file (JSON, which Compose reads as YAML) into devboot's cache: the
/// folder 0700 and the file 0600, as the file holds the container's variables. `image`
/// names the service's image (Features: the derived one, or the one Compose builds for
/// them); `from_image` is what the Features' label adds.
fn write_override(
    target: &Target,
    plan: &ComposePlan,
    image: Option<&str>,
    from_image: Option<&FromImage>,
) -> Result<()> {
    let spec = &target.spec;
    let mut labels: BTreeMap<String, String> = target.id_labels.clone();
    labels.insert(LABEL_HASH.into(), spec.hash());
    labels.insert(
        LABEL_SPEC.into(),
        serde_json::to_string(spec).expect("a spec always serializes"),
    );
    let mut service = serde_json::json!({
        "labels": labels,
        "environment": spec.env,
        "ports": spec.publish,
    });
    let fields = service.as_object_mut().expect("an object");
    if let Some(image) = image {
        fields.insert("image".into(), image.into());
    }
    let none = FromImage::default();
    let adds = from_image.unwrap_or(&none);
    if let Some(metadata) = &adds.metadata {
        fields["labels"][crate::features::label::LABEL] = metadata.clone().into();
    }
    if let Some(user) = &spec.user {
        fields.insert("user".into(), user.clone().into());
    }
    if spec.override_command {
        fields.insert(
            "entrypoint".into(),
            container::keep_alive_entrypoint_with(&adds.entrypoints).into(),
        );
    } else if !adds.entrypoints.is_empty() {
        ui::warning(&format!(
            "the Features' entrypoints ({}) do not run: the service keeps its own entrypoint (set `overrideCommand: true` to run them)",
            adds.entrypoints.join(", ")
        ));
    }
    let targets: Vec<Option<String>> = spec
        .mounts
        .iter()
        .map(|m| crate::mount::source_target(m).1)
        .collect();
    let volumes: Vec<serde_json::Value> = adds
        .mounts
        .iter()
        .filter(|m| !targets.contains(&crate::mount::source_target(m).1))
        .chain(&spec.mounts)
        .map(|m| volume(m))
        .collect();
    if !volumes.is_empty() {
        fields.insert("volumes".into(), volumes.clone().into());
    }
    if spec.privileged || adds.privileged {
        fields.insert("privileged".into(), true.into());
    }
    let union = |own: &[String], added: &[String]| {
        let mut all = own.to_vec();
        all.extend(added.iter().filter(|a| !own.contains(a)).cloned());
        all
    };
    let cap_add = union(&spec.cap_add, &adds.cap_add);
    if !cap_add.is_empty() {
        fields.insert("cap_add".into(), cap_add.into());
    }
    let security_opt = union(&spec.security_opt, &adds.security_opt);
    if !security_opt.is_empty() {
        fields.insert("security_opt".into(), security_opt.into());
    }
    let mut doc = serde_json::json!({ "services": { plan.service.clone(): service } });
    // A named volume must be declared; `name` keeps Compose from prefixing the project.
    let named: serde_json::Map<String, serde_json::Value> = volumes
        .iter()
        .filter(|v| v["type"] == "volume")
        .filter_map(|v| v["source"].as_str())
        .map(|n| (n.to_string(), serde_json::json!({ "name": n })))
        .collect();
    if !named.is_empty() {
        doc["volumes"] = named.into();
    }
    if let Some(version) = &plan.version {
        doc["version"] = version.clone().into();
    }
    let text = serde_json::to_string_pretty(&doc).expect("JSON always serializes");
    crate::dirs::write_private(&override_path(target), text.as_bytes())
}

/// A `--mount` value (`type=bind,source=/a,target=/b,readonly`) as a Compose long-syntax
/// volume.
fn volume(mount: &str) -> serde_json::Value {
    let mut volume = serde_json::Map::new();
    for part in crate::mount::fields(mount).unwrap_or_default() {
        let (key, value) = part.split_once('=').unwrap_or((&part, "true"));
        let key = match key {
            "src" => "source",
            "dst" | "destination" => "target",
            "readonly" | "ro" => "read_only",
            other => other,
        };
        if matches!(key, "type" | "source" | "target") {
            volume.insert(key.into(), value.into());
        } else if key == "read_only" {
            volume.insert(key.into(), (value != "false").into());
        }
    }
    volume.into()
}

#[cfg(test)]
mod tests {
    use super::{in_project, taken_port, volume};

    #[test]
    fn the_taken_port_in_the_engines_words() {
        assert_eq!(
            taken_port(
                "ERROR: for app  Cannot start service app: driver failed programming external connectivity on endpoint x (abc): Error starting userland proxy: listen tcp4 0.0.0.0:45967: bind: address already in use"
            ),
            Some(45967)
        );
        assert_eq!(
            taken_port("Bind for 0.0.0.0:8000 failed: port is already allocated"),
            Some(8000)
        );
        assert_eq!(taken_port("no such image"), None);
    }

    #[test]
    fn project_containers_by_compose_names() {
        assert!(in_project("web_devcontainer_app_1", "web_devcontainer"));
        assert!(in_project("web_devcontainer-db-1", "web_devcontainer"));
        assert!(!in_project("web_devcontainerx_app_1", "web_devcontainer"));
    }

    #[test]
    fn a_mount_becomes_a_long_syntax_volume() {
        assert_eq!(
            volume(r#"type=bind,"source=/a,b",target=/c"#),
            serde_json::json!({"type": "bind", "source": "/a,b", "target": "/c"})
        );
        assert_eq!(
            volume("type=bind,src=/a,dst=/b,readonly"),
            serde_json::json!({"type": "bind", "source": "/a", "target": "/b", "read_only": true})
        );
        assert_eq!(
            volume("type=volume,source=cache,target=/c"),
            serde_json::json!({"type": "volume", "source": "cache", "target": "/c"})
        );
    }
}
