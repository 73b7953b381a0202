//! The `devcontainer.metadata` label, as the reference CLI writes and reads it: a JSON array
//! of entries, the base image's first, then one per Feature in install order (`id` = the
//! id as the user wrote it), then the config's own. devboot writes it on the images it
//! extends and on their containers, so VS Code and the reference CLI see the same merged
//! config; it reads it back for what the Features add to a container (run flags, mounts,
//! entrypoints) and to its lifecycle (hooks that run before the config's own).

use serde_json::{Map, Value};

use super::metadata::{HOOKS, Metadata};
use crate::container::FromImage;
use crate::workspace::{Command, EnvMap, Lane, Phase, Stage, Workspace};

pub const LABEL: &str = "devcontainer.metadata";

/// One entry of the label.
pub type Entry = Map<String, Value>;

/// What a Feature entry carries, in the reference CLI's order.
const FEATURE_KEYS: [&str; 12] = [
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "entrypoint",
    "mounts",
    "customizations",
];

/// What the config's own entry carries, in the reference CLI's order.
const CONFIG_KEYS: [&str; 24] = [
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
    "waitFor",
    "customizations",
    "mounts",
    "containerEnv",
    "containerUser",
    "init",
    "privileged",
    "capAdd",
    "securityOpt",
    "remoteUser",
    "userEnvProbe",
    "remoteEnv",
    "overrideCommand",
    "portsAttributes",
    "otherPortsAttributes",
    "forwardPorts",
    "shutdownAction",
    "updateRemoteUserUID",
    "hostRequirements",
];

/// The entries of a label's text: an array of objects, or one object (older images).
/// Anything else reads as no entries: a label is a hint from an image, never an error.
pub fn parse(text: &str) -> Vec<Entry> {
    match serde_json::from_str(text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .collect(),
        Ok(Value::Object(o)) => vec![o],
        _ => Vec::new(),
    }
}

/// The label's text.
pub fn write(entries: &[Entry]) -> String {
    let list: Vec<Value> = entries.iter().cloned().map(Value::Object).collect();
    serde_json::to_string(&Value::Array(list)).expect("JSON values always serialize")
}

/// A Feature's entry: `id` as the user wrote it, then what the Feature adds.
pub fn feature_entry(user_id: &str, metadata: &Metadata) -> Entry {
    let mut entry = Entry::new();
    entry.insert("id".into(), Value::String(user_id.to_string()));
    if let Value::Object(raw) = &metadata.raw {
        pick(&mut entry, raw, &FEATURE_KEYS);
    }
    entry
}

/// The config's own entry: the properties it sets that the label keeps, as written.
pub fn config_entry(config: &Map<String, Value>) -> Entry {
    let mut entry = Entry::new();
    pick(&mut entry, config, &CONFIG_KEYS);
    entry
}

fn pick(entry: &mut Entry, from: &Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key) {
            entry.insert((*key).to_string(), value.clone());
        }
    }
}

/// What an image's entries (all but the config's own) add to its containers: flags,
/// mounts (`${devcontainerId}` substituted; one per target, the last wins) and entrypoints
/// for `docker run`, and the hooks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Adds {
    pub run: FromImage,
    /// The hooks, as stages, in the order they run (entry by entry, then by hook).
    pub stages: Vec<Stage>,
}

/// Merges what the entries add. The config's own entry is not among them: devboot reads
/// the config itself, which may have changed since the image was built.
pub fn adds(entries: &[Entry], devcontainer_id: &str) -> Adds {
    let mut adds = Adds::default();
    let substitute = |s: &str| s.replace("${devcontainerId}", devcontainer_id);
    let mut mounts: Vec<(String, String)> = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        let flag = |key: &str| entry.get(key).and_then(Value::as_bool) == Some(true);
        adds.run.init |= flag("init");
        adds.run.privileged |= flag("privileged");
        union(&mut adds.run.cap_add, entry.get("capAdd"));
        union(&mut adds.run.security_opt, entry.get("securityOpt"));
        if let Some(Value::String(e)) = entry.get("entrypoint")
            && !e.trim().is_empty()
        {
            adds.run.entrypoints.push(substitute(e));
        }
        for mount in entry
            .get("mounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(value) = mount_value(mount, &substitute) {
                let target = crate::mount::source_target(&value).1.unwrap_or_default();
                mounts.retain(|(t, _)| *t != target);
                mounts.push((target, value));
            }
        }
        let origin = entry
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("image entry {}", n + 1), String::from);
        for (hook, phase) in HOOKS.iter().zip(PHASES) {
            if let Some(stage) = entry
                .get(*hook)
                .and_then(|v| stage(&origin, hook, phase, v))
            {
                adds.stages.push(stage);
            }
        }
    }
    adds.run.mounts = mounts.into_iter().map(|(_, v)| v).collect();
    adds
}

const PHASES: [Phase; 5] = [
    Phase::OnCreateCommand,
    Phase::UpdateContentCommand,
    Phase::PostCreateCommand,
    Phase::PostStartCommand,
    Phase::PostAttachCommand,
];

fn union(into: &mut Vec<String>, value: Option<&Value>) {
    for item in value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !into.iter().any(|x| x == item) {
            into.push(item.to_string());
        }
    }
}

/// A mount entry (a `--mount` string or an object) as a `--mount` value.
fn mount_value(mount: &Value, substitute: &dyn Fn(&str) -> String) -> Option<String> {
    match mount {
        Value::String(s) => Some(substitute(s)),
        Value::Object(o) => {
            let field = |k: &str| o.get(k).and_then(Value::as_str).map(substitute);
            let mut fields = vec![format!("type={}", field("type")?)];
            if let Some(source) = field("source") {
                fields.push(format!("source={source}"));
            }
            fields.push(format!("target={}", field("target")?));
            crate::mount::join(&fields).ok()
        }
        _ => None,
    }
}

/// A hook of an entry as a stage named after its origin: `feature <id>: <hook>`. Object
/// entries are lanes run side by side, as in the config's own hooks.
fn stage(origin: &str, hook: &str, phase: Phase, value: &Value) -> Option<Stage> {
    let name = format!("{origin}: {hook}");
    let command = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(Command::Shell(s.clone())),
        Value::Array(a) if !a.is_empty() => Some(Command::Exec(
            a.iter().map(super::metadata::text_of).collect::<Vec<_>>(),
        )),
        _ => None,
    };
    let lane = |lane_name: String, command: Command| Lane {
        name: lane_name,
        env: EnvMap::new(),
        steps: vec![crate::workspace::Step { phase, command }],
    };
    let lanes: Vec<Lane> = match value {
        Value::Object(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some(lane(format!("{name} {k}"), command(v)?)))
            .collect(),
        other => command(other)
            .map(|c| lane(name.clone(), c))
            .into_iter()
            .collect(),
    };
    (!lanes.is_empty()).then_some(Stage { name, lanes })
}

/// The workspace with the image's hooks in it: each one's stages go before the config's
/// own stage of the same hook (after the earlier hooks').
pub fn with_hooks(ws: &Workspace, adds: &Adds) -> Workspace {
    let mut out = ws.clone();
    if adds.stages.is_empty() {
        return out;
    }
    let phase_of = |s: &Stage| {
        s.lanes
            .first()
            .and_then(|l| l.steps.first())
            .map(|st| st.phase)
    };
    let mut stages = Vec::new();
    let mut added: Vec<&Stage> = adds.stages.iter().collect();
    for stage in &ws.stages {
        if let Some(phase) = phase_of(stage) {
            // The image's stages of this hook and of every earlier one.
            let (now, later): (Vec<&Stage>, Vec<&Stage>) = added
                .into_iter()
                .partition(|s| phase_of(s).is_some_and(|p| p <= phase && PHASES.contains(&p)));
            stages.extend(now.into_iter().cloned());
            added = later;
        }
        stages.push(stage.clone());
    }
    stages.extend(added.into_iter().cloned());
    out.stages = stages;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(json: &str) -> Vec<Entry> {
        parse(json)
    }

    #[test]
    fn run_flags_merge_as_the_reference_cli_merges_them() {
        let e = entries(
            r#"[{"id":"a","privileged":true,"capAdd":["SYS_PTRACE"],"mounts":[{"type":"volume","source":"v-${devcontainerId}","target":"/var/lib/docker"}]},
                {"id":"b","init":true,"capAdd":["SYS_PTRACE","NET_ADMIN"],"securityOpt":["seccomp=unconfined"],"entrypoint":"/usr/local/share/x.sh","mounts":["type=volume,source=w,target=/var/lib/docker"]}]"#,
        );
        let a = adds(&e, "ID");
        let a = &a.run;
        assert!(a.privileged && a.init);
        assert_eq!(a.cap_add, ["SYS_PTRACE", "NET_ADMIN"]);
        assert_eq!(a.security_opt, ["seccomp=unconfined"]);
        assert_eq!(a.entrypoints, ["/usr/local/share/x.sh"]);
        // One mount per target: the later entry wins.
        assert_eq!(a.mounts, ["type=volume,source=w,target=/var/lib/docker"]);
        let only_first = adds(&e[..1], "ID");
        assert_eq!(
            only_first.run.mounts,
            ["type=volume,source=v-ID,target=/var/lib/docker"]
        );
    }

    #[test]
    fn feature_hooks_run_before_the_configs_own_of_the_same_hook() {
        let ws_stage = |hook: &str, phase: Phase| Stage {
            name: hook.into(),
            lanes: vec![Lane {
                name: hook.into(),
                env: EnvMap::new(),
                steps: vec![crate::workspace::Step {
                    phase,
                    command: Command::Shell("x".into()),
                }],
            }],
        };
        let mut ws = crate::workspace::tests::workspace();
        ws.stages = vec![
            ws_stage("onCreateCommand", Phase::OnCreateCommand),
            ws_stage("postStartCommand", Phase::PostStartCommand),
        ];
        let a = adds(
            &entries(
                r#"[{"id":"ghcr.io/x/node:1","postCreateCommand":"n","postStartCommand":{"one":"1","two":["echo","2"]}},{"id":"./local","onCreateCommand":"l"}]"#,
            ),
            "ID",
        );
        let names: Vec<String> = with_hooks(&ws, &a)
            .stages
            .iter()
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "./local: onCreateCommand",
                "onCreateCommand",
                "ghcr.io/x/node:1: postCreateCommand",
                "ghcr.io/x/node:1: postStartCommand",
                "postStartCommand"
            ]
        );
        let post_start = &a.stages[1];
        assert_eq!(post_start.lanes.len(), 2);
        assert_eq!(
            post_start.lanes[1].steps[0].command,
            Command::Exec(vec!["echo".into(), "2".into()])
        );
    }

    #[test]
    fn the_label_round_trips_and_tolerates_junk() {
        let m = Metadata::parse(
            r#"{"id":"x","version":"1.0.0","privileged":true,"containerEnv":{"A":"1"},"postCreateCommand":"p"}"#,
            "x",
        )
        .unwrap();
        let mut config = Map::new();
        config.insert("image".into(), Value::String("i".into()));
        config.insert("remoteUser".into(), Value::String("u".into()));
        let written = write(&[feature_entry("./x", &m), config_entry(&config)]);
        assert_eq!(
            written,
            r#"[{"id":"./x","postCreateCommand":"p","privileged":true},{"remoteUser":"u"}]"#
        );
        assert_eq!(parse(&written).len(), 2);
        assert!(parse("not json").is_empty());
        assert_eq!(parse(r#"{"remoteUser":"u"}"#).len(), 1);
    }
}
