//! `gp` in a workspace devboot runs: the real script in a real container (ordered tasks,
//! `gp url`, `gp ports`, `gp env`, an unknown subcommand), the same script on this machine
//! with the facts devboot writes for Gitpod, Codespaces and a local machine (its URLs are
//! `devboot url`'s), and every `gp` call of the wild corpus recognised. Port offsets
//! 36000–36010.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devboot::gp::{Facts, Workspace};
use devboot::ports::{self, Environment};
use devboot::workspace::{EnvMap, Port, Visibility};

use crate::engine::{Repo, assert_serves_feed};
use crate::harness::shared_dir;

const GITPOD: &str = r#"image: devboot/python-flask:bookworm
ports:
  - port: 4567
    name: backend
    visibility: public
tasks:
  - name: slow setup
    init: sleep 2; date +%s.%N > /tmp/slow-done; gp sync-done "slow setup"
  - name: backend
    init: gp sync-await "slow setup" > /tmp/await-said && date +%s.%N > /tmp/backend-started
    command: |
      export BACKEND_URL="$(gp url 4567)"
      echo "$BACKEND_URL" > /tmp/backend-url
      cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
  - name: waiter
    command: |
      gp ports await 4567 > /tmp/await.out
      gp ports list > /tmp/ports.out
      gp url > /tmp/ws-url
      gp tasks list > /tmp/tasks.out
      gp frobnicate 2> /tmp/unknown.err; echo $? > /tmp/unknown.rc
      sleep infinity
"#;

/// Waits until `file` exists in the container (what a task writes when it gets there).
fn wait_file(repo: &Repo, file: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = repo.sh(&format!("cat {file} 2>/dev/null"));
        if !text.is_empty() {
            return text;
        }
        assert!(Instant::now() < deadline, "{file} never came");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn gp_orders_tasks_and_answers_url_ports_and_env_in_a_devboot_container() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    repo.devboot(["env", "set", "PLAIN=one"]).status(0);
    repo.devboot(["env", "set", "--secret", "API_TOKEN=s3cret"])
        .status(0);
    let offset = 36000;
    repo.devboot(["up", "--port-offset", &offset.to_string()])
        .status(0);
    assert_serves_feed(4567 + offset);

    // The waiting task's step started after the other's sync-done.
    let done: f64 = wait_file(&repo, "/tmp/slow-done").trim().parse().unwrap();
    let started: f64 = wait_file(&repo, "/tmp/backend-started")
        .trim()
        .parse()
        .unwrap();
    assert!(started >= done, "started {started} before {done}");
    assert_eq!(wait_file(&repo, "/tmp/await-said"), "slow setup done\n");

    // `gp url 4567` is `devboot url 4567`.
    let url = repo.devboot(["url", "4567"]);
    url.status(0);
    assert_eq!(wait_file(&repo, "/tmp/backend-url"), url.stdout);
    assert_eq!(url.stdout, format!("http://localhost:{}\n", 4567 + offset));
    assert_eq!(wait_file(&repo, "/tmp/ws-url"), "http://localhost\n");

    assert_eq!(
        wait_file(&repo, "/tmp/await.out"),
        "Port 4567 is now open\n"
    );
    let ports = wait_file(&repo, "/tmp/ports.out");
    let row = ports.lines().find(|l| l.starts_with("4567 ")).unwrap();
    for word in ["served", "public", url.stdout.trim(), "backend"] {
        assert!(row.contains(word), "{ports}");
    }
    let tasks = wait_file(&repo, "/tmp/tasks.out");
    assert!(
        tasks
            .lines()
            .any(|l| l.starts_with("backend") && l.ends_with("running")),
        "{tasks}"
    );
    assert!(tasks.contains("slow setup"), "{tasks}");

    assert_eq!(wait_file(&repo, "/tmp/unknown.rc"), "2\n");
    let err = wait_file(&repo, "/tmp/unknown.err");
    assert!(
        err.contains("\"frobnicate\" is not supported") && err.contains("sync-await NAME"),
        "{err}"
    );

    // `gp env`: devboot's variables (a secret masked), then what is set here over them.
    let gp = "/.devboot/bin/gp";
    assert_eq!(
        repo.sh(&format!("{gp} env")),
        "API_TOKEN=********\nPLAIN=one\n"
    );
    repo.sh(&format!("{gp} env 'GREETING=hello world' PLAIN=two"));
    assert_eq!(
        repo.sh(&format!("{gp} env -e")),
        "export API_TOKEN=\"********\"\nexport PLAIN=\"two\"\nexport GREETING=\"hello world\"\n"
    );
    repo.sh(&format!("{gp} env -u GREETING"));
    assert_eq!(
        repo.sh(&format!("{gp} env")),
        "API_TOKEN=********\nPLAIN=two\n"
    );
    // On the host, what the container set stays out of `devboot env` until accepted.
    repo.sh(&format!("{gp} env GITPOD_IP=10.0.0.1"));
    // Setting one never makes a new container; a new one gets them, as Gitpod gives them
    // to the next workspace (the host's own value wins).
    let warm = repo.devboot(["up", "--port-offset", &offset.to_string(), "--json"]);
    assert_eq!(warm.json()["action"], "reused", "{}", warm.stderr);
    repo.devboot(["up", "--port-offset", &offset.to_string(), "--recreate"])
        .status(0);
    let inside = repo.sh("env");
    assert!(
        inside.contains("GITPOD_IP=10.0.0.1\n") && inside.contains("PLAIN=one\n"),
        "{inside}"
    );
    assert!(!inside.contains("GREETING="), "{inside}");
    assert_serves_feed(4567 + offset);
    let env = repo.devboot(["env"]);
    env.status(0)
        .stderr_has("`gp env` set 3 variable(s) inside the container");
    assert!(
        !env.stdout.contains("GITPOD_IP") && env.stdout.contains("PLAIN='one'"),
        "{}",
        env.stdout
    );
    // Not without asking (no terminal here), and never without showing them.
    repo.devboot(["env", "accept"])
        .status(2)
        .stderr_has("set   GITPOD_IP=10.0.0.1")
        .stderr_has("devboot env accept --yes");
    repo.devboot(["env", "accept", "--yes"])
        .status(0)
        .stderr_has("unset GREETING")
        .stderr_has("set   PLAIN=two");
    let env = repo.devboot(["env"]);
    assert!(
        env.stdout.contains("GITPOD_IP='10.0.0.1'") && env.stdout.contains("PLAIN='two'"),
        "{}",
        env.stdout
    );
    assert!(!env.stderr.contains("gp env"), "{}", env.stderr);
    // `gp ports`: expose and private apply at the next up (a new container); public
    // never from inside (published on loopback, with a note).
    repo.sh(&format!(
        "{gp} ports expose 5000; {gp} ports visibility 4567:private; {gp} ports visibility 5000:public"
    ));
    let listed = repo.sh(&format!("{gp} ports list"));
    assert!(
        listed.contains("asked with gp ports") && listed.contains("expose 5000"),
        "{listed}"
    );
    let up = repo.devboot(["up", "--port-offset", &offset.to_string()]);
    up.status(0)
        .stderr_has("recreating")
        .stderr_has("a container cannot open a port to the network");
    let published = repo.engine_cmd(&["port", &repo.container()]);
    assert!(
        published.contains(&format!("4567/tcp -> 127.0.0.1:{}", 4567 + offset))
            && published.contains(&format!("5000/tcp -> 127.0.0.1:{}", 5000 + offset)),
        "{published}"
    );
    assert_serves_feed(4567 + offset);
    // Applied once: the next up keeps the container.
    let warm = repo.devboot(["up", "--port-offset", &offset.to_string(), "--json"]);
    assert_eq!(warm.json()["action"], "reused", "{}", warm.stderr);
    // The script and its facts cannot be changed from inside.
    assert!(
        repo.sh(&format!("echo x >> {gp} && echo changed"))
            .is_empty()
    );
}

fn port(number: u16) -> Port {
    Port {
        visibility: Visibility::Public,
        ..Port::plain(number)
    }
}

/// The script on this machine with the facts devboot writes, in a temporary folder.
struct HostGp {
    dir: tempfile::TempDir,
}

impl HostGp {
    fn new(facts: &Facts) -> HostGp {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in &facts.files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        HostGp { dir }
    }

    /// Runs `gp ARGS`; a command still waiting after `wait` is killed (status `None`).
    fn run(&self, args: &[&str], wait: Duration) -> (Option<i32>, String, String) {
        let root = self.dir.path();
        let mut child = Command::new("sh")
            .arg(root.join("bin/gp"))
            .args(args)
            .env("DEVBOOT_GP_FACTS", root.join("gp"))
            .env("DEVBOOT_GP_OUT", root.join("out"))
            .env("DEVBOOT_GP_SYNC_DIR", root)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + wait;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        (
            status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn gp_url_is_devboot_url_in_gitpod_codespaces_and_locally() {
    let environments: [(&[(&str, &str)], &str); 3] = [
        (
            &[
                ("GITPOD_WORKSPACE_ID", "cruddur-abc123"),
                ("GITPOD_WORKSPACE_CLUSTER_HOST", "ws-eu.gitpod.io"),
            ],
            "https://4667-cruddur-abc123.ws-eu.gitpod.io\n",
        ),
        (
            &[
                ("CODESPACES", "true"),
                ("CODESPACE_NAME", "fluffy-space"),
                ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
            ],
            "https://fluffy-space-4667.app.github.dev\n",
        ),
        (&[], "http://localhost:4667\n"),
    ];
    for (vars, expected) in environments {
        let host_env: EnvMap = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let environment = Environment::detect(&host_env);
        let bindings = ports::bindings(&[port(4567)], 100);
        let facts = Facts::of(&Workspace {
            id: "cruddur",
            environment: &environment,
            bindings: &bindings,
            port_offset: 100,
            lanes: Vec::new(),
            env: &EnvMap::new(),
            secret: &|_| false,
        });
        let gp = HostGp::new(&facts);
        let (status, out, err) = gp.run(&["url", "4567"], Duration::from_secs(10));
        assert_eq!(status, Some(0), "{err}");
        assert_eq!(out, expected);
        // devboot's own `url` command, in the same environment, with the same offset.
        let repo = Repo::example();
        repo.write(
            ".gitpod.yml",
            "image: devboot/python-flask:bookworm\nports:\n  - port: 4567\n",
        );
        let mut env: Vec<(&str, &str)> = vars.to_vec();
        env.push(("DOCKER_HOST", "unix:///nonexistent.sock"));
        let url = repo.devboot_env(["url", "4567", "--port-offset", "100"], &env);
        assert_eq!(url.stdout, out, "{}", url.stderr);
        // A port nobody configured keeps its number plus the offset, in both.
        let (_, other, _) = gp.run(&["url", "8000"], Duration::from_secs(10));
        let url = repo.devboot_env(["url", "8000", "--port-offset", "100"], &env);
        assert_eq!(url.stdout, other);
        // preview rewrites a loopback URL to the port's.
        let (_, preview, _) = gp.run(
            &["preview", "http://localhost:4567/api?x=1"],
            Duration::from_secs(10),
        );
        assert_eq!(preview, format!("{}/api?x=1\n", expected.trim_end()));
    }
}

/// Every `gp` call in the wild corpus, as (file, the words after `gp`): comment lines and
/// text `echo` prints are not calls; a `$(…)`, `${…}` or `$NAME` word becomes `x`.
fn corpus_calls() -> Vec<(String, Vec<String>)> {
    let dir = shared_dir().join("corpus/gitpod-wild");
    let mut calls = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') {
                continue;
            }
            for (at, _) in line.match_indices("gp ") {
                let before = &line[..at];
                let starts_word = before
                    .chars()
                    .last()
                    .is_none_or(|c| " \t;&|(`$:\"'".contains(c));
                let echoed = before.contains("echo ") && !before.contains("$(");
                let call = words(&line[at + 3..]);
                // `gp = __import__(…)`: Python assigning a name, not a command.
                let assignment = call.first().is_some_and(|w| w.starts_with('='));
                if starts_word && !echoed && !assignment {
                    calls.push((name.clone(), call));
                }
            }
        }
    }
    calls
}

/// The words of a shell command up to its end (`;`, `&`, `|`, a backtick, an unmatched `)`).
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut dynamic, mut quote, mut depth) = (String::new(), false, None, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q && depth == 0 => quote = None,
            (None, '"' | '\'') if depth == 0 => quote = Some(c),
            (_, '$') if depth == 0 => {
                dynamic = true;
                if matches!(chars.peek(), Some('(' | '{')) {
                    chars.next();
                    depth = 1;
                }
            }
            (_, '(' | '{') if depth > 0 => depth += 1,
            (_, ')' | '}') if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            (None, ';' | '&' | '|' | '`' | ')') => break,
            (None, ' ' | '\t') => {
                if !word.is_empty() || dynamic {
                    words.push(finish(&word, dynamic));
                }
                (word, dynamic) = (String::new(), false);
            }
            _ => {
                if !dynamic || word.ends_with('=') {
                    word.push(c);
                }
            }
        }
    }
    if !word.is_empty() || dynamic {
        words.push(finish(&word, dynamic));
    }
    words
}

fn finish(word: &str, dynamic: bool) -> String {
    if dynamic {
        format!("{word}x")
    } else {
        word.to_string()
    }
}

#[test]
fn every_gp_call_of_the_corpus_is_recognised() {
    let calls = corpus_calls();
    let files: std::collections::BTreeSet<_> = calls.iter().map(|(f, _)| f.clone()).collect();
    assert!(
        files.len() >= 28,
        "only {} files call gp: {files:?}",
        files.len()
    );
    let bindings = ports::bindings(&[port(8080)], 0);
    let facts = Facts::of(&Workspace {
        id: "corpus",
        environment: &Environment::Local,
        bindings: &bindings,
        port_offset: 0,
        lanes: Vec::new(),
        env: &EnvMap::new(),
        secret: &|_| false,
    });
    let gp = HostGp::new(&facts);
    let mut unrecognised = Vec::new();
    for (file, args) in &calls {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // A wait (sync-await, ports await) is killed after a while: it was understood.
        let (status, _, err) = gp.run(&args, Duration::from_millis(700));
        if status == Some(2) || err.contains("not supported") {
            unrecognised.push(format!("{file}: gp {}: {err}", args.join(" ")));
        }
    }
    assert!(unrecognised.is_empty(), "{unrecognised:#?}");
    eprintln!(
        "{} gp calls in {} files, all recognised",
        calls.len(),
        files.len()
    );
}

#[test]
fn gp_works_in_a_container_another_tool_made() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "waitFor": "postStartCommand",
  "postStartCommand": "command -v gp > /tmp/which; gp sync-done 'x y'; gp sync-await 'x y' > /tmp/sync; gp url 4567 > /tmp/url; gp tasks list > /tmp/tasks"
}
"#,
    );
    let id = repo.run_as_the_reference_cli_would();
    repo.devboot(["up", "--no-wait"])
        .status(0)
        .stderr_has("made by another tool");
    assert_eq!(repo.container(), id);
    assert!(wait_file(&repo, "/tmp/which").ends_with("/.devboot/bin/gp\n"));
    assert_eq!(wait_file(&repo, "/tmp/sync"), "x y done\n");
    let url = repo.devboot(["url", "4567"]);
    assert_eq!(wait_file(&repo, "/tmp/url"), url.stdout);
    let tasks = wait_file(&repo, "/tmp/tasks");
    assert!(tasks.contains("postStartCommand"), "{tasks}");
}
