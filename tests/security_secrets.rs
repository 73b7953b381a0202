//! Secrets at rest, end to end: a value set with `env set --secret`, one whose name looks
//! secret (`*_KEY`) and a secret-looking `remoteEnv` from the host stand in no argument
//! list while `up` and `exec` run (`ps -eo args`, which every local user can read), and
//! nowhere in `docker inspect` of the container (labels, `Config.Env`) afterwards; the
//! hook and `devboot exec` still see them.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::Repo;

/// A hook that runs long enough for `ps` to see what ran it, then writes what it saw.
const CONFIG: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "waitFor": "postCreateCommand",
  "remoteEnv": { "DB_PASSWORD": "${localEnv:E2E_DB_PASSWORD}" },
  "postCreateCommand": "sleep 2; printf '%s|%s|%s|%s' \"$API_TOKEN\" \"$DEPLOY_KEY\" \"$DB_PASSWORD\" \"$PLAIN\" > .seen"
}
"#;

/// A value no other process has in its arguments.
fn unique(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{what}-{}-{nanos}", std::process::id())
}

/// Runs `work` while a thread reads `ps -eo args` over and over; returns what `work` gave
/// and the start of each process line that held one of `secrets` (once each).
fn watching_ps<T>(secrets: &[&str], work: impl FnOnce() -> T) -> (T, Vec<String>) {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen = Vec::new();
            let mut rounds = 0;
            // At least a few rounds, also when `work` is quick.
            while !done.load(Ordering::Relaxed) || rounds < 3 {
                let out = Command::new("ps").args(["-eo", "args"]).output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                for line in text.lines() {
                    if secrets.iter().any(|s| line.contains(s)) {
                        let start: String = line.chars().take(300).collect();
                        if !seen.contains(&start) {
                            seen.push(start);
                        }
                    }
                }
                rounds += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        (result, watcher.join().unwrap())
    })
}

/// The three secrets of a test: persisted with `--secret`, persisted with a secret-looking
/// name, and a secret-looking `remoteEnv` from the host.
struct Secrets {
    token: String,
    key: String,
    password: String,
}

impl Secrets {
    /// Persists the first two for `repo`.
    fn set(repo: &Repo) -> Secrets {
        let secrets = Secrets {
            token: unique("token"),
            key: unique("key"),
            password: unique("password"),
        };
        repo.devboot([
            "env",
            "set",
            "--secret",
            &format!("API_TOKEN={}", secrets.token),
        ])
        .status(0);
        repo.devboot(["env", "set", &format!("DEPLOY_KEY={}", secrets.key)])
            .status(0);
        secrets
    }

    fn all(&self) -> [&str; 3] {
        [&self.token, &self.key, &self.password]
    }

    /// devboot's environment, for `${localEnv:E2E_DB_PASSWORD}`.
    fn host(&self) -> [(&'static str, &str); 1] {
        [("E2E_DB_PASSWORD", &self.password)]
    }

    /// `up` while `ps` is watched: it succeeds, no process showed a secret, the hook saw
    /// them all (and `PLAIN`), and `docker inspect` shows none.
    #[track_caller]
    fn up_hides_them(&self, repo: &Repo) -> crate::harness::Run {
        let (run, leaked) = watching_ps(&self.all(), || {
            repo.devboot_env(["up", "--json"], &self.host())
        });
        run.status(0);
        assert_eq!(leaked, Vec::<String>::new(), "secrets in `ps` during up");
        let seen = std::fs::read_to_string(repo.path().join(".seen")).unwrap();
        let (token, key, password) = (&self.token, &self.key, &self.password);
        assert_eq!(seen, format!("{token}|{key}|{password}|plain-value"));
        let inspect = repo.engine_cmd(&["container", "inspect", &repo.container()]);
        for secret in self.all() {
            assert!(!inspect.contains(secret), "`docker inspect` shows {secret}");
        }
        run
    }
}

#[test]
fn secrets_stand_in_no_argument_list_label_or_container_env() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", CONFIG);
    let secrets = Secrets::set(&repo);
    repo.devboot(["env", "set", "PLAIN=plain-value"]).status(0);
    let run = secrets.up_hides_them(&repo);
    for secret in secrets.all() {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    let inspect = repo.engine_cmd(&["container", "inspect", &repo.container()]);
    let info: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let env = info[0]["Config"]["Env"].as_array().unwrap();
    assert!(
        env.iter().any(|e| e == "PLAIN=plain-value"),
        "plain variables stay container env: {env:?}"
    );

    // `devboot exec` hands the secrets over the same way.
    let script = "sleep 1; printf '%s|%s|%s' \"$API_TOKEN\" \"$DEPLOY_KEY\" \"$DB_PASSWORD\"";
    let (run, leaked) = watching_ps(&secrets.all(), || {
        repo.devboot_env(["exec", "--", "sh", "-c", script], &secrets.host())
    });
    run.status(0);
    assert_eq!(leaked, Vec::<String>::new(), "secrets in `ps` during exec");
    let (token, key, password) = (&secrets.token, &secrets.key, &secrets.password);
    assert_eq!(run.stdout, format!("{token}|{key}|{password}"));

    // A new secret value makes a new container, which says so without the value.
    let new_token = unique("new-token");
    repo.devboot(["env", "set", "--secret", &format!("API_TOKEN={new_token}")])
        .status(0);
    let run = repo.devboot_env(["up", "--json"], &secrets.host());
    run.status(0).stderr_has("env API_TOKEN changed");
    assert_eq!(run.json()["action"], "recreated");
    let inspect = repo.engine_cmd(&["container", "inspect", &repo.container()]);
    assert!(!inspect.contains(&new_token) && !run.stderr.contains(&new_token));
    let seen = std::fs::read_to_string(repo.path().join(".seen")).unwrap();
    assert_eq!(seen, format!("{new_token}|{key}|{password}|plain-value"));
}

/// The service and config of a Compose workspace whose hook reports what it sees.
const COMPOSE: &str = r#"version: "3.8"
services:
  app:
    image: devboot/python-flask:bookworm
    init: true
    volumes:
      - ..:/workspaces/app
    command: sleep infinity
"#;

const COMPOSE_CONFIG: &str = r#"{
  "dockerComposeFile": "compose.yml",
  "service": "app",
  "workspaceFolder": "/workspaces/app",
  "containerEnv": { "PLAIN": "plain-value" },
  "remoteEnv": { "DB_PASSWORD": "${localEnv:E2E_DB_PASSWORD}" },
  "postCreateCommand": "sleep 2; printf '%s|%s|%s|%s' \"$API_TOKEN\" \"$DEPLOY_KEY\" \"$DB_PASSWORD\" \"$PLAIN\" > .seen"
}
"#;

/// With Compose the hooks run the exec way (one `docker exec` each), and devboot writes an
/// override file: the secrets are in neither an argument list nor that file, which is
/// private anyway (0600 in a 0700 folder).
#[test]
fn compose_hooks_get_secrets_by_name_and_the_override_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    if !crate::up::compose_cli_here() {
        eprintln!(
            "SKIPPED compose_hooks_get_secrets_by_name_and_the_override_file_is_private: no Compose CLI"
        );
        return;
    }
    let repo = Repo::example();
    repo.write(".devcontainer/compose.yml", COMPOSE);
    repo.write(".devcontainer/devcontainer.json", COMPOSE_CONFIG);
    let secrets = Secrets::set(&repo);
    secrets.up_hides_them(&repo);

    let folder = repo.base().join(".test-cache/devboot/compose");
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&folder), mode(&files[0])), (0o700, 0o600));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    for secret in secrets.all() {
        assert!(!text.contains(secret), "the override file holds {secret}");
    }
}
