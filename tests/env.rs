//! The workspace environment end to end: `devboot env` read back by real consumers (bash,
//! fish, docker-compose's `.env` reader, a JSON parser), persisted variables (`env set`,
//! `unset`, `list`, the store's permissions, layering), and secrets masked in everything
//! devboot prints while the container still gets the real values.
//!
//! Port offsets (see `ports.rs`): 30200 persisted variables and secrets, 30210 its failing
//! variant.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::engine::Repo;
use crate::harness::{Run, devboot_bin};

/// A workspace folder with its own config home (the persisted store), for the tests that
/// need no engine. `devboot` runs with the folder as current directory.
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new(files: &[(&str, &str)]) -> Folder {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Folder { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config_home(&self) -> PathBuf {
        self.dir.path().join(".test-config")
    }

    fn devboot(&self, args: &[&str]) -> Run {
        let out = Command::new(devboot_bin())
            .current_dir(self.path())
            .args(args)
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("XDG_CACHE_HOME", self.dir.path().join(".test-cache"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.path().to_path_buf(),
        }
    }
}

/// Values that break naive quoting, each on its own and mixed.
const NASTY: &[(&str, &str)] = &[
    ("DB_T_SPACES", "a b  c "),
    ("DB_T_LEADING", "  lead and trail  "),
    ("DB_T_SINGLE", "it's"),
    ("DB_T_DOUBLE", r#"say "hi""#),
    ("DB_T_DOLLAR", "$HOME ${HOME} $(id) `id` $$ $1 ${HOME:-x}"),
    ("DB_T_BACKSLASH", r"C:\temp\new \\ \n \t \ end"),
    ("DB_T_TRAILING_BACKSLASH", r"ends in a backslash\"),
    ("DB_T_NEWLINES", "line 1\nline 2\n\nend\n"),
    ("DB_T_CR", "a\r\nb\rc"),
    ("DB_T_UNICODE", "grüße, 東京, émoji 🚀, zero\u{200b}width"),
    ("DB_T_HASH", "a #not a comment"),
    ("DB_T_EQUALS", "a=b=c"),
    ("DB_T_EMPTY", ""),
    ("DB_T_TAB", "a\tb"),
    ("DB_T_QUOTES_NL", "it's \"quoted\"\nover two lines"),
    ("DB_T_BACK_QUOTE", r#"a\"b\'c\\d"#),
    ("DB_T_MIXED", "it's \"$HOME\" \\n\n\t☃ `x` ${y} \\'' \"\" $"),
];

/// A workspace (no engine needed) whose persisted variables are `NASTY`, set with
/// `devboot env set` (so the values go through argv untouched), plus a config env.
fn nasty_workspace() -> Folder {
    workspace_with(
        NASTY
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    )
}

/// A workspace whose config sets `DB_T_FROM_CONFIG` and whose persisted variables are
/// `vars`.
fn workspace_with(vars: impl IntoIterator<Item = (String, String)>) -> Folder {
    let folder = Folder::new(&[(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\nenv:\n  DB_T_FROM_CONFIG: \"from the config: it's $HOME\"\n",
    )]);
    let pairs: Vec<String> = vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec!["env", "set"];
    args.extend(pairs.iter().map(String::as_str));
    folder.devboot(&args).status(0);
    folder
}

fn expected() -> BTreeMap<String, String> {
    with_config_env(
        NASTY
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    )
}

fn with_config_env(vars: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = vars.into_iter().collect();
    map.insert(
        "DB_T_FROM_CONFIG".into(),
        "from the config: it's $HOME".into(),
    );
    map
}

/// Runs `shell` with `args` (in the workspace, with its config home), which evaluates
/// devboot's output and then runs `env -0`; returns the `DB_T_*` variables it ends up with.
fn evaluated(folder: &Folder, shell: &str, args: &[&str]) -> BTreeMap<String, String> {
    let out = Command::new(shell)
        .current_dir(folder.path())
        .args(args)
        .env("DEVBOOT", devboot_bin())
        .env("XDG_CONFIG_HOME", folder.config_home())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 environment");
    text.split('\0')
        .filter_map(|entry| entry.split_once('='))
        .filter(|(k, _)| k.starts_with("DB_T_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn sh_format_round_trips_through_eval_in_bash() {
    let test = nasty_workspace();
    // Exactly what a user types: devboot writes into a pipe, so real values.
    let got = evaluated(
        &test,
        "bash",
        &["-c", r#"eval "$("$DEVBOOT" env)" && exec env -0"#],
    );
    assert_eq!(got, expected());
}

/// fish is not part of a minimal machine: `apt-get install -y fish` provides it.
fn have(program: &str) -> bool {
    which(program).is_some()
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn fish_format_round_trips_through_source_in_fish() {
    if !have("fish") {
        eprintln!(
            "SKIPPED fish_format_round_trips_through_source_in_fish: fish is not installed (apt-get install -y fish)"
        );
        return;
    }
    let test = nasty_workspace();
    let got = evaluated(
        &test,
        "fish",
        &[
            "--no-config",
            "-c",
            r#""$DEVBOOT" env --format fish | source; and exec env -0"#,
        ],
    );
    assert_eq!(got, expected());
}

/// Values for the `.env` tests: `NASTY` but the one no `.env` file can hold, commands that
/// must not run, and random mixes of the characters that matter to bash and dotenv readers
/// (the same every run).
fn dotenv_values() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = NASTY
        .iter()
        .filter(|(k, _)| *k != "DB_T_MIXED")
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    for (k, v) in [
        ("DB_T_RUN_BACKTICK", "`touch pwned-backtick`"),
        ("DB_T_RUN_SUBST", "$(touch pwned-subst) and ${HOME}"),
        ("DB_T_RUN_QUOTED", r#""`touch pwned-quoted`" \\ x"#),
        ("DB_T_RUN_DOLLAR", "it's $(touch pwned-dollar)"),
    ] {
        vars.push((k.into(), v.into()));
    }
    let alphabet: Vec<char> = "ab $`'\"\\{}#\n\t=é".chars().collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % 1024).unwrap()
    };
    let mut made = 0;
    while made < 60 {
        let len = 1 + next() % 12;
        let value: String = (0..len)
            .map(|_| alphabet[next() % alphabet.len()])
            .collect();
        // No spelling serves both bash and compose here: `dotenv_refuses_...` tests it.
        let trailing = value.len() - value.trim_end_matches('\\').len();
        if value.contains('`') && (value.contains('\'') || trailing % 2 == 1) {
            continue;
        }
        vars.push((format!("DB_T_RANDOM_{made}"), value));
        made += 1;
    }
    vars
}

/// `set -a; . ./.env` in bash: every value comes back as it was, and nothing in a value
/// ran.
#[test]
fn dotenv_format_is_safe_to_source_in_bash() {
    let test = workspace_with(dotenv_values());
    let got = evaluated(
        &test,
        "bash",
        &[
            "-c",
            r#""$DEVBOOT" env --format dotenv > .env && set -a && . ./.env && exec env -0"#,
        ],
    );
    assert_eq!(got, with_config_env(dotenv_values()));
    let ran: Vec<_> = std::fs::read_dir(test.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pwned"))
        .collect();
    assert!(ran.is_empty(), "sourcing the .env file ran {ran:?}");
}

/// What `docker-compose config` prints, as far as the dotenv test reads it.
#[derive(serde::Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
}

#[derive(serde::Deserialize)]
struct Service {
    environment: BTreeMap<String, Option<String>>,
}

/// The `.env` format, read back by docker-compose (Debian's 1.29, which reads `env_file`
/// with python-dotenv, expanding `${NAME}`): `config` prints every value with each `$`
/// doubled. Every value but those the warning names comes back as it was.
#[test]
fn dotenv_format_round_trips_through_docker_compose() {
    if !have("docker-compose") {
        eprintln!(
            "SKIPPED dotenv_format_round_trips_through_docker_compose: docker-compose is not installed (apt-get install -y docker-compose)"
        );
        return;
    }
    let test = workspace_with(dotenv_values());
    let run = test.devboot(&["env", "--format", "dotenv"]);
    let dotenv = run.status(0).stdout.clone();
    let warning = run
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: docker-compose 1.x reads "))
        .unwrap_or_else(|| panic!("no warning about docker-compose 1.x:\n{}", run.stderr));
    let differs: Vec<&str> = warning
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("DB_T_"))
        .collect();
    for name in [
        "DB_T_CR",
        "DB_T_TRAILING_BACKSLASH",
        "DB_T_DOLLAR",
        "DB_T_FROM_CONFIG",
        "DB_T_RUN_DOLLAR",
    ] {
        assert!(differs.contains(&name), "{name} is not in: {warning}");
    }
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("app.env"), &dotenv).unwrap();
    std::fs::write(
        project.path().join("docker-compose.yml"),
        "version: \"3\"\nservices:\n  app:\n    image: devboot/python-flask:bookworm\n    env_file: app.env\n",
    )
    .unwrap();
    let out = Command::new("docker-compose")
        .current_dir(project.path())
        .arg("config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-compose config failed: {}\n{dotenv}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compose: Compose = serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout))
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let read: BTreeMap<String, String> = compose.services["app"]
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default().replace("$$", "$")))
        .collect();
    let mut checked = 0;
    for (name, value) in with_config_env(dotenv_values()) {
        if differs.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            read.get(&name),
            Some(&value),
            "{name} as docker-compose read it from:\n{dotenv}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} values checked; {warning}");
}

/// A value with a backtick and a `'` has no spelling bash and docker compose read alike:
/// an error naming it, and no file.
#[test]
fn dotenv_refuses_a_value_no_spelling_serves() {
    let test = workspace_with([
        ("DB_T_FINE".to_string(), "fine".to_string()),
        ("DB_T_BAD".to_string(), "it's `id`".to_string()),
    ]);
    let run = test.devboot(&["env", "--format", "dotenv"]);
    run.status(2)
        .stderr_has("error: DB_T_BAD cannot be written in a .env file")
        .stderr_has("--format sh");
    assert_eq!(run.stdout, "");
}

#[test]
fn json_format_is_exact() {
    let test = nasty_workspace();
    let run = test.devboot(&["env", "--format", "json"]);
    let vars: BTreeMap<String, String> = serde_json::from_str(&run.status(0).stdout).unwrap();
    let got: BTreeMap<String, String> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with("DB_T_"))
        .collect();
    assert_eq!(got, expected());
}

#[test]
fn env_set_rejects_bad_names_and_missing_values() {
    let folder = Folder::new(&[(".gitpod.yml", "image: devboot/python-flask:bookworm\n")]);
    folder
        .devboot(&["env", "set", "1BAD=x"])
        .status(2)
        .stderr_has("error: `1BAD` is not a valid variable name")
        .stderr_has("names start with a letter or `_`");
    folder
        .devboot(&["env", "set", "GOOD=1", "A-B=2"])
        .status(2)
        .stderr_has("error: `A-B` is not a valid variable name");
    folder
        .devboot(&["env", "set", "NOVALUE"])
        .status(2)
        .stderr_has("error: NOVALUE has no `=`");
    // A mistyped secret is not echoed back.
    let run = folder.devboot(&["env", "set", "--secret", "TOKEN hunter2-the-secret"]);
    run.status(2).stderr_has("error: an argument has no `=`");
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    folder.devboot(&["env", "unset", "9X"]).status(2);
    assert!(
        !folder.config_home().join("devboot/env.json").exists(),
        "nothing was saved"
    );
}

/// Runs devboot under a pseudo-terminal (util-linux `script`), as a person would.
fn on_terminal(folder: &Folder, args: &str) -> String {
    let out = Command::new("script")
        .current_dir(folder.path())
        .args([
            "-qec",
            &format!("{} {args}", devboot_bin().display()),
            "/dev/null",
        ])
        .env("XDG_CONFIG_HOME", folder.config_home())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn the_store_is_private_and_lists_mask_secrets() {
    let test = Folder::new(&[
        (".gitpod.yml", "image: devboot/python-flask:bookworm\n"),
        (
            "other/.gitpod.yml",
            "image: devboot/python-flask:bookworm\n",
        ),
    ]);
    let config_home = test.config_home();
    test.devboot(&["env", "set", "PLAIN=visible", "API_TOKEN=tok-1234567890"])
        .status(0)
        .stdout_has("PLAIN=visible\nAPI_TOKEN=****\n")
        .stderr_has("the next `devboot up` recreates the container");
    test.devboot(&[
        "env",
        "set",
        "--secret",
        "DB_URL=postgres://u:pw-0987654321@db/x",
    ])
    .status(0)
    .stdout_has("DB_URL=****\n");
    test.devboot(&["env", "set", "--global", "SHARED=global", "ONLY_GLOBAL=g"])
        .status(0);
    test.devboot(&["env", "set", "SHARED=mine"]).status(0);

    let store = config_home.join("devboot/env.json");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o600, "the store is the owner's only");
    assert_eq!(mode(store.parent().unwrap()), 0o700);

    // This workspace: its own over the global ones; secrets masked.
    let list = test.devboot(&["env", "list"]);
    assert_eq!(
        list.status(0).stdout,
        "API_TOKEN=****\nDB_URL=****\nONLY_GLOBAL=g\nPLAIN=visible\nSHARED=mine\n"
    );
    assert_eq!(
        test.devboot(&["env", "list", "--global"]).stdout,
        "ONLY_GLOBAL=g\nSHARED=global\n"
    );
    // Another workspace sees only the global ones.
    let other = test.devboot(&["env", "list", "--workspace-folder", "other"]);
    assert_eq!(other.status(0).stdout, "ONLY_GLOBAL=g\nSHARED=global\n");

    // Into a pipe: real values, for eval.
    let piped = test.devboot(&["env"]);
    piped
        .status(0)
        .stdout_has("export DB_URL='postgres://u:pw-0987654321@db/x'\n")
        .stdout_has("export API_TOKEN='tok-1234567890'\n")
        .stdout_has("export SHARED='mine'\n");

    // On a terminal: masked, unless --reveal.
    if have("script") {
        let shown = on_terminal(&test, "env");
        assert!(shown.contains("export DB_URL='****'"), "{shown}");
        assert!(shown.contains("export API_TOKEN='****'"), "{shown}");
        assert!(shown.contains("export PLAIN='visible'"), "{shown}");
        assert!(
            shown.contains("secret values are masked on a terminal"),
            "{shown}"
        );
        assert!(!shown.contains("pw-0987654321") && !shown.contains("tok-1234567890"));
        let revealed = on_terminal(&test, "env --reveal");
        assert!(
            revealed.contains("export DB_URL='postgres://u:pw-0987654321@db/x'"),
            "{revealed}"
        );
    } else {
        eprintln!("SKIPPED the terminal half: `script` (util-linux) is not installed");
    }

    // unset: gone from the list; unsetting what is not set warns.
    test.devboot(&["env", "unset", "PLAIN", "SHARED"]).status(0);
    assert_eq!(
        test.devboot(&["env", "list"]).stdout,
        "API_TOKEN=****\nDB_URL=****\nONLY_GLOBAL=g\nSHARED=global\n"
    );
    test.devboot(&["env", "unset", "PLAIN"])
        .status(0)
        .stderr_has("warning: PLAIN was not set");
    assert_eq!(mode(&store), 0o600, "still private after a rewrite");
}

/// A workspace whose task prints its secrets (as a careless script would), with layered
/// variables: the config's env, persisted ones over it, the task's env over both.
const SECRETS: &str = r#"image: devboot/python-flask:bookworm
env:
  LAYERED: from-config
  TASK_WINS: from-config
  CONFIG_ONLY: from-config
  GITHUB_TOKEN: ghp-config-secret-123
tasks:
  - name: backend
    env:
      TASK_WINS: from-task
    command: |
      echo "token=$API_TOKEN password=$DB_PASS github=$GITHUB_TOKEN"
      echo "layered=$LAYERED task_wins=$TASK_WINS shared=$SHARED"
      cd backend-flask && exec python3 -m flask run --host=0.0.0.0 --port=4567
ports:
  - port: 4567
    name: backend
"#;

const SECRET_VALUES: [&str; 3] = [
    "tok-abcdef123456",
    "s3cr3t-pass-value",
    "ghp-config-secret-123",
];

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRET_VALUES {
        assert!(
            !text.contains(secret),
            "{what} shows the secret {secret}:\n{text}"
        );
    }
}

#[track_caller]
fn assert_run_has_no_secret(what: &str, run: &Run) {
    assert_no_secret(&format!("{what} (stdout)"), &run.stdout);
    assert_no_secret(&format!("{what} (stderr)"), &run.stderr);
}

#[test]
fn persisted_variables_reach_the_container_and_secrets_never_print() {
    let repo = Repo::example();
    repo.write(".gitpod.yml", SECRETS);
    repo.devboot([
        "env",
        "set",
        "--global",
        "API_TOKEN=tok-abcdef123456",
        "SHARED=global",
    ])
    .status(0);
    repo.devboot(["env", "set", "--secret", "DB_PASS=s3cr3t-pass-value"])
        .status(0);
    repo.devboot([
        "env",
        "set",
        "LAYERED=from-store",
        "TASK_WINS=from-store",
        "SHARED=mine",
    ])
    .status(0);

    let run = repo.devboot(["up", "--port-offset", "30200", "--json"]);
    run.status(0);
    assert_run_has_no_secret("up --json", &run);
    run.stderr_has("backend | token=**** password=**** github=****")
        .stderr_has("backend | layered=from-store task_wins=from-task shared=mine");

    // Commands devboot runs have the real values; persisted ones over the config's. Plain
    // ones are container env; secrets are not (`docker inspect` would show them), so a
    // `docker exec` behind devboot's back does not see them.
    let printenv = |name: &str| repo.sh(&format!("printenv {name}")).trim().to_string();
    let exec_printenv = |name: &str| {
        let run = repo.devboot(["exec", "--", "printenv", name]);
        run.status(0);
        run.stdout.trim().to_string()
    };
    assert_eq!(exec_printenv("DB_PASS"), "s3cr3t-pass-value");
    assert_eq!(exec_printenv("API_TOKEN"), "tok-abcdef123456");
    assert_eq!(
        (printenv("DB_PASS"), printenv("API_TOKEN")),
        (String::new(), String::new())
    );
    assert_eq!(printenv("LAYERED"), "from-store");
    assert_eq!(printenv("CONFIG_ONLY"), "from-config");
    assert_eq!(printenv("SHARED"), "mine");

    // Nothing devboot prints about the workspace shows them.
    for args in [
        &["logs", "backend"][..],
        &["logs"],
        &["status"],
        &["status", "--json"],
        &["config"],
        &["config", "--json"],
        &["ports", "--json"],
        &["env", "list"],
        &["up", "--port-offset", "30200", "--json"],
    ] {
        let run = repo.devboot(args);
        run.status(0);
        assert_run_has_no_secret(&args.join(" "), &run);
    }
    repo.devboot(["logs", "backend"])
        .stdout_has("token=**** password=**** github=****");
    repo.devboot(["config"]).stdout_has("GITHUB_TOKEN=****");
    let config = repo.devboot(["config", "--json"]).json();
    assert_eq!(config["containerEnv"]["GITHUB_TOKEN"], "****");

    // `env` into a pipe gives the real values (for eval) in the layering order.
    let vars = repo
        .devboot(["env", "--format", "json", "--task", "backend"])
        .json();
    assert_eq!(vars["DB_PASS"], "s3cr3t-pass-value");
    assert_eq!(vars["LAYERED"], "from-store");
    assert_eq!(vars["TASK_WINS"], "from-task");

    // An error message quoting a task's output masks them too.
    repo.write(
        ".gitpod.yml",
        &SECRETS.replace(
            "    command: |",
            "    init: echo \"init sees $DB_PASS and $API_TOKEN\" && exit 3\n    command: |",
        ),
    );
    let run = repo.devboot(["up", "--port-offset", "30210"]);
    run.status(1)
        .stderr_has("error: task `backend` failed in `init` with exit code 3")
        .stderr_has("init sees **** and ****");
    assert_run_has_no_secret("a failed up", &run);
}
