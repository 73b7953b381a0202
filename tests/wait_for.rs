//! devcontainer `waitFor` and `up --wait-for`: `up` returns once the named hook is done
//! while a later one is still running (it waits for a file only the test writes after
//! `up` returned, so `up` could not have returned had it waited for it); the later hook
//! goes on in the container, writes its marker and is not run again; `--wait-for all`
//! waits for every hook. Without either, the spec's default, `updateContentCommand`
//! (`wait-for` in the settings file can say otherwise); ports are still waited for, a
//! later hook that fails while they are is `up`'s failure. Ports 47577 and 47587.

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
    let status = repo.devboot(["status", "--json"]).json();
    let post_create = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "postCreateCommand")
        .cloned()
        .unwrap_or_default();
    assert_eq!(post_create["state"], "running", "{status}");

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

#[test]
fn without_wait_for_up_returns_after_update_content_as_the_spec_says() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        &CONFIG
            .replace(r#""waitFor": "onCreateCommand","#, "")
            .replace(
                r#""onCreateCommand""#,
                r#""updateContentCommand": "echo updated >> /tmp/updated", "onCreateCommand""#,
            ),
    );
    repo.devboot(["up"]).status(0);
    assert_eq!(
        repo.sh("cat /tmp/oncreate /tmp/updated"),
        "created\nupdated\n"
    );
    assert_eq!(repo.sh("cat /tmp/postcreate 2>/dev/null"), "");
    repo.sh("touch /tmp/go");
    assert_eq!(
        wait_until(&repo, "cat /tmp/postcreate 2>/dev/null"),
        "ran\n"
    );
}

#[test]
fn wait_for_all_in_the_settings_file_waits_for_every_hook_unless_the_config_says() {
    let repo = Repo::example();
    let config = CONFIG.replace("while [ ! -f /tmp/go ]; do sleep 0.1; done; ", "sleep 1; ");
    repo.write(
        ".devcontainer/devcontainer.json",
        &config.replace(r#""waitFor": "onCreateCommand","#, ""),
    );
    let settings = repo.base().join(".test-config/devboot");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::write(settings.join("config.toml"), "wait-for = \"all\"\n").unwrap();
    let settings = repo.devboot(["config", "--settings"]);
    assert!(settings.stdout.contains("wait-for"), "{}", settings.stdout);
    assert!(settings.stdout.contains("\"all\""), "{}", settings.stdout);
    repo.devboot(["up"]).status(0);
    assert_eq!(repo.sh("cat /tmp/postcreate 2>/dev/null"), "ran\n");
}

/// The backend started by `postStartCommand` after a slow `postCreateCommand`, both left
/// to the background by the default: `up` still returns with the port answering.
const SERVED: &str = r#"{
  "image": "devboot/python-flask:bookworm",
  "forwardPorts": [4567],
  "postCreateCommand": "sleep 2; echo done > /tmp/postcreate",
  "postStartCommand": "cd backend-flask && nohup python3 -m flask run --host=0.0.0.0 --port=4567 > /tmp/flask.log 2>&1 &"
}"#;

#[test]
fn ports_are_waited_for_even_when_the_hook_that_serves_them_runs_in_the_background() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", SERVED);
    repo.devboot(["up", "--port-offset", "43010"]).status(0);
    let response = crate::engine::get("127.0.0.1", 47577, "/api/activities/home", &[])
        .expect("the backend answers once up returned");
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(repo.sh("cat /tmp/postcreate"), "done\n");
}

#[test]
fn a_background_hook_that_fails_while_ports_are_waited_for_fails_up() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        &SERVED.replace(
            "sleep 2; echo done > /tmp/postcreate",
            "echo cannot install; exit 3",
        ),
    );
    let up = repo.devboot(["up", "--port-offset", "43020"]);
    up.status(1);
    assert!(up.stderr.contains("postCreateCommand"), "{}", up.stderr);
    assert!(up.stderr.contains("cannot install"), "{}", up.stderr);
    assert!(!up.stderr.contains("not answering"), "{}", up.stderr);
}
