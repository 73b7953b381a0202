//! Helpers for tests that run devboot against the real container engine: a workspace made
//! from the bundled example, raw HTTP requests to published ports, `docker` queries, and
//! clean-up of every container a test made, also when the test fails.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Run, devboot_bin};

/// The engine CLI the tests use to look behind devboot's back.
pub fn engine() -> String {
    std::env::var("DEVBOOT_ENGINE").unwrap_or_else(|_| "docker".into())
}

/// Fails the test, with what to do, when no engine answers: e2e tests need one
/// (`scripts/test.sh` starts it).
#[track_caller]
pub fn require_engine() {
    let ok = Command::new(engine())
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no container engine answers: run scripts/engine.sh (scripts/test.sh does) first"
    );
}

/// A temporary repository holding the example app, plus config files; its containers
/// are removed when it is dropped. devboot's own files (cache, config) live beside it in
/// the temporary folder.
pub struct Repo {
    dir: tempfile::TempDir,
    /// The workspace folder: the temporary folder itself, or a folder in it.
    root: PathBuf,
    engine: String,
}

impl Repo {
    /// A copy of `examples/cruddur` (the Flask backend, no config).
    pub fn example() -> Repo {
        require_engine();
        Repo::example_on(&engine())
    }

    /// The same, driven through another engine CLI (`podman`).
    pub fn example_on(engine: &str) -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("devboot-e2e-")
            .tempdir()
            .unwrap();
        copy_dir(&example_dir(), dir.path());
        Repo {
            root: dir.path().to_path_buf(),
            dir,
            engine: engine.to_string(),
        }
    }

    /// The example in a folder at `rel` (any name: commas, quotes, line breaks) inside
    /// the temporary folder.
    pub fn example_at(rel: &Path) -> Repo {
        require_engine();
        Repo::example_at_on(rel, &engine())
    }

    /// The same, driven through another engine CLI (`podman`).
    pub fn example_at_on(rel: &Path, engine: &str) -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("devboot-e2e-")
            .tempdir()
            .unwrap();
        let root = dir.path().join(rel);
        std::fs::create_dir_all(&root).unwrap();
        copy_dir(&example_dir(), &root);
        Repo {
            dir,
            root,
            engine: engine.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The temporary folder the repository is in (its own folder, or the one above).
    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the repository.
    pub fn write(&self, rel: &str, contents: &str) -> &Self {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Runs devboot with `--workspace-folder` set to the repository.
    pub fn devboot<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.devboot_env(args, &[])
    }

    pub fn devboot_env<I, S>(&self, args: I, env: &[(&str, &str)]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let out = self.command(args, env).output().unwrap();
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.root.clone(),
        }
    }

    /// The command `devboot_env` runs, for a test that runs it its own way (in a terminal).
    pub fn command<I, S>(&self, args: I, env: &[(&str, &str)]) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut cmd = Command::new(devboot_bin());
        let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_string()).collect();
        // The workspace folder goes first: after the args it would end up in `exec`'s command.
        cmd.arg("--workspace-folder")
            .arg(&self.root)
            .args(&args)
            .env("NO_COLOR", "1")
            .env("DEVBOOT_ENGINE", &self.engine)
            // Keep devboot's own files (locks, persisted env) inside the test.
            .env("XDG_CACHE_HOME", self.dir.path().join(".test-cache"))
            .env("XDG_CONFIG_HOME", self.dir.path().join(".test-config"));
        for var in [
            "GITPOD_WORKSPACE_ID",
            "GITPOD_WORKSPACE_CLUSTER_HOST",
            "CODESPACES",
            "CODESPACE_NAME",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Makes the container the reference CLI would for this repository's devcontainer.json
    /// (its labels, the workspace mount, its keep-alive entrypoint; no devboot state
    /// folder, nothing published) and returns its id.
    pub fn run_as_the_reference_cli_would(&self) -> String {
        let folder = self.path().display().to_string();
        let config = format!("{folder}/.devcontainer/devcontainer.json");
        let id = self.engine_cmd(&[
            "run",
            "-d",
            "--label",
            &format!("devcontainer.local_folder={folder}"),
            "--label",
            &format!("devcontainer.config_file={config}"),
            "--mount",
            &format!(
                "type=bind,source={folder},target=/workspaces/{}",
                self.path().file_name().unwrap().to_string_lossy()
            ),
            "--entrypoint",
            "/bin/sh",
            "devboot/python-flask:bookworm",
            "-c",
            "trap 'exit 0' 15; while sleep 1 & wait $!; do :; done",
        ]);
        let id = id.trim().to_string();
        assert!(!id.is_empty(), "the reference CLI's container was not made");
        id
    }

    /// Ids of the containers devboot made for this repository.
    pub fn containers(&self) -> Vec<String> {
        let filter = self.filter(&format!(
            "label=devcontainer.local_folder={}",
            self.root.display()
        ));
        self.engine_lines(&["ps", "-a", "-q", "--no-trunc", "--filter", &filter])
    }

    /// A `--filter` value: podman reads it as a CSV list, so a folder with a `,` or `"` is
    /// quoted there (docker takes it whole).
    fn filter(&self, text: &str) -> String {
        if self.engine == "podman" && text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }

    /// The one container of this repository.
    #[track_caller]
    pub fn container(&self) -> String {
        let ids = self.containers();
        assert_eq!(
            ids.len(),
            1,
            "expected exactly one container, found {ids:?}"
        );
        ids[0].clone()
    }

    /// Runs a shell command in the container (behind devboot's back) and returns stdout.
    pub fn sh(&self, script: &str) -> String {
        let out = Command::new(&self.engine)
            .args(["exec", &self.container(), "sh", "-c", script])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// How many lines a file in the container has (0 when it does not exist): counts runs
    /// of hooks that append a line each.
    pub fn count(&self, path: &str) -> usize {
        self.sh(&format!("cat {path} 2>/dev/null")).lines().count()
    }

    pub fn engine_cmd(&self, args: &[&str]) -> String {
        let out = Command::new(&self.engine).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The lines an engine command prints (ids, tags).
    fn engine_lines(&self, args: &[&str]) -> Vec<String> {
        self.engine_cmd(args).lines().map(String::from).collect()
    }

    /// The Docker Compose project of a compose config under `.devcontainer/` here (the
    /// reference CLI's rule: `<folder name>_devcontainer`, lowercased, `a-z0-9_-` only).
    pub fn compose_project(&self) -> String {
        let name = self.root.file_name().unwrap().to_string_lossy();
        format!("{name}_devcontainer")
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
            .collect()
    }

    /// Ids of the containers of this repository's Compose project (all its services).
    pub fn compose_containers(&self) -> Vec<String> {
        let filter = format!(
            "label=com.docker.compose.project={}",
            self.compose_project()
        );
        self.engine_lines(&["ps", "-a", "-q", "--filter", &self.filter(&filter)])
    }

    /// Tags of the images devboot built for this repository.
    pub fn images(&self) -> Vec<String> {
        let filter = self.filter(&format!(
            "label=devboot.local_folder={}",
            self.root.display()
        ));
        self.engine_lines(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &filter,
        ])
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        // devboot's containers, and a Compose project's other services and network.
        for id in self
            .containers()
            .into_iter()
            .chain(self.compose_containers())
        {
            self.engine_cmd(&["rm", "-f", "-v", &id]);
        }
        self.engine_cmd(&[
            "network",
            "rm",
            &format!("{}_default", self.compose_project()),
        ]);
        // Each test's build is labelled with its own folder: nothing else uses it. By tag,
        // so that an image another tag shares stays.
        for tag in self.images() {
            self.engine_cmd(&["rmi", &tag]);
        }
        // The images named after the test's temporary folder (`devboot-e2e-` and a random
        // suffix), which carry no such label: the user-ids image and a Compose service's.
        let folder = self
            .dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase();
        for tag in self.engine_lines(&["images", "--format", "{{.Repository}}:{{.Tag}}"]) {
            if tag.contains(&folder) {
                self.engine_cmd(&["rmi", &tag]);
            }
        }
    }
}

pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cruddur")
}

pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/configs")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// An HTTP response, as far as the tests care.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A plain HTTP/1.0 GET to `host:port`, with extra headers.
pub fn get(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n");
    for (k, v) in headers {
        let _ = write!(request, "{k}: {v}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_string(),
    })
}

/// GETs until the answer is 200 or `timeout` passes (right after `--no-wait`, or after a
/// restart behind devboot's back).
pub fn get_ok(port: u16, path: &str, headers: &[(&str, &str)], timeout: Duration) -> Response {
    let deadline = Instant::now() + timeout;
    loop {
        match get("127.0.0.1", port, path, headers) {
            Ok(r) if r.status == 200 => return r,
            other if Instant::now() > deadline => {
                panic!("no 200 from port {port}{path}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The example's home feed is served on `port` (within 10 s).
#[track_caller]
pub fn assert_serves_feed(port: u16) {
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));
}

/// Checks that the body is the example's home feed: a JSON array of 3 activities.
#[track_caller]
pub fn assert_home_feed(response: &Response) {
    assert_eq!(response.status, 200, "{response:?}");
    let feed = response.json();
    let items = feed.as_array().expect("a JSON array");
    assert_eq!(items.len(), 3, "{feed}");
    assert_eq!(items[0]["uuid"], "68f126b0-1ceb-4a33-88be-d90fa7109eee");
}
