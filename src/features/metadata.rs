//! A Feature's `devcontainer-feature.json`: what it is, its options, and what it adds to the
//! workspace (env, mounts, run flags, entrypoint, lifecycle hooks, dependencies). Read from
//! the Feature's folder, or from the manifest annotation a registry keeps it in.

use serde_json::{Map, Value};

use super::FeatureError;

/// The lifecycle hooks a Feature may carry, in the order the spec runs them.
pub const HOOKS: [&str; 5] = [
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
];

/// A parsed `devcontainer-feature.json`. Order is kept where it matters (options are
/// declared, env is baked, dependencies are listed in the file's order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    pub id: String,
    pub version: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub documentation_url: Option<String>,
    pub options: Vec<(String, OptionSpec)>,
    pub container_env: Vec<(String, String)>,
    /// `docker run --mount` strings or mount objects, as written.
    pub mounts: Vec<Value>,
    pub privileged: Option<bool>,
    pub init: Option<bool>,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    pub entrypoint: Option<String>,
    pub customizations: Option<Value>,
    /// `dependsOn`: id as written → its value (options, like the config's `features`).
    pub depends_on: Vec<(String, Value)>,
    pub installs_after: Vec<String>,
    pub legacy_ids: Vec<String>,
    pub current_id: Option<String>,
    pub deprecated: bool,
    /// The lifecycle hooks, by key (one of [`HOOKS`]), as written.
    pub hooks: Vec<(String, Value)>,
    /// The whole file, for the image label and `config --json`.
    pub raw: Value,
}

/// One declared option.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptionSpec {
    /// `string` or `boolean`.
    pub kind: String,
    pub default: Option<Value>,
    pub description: Option<String>,
    /// `enum`: the only values allowed.
    pub allowed: Vec<String>,
    /// `proposals`: suggested values, others allowed.
    pub proposals: Vec<String>,
}

impl Metadata {
    /// Parses the file's text; `shown` names the Feature in errors.
    pub fn parse(text: &str, shown: &str) -> Result<Metadata, FeatureError> {
        let invalid = |reason: String| {
            FeatureError::Invalid {
            id: shown.to_string(),
            reason,
            help: "the Feature's author must fix its devcontainer-feature.json; pin an older version meanwhile".into(),
        }
        };
        let raw: Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("devcontainer-feature.json is not JSON: {e}")))?;
        let Value::Object(object) = &raw else {
            return Err(invalid(
                "devcontainer-feature.json is not a JSON object".into(),
            ));
        };
        let id = string(object, "id")
            .ok_or_else(|| invalid("devcontainer-feature.json has no `id`".into()))?;
        let mut options = Vec::new();
        if let Some(Value::Object(declared)) = object.get("options") {
            for (name, spec) in declared {
                options.push((name.clone(), option_spec(spec)));
            }
        }
        let container_env = match object.get("containerEnv") {
            Some(Value::Object(env)) => env.iter().map(|(k, v)| (k.clone(), text_of(v))).collect(),
            _ => Vec::new(),
        };
        let depends_on = match object.get("dependsOn") {
            Some(Value::Object(deps)) => deps.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => Vec::new(),
        };
        let hooks = HOOKS
            .iter()
            .filter_map(|key| object.get(*key).map(|v| ((*key).to_string(), v.clone())))
            .collect();
        Ok(Metadata {
            id,
            version: string(object, "version"),
            name: string(object, "name"),
            description: string(object, "description"),
            documentation_url: string(object, "documentationURL"),
            options,
            container_env,
            mounts: match object.get("mounts") {
                Some(Value::Array(m)) => m.clone(),
                _ => Vec::new(),
            },
            privileged: object.get("privileged").and_then(Value::as_bool),
            init: object.get("init").and_then(Value::as_bool),
            cap_add: strings(object, "capAdd"),
            security_opt: strings(object, "securityOpt"),
            entrypoint: string(object, "entrypoint"),
            customizations: object.get("customizations").cloned(),
            depends_on,
            installs_after: strings(object, "installsAfter"),
            legacy_ids: strings(object, "legacyIds"),
            current_id: string(object, "currentId"),
            deprecated: object
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            hooks,
            raw: raw.clone(),
        })
    }
}

fn option_spec(spec: &Value) -> OptionSpec {
    let empty = Map::new();
    let object = spec.as_object().unwrap_or(&empty);
    OptionSpec {
        kind: string(object, "type").unwrap_or_else(|| "string".into()),
        default: object.get("default").cloned(),
        description: string(object, "description"),
        allowed: strings(object, "enum"),
        proposals: strings(object, "proposals"),
    }
}

fn string(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(String::from)
}

fn strings(object: &Map<String, Value>, key: &str) -> Vec<String> {
    match object.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A JSON value as an env value: strings as they are, anything else as JSON.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/devcontainers-features/src"
    );

    #[test]
    fn docker_in_docker_says_what_it_adds_to_the_workspace() {
        let path = format!("{CORPUS}/docker-in-docker/devcontainer-feature.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {path} is not here");
            return;
        };
        let m = Metadata::parse(&text, "docker-in-docker").unwrap();
        assert_eq!(m.id, "docker-in-docker");
        assert_eq!(m.privileged, Some(true));
        assert_eq!(
            m.entrypoint.as_deref(),
            Some("/usr/local/share/docker-init.sh")
        );
        assert!(
            m.container_env
                .contains(&("DOCKER_BUILDKIT".into(), "1".into()))
        );
        assert_eq!(m.mounts.len(), 2);
        assert!(
            m.installs_after
                .contains(&"ghcr.io/devcontainers/features/common-utils".to_string())
        );
        assert_eq!(m.options[0].0, "version");
    }

    #[test]
    fn every_upstream_feature_parses() {
        let Ok(entries) = std::fs::read_dir(CORPUS) else {
            eprintln!("skipped: {CORPUS} is not here");
            return;
        };
        let mut n = 0;
        for entry in entries {
            let path = entry.unwrap().path().join("devcontainer-feature.json");
            let text = std::fs::read_to_string(&path).unwrap();
            let m = Metadata::parse(&text, &path.display().to_string()).unwrap();
            assert!(!m.id.is_empty());
            n += 1;
        }
        assert!(n >= 20, "{n}");
    }

    #[test]
    fn a_file_without_an_id_is_an_error_naming_the_feature() {
        let err = Metadata::parse("{\"version\": \"1\"}", "./local").unwrap_err();
        assert!(err.to_string().contains("./local"), "{err}");
        assert!(err.to_string().contains("no `id`"), "{err}");
    }
}
