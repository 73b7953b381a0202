//! Trust for the host command (`initializeCommand`): refused off a terminal, asked on one,
//! remembered per workspace and command text, asked again when the text changes, also when
//! a process in the container changes it.
//!
//! Most tests need no container: their command appends a line to `ran` on the host and
//! fails, so `up` stops right after it and the file says whether (and how often) it ran.
//! Port offsets (see `ports.rs`): 41000 the e2e test.

use std::path::Path;

use crate::engine::Repo;
use crate::harness::Run;
use crate::harness::Terminal;

/// Appends a line to `ran` in the workspace folder, then fails.
const HOOK: &str = r#""echo ran >> ran; exit 3""#;

/// The example repository with a devcontainer.json running `hook` on the host.
fn repo(hook: &str) -> Repo {
    let repo = Repo::example();
    write_config(&repo, hook);
    repo
}

fn write_config(repo: &Repo, hook: &str) {
    repo.write(
        ".devcontainer/devcontainer.json",
        &format!(
            "{{\n  \"image\": \"devboot/python-flask:bookworm\",\n  \"initializeCommand\": {hook}\n}}\n"
        ),
    );
}

/// How many times the command ran (lines in `ran`).
fn runs(repo: &Repo) -> usize {
    std::fs::read_to_string(repo.path().join("ran")).map_or(0, |t| t.lines().count())
}

/// `up` ran the command, which failed as [`HOOK`] does: the command was allowed.
#[track_caller]
fn ran_and_failed(run: &Run) {
    run.status(1)
        .stderr_has("initializeCommand (devcontainer.json) failed with exit code 3");
}

/// Runs `up` in a terminal (with the repository's own config and cache folders), waits for
/// each of `shown` and then the question, answers with `key`; returns the exit code and
/// everything the terminal showed.
fn answer(repo: &Repo, shown: &[&str], key: &str) -> (i32, String) {
    let dir = repo.path().to_str().unwrap();
    let config = repo.path().join(".test-config");
    let cache = repo.path().join(".test-cache");
    let mut cmd = std::process::Command::new(crate::harness::devboot_bin());
    cmd.args(["up", "--workspace-folder", dir])
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", config.to_str().unwrap())
        .env("XDG_CACHE_HOME", cache.to_str().unwrap());
    let mut term = Terminal::spawn(cmd);
    for text in shown {
        term.expect(text);
    }
    term.expect("Run it, and trust it for this workspace until it changes? [y/N]");
    term.send(key);
    term.wait(std::time::Duration::from_secs(60))
}

#[test]
fn off_a_terminal_an_untrusted_host_command_is_refused() {
    let repo = repo(HOOK);
    repo.devboot(["up"])
        .status(2)
        .stderr_has("the initializeCommand in ")
        .stderr_has(".devcontainer/devcontainer.json:3 is not trusted, so devboot did not run it")
        .stderr_has("`devboot trust`")
        .stderr_has("`devboot up --trust`");
    assert_eq!(runs(&repo), 0);
    assert!(repo.containers().is_empty());
}

#[test]
fn on_a_terminal_up_asks_and_remembers_a_yes() {
    let repo = repo(HOOK);
    let shown = [
        ".devcontainer/devcontainer.json:3",
        "initializeCommand: echo ran >> ran; exit 3",
    ];
    let (status, output) = answer(&repo, &shown, "n");
    assert_eq!(status, 2, "{output}");
    assert!(output.contains("you did not trust it"), "{output}");
    assert_eq!(runs(&repo), 0, "answering no runs nothing");

    let (status, output) = answer(&repo, &shown, "y");
    assert_eq!(status, 1, "{output}");
    assert_eq!(runs(&repo), 1, "answering yes runs it");

    // Remembered: it runs without asking, even off a terminal.
    ran_and_failed(&repo.devboot(["up"]));
    assert_eq!(runs(&repo), 2);

    // A changed command is asked about again, showing what was trusted.
    write_config(&repo, r#""echo changed >> ran; exit 3""#);
    let shown = [
        "initializeCommand: echo changed >> ran; exit 3",
        "It changed since you trusted it; it was:",
        "initializeCommand: echo ran >> ran; exit 3",
    ];
    let (status, output) = answer(&repo, &shown, "n");
    assert_eq!(status, 2, "{output}");
    assert_eq!(runs(&repo), 2);
}

#[test]
fn trust_lets_up_run_it_list_shows_it_revoke_forgets_it() {
    let repo = repo(HOOK);
    repo.devboot(["trust"])
        .status(0)
        .stdout_has("initializeCommand: echo ran >> ran; exit 3")
        .stdout_has("without asking, until it changes");
    ran_and_failed(&repo.devboot(["up"]));
    assert_eq!(runs(&repo), 1);

    let folder = repo.path().display().to_string();
    let list = repo.devboot(["trust", "--list"]);
    list.status(0)
        .stdout_has(&format!(
            "{folder}\n  {folder}/.devcontainer/devcontainer.json (sha256 "
        ))
        .stdout_has("\n    initializeCommand: echo ran >> ran; exit 3\n");

    repo.devboot(["trust", "--revoke"])
        .status(0)
        .stdout_has(&format!("no longer trusted for {folder}"));
    repo.devboot(["up"]).status(2).stderr_has("is not trusted");
    assert_eq!(runs(&repo), 1);
    let list = repo.devboot(["trust", "--list"]);
    assert!(!list.stdout.contains(&folder), "{}", list.stdout);

    // The store is its owner's alone.
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    let dir = repo.path().join(".test-config/devboot");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("trust.json")), 0o600);
}

#[test]
fn a_changed_command_is_refused_again_off_a_terminal() {
    let repo = repo(HOOK);
    repo.devboot(["trust"]).status(0);
    write_config(&repo, r#"["sh", "-c", "echo changed > changed; exit 3"]"#);
    repo.devboot(["up"])
        .status(2)
        .stderr_has("changed since it was trusted, so devboot did not run it")
        .stderr_has("`devboot trust`");
    assert!(!repo.path().join("changed").exists());
}

#[test]
fn up_trust_runs_it_and_remembers() {
    let repo = repo(HOOK);
    ran_and_failed(&repo.devboot(["up", "--trust"]));
    assert_eq!(runs(&repo), 1);
    repo.devboot(["trust", "--list"])
        .status(0)
        .stdout_has("initializeCommand: echo ran >> ran; exit 3");
    ran_and_failed(&repo.devboot(["up"]));
    assert_eq!(runs(&repo), 2);
}

#[test]
fn a_workspace_without_a_host_command_has_nothing_to_trust() {
    let repo = repo("null");
    repo.devboot(["trust"])
        .status(0)
        .stderr_has("has no initializeCommand): there is nothing to trust");
    assert!(!repo.path().join(".test-config/devboot/trust.json").exists());
}

#[test]
fn a_host_command_rewritten_from_inside_the_container_does_not_run() {
    let repo = repo(r#""echo trusted >> ran""#);
    let up = ["up", "--port-offset", "41000"];
    repo.devboot(["up", "--port-offset", "41000", "--trust"])
        .status(0);
    repo.devboot(up).status(0);
    assert_eq!(runs(&repo), 2, "trusted: it ran at each up");

    // Root in the container rewrites the config through the workspace mount.
    repo.sh(
        "sed -i 's/echo trusted >> ran/touch pwned/' /workspaces/*/.devcontainer/devcontainer.json",
    );
    let config =
        std::fs::read_to_string(repo.path().join(".devcontainer/devcontainer.json")).unwrap();
    assert!(
        config.contains("touch pwned"),
        "the container could not rewrite it:\n{config}"
    );

    repo.devboot(up)
        .status(2)
        .stderr_has("changed since it was trusted, so devboot did not run it");
    assert!(
        !repo.path().join("pwned").exists(),
        "the container's command ran on the host"
    );
    assert_eq!(runs(&repo), 2);
}
