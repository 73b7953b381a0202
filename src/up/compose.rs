//! A Docker Compose based devcontainer.json: devboot writes an override file that gives the
//! primary service what a `docker run` of devboot's would (the reference CLI's labels and
//! devboot's hash, `containerEnv`, the published ports, the keep-alive entrypoint when
//! `overrideCommand` is true), and runs `compose up -d`. Compose decides what to create,
//! recreate or start; devboot then runs the lanes the exec way, with the reference CLI's
//! marker files, as for a container another tool made.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::container::{self, LABEL_HASH, LABEL_SPEC};
use crate::engine::{ContainerInfo, Engine, EngineError};
use crate::error::{Error, Result};
use crate::lifecycle::{Output, RunResult};
use crate::ui;
use crate::workspace::Workspace;

use super::{Action, ComposePlan, Decision, Made, Target, UpOptions, check_ports, run_by_exec};

/// Brings the service up as `decision` says and runs what is due in it.
#[allow(clippy::too_many_arguments)]
pub(super) fn bring_up(
    engine: &Engine,
    ws: &Workspace,
    target: &Target,
    plan: &ComposePlan,
    options: &UpOptions,
    decision: &Decision,
    info: Option<&ContainerInfo>,
    output: &Output,
) -> Result<(Made, Action, RunResult)> {
    if let (Decision::Reuse, Some(info)) = (decision, info) {
        let result = run_by_exec(engine, ws, target, info, output)?;
        return Ok((Made::of(info), Action::Reused, result));
    }
    check_ports(engine, target, info)?;
    write_override(target, plan)?;
    let mut args = project_args(target, plan);
    args.extend(["up".into(), "-d".into()]);
    if options.rebuild {
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
    run_compose(engine, &args, "up", plan)?;
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
    let stderr = tail[tail.len().saturating_sub(10)..].join("\n");
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

/// Writes the override file (JSON, which Compose reads as YAML) into devboot's cache: the
/// folder 0700 and the file 0600, as the file holds the container's variables.
fn write_override(target: &Target, plan: &ComposePlan) -> Result<()> {
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
    if let Some(user) = &spec.user {
        fields.insert("user".into(), user.clone().into());
    }
    if spec.override_command {
        fields.insert(
            "entrypoint".into(),
            container::keep_alive_entrypoint().into(),
        );
    }
    let volumes: Vec<serde_json::Value> = spec.mounts.iter().map(|m| volume(m)).collect();
    if !volumes.is_empty() {
        fields.insert("volumes".into(), volumes.clone().into());
    }
    if spec.privileged {
        fields.insert("privileged".into(), true.into());
    }
    if !spec.cap_add.is_empty() {
        fields.insert("cap_add".into(), spec.cap_add.clone().into());
    }
    if !spec.security_opt.is_empty() {
        fields.insert("security_opt".into(), spec.security_opt.clone().into());
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
    write_private(&override_path(target), &text)
}

/// Writes `text` to `path` readable by its owner only, through a new file renamed into
/// place (an older, wider file is never written through).
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create", dir, e))?;
    // A folder an older devboot made with the default mode.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("protect", dir, e))?;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io("write", path, e))
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
    use super::volume;

    #[test]
    fn the_override_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("compose");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = folder.join("x.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::write_private(&path, "{}").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&folder), mode(&path)), (0o700, 0o600));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
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
