//! The real parts the fetch tests talk to: the local registry (`scripts/registry.sh`), a push
//! as the OCI distribution API does it, its access log, and a tiny loopback HTTP server for
//! what docker-registry cannot play (a token service, a tarball host, a registry that alters
//! bytes). Nothing here reaches beyond loopback.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use devboot::features::fetch::Fetcher;
use devboot::features::reference::{OciRef, Version};
use devboot::workspace::EnvMap;
use sha2::{Digest, Sha256};

/// The registry `scripts/registry.sh` runs (started, or reused).
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub port: u16,
    /// Its access log: one line per request.
    pub log: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/registry.sh")
}

/// The local registry, or `None` (the reason printed) when docker-registry cannot be
/// installed here. Any other failure fails the test.
pub fn registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let out = Command::new(script()).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() {
                let installed = ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"]
                    .iter()
                    .any(|p| Path::new(p).exists());
                assert!(!installed, "scripts/registry.sh failed:\n{stderr}");
                eprintln!("skipped: docker-registry cannot be installed here:\n{stderr}");
                return None;
            }
            let addr = String::from_utf8(out.stdout).unwrap().trim().to_string();
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            let dir = std::env::var("DEVBOOT_TEST_REGISTRY_DIR")
                .unwrap_or_else(|_| "/tmp/devboot-registry".into());
            Some(Registry {
                addr,
                port,
                log: PathBuf::from(dir).join("registry.log"),
            })
        })
        .as_ref()
}

/// A name part no other run (of this or another checkout) uses: the registry's storage
/// outlives test runs, and the reference CLI skips versions a repository already has.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        format!("run{}x{nanos}", std::process::id())
    })
}

/// Publishes a Feature folder with the reference CLI (`devcontainer features publish`).
pub fn publish_with_reference_cli(dir: &Path, namespace: &str) {
    let out = Command::new(script())
        .arg("--publish")
        .arg(dir)
        .arg(namespace)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "publish failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cmd` run where ghcr.io is the local registry (`scripts/registry.sh --as-ghcr`: a private
/// network and mount namespace, TLS with a throwaway CA the command trusts through
/// `NODE_EXTRA_CA_CERTS`). For the reference CLI, which has no mirror setting.
pub fn as_ghcr(cmd: &Path) -> Command {
    let mut command = Command::new(script());
    command.arg("--as-ghcr").arg(cmd);
    command
}

/// A Fetcher caching under `cache`, with a clean environment (no docker config, no
/// proxies) plus `extra`.
pub fn fetcher(cache: &Path, extra: &[(&str, &str)]) -> Fetcher {
    Fetcher::new(cache, &env(cache, extra))
}

pub fn env(home: &Path, extra: &[(&str, &str)]) -> EnvMap {
    let mut env = EnvMap::new();
    env.insert("HOME".into(), home.display().to_string());
    env.insert("PATH".into(), "/usr/bin:/bin".into());
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    env
}

pub fn oci(registry: &str, repo: &str, version: Version) -> OciRef {
    let (namespace, id) = repo.rsplit_once('/').unwrap();
    OciRef {
        registry: registry.into(),
        namespace: namespace.into(),
        id: id.into(),
        version,
    }
}

pub fn tag(t: &str) -> Version {
    Version::Tag(t.into())
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::from("sha256:"), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// A Feature's layer: `./devcontainer-feature.json`, `./install.sh` and `extra` entries,
/// as a tar (gzip when asked).
pub fn feature_tar(id: &str, gzip: bool, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let json = format!(r#"{{"id":"{id}","version":"1.0.0","name":"Test {id}"}}"#);
    let mut builder = tar::Builder::new(Vec::new());
    let files: Vec<(&str, &[u8])> = [
        ("./devcontainer-feature.json", json.as_bytes()),
        ("./install.sh", b"#!/bin/sh\necho installed\n".as_slice()),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect();
    for (name, data) in files {
        append_raw(&mut builder, name, data);
    }
    let tar = builder.into_inner().unwrap();
    if !gzip {
        return tar;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// Appends a file whose name is written byte for byte (`tar::Builder` would drop a leading
/// `./`, and refuses `..`), as node-tar writes `./install.sh`.
fn append_raw(builder: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o755);
    header.set_size(data.len() as u64);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

/// A tar whose one entry is named `name` byte for byte (names `tar::Builder` refuses).
pub fn tar_with_raw_name(name: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    append_raw(&mut builder, name, b"bad");
    builder.into_inner().unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Pushes a Feature as `devcontainer features publish` does (config blob, layer blob,
/// manifest with the devcontainers media types and the metadata annotation) and returns the
/// manifest digest.
pub fn push(
    reg: &Registry,
    repo: &str,
    tag: &str,
    layer: &[u8],
    config_media_type: &str,
) -> String {
    let config = b"{}";
    upload_blob(reg, repo, config);
    upload_blob(reg, repo, layer);
    let id = repo.rsplit('/').next().unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_media_type, "digest": sha256(config), "size": config.len()},
        "layers": [{
            "mediaType": "application/vnd.devcontainers.layer.v1+tar",
            "digest": sha256(layer),
            "size": layer.len(),
            "annotations": {"org.opencontainers.image.title": format!("devcontainer-feature-{id}.tgz")}
        }],
        "annotations": {"dev.containers.metadata": format!(r#"{{"id":"{id}","version":"1.0.0"}}"#)}
    });
    let body = serde_json::to_vec(&manifest).unwrap();
    agent()
        .put(&format!("http://{}/v2/{repo}/manifests/{tag}", reg.addr))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send(&body[..])
        .unwrap();
    sha256(&body)
}

/// Pushes a plain Feature (`feature_tar` of the repository's last segment) as tag `1`.
pub fn push_feature(reg: &Registry, repo: &str) -> String {
    let id = repo.rsplit('/').next().unwrap();
    push(
        reg,
        repo,
        "1",
        &feature_tar(id, false, &[]),
        "application/vnd.devcontainers",
    )
}

fn upload_blob(reg: &Registry, repo: &str, bytes: &[u8]) {
    let start = agent()
        .post(&format!("http://{}/v2/{repo}/blobs/uploads/", reg.addr))
        .send_empty()
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let location = if location.starts_with('/') {
        format!("http://{}{location}", reg.addr)
    } else {
        location
    };
    let join = if location.contains('?') { '&' } else { '?' };
    agent()
        .put(&format!("{location}{join}digest={}", sha256(bytes)))
        .header("Content-Type", "application/octet-stream")
        .send(bytes)
        .unwrap();
}

/// How many requests the access log shows whose request line starts `GET <path>`.
pub fn gets(reg: &Registry, path: &str) -> usize {
    let needle = format!("\"GET {path}");
    std::fs::read_to_string(&reg.log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("127.0.0.1 - ") && l.contains(&needle))
        .count()
}

/// Waits until the access log shows `n` such requests (it is written as each one ends).
#[track_caller]
pub fn wait_for_gets(reg: &Registry, path: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while gets(reg, path) < n {
        assert!(
            Instant::now() < deadline,
            "the access log shows {} GET {path}, not {n}",
            gets(reg, path)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request the tiny server got.
pub struct Req {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A loopback HTTP/1.1 server answering one request per connection; it records every
/// request line (`GET /path`) it gets.
pub struct Server {
    pub port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts it; `handler` gets the server's port (for URLs it hands out) and the request.
    pub fn start(handler: impl Fn(u16, &Req) -> Resp + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&hits);
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = Arc::clone(&handler);
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || answer(stream, port, &*handler, &seen));
            }
        });
        Server { port, hits }
    }

    /// How many requests so far had a request line starting with `prefix` (`GET /token`).
    pub fn hits(&self, prefix: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.starts_with(prefix))
            .count()
    }
}

fn answer(
    stream: TcpStream,
    port: u16,
    handler: &dyn Fn(u16, &Req) -> Resp,
    seen: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    seen.lock().unwrap().push(format!("{method} {path}"));
    let resp = handler(port, &Req { path, headers });
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&resp.body);
}

/// Sends `req` on to the real registry and hands back its answer (status, digest header,
/// body).
pub fn forward(reg: &Registry, req: &Req) -> Resp {
    let mut request = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&format!("http://{}{}", reg.addr, req.path));
    if let Some(accept) = req.header("accept") {
        request = request.header("Accept", accept);
    }
    let mut response = request.call().unwrap();
    let mut resp = Resp::new(
        response.status().as_u16(),
        response.body_mut().read_to_vec().unwrap(),
    );
    if let Some(digest) = response.headers().get("docker-content-digest") {
        resp = resp.with("Docker-Content-Digest", digest.to_str().unwrap());
    }
    resp
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
