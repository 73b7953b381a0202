//! Reliability: every command ends, with a true message, however the config, the engine or
//! the user's signals misbehave. A hostile YAML file, a daemon that never answers (a silent
//! stand-in socket, so the shared engine is never frozen), signals during a build, and task
//! names that only differ in case or punctuation.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::engine::Repo;
use crate::harness::{Run, Test};

/// Nine levels, each an anchor listing the previous one nine times: 9^9 copies of `x` if
/// aliases were expanded blindly.
const ALIAS_BOMB: &str = "\
a: &a [x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
";

#[test]
fn an_alias_bomb_is_rejected_at_the_alias_that_goes_over_the_budget() {
    let run = Test::new()
        .file(".gitpod.yml", ALIAS_BOMB)
        .args(["validate", ".gitpod.yml"])
        .run();
    run.status(2);
    assert_eq!(
        run.stderr,
        "\
error: `*d` makes the aliases of this file copy more than 100000 values and characters, devboot's limit
 --> .gitpod.yml:5:11
  |
5 | e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  |           ^^ the copy that goes over the limit
  |
help: a config needs far fewer copies: use fewer nested aliases, or write the values out
1 error(s), 0 warning(s)
"
    );
}

/// A devboot run the test watches while it runs: its stderr as it comes, its children, and
/// an end within a limit (a devboot that hangs fails the test instead of hanging it).
struct Watched {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stdout: Option<std::thread::JoinHandle<String>>,
    dir: std::path::PathBuf,
}

impl Watched {
    fn start(mut cmd: Command, dir: &Path) -> Watched {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = BufReader::new(child.stderr.take().unwrap());
        let text = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut line = String::new();
            while pipe.read_line(&mut line).is_ok_and(|n| n > 0) {
                text.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        Watched {
            child,
            stderr,
            stdout: Some(stdout),
            dir: dir.to_path_buf(),
        }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// Waits until devboot has printed `needle` on stderr.
    #[track_caller]
    fn wait_for_stderr(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stderr.lock().unwrap().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "devboot did not print {needle:?} within {limit:?}:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Waits for devboot to end; kills it and fails when it does not within `limit`.
    #[track_caller]
    fn finish(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "devboot did not end within {limit:?}:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = self.stdout.take().unwrap().join().unwrap();
        // The stderr reader ends with the pipe; give it a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr.lock().unwrap().clone();
        Run {
            status: status.code().unwrap_or(-1),
            stdout,
            stderr,
            dir: self.dir.clone(),
        }
    }
}

/// Runs a devboot command to its end, failing the test when it takes more than `limit`.
#[track_caller]
fn run_within(repo: &Repo, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    Watched::start(repo.command(args, env), repo.path()).finish(limit)
}

/// Processes whose command line mentions `text` (the test's own folder, say).
fn processes_mentioning(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || !is_alive(pid.parse().unwrap()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(text) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// Whether a process runs (a zombie no longer does).
fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// A socket in place of the daemon's (the docker CLI is pointed at it with `DOCKER_HOST`):
/// what it does with a connection is up to the test, and the shared daemon is never frozen
/// or stopped. The connections it keeps are in `streams`.
struct StandIn {
    dir: tempfile::TempDir,
    streams: Arc<Mutex<Vec<UnixStream>>>,
}

impl StandIn {
    /// Takes each connection to `accept`, and keeps the streams it returns.
    fn start(accept: impl Fn(UnixStream) -> Vec<UnixStream> + Send + 'static) -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("docker.sock")).unwrap();
        let streams = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&streams);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let keep = accept(stream);
                kept.lock().unwrap().extend(keep);
            }
        });
        StandIn { dir, streams }
    }

    /// A frozen daemon: it takes every connection and never answers.
    fn silent() -> StandIn {
        StandIn::start(|client| vec![client])
    }

    /// The shared daemon, relayed until [`StandIn::cut`]: to the CLI, the daemon dies then.
    fn cuttable() -> StandIn {
        let real = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(String::from))
            .unwrap_or_else(|| "/var/run/docker.sock".into());
        StandIn::start(move |client| {
            let Ok(daemon) = UnixStream::connect(&real) else {
                return Vec::new();
            };
            let keep = vec![client.try_clone().unwrap(), daemon.try_clone().unwrap()];
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), daemon.try_clone().unwrap()),
                (daemon, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
            keep
        })
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// Whether every client that connected has closed its end (no docker CLI is left
    /// waiting for an answer).
    fn clients_gone(&self) -> bool {
        let clients = self.streams.lock().unwrap();
        !clients.is_empty()
            && clients.iter().all(|client| {
                let mut client = client;
                client
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    match client.read(&mut buf) {
                        Ok(0) => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
            })
    }

    /// The daemon dies: open connections are cut, new ones refused.
    fn cut(&self) {
        std::fs::remove_file(self.dir.path().join("docker.sock")).unwrap();
        for stream in self.streams.lock().unwrap().iter() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_silent_stand_in_daemon_that_never_answers_ends_status_and_a_warm_up() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: idle\n    command: sleep infinity\n",
    );
    repo.devboot(["up", "--port-offset", "41300"]).status(0);
    let daemon = StandIn::silent();
    let env = [
        ("DOCKER_HOST", daemon.host()),
        ("DEVBOOT_ENGINE_TIMEOUT", "2".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for args in [&["status"][..], &["up", "--port-offset", "41300"]] {
        let run = run_within(&repo, args, &env, Duration::from_secs(90));
        run.status(1)
            .stderr_has(
                "error: the docker engine did not answer within 2 s (`docker ps` was stopped)",
            )
            .stderr_has("--engine-timeout");
        assert!(
            daemon.clients_gone(),
            "a docker command of `devboot {}` still waits for the daemon",
            args[0]
        );
    }
}

/// A Dockerfile config whose build sleeps in its last step while the context holds `slow`.
/// The Dockerfile, copied in, names the test's folder: no other build's cache has the step.
fn slow_build(repo: &Repo) {
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{"build": {"dockerfile": "Dockerfile"}}"#,
    );
    repo.write(
        ".devcontainer/Dockerfile",
        &format!(
            "# {}\nFROM devboot/python-flask:bookworm\nCOPY Dockerfile slow* /ctx/\nRUN if [ -e /ctx/slow ]; then echo sleeping; sleep 30; fi\n",
            repo.path().display()
        ),
    );
    repo.write(".devcontainer/slow", "");
}

#[test]
fn sigterm_during_a_build_stops_docker_build_and_the_next_up_finishes() {
    let repo = Repo::example();
    slow_build(&repo);
    let folder = repo.path().display().to_string();
    let up = Watched::start(
        repo.command(["up", "--port-offset", "41310"], &[]),
        repo.path(),
    );
    // The build is in its sleeping step.
    up.wait_for_stderr("build | sleeping", Duration::from_secs(180));
    assert!(
        processes_mentioning(&folder)
            .iter()
            .any(|p| p.contains("docker build")),
        "no `docker build` runs: {:?}",
        processes_mentioning(&folder)
    );
    up.signal(Signal::SIGTERM);
    let run = up.finish(Duration::from_secs(60));
    run.status(143).stderr_has(
        "error: interrupted by SIGTERM: stopped `docker build`; no command of devboot's runs on this machine any more; the next `devboot up` finishes the work\n",
    );
    let left = processes_mentioning(&folder);
    assert!(left.is_empty(), "left running: {left:?}");
    std::fs::remove_file(repo.path().join(".devcontainer/slow")).unwrap();
    repo.devboot(["up", "--port-offset", "41310"]).status(0);
    repo.container();
}

/// `initializeCommand` runs on the host: a signal while it runs stops it, without a daemon.
#[test]
fn sighup_and_sigint_during_a_host_hook_stop_it_and_exit_129_and_130() {
    for (signal, code) in [(Signal::SIGHUP, 129), (Signal::SIGINT, 130)] {
        let repo = Repo::example();
        repo.write(
            ".devcontainer/devcontainer.json",
            r#"{"image": "devboot/python-flask:bookworm", "initializeCommand": "echo $$ > hook.pid; exec sleep 30"}"#,
        );
        let up = Watched::start(
            repo.command(["up", "--trust", "--port-offset", "41320"], &[]),
            repo.path(),
        );
        let pid_file = repo.path().join("hook.pid");
        let deadline = Instant::now() + Duration::from_secs(30);
        let hook: i32 = loop {
            let text = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if let Ok(pid) = text.trim().parse() {
                break pid;
            }
            assert!(Instant::now() < deadline, "the hook did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        up.signal(signal);
        let run = up.finish(Duration::from_secs(30));
        run.status(code).stderr_has(&format!(
            "error: interrupted by {signal}: stopped `sh`; no command of devboot's runs on this machine any more; the next `devboot up` finishes the work\n"
        ));
        assert!(!is_alive(hook), "the hook's process {hook} still runs");
        assert!(repo.containers().is_empty(), "a container was made");
    }
}

/// `up` through a [`StandIn::cuttable`] daemon that dies once devboot printed `when_printed`.
fn up_until_the_daemon_dies(repo: &Repo, offset: &str, when_printed: &str) -> Run {
    let daemon = StandIn::cuttable();
    let host = daemon.host();
    let up = Watched::start(
        repo.command(["up", "--port-offset", offset], &[("DOCKER_HOST", &host)]),
        repo.path(),
    );
    up.wait_for_stderr(when_printed, Duration::from_secs(180));
    daemon.cut();
    up.finish(Duration::from_secs(60))
}

#[test]
fn an_engine_that_dies_during_a_build_is_named_not_the_dockerfile() {
    let repo = Repo::example();
    slow_build(&repo);
    let run = up_until_the_daemon_dies(&repo, "41330", "build | sleeping");
    run.status(1)
        .stderr_has("error: the docker engine stopped answering during `docker build`")
        .stderr_has("caused by: Cannot connect to the Docker daemon");
    assert!(!run.stderr.contains("failed (exit code"), "{}", run.stderr);
}

#[test]
fn an_engine_that_dies_during_an_init_is_named_not_a_stopped_container() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: setup\n    init: echo init-started; sleep 30\n",
    );
    let run = up_until_the_daemon_dies(&repo, "41340", "init-started");
    run.status(1)
        .stderr_has("the docker engine does not answer")
        .stderr_has("Cannot connect to the Docker daemon");
    assert!(
        !run.stderr.contains("container stopped") && !run.stderr.contains("exit code -1"),
        "{}",
        run.stderr
    );
}

#[test]
fn tasks_whose_names_differ_only_in_case_or_punctuation_each_run_once() {
    let repo = Repo::example();
    let names = ["api server", "api-server", "Web", "web"];
    let mut config = String::from("image: devboot/python-flask:bookworm\ntasks:\n");
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(
            config,
            "  - name: {name}\n    init: echo ran >> /tmp/ran-{i}\n    command: echo serving; sleep infinity"
        );
    }
    repo.write(".gitpod.yml", &config);
    for _ in 0..2 {
        run_within(
            &repo,
            &["up", "--port-offset", "41350"],
            &[],
            Duration::from_secs(120),
        )
        .status(0);
    }
    for (i, name) in names.iter().enumerate() {
        assert_eq!(repo.count(&format!("/tmp/ran-{i}")), 1, "init of `{name}`");
    }
    let status = repo.devboot(["status"]);
    status.status(0);
    for name in names {
        assert!(
            status
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("  task {name} ")) && l.ends_with("running")),
            "`{name}` is not shown running as written:\n{}",
            status.stdout
        );
    }
}
