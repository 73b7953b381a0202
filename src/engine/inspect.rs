//! The parts of `docker container inspect` JSON devboot reads. Podman writes the same
//! field names for these.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInfo {
    pub id: String,
    /// `/name` as docker writes it.
    #[serde(default)]
    pub name: String,
    /// Creation time as the engine prints it; the reference CLI stores exactly this text
    /// in its run-once markers, and so does devboot.
    pub created: String,
    pub state: ContainerState,
    pub config: ContainerConfig,
    #[serde(default)]
    pub network_settings: NetworkSettings,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mounts: Vec<MountInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountInfo {
    #[serde(default)]
    pub destination: String,
}

/// The parts of `docker image inspect` devboot reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ImageInfo {
    #[serde(default)]
    pub(super) config: ImageConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default, deserialize_with = "null_as_default")]
    pub entrypoint: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cmd: Vec<String>,
    /// The image's `USER` (empty: root).
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    pub status: String,
    #[serde(default)]
    pub running: bool,
    /// Start time of the current (or last) run; the `postStart` marker holds it.
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub exit_code: i64,
    /// The main process's pid as the engine's machine sees it (0 when not running).
    #[serde(default)]
    pub pid: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub user: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// `"4567/tcp"` → the host bindings of that container port.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: BTreeMap<String, Option<Vec<PortBinding>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    #[serde(default)]
    pub host_ip: String,
    #[serde(default)]
    pub host_port: String,
}

impl ContainerInfo {
    /// The container's name without docker's leading `/`.
    pub fn short_name(&self) -> &str {
        self.name.trim_start_matches('/')
    }

    /// Whether something is mounted at `destination` in the container.
    pub fn mounts_at(&self, destination: &str) -> bool {
        self.mounts.iter().any(|m| m.destination == destination)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.config.labels.get(key).map(String::as_str)
    }

    /// The container's environment (`Config.Env`) as a map, for `${containerEnv:...}`.
    pub fn env(&self) -> crate::workspace::EnvMap {
        self.config
            .env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_inspect_with_nulls() {
        let json = r#"[{"Id":"abc","Name":"/devboot-x","Created":"2026-11-29T08:33:40.362059872Z",
            "State":{"Status":"running","Running":true,"StartedAt":"2026-11-29T08:33:40.8Z","ExitCode":0},
            "Config":{"Image":"img","User":"","Env":null,"Labels":{"a":"b"}},
            "NetworkSettings":{"Ports":{"4567/tcp":[{"HostIp":"127.0.0.1","HostPort":"4567"}],"22/tcp":null}}}]"#;
        let list: Vec<ContainerInfo> = serde_json::from_str(json).unwrap();
        let info = &list[0];
        assert_eq!(info.short_name(), "devboot-x");
        assert!(info.config.env.is_empty());
        assert_eq!(info.label("a"), Some("b"));
        assert_eq!(
            info.network_settings.ports["4567/tcp"].as_ref().unwrap()[0].host_port,
            "4567"
        );
    }
}
