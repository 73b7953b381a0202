//! What devboot leaves behind: a failed first `up` leaves nothing the next one trips on,
//! `down` waits for an `up` in progress instead of pulling its container away, and
//! `down --remove` takes devboot's own files for the workspace with the container.

use std::time::{Duration, Instant};

use crate::engine::Repo;

const SLOW_INIT: &str = "\
image: devboot/python-flask:bookworm
tasks:
  - name: backend
    init: sleep 4
    command: cd backend-flask && python3 -m flask run --host=0.0.0.0 --port=4567
ports:
  - port: 4567
    name: backend
";

fn state_root(repo: &Repo) -> std::path::PathBuf {
    repo.path().join(".test-cache/devboot/state")
}

fn state_folders(repo: &Repo) -> usize {
    std::fs::read_dir(state_root(repo)).map_or(0, Iterator::count)
}

#[test]
fn a_failed_first_up_leaves_no_state_folder_and_down_remove_cleans_up() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/does-not-exist:never\ntasks:\n  - command: sleep 1\n",
    );
    repo.devboot(["up", "--port-offset", "42600"]).status(1);
    assert!(repo.containers().is_empty());
    assert_eq!(
        state_folders(&repo),
        0,
        "the failed up left its state folder"
    );
    // Nothing to find, nothing to fail on.
    repo.devboot(["down", "--remove"])
        .status(0)
        .stdout_has("no container for this workspace");

    // A workspace that came up: `down --remove` takes the container and devboot's files.
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - command: sleep infinity\n",
    );
    repo.devboot(["up", "--port-offset", "42600"]).status(0);
    assert_eq!(state_folders(&repo), 1);
    let locks = repo.path().join(".test-cache/devboot/locks");
    assert_eq!(std::fs::read_dir(&locks).unwrap().count(), 1);
    repo.devboot(["down", "--remove"])
        .status(0)
        .stdout_has("removed container")
        .stdout_has("state folder");
    assert!(repo.containers().is_empty());
    assert_eq!(state_folders(&repo), 0);
    assert_eq!(
        std::fs::read_dir(&locks).unwrap().count(),
        0,
        "the lock went too"
    );
}

/// `down --remove` while an `up` is still running the tasks waits for it: the `up` reports
/// the container it made, which is then removed.
#[test]
fn down_waits_for_an_up_in_progress() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", SLOW_INIT);
    std::thread::scope(|scope| {
        let up = scope.spawn(|| repo.devboot(["up", "--port-offset", "42610"]));
        let deadline = Instant::now() + Duration::from_secs(60);
        while repo.containers().is_empty() {
            assert!(Instant::now() < deadline, "up made no container");
            std::thread::sleep(Duration::from_millis(50));
        }
        let down = repo.devboot(["down", "--remove"]);
        let up = up.join().unwrap();
        up.status(0).stdout_has("workspace up");
        down.status(0)
            .stderr_has("another devboot is working on this workspace; waiting for it")
            .stdout_has("removed container");
    });
    assert!(repo.containers().is_empty());
}
