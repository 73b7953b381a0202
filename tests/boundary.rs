//! The trust boundary, tested as an attacker would: root in the workspace container swaps
//! the entries of the state folder it can write for links to host files and folders, a
//! FIFO, a device, a link to `/dev/zero`, a 1 GB sparse file; a second local user tries
//! devboot's folders. Host files keep their content and mode, every command ends, and
//! devboot's memory stays small.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::engine::{Repo, assert_home_feed, get_ok};
use crate::harness::devboot_bin;

const GITPOD: &str = "\
image: devboot/python-flask:bookworm
tasks:
  - name: backend
    init: echo init >> /tmp/init-count
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
  - name: other
    command: sleep infinity
ports:
  - port: 4567
    name: backend
";

/// What a command did, and devboot's peak memory (kB, from `VmHWM` sampled as it ran).
pub struct Measured {
    pub status: i32,
    pub stderr: String,
    pub peak_kb: u64,
}

/// Runs devboot in `repo` with a watchdog: a command that does not end within `limit` is
/// killed and the test fails (a hang is the bug these tests look for).
fn run_watched(repo: &Repo, args: &[&str], limit: Duration) -> Measured {
    run_watched_into(repo, args, limit, None)
}

/// The same, with devboot's stderr written to `into` when given (not read into memory).
pub fn run_watched_into(
    repo: &Repo,
    args: &[&str],
    limit: Duration,
    into: Option<&Path>,
) -> Measured {
    let stderr_to = match into {
        Some(path) => std::process::Stdio::from(std::fs::File::create(path).unwrap()),
        None => std::process::Stdio::piped(),
    };
    let mut child = Command::new(devboot_bin())
        .arg("--workspace-folder")
        .arg(repo.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env("DEVBOOT_ENGINE", crate::engine::engine())
        .env("XDG_CACHE_HOME", repo.path().join(".test-cache"))
        .env("XDG_CONFIG_HOME", repo.path().join(".test-config"))
        .stdout(std::process::Stdio::null())
        .stderr(stderr_to)
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        stderr
            .map(|s| std::io::read_to_string(s).unwrap_or_default())
            .unwrap_or_default()
    });
    let started = Instant::now();
    let mut peak_kb = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("devboot {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Measured {
        status: status.code().unwrap_or(-1),
        stderr: reader.join().unwrap(),
        peak_kb,
    }
}

/// A host file and folder the attacker points links at, with what they must keep.
struct Victim {
    dir: tempfile::TempDir,
}

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::Builder::new()
            .prefix("devboot-victim-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("file"), "host secret\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("file"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let sub = dir.path().join("folder");
        std::fs::create_dir(&sub).unwrap();
        for name in ["exit", "log", "ready", "x"] {
            std::fs::write(sub.join(name), name).unwrap();
        }
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o750)).unwrap();
        Victim { dir }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    #[track_caller]
    fn assert_untouched(&self, after: &str) {
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        let file = self.dir.path().join("file");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "host secret\n",
            "after {after}"
        );
        assert_eq!(mode(&file), 0o600, "mode of the host file after {after}");
        let sub = self.dir.path().join("folder");
        assert_eq!(mode(&sub), 0o750, "mode of the host folder after {after}");
        let mut names: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["exit", "log", "ready", "x"], "after {after}");
        for name in &names {
            assert_eq!(
                std::fs::read_to_string(sub.join(name)).unwrap(),
                *name,
                "after {after}"
            );
        }
    }
}

/// Root in the container replaces what it can of the state folder.
fn attack(repo: &Repo, victim: &Victim) {
    let script = format!(
        "set -e
        cd /.devboot/run
        ln -sfn {file} boot
        cd lanes/tasks-backend
        rm -f exit pid phase log ready once
        ln -s {file} exit
        mkfifo pid
        mknod phase c 1 5
        truncate -s 1G log
        ln -s /dev/zero ready
        ln -s {file} once
        cd ../..
        mkdir -p plans
        rm -rf plans/next.started plans/run.result plans/run.started
        ln -s {folder} plans/next.started
        mkfifo plans/run.result
        ln -s {file} plans/run.started
        rm -rf lanes/tasks-other
        ln -s {folder} lanes/tasks-other
        echo attacked",
        file = victim.path("file"),
        folder = victim.path("folder"),
    );
    assert_eq!(repo.sh(&script).trim(), "attacked", "the attack script ran");
    // What devboot writes for the container cannot be changed from inside.
    let denied = repo.sh(
        "for f in /.devboot/runner.sh /.devboot/plans/x /.devboot/stamps; do \
           (echo evil > $f) 2>/dev/null && echo wrote $f; done; echo done",
    );
    assert_eq!(
        denied.trim(),
        "done",
        "the read-only half was written: {denied}"
    );
}

#[test]
fn root_in_the_container_cannot_reach_host_files_through_the_state_folder() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    let offset = 42000;
    let port = 4567 + offset;
    let off = offset.to_string();
    let limit = Duration::from_secs(150);
    let first = run_watched(&repo, &["up", "--port-offset", &off], limit);
    assert_eq!(first.status, 0, "{}", first.stderr);
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(10),
    ));

    let victim = Victim::new();
    attack(&repo, &victim);
    for args in [
        &["up", "--port-offset", &off, "--wait-timeout", "20"][..],
        &["status"],
        &["logs", "backend"],
        &["logs", "--tail", "5"],
        &["down"],
        &["up", "--port-offset", &off, "--wait-timeout", "20"],
    ] {
        let run = run_watched(&repo, args, limit);
        eprintln!("--- devboot {args:?}: exit {}\n{}", run.status, run.stderr);
        victim.assert_untouched(&format!("{args:?}"));
        assert!(
            run.peak_kb < 64 * 1024,
            "devboot {args:?} peaked at {} kB",
            run.peak_kb
        );
        assert!(
            !run.stderr.contains("panicked"),
            "devboot {args:?}: {}",
            run.stderr
        );
        if args[0] == "status" {
            assert!(
                run.stderr.contains("warning: ignored"),
                "status says what it ignored: {}",
                run.stderr
            );
        }
    }
    // The second `up` started the stopped container: its plan cleared the lanes again.
    assert_home_feed(&get_ok(
        port,
        "/api/activities/home",
        &[],
        Duration::from_secs(20),
    ));
    attack(&repo, &victim);
    let removed = run_watched(&repo, &["down", "--remove"], limit);
    assert_eq!(removed.status, 0, "{}", removed.stderr);
    victim.assert_untouched("down --remove");
    assert!(repo.containers().is_empty());
}

/// A second local user must not be able to plant anything in devboot's folders, even where
/// the folders above them are open to everyone.
#[test]
fn another_local_user_cannot_change_devboot_folders() {
    let user = "devboot-other";
    let exists = Command::new("id")
        .arg(user)
        .output()
        .unwrap()
        .status
        .success();
    if !exists {
        let made = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", user])
            .status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: cannot add a second user here (not root?)");
            return;
        }
    }
    let repo = Repo::example();
    repo.write(".gitpod.yml", GITPOD);
    // Open the repository's own folders, as a home folder often is.
    for dir in [repo.path().to_path_buf(), repo.path().join(".test-cache")] {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let up = run_watched(
        &repo,
        &["up", "--port-offset", "42010"],
        Duration::from_secs(150),
    );
    assert_eq!(up.status, 0, "{}", up.stderr);
    repo.devboot(["env", "set", "PLAIN=1"]).status(0);
    let cache = repo.path().join(".test-cache/devboot");
    let state = std::fs::read_dir(cache.join("state"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let targets = [
        state.join("run/lanes/planted"),
        state.join("run/lanes/tasks-backend/exit"),
        state.join("host/plans/next.sh"),
        state.join("host/runner.sh"),
        cache.join("locks/planted"),
        cache.join("state/planted"),
        repo.path().join(".test-config/devboot/env.json"),
        repo.path().join(".test-config/devboot/planted"),
    ];
    for target in targets {
        let script = format!(
            "echo planted > '{0}' 2>/dev/null || ln -s /etc/passwd '{0}' 2>/dev/null || exit 0; exit 1",
            target.display()
        );
        let status = Command::new("setpriv")
            .args([
                "--reuid",
                user,
                "--regid",
                user,
                "--clear-groups",
                "sh",
                "-c",
            ])
            .arg(&script)
            .status()
            .unwrap();
        assert!(status.success(), "{user} could write {}", target.display());
    }
    let listed = Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--clear-groups", "ls"])
        .arg(state.join("run/lanes"))
        .output()
        .unwrap();
    assert!(!listed.status.success(), "{user} could list the lanes");
}

/// A hook printing 100 MB (a million lines) is followed in bounded memory and ends: every
/// line reaches the output, prefixed, and devboot stays under 64 MB. (Before, the follower
/// moved the rest of its buffer for every line: this ran for many minutes.)
#[test]
fn a_hook_printing_100_mb_is_followed_in_bounded_memory() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "image": "devboot/python-flask:bookworm", "onCreateCommand": "seq -f '%099g' 1000000" }"#,
    );
    let out = tempfile::NamedTempFile::new().unwrap();
    let run = run_watched_into(
        &repo,
        &["up", "--port-offset", "42020"],
        Duration::from_secs(240),
        Some(out.path()),
    );
    let text = std::fs::read(out.path()).unwrap();
    let text = String::from_utf8_lossy(&text);
    assert_eq!(
        run.status,
        0,
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
    let lines = text
        .lines()
        .filter(|l| l.starts_with("onCreateCommand | 0"))
        .count();
    assert_eq!(lines, 1_000_000, "every line of the hook is shown");
    assert!(
        text.contains(&format!("onCreateCommand | {:099}", 999_999)),
        "the last line is there"
    );
    assert!(
        run.peak_kb < 64 * 1024,
        "devboot peaked at {} kB",
        run.peak_kb
    );
}

/// `devboot init` writes into the workspace folder, which a container can change: a link a
/// container planted in place of a config is replaced, never written through, and a link in
/// place of a config's folder is refused.
#[test]
fn init_never_writes_through_a_link_in_the_workspace() {
    let repo = Repo::example();
    let victim = Victim::new();
    std::os::unix::fs::symlink(victim.path("file"), repo.path().join(".gitpod.yml")).unwrap();
    let run = repo.devboot([
        "init",
        "--yes",
        "--force",
        "--format",
        "gitpod",
        "--image",
        "devboot/python-flask:bookworm",
    ]);
    run.status(0);
    victim.assert_untouched("init over a linked .gitpod.yml");
    let written = std::fs::symlink_metadata(repo.path().join(".gitpod.yml")).unwrap();
    assert!(
        written.is_file(),
        "the link itself was replaced by the config"
    );

    std::os::unix::fs::symlink(victim.path("folder"), repo.path().join(".devcontainer")).unwrap();
    let run = repo.devboot([
        "init",
        "--yes",
        "--force",
        "--format",
        "devcontainer",
        "--image",
        "devboot/python-flask:bookworm",
    ]);
    run.status(1).stderr_has("does not write through");
    victim.assert_untouched("init into a linked .devcontainer");
}
