//! The user's dotfiles in real containers: from a local git repository (cloned on the host)
//! and from a folder (copied), each install-script name in the reference CLI's order, an
//! install command, the dot-files linked when there is no script, once per container, a
//! failed install or clone as a warning (the backend still answers), before Gitpod's tasks,
//! and the settings file. Port offsets 36200–36210.

use std::path::Path;
use std::process::Command;

use crate::engine::{Repo, assert_serves_feed};

/// A devcontainer.json with no port: fast to make. The dotfiles install after
/// `postCreateCommand`, so under the spec's default `waitFor` (`updateContentCommand`) `up`
/// would return while they still run: the tests wait for them to read what they did.
const QUIET: &str =
    r#"{ "image": "devboot/python-flask:bookworm", "waitFor": "postStartCommand" }"#;

/// The built-in default config (the example's Flask backend on 4567) on the stand-in image.
const IMAGE: &[(&str, &str)] = &[("DEVBOOT_IMAGE", "devboot/python-flask:bookworm")];

/// A git repository at `dir` with `files` ((path, text, executable)) committed.
fn git_repo(dir: &Path, files: &[(&str, &str, bool)]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    for (rel, text, exec) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        if *exec {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .expect("git is installed (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "dotfiles"]);
}

/// A script that records its name, where it ran and as whom.
fn recorder(name: &str) -> String {
    format!("#!/bin/sh\necho {name} >> \"$HOME/dotfiles-ran\"\npwd > \"$HOME/dotfiles-pwd\"\n")
}

#[test]
fn each_install_script_name_runs_first_in_the_reference_order_from_a_cloned_repository() {
    let names = devboot::dotfiles::INSTALL_SCRIPTS;
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", QUIET);
    for (i, name) in names.iter().enumerate() {
        // This name and every later one: the first one found must run.
        let dots = repo.base().join(format!("dots-{i}"));
        let files: Vec<(&str, String, bool)> =
            names[i..].iter().map(|n| (*n, recorder(n), true)).collect();
        let files: Vec<(&str, &str, bool)> =
            files.iter().map(|(n, t, x)| (*n, t.as_str(), *x)).collect();
        git_repo(&dots, &files);
        let url = format!("file://{}", dots.display());
        repo.devboot(["up", "--recreate", "--dotfiles-repository", &url])
            .status(0);
        assert_eq!(
            repo.sh("cat $HOME/dotfiles-ran"),
            format!("{name}\n"),
            "with {:?}",
            &names[i..]
        );
        assert_eq!(
            repo.sh("cat $HOME/dotfiles-pwd"),
            format!("{}\n", repo.sh("printf %s \"$HOME\"") + "/dotfiles")
        );
        // A clone, .git and all.
        assert_eq!(repo.sh("test -d $HOME/dotfiles/.git && echo yes"), "yes\n");
    }
}

#[test]
fn without_a_script_the_dot_files_are_linked_into_home_once_per_container() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", QUIET);
    let dots = repo.base().join("dots");
    std::fs::create_dir_all(dots.join(".config")).unwrap();
    std::fs::write(dots.join(".vimrc"), "set number\n").unwrap();
    std::fs::write(dots.join(".config/tool.conf"), "x\n").unwrap();
    std::fs::write(dots.join("README.md"), "mine\n").unwrap();
    let folder = dots.display().to_string();
    let up = repo.devboot(["up", "--dotfiles-repository", &folder]);
    up.status(0);
    assert_eq!(
        repo.sh("readlink $HOME/.vimrc"),
        format!("{}/dotfiles/.vimrc\n", repo.sh("printf %s $HOME"))
    );
    assert_eq!(repo.sh("cat $HOME/.vimrc"), "set number\n");
    // A folder is linked as a whole; a file that is not a dot-file is not.
    assert_eq!(repo.sh("cat $HOME/.config/tool.conf"), "x\n");
    assert_eq!(
        repo.sh("test -e $HOME/README.md || echo absent"),
        "absent\n"
    );
    let status = repo.devboot(["status", "--json"]);
    status.status(0);
    assert!(status.stdout.contains("\"dotfiles\""), "{}", status.stdout);

    // Once per container: a change to the folder is not copied again by the next up.
    std::fs::write(dots.join(".vimrc"), "set nonumber\n").unwrap();
    repo.devboot(["up", "--dotfiles-repository", &folder])
        .status(0);
    assert_eq!(repo.sh("cat $HOME/dotfiles/.vimrc"), "set number\n");
    // A new container gets them again.
    repo.devboot(["up", "--recreate", "--dotfiles-repository", &folder])
        .status(0);
    assert_eq!(repo.sh("cat $HOME/dotfiles/.vimrc"), "set nonumber\n");
}

#[test]
fn the_settings_file_gives_every_workspace_its_dotfiles_with_an_install_command() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", QUIET);
    let dots = repo.base().join("dots");
    git_repo(
        &dots,
        &[
            (
                "install.sh",
                "#!/bin/sh\necho wrong > $HOME/dotfiles-ran\n",
                true,
            ),
            ("mine/go", &recorder("go"), true),
        ],
    );
    let config_dir = repo.base().join(".test-config/devboot");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "[dotfiles]\nrepository = \"{}\"\ninstall-command = \"mine/go\"\ntarget-path = \"/tmp/my dots\"\n",
            dots.display()
        ),
    )
    .unwrap();
    let shown = repo.devboot(["config", "--settings"]);
    shown.status(0);
    assert!(
        shown.stdout.contains("dotfiles.install-command"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("\"mine/go\""), "{}", shown.stdout);
    assert!(shown.stdout.contains("config.toml"), "{}", shown.stdout);
    assert!(shown.stdout.contains("wait-timeout") && shown.stdout.contains("default"));

    repo.devboot(["up"]).status(0);
    assert_eq!(repo.sh("cat $HOME/dotfiles-ran"), "go\n");
    assert_eq!(repo.sh("cat $HOME/dotfiles-pwd"), "/tmp/my dots\n");
    // A flag wins over the file.
    repo.devboot([
        "up",
        "--recreate",
        "--dotfiles-install-command",
        "echo flag > $HOME/dotfiles-ran",
    ])
    .status(0);
    assert_eq!(repo.sh("cat $HOME/dotfiles-ran"), "flag\n");

    // A typo in the file is an error at its line and column, for every command.
    std::fs::write(config_dir.join("config.toml"), "[dotfiles]\nrepo = \"x\"\n").unwrap();
    let bad = repo.devboot(["up"]);
    bad.status(2)
        .stderr_has("unknown field `repo`")
        .stderr_has("config.toml:2:1");
}

#[test]
fn a_failed_install_or_clone_is_a_warning_and_the_workspace_still_comes_up() {
    let repo = Repo::example();
    let dots = repo.base().join("dots");
    git_repo(
        &dots,
        &[("setup.sh", "#!/bin/sh\necho half-way\nexit 3\n", true)],
    );
    let offset = 36200;
    let up = repo.devboot_env(
        [
            "up",
            "--port-offset",
            &offset.to_string(),
            "--dotfiles-repository",
            &dots.display().to_string(),
        ],
        IMAGE,
    );
    up.status(0)
        .stderr_has("the dotfiles install failed (exit 3)")
        .stderr_has("devboot logs dotfiles");
    assert_serves_feed(4567 + offset);
    let logs = repo.devboot(["logs", "dotfiles"]);
    logs.status(0).stdout_has("half-way");
    // Done for this container, failed or not: the next up says nothing more.
    let again = repo.devboot_env(
        [
            "up",
            "--port-offset",
            &offset.to_string(),
            "--dotfiles-repository",
            &dots.display().to_string(),
        ],
        IMAGE,
    );
    again.status(0);
    assert!(!again.stderr.contains("dotfiles"), "{}", again.stderr);

    let repo = Repo::example();
    let offset = 36201;
    let up = repo.devboot_env(
        [
            "up",
            "--port-offset",
            &offset.to_string(),
            "--dotfiles-repository",
            "file:///nonexistent/dots.git",
        ],
        IMAGE,
    );
    up.status(0)
        .stderr_has("could not clone the dotfiles repository file:///nonexistent/dots.git")
        .stderr_has("the dotfiles install failed");
    assert_serves_feed(4567 + offset);
}

#[test]
fn gitpod_tasks_start_after_the_dotfiles_are_installed() {
    let repo = Repo::example();
    repo.write(
        ".gitpod.yml",
        "image: devboot/python-flask:bookworm\ntasks:\n  - name: look\n    command: cat $HOME/dotfiles-ran > /tmp/seen; sleep infinity\n",
    );
    let dots = repo.base().join("dots");
    git_repo(&dots, &[("bootstrap", &recorder("bootstrap"), true)]);
    repo.devboot(["up", "--dotfiles-repository", &dots.display().to_string()])
        .status(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while repo.sh("cat /tmp/seen 2>/dev/null").is_empty() {
        assert!(std::time::Instant::now() < deadline, "the task never ran");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(repo.sh("cat /tmp/seen"), "bootstrap\n");
}

#[test]
fn a_container_another_tool_made_gets_the_dotfiles_copied_in_once() {
    let repo = Repo::example();
    repo.write(".devcontainer/devcontainer.json", QUIET);
    let dots = repo.base().join("dots");
    git_repo(&dots, &[("script/setup", &recorder("script/setup"), true)]);
    let id = repo.run_as_the_reference_cli_would();
    let url = format!("file://{}", dots.display());
    repo.devboot(["up", "--dotfiles-repository", &url])
        .status(0)
        .stderr_has("made by another tool");
    assert_eq!(repo.container(), id);
    assert_eq!(repo.sh("cat $HOME/dotfiles-ran"), "script/setup\n");
    assert_eq!(
        repo.sh("test -f $HOME/.devcontainer/.dotfilesMarker && echo marked"),
        "marked\n"
    );
    // Done there: not copied or run again.
    repo.sh("rm -rf /tmp/devboot-dotfiles");
    repo.devboot(["up", "--dotfiles-repository", &url])
        .status(0);
    assert_eq!(repo.sh("cat $HOME/dotfiles-ran"), "script/setup\n");
    assert_eq!(
        repo.sh("test -e /tmp/devboot-dotfiles || echo absent"),
        "absent\n"
    );
}
