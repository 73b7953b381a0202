//! `devboot doctor` against this machine: all well here (the real engine answers); no
//! engine CLI on PATH, an engine socket nobody listens on (answered within the time
//! limit), a settings file with a typo and a cache folder others can read are each named
//! with what to do, and exit 1.

use std::os::unix::fs::PermissionsExt;

use crate::harness::Test;

#[test]
fn doctor_passes_on_this_machine() {
    crate::engine::require_engine();
    let test = Test::new();
    let home = test.path().display().to_string();
    let run = test
        .env("XDG_CONFIG_HOME", &format!("{home}/config"))
        .env("XDG_CACHE_HOME", &format!("{home}/cache"))
        .args(["doctor"])
        .run();
    run.status(0)
        .stdout_has("✔ engine CLI")
        .stdout_has("✔ engine answers  server ")
        .stdout_has("✔ settings");
    let json = Test::new().args(["doctor", "--json"]).run();
    json.status(0);
    assert_eq!(json.json()["ok"], true);
}

#[test]
fn doctor_without_an_engine_cli_says_what_to_install() {
    let bin = tempfile::tempdir().unwrap();
    let run = Test::new()
        .env("PATH", &bin.path().display().to_string())
        .args(["doctor"])
        .run();
    run.status(1)
        .stdout_has("✘ engine CLI      no container engine found")
        .stdout_has("apt-get install -y docker.io");
}

#[test]
fn doctor_with_an_engine_that_does_not_answer_says_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let host = format!("unix://{}/nothing.sock", dir.path().display());
    let run = Test::new()
        .env("DOCKER_HOST", &host)
        .env("DEVBOOT_ENGINE", "docker")
        .args(["doctor", "--engine-timeout", "5"])
        .run();
    run.status(1)
        .stdout_has("✘ engine answers")
        .stdout_has("scripts/engine.sh");
}

#[test]
fn doctor_names_a_bad_settings_file_and_an_open_cache_folder() {
    let test = Test::new();
    let config = test.path().join("xdg-config/devboot");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "wait-timeout = \"soon\"\n").unwrap();
    let cache = test.path().join("xdg-cache/devboot");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (config_home, cache_home) = (
        test.path().join("xdg-config").display().to_string(),
        test.path().join("xdg-cache").display().to_string(),
    );
    let run = test
        .env("XDG_CONFIG_HOME", &config_home)
        .env("XDG_CACHE_HOME", &cache_home)
        .args(["doctor"])
        .run();
    run.status(1)
        .stdout_has("✘ settings")
        .stdout_has("✘ cache folder")
        .stdout_has("fix: chmod 700");
}
