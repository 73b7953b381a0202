//! devcontainer `hostRequirements` against this machine's real engine: more than it has is
//! a warning naming each shortfall and the workspace still comes up; with `--strict` an
//! error before anything is made; within it, nothing is said; a required GPU (this engine
//! has no GPU runtime) is an error, an optional one a note; a bad size is an error at its
//! place; a warm `up` checks nothing (no engine call). No ports.

use crate::engine::Repo;

fn repo(requirements: &str) -> Repo {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        &format!(
            "{{\n  \"image\": \"devboot/python-flask:bookworm\",\n  \"hostRequirements\": {requirements}\n}}\n"
        ),
    );
    repo
}

#[test]
fn more_than_the_machine_has_warns_and_strict_refuses_before_making_anything() {
    let big = r#"{ "cpus": 512, "memory": "4096gb" }"#;
    let repo = repo(big);
    let strict = repo.devboot(["up", "--strict"]);
    strict
        .status(2)
        .stderr_has("does not meet the config's hostRequirements")
        .stderr_has("the config asks for 512 CPUs; the engine's machine has")
        .stderr_has("4096.0 GiB of memory");
    assert!(repo.containers().is_empty(), "nothing was made");

    let up = repo.devboot(["up", "-v"]);
    up.status(0)
        .stderr_has("warning: hostRequirements: the config asks for 512 CPUs")
        .stderr_has("hostRequirements: the config asks for 4096.0 GiB of memory");
    assert_eq!(repo.containers().len(), 1);
    // Warm: nothing checked, nothing said, the usual two engine calls.
    let warm = repo.devboot(["up", "-v"]);
    warm.status(0).stderr_has("engine calls: 2");
    assert!(!warm.stderr.contains("hostRequirements"), "{}", warm.stderr);
}

#[test]
fn within_the_machine_nothing_is_said() {
    let repo = repo(r#"{ "cpus": 1, "memory": "64mb", "storage": "1mb" }"#);
    let up = repo.devboot(["up"]);
    up.status(0);
    assert!(!up.stderr.contains("hostRequirements"), "{}", up.stderr);
}

#[test]
fn a_required_gpu_without_a_gpu_runtime_is_an_error_and_an_optional_one_a_note() {
    let repo = repo(r#"{ "gpu": true }"#);
    repo.devboot(["up"])
        .status(2)
        .stderr_has("the config needs a GPU; the engine has no GPU runtime")
        .stderr_has("\"optional\"");
    assert!(repo.containers().is_empty());

    let repo = self::repo(r#"{ "gpu": "optional" }"#);
    repo.devboot(["up"])
        .status(0)
        .stderr_has("the container runs without a GPU");
}

#[test]
fn a_size_that_is_not_one_is_an_error_at_its_place() {
    let repo = repo(r#"{ "memory": "4 gigs" }"#);
    repo.devboot(["up"])
        .status(2)
        .stderr_has("devcontainer.json:3:")
        .stderr_has("`4 gigs` is not a size");
}
