//! devcontainer `waitFor` and `up --wait-for`: `up` returns once the named hook is done
//! while a later one is still running (it waits for a file only the test writes after
//! `up` returned, so `up` could not have returned had it waited for it); the later hook
//! goes on in the container, writes its marker and is not run again; `--wait-for all`
//! waits for every hook. No ports.

use std::time::{Duration, Instant};

use crate::engine::Repo;

const CONFIG: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "waitFor": "onCreateCommand",
  "onCreateCommand": "echo created >> /tmp/oncreate",
  "postCreateCommand": "while [ ! -f /tmp/go ]; do sleep 0.1; done; echo ran >> /tmp/postcreate"
}"#;

fn wait_until(repo: &Repo, script: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = repo.sh(script);
        if !out.is_empty() {
            return out;
        }
        assert!(Instant::now() < deadline, "{script} never said anything");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn up_returns_after_the_wait_for_hook_and_the_later_ones_finish_in_the_background() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", CONFIG);
    let up = repo.devboot(["up"]);
    up.status(0);
    assert!(
        up.stdout
            .lines()
            .any(|l| l.contains("postCreateCommand") && l.contains("running")),
        "{}",
        up.stdout
    );
    assert_eq!(repo.sh("cat /tmp/oncreate"), "created\n");
    assert_eq!(repo.sh("cat /tmp/postcreate 2>/dev/null"), "");
    let status = repo.devboot(["status", "--json"]);
    assert!(status.stdout.contains("running"), "{}", status.stdout);

    repo.sh("touch /tmp/go");
    assert_eq!(
        wait_until(&repo, "cat /tmp/postcreate 2>/dev/null"),
        "ran\n"
    );
    wait_until(
        &repo,
        "cat ~/.devcontainer/.postCreateCommandMarker 2>/dev/null",
    );
    // Done: the next up runs neither hook again.
    repo.devboot(["up"]).status(0);
    assert_eq!(repo.sh("cat /tmp/postcreate"), "ran\n");
    assert_eq!(repo.sh("cat /tmp/oncreate"), "created\n");
}

#[test]
fn wait_for_all_on_the_command_line_waits_for_every_hook() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        &CONFIG.replace("while [ ! -f /tmp/go ]; do sleep 0.1; done; ", "sleep 1; "),
    );
    repo.devboot(["up", "--wait-for", "all"]).status(0);
    assert_eq!(repo.sh("cat /tmp/postcreate 2>/dev/null"), "ran\n");
}
