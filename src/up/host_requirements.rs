//! devcontainer `hostRequirements`, checked before a new container is made (never on a
//! warm `up`: it costs one engine call): the engine's machine's CPUs and memory (`info`),
//! the free space where the engine keeps its data (when that folder is on this machine),
//! and a GPU runtime. What is short is a warning, or with `up --strict` an error before
//! anything is made; a GPU the config needs and the engine has is asked for with
//! `--gpus all`.

use serde_json::Value;

use crate::engine::{Engine, EngineKind};
use crate::error::{Error, Result};
use crate::workspace::{Gpu, HostRequirements, Size};

/// What the engine says of its machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Host {
    pub cpus: Option<u64>,
    pub memory: Option<u64>,
    /// Free bytes where the engine keeps its data, when that is known.
    pub storage: Option<u64>,
    pub gpu_runtime: bool,
}

/// Reads `info` (docker's or podman's shape).
fn host(engine: &Engine) -> Result<Host> {
    let (args, root_key): (&[&str], _) = match engine.kind {
        EngineKind::Docker => (&["info", "--format", "{{json .}}"], "/DockerRootDir"),
        EngineKind::Podman => (&["info", "--format", "json"], "/store/graphRoot"),
    };
    let text = engine.call(args)?;
    let info: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    Ok(from_info(&info, root_key, free_space))
}

/// The host from an `info` document; `free` tells the free bytes of a folder on this
/// machine (`None`: not here, as with a remote engine).
fn from_info(info: &Value, root_key: &str, free: fn(&str) -> Option<u64>) -> Host {
    let number = |pointers: &[&str]| {
        pointers
            .iter()
            .find_map(|p| info.pointer(p).and_then(Value::as_u64))
    };
    let runtimes = info.pointer("/Runtimes").and_then(Value::as_object);
    Host {
        cpus: number(&["/NCPU", "/host/cpus"]),
        memory: number(&["/MemTotal", "/host/memTotal"]),
        storage: info
            .pointer(root_key)
            .and_then(Value::as_str)
            .and_then(free),
        gpu_runtime: runtimes.is_some_and(|r| r.contains_key("nvidia")),
    }
}

/// Free bytes of the file system holding `path`, if it is on this machine.
fn free_space(path: &str) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

/// What the check found: lines to say, and whether the container gets `--gpus all`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Verdict {
    pub short: Vec<String>,
    pub notes: Vec<String>,
    pub gpus: bool,
}

/// Compares; pure.
fn judge(wants: &HostRequirements, host: &Host) -> Verdict {
    let mut v = Verdict::default();
    if let (Some(want), Some(have)) = (wants.cpus, host.cpus)
        && want > have
    {
        v.short.push(format!(
            "the config asks for {want} CPUs; the engine's machine has {have}"
        ));
    }
    for (what, want, have) in [
        ("memory", wants.memory, host.memory),
        ("storage", wants.storage, host.storage),
    ] {
        let Some(want) = want else { continue };
        match have {
            Some(have) if want.0 > have => v.short.push(format!(
                "the config asks for {want} of {what}; the engine's machine has {}",
                Size(have)
            )),
            Some(_) => {}
            None => v
                .notes
                .push(format!("{what} was not checked: the engine does not say")),
        }
    }
    match (wants.gpu, host.gpu_runtime) {
        (Gpu::Required | Gpu::Optional, true) => v.gpus = true,
        (Gpu::Required, false) => v
            .short
            .push("the config needs a GPU; the engine has no GPU runtime (nvidia)".to_string()),
        (Gpu::Optional, false) => v
            .notes
            .push("no GPU runtime here: the container runs without a GPU (gpu: optional)".into()),
        (Gpu::None, _) => {}
    }
    v
}

/// Checks `wants` against the engine's machine: says what is short (an error with
/// `strict`, or when a GPU is required and missing, since the container cannot do without
/// it) and returns whether to ask for GPUs.
pub(super) fn check(engine: &Engine, wants: &HostRequirements, strict: bool) -> Result<bool> {
    let verdict = judge(wants, &host(engine)?);
    for note in &verdict.notes {
        crate::ui::note(&format!("hostRequirements: {note}"));
    }
    let gpu_missing = wants.gpu == Gpu::Required && !verdict.gpus;
    if !verdict.short.is_empty() && (strict || gpu_missing) {
        return Err(Error::Usage {
            message: format!(
                "this machine does not meet the config's hostRequirements: {}",
                verdict.short.join("; ")
            ),
            help: Some(if gpu_missing && !strict {
                "run it where the engine has a GPU runtime, or make the GPU \"optional\"".into()
            } else {
                "run it on a bigger machine, or lower hostRequirements; without --strict, up goes on with a warning".into()
            }),
        });
    }
    for short in &verdict.short {
        crate::ui::warning(&format!("hostRequirements: {short}"));
    }
    Ok(verdict.gpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wants(json: &str) -> HostRequirements {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn sizes_are_read_as_the_schema_writes_them() {
        assert_eq!(Size::parse("4gb"), Some(Size(4 << 30)));
        assert_eq!(Size::parse("512mb"), Some(Size(512 << 20)));
        assert_eq!(Size::parse("1tb"), Some(Size(1 << 40)));
        assert_eq!(Size::parse("1024"), Some(Size(1024)));
        for bad in ["4 gigs", "4GB", "gb", "-1gb", "4g"] {
            assert_eq!(Size::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_info_of_docker_and_podman_is_read() {
        let docker = serde_json::json!({"NCPU": 2, "MemTotal": 25_000_000_000_u64, "DockerRootDir": "/x", "Runtimes": {"runc": {}, "nvidia": {}}});
        let host = from_info(&docker, "/DockerRootDir", |_| Some(7));
        assert_eq!(
            host,
            Host {
                cpus: Some(2),
                memory: Some(25_000_000_000),
                storage: Some(7),
                gpu_runtime: true
            }
        );
        let podman = serde_json::json!({"host": {"cpus": 4, "memTotal": 1000}, "store": {"graphRoot": "/y"}});
        let host = from_info(&podman, "/store/graphRoot", |_| None);
        assert_eq!(
            (host.cpus, host.memory, host.storage),
            (Some(4), Some(1000), None)
        );
        assert!(!host.gpu_runtime);
    }

    #[test]
    fn what_is_short_is_named_and_what_is_unknown_is_said() {
        let host = Host {
            cpus: Some(2),
            memory: Some(8 << 30),
            storage: None,
            gpu_runtime: false,
        };
        let v = judge(
            &wants(r#"{"cpus": 64, "memory": "4gb", "storage": "1tb", "gpu": "optional"}"#),
            &host,
        );
        assert_eq!(
            v.short,
            ["the config asks for 64 CPUs; the engine's machine has 2"]
        );
        assert_eq!(v.notes.len(), 2, "{:?}", v.notes);
        assert!(!v.gpus);
        let v = judge(&wants(r#"{"memory": "16gb", "gpu": true}"#), &host);
        assert_eq!(v.short.len(), 2, "{:?}", v.short);
        assert!(v.short[0].contains("16.0 GiB of memory"), "{:?}", v.short);
    }
}
