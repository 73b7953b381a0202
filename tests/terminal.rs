//! What a task or a build prints reaches the user's terminal with its colours and nothing
//! else: no clipboard write (OSC 52), no window title (OSC 0), no screen clear, no cursor
//! move, no DCS string, no bell; in `up`'s lane lines, a build's output and the tail of a
//! failure. Checked on a real terminal (a pseudo-terminal), where colours are on, and into
//! a pipe, where anstream still strips them.
//!
//! Port offsets (see `ports.rs`): 41100, 41110 and 41120 (the workspaces publish no port;
//! the offsets are passed all the same so that a port added later cannot collide).

use std::process::Command;
use std::time::Duration;

use crate::engine::Repo;
use crate::harness::{Terminal, Test, devboot_bin};

/// A `printf` format printing a red word amid every kind of sequence a terminal obeys.
const NOISE: &str = concat!(
    r"before \033]52;c;Y2xpcGJvYXJk\007", // OSC 52: write the clipboard
    r" \033]0;a-window-title\007",        // OSC 0: set the window title
    r" \033[2J\033[7;7H",                 // clear the screen, move the cursor
    r" \033P1$tdcs-payload\033\\",        // DCS
    r" \033]8;;http://link.invalid/\033\\x", // OSC 8 hyperlink
    r" \033[31mred-word\033[0m",          // a colour: kept
    r" bell\007 over\rwritten after\n",   // BEL and a carriage return
);

/// What must never reach the terminal: the sequences of `NOISE`...
const BAD: &[&str] = &[
    "\x1b]",
    "\x1b[2J",
    "\x1b[7;7H",
    "\x1bP",
    "\x07",
    "over\rwritten",
];

/// ... and the text inside them (a build shows its Dockerfile's `RUN` line, so there the
/// text is seen, as text).
const HIDDEN: &[&str] = &[
    "Y2xpcGJvYXJk",
    "a-window-title",
    "dcs-payload",
    "link.invalid",
];

/// How long an `up` of a small workspace may take on a busy machine.
const UP_TIME: Duration = Duration::from_secs(240);

fn workspace(init: &str) -> Repo {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        &format!(
            "image: devboot/python-flask:bookworm\ntasks:\n  - name: noisy\n    init: |\n      {init}\n    command: sleep infinity\n"
        ),
    );
    repo
}

/// `devboot ARGS` on a terminal, colours on unless `env` turns them off.
fn on_terminal(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = repo.command(args, env);
    if !env.iter().any(|(k, _)| *k == "NO_COLOR") {
        cmd.env_remove("NO_COLOR");
    }
    cmd.env_remove("CLICOLOR").env_remove("CLICOLOR_FORCE");
    Terminal::spawn(cmd).wait(UP_TIME)
}

/// Checks that no sequence of `NOISE` reached the terminal, nor (with `text`) the text
/// inside them.
#[track_caller]
fn assert_clean(what: &str, output: &str, text: bool) {
    let hidden = if text { HIDDEN } else { &[] };
    for bad in BAD.iter().chain(hidden) {
        assert!(
            !output.contains(bad),
            "{what}: {bad:?} reached the terminal:\n{output:?}"
        );
    }
}

/// What the terminal showed after `marker` (the tail under an error).
#[track_caller]
fn after<'a>(output: &'a str, marker: &str) -> &'a str {
    output
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?}:\n{output:?}"))
        .1
}

#[test]
fn a_task_reaches_the_terminal_with_its_colours_only() {
    let repo = workspace(&format!("printf '{NOISE}'"));
    let (status, output) = on_terminal(&repo, &["up", "--port-offset", "41100"], &[]);
    assert_eq!(status, 0, "{output}");
    assert!(
        output.contains("\x1b[31mred-word\x1b[0m"),
        "the colour is lost:\n{output:?}"
    );
    assert!(output.contains("before"), "{output:?}");
    assert!(output.contains("after"), "{output:?}");
    assert_clean("up", &output, true);
}

#[test]
fn a_failure_tail_reaches_the_terminal_with_its_colours_only() {
    let repo = workspace(&format!("printf '{NOISE}'; exit 1"));
    let args = ["up", "--port-offset", "41110", "--wait-timeout", "5"];
    let (status, output) = on_terminal(&repo, &args, &[]);
    assert_eq!(status, 1, "{output}");
    // The tail under the error, not only the lane's line.
    let tail = after(&output, "failed in `init` with exit code 1");
    assert!(tail.contains("\x1b[31mred-word"), "{tail:?}");
    assert_clean("the failure", &output, true);

    // NO_COLOR on a terminal: no escape sequence at all (the lane runs again).
    let (status, output) = on_terminal(&repo, &args, &[("NO_COLOR", "1")]);
    assert_eq!(status, 1, "{output}");
    assert!(output.contains("red-word"), "{output:?}");
    assert!(!output.contains('\x1b'), "{output:?}");
    assert_clean("the failure with NO_COLOR", &output, true);

    // Into a pipe, with colours not turned off: anstream strips them.
    let run = repo.devboot_env(args, &[("NO_COLOR", "")]);
    run.status(1).stderr_has("red-word");
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
    assert_clean("the failure into a pipe", &run.stderr, true);
}

/// A build's output: the progress line on a terminal, and the tail of its failure.
#[test]
fn a_failing_build_reaches_the_terminal_with_its_colours_only() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/Dockerfile",
        &format!("FROM devboot/python-flask:bookworm\nRUN printf '{NOISE}' && false\n"),
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "build": { "dockerfile": "Dockerfile" } }"#,
    );
    let (status, output) = on_terminal(&repo, &["up", "--port-offset", "41120"], &[]);
    assert_eq!(status, 1, "{output}");
    let tail = after(&output, "failed (exit code");
    assert!(tail.contains("\x1b[31mred-word"), "{tail:?}");
    assert_clean("the build", &output, false);
}

/// A result on stdout holds a repository's text too: `config` on a terminal shows a
/// config's values with their colours only.
#[test]
fn a_config_s_values_reach_the_terminal_with_their_colours_only() {
    let test = Test::new().file(
        ".gitpod.yml",
        concat!(
            "image: devboot/python-flask:bookworm\n",
            "env:\n  GREETING: \"hi \\e]0;a-window-title\\a \\e[31mred-word\\e[0m\"\n",
            "tasks:\n  - name: t\n    command: \"echo \\e]52;c;Y2xpcGJvYXJk\\a \\e[2J\"\n",
        ),
    );
    let mut cmd = Command::new(devboot_bin());
    cmd.current_dir(test.path())
        .arg("config")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    let (status, output) = Terminal::spawn(cmd).wait(Duration::from_secs(30));
    assert_eq!(status, 0, "{output}");
    assert_clean("config", &output, true);
    assert!(
        output.contains("GREETING=hi  \x1b[31mred-word"),
        "{output:?}"
    );
    assert!(output.contains("echo "), "{output:?}");
}
