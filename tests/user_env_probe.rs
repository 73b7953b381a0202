//! `userEnvProbe` in real containers: hooks and `devboot exec` see what the user's shell
//! profile sets (a PATH and a variable in `.bashrc`, as nvm or pyenv write them), under
//! `remoteEnv`, without losing the image's own PATH entries (a login shell's /etc/profile
//! resets PATH); per mode (the spec's default `loginInteractiveShell`, `loginShell` reading
//! `.profile` only, `none`); read again at the next container start. No ports.

use crate::engine::Repo;

/// An image whose root has a tool and a variable set only by its shell profile.
const DOCKERFILE: &str = r#"FROM devboot/python-flask:bookworm
ENV PATH=/opt/imagetools:$PATH
RUN mkdir -p /opt/imagetools && printf '#!/bin/sh\necho image tool ran\n' > /opt/imagetools/imagetool && chmod +x /opt/imagetools/imagetool
RUN mkdir -p /root/mytools && printf '#!/bin/sh\necho my tool ran\n' > /root/mytools/mytool && chmod +x /root/mytools/mytool \
 && printf 'export PATH="$HOME/mytools:$PATH"\nexport FROM_BASHRC=yes\nexport SHARED=from-bashrc\necho this profile talks\n' >> /root/.bashrc \
 && printf 'export FROM_PROFILE=yes\n' >> /root/.profile
"#;

fn config(probe: Option<&str>) -> String {
    let probe = probe
        .map(|p| format!(r#""userEnvProbe": "{p}","#))
        .unwrap_or_default();
    format!(
        r#"{{
  "build": {{ "dockerfile": "Dockerfile" }},
  {probe}
  "remoteEnv": {{ "SHARED": "from-remote-env" }},
  "waitFor": "postStartCommand",
  "postStartCommand": "{{ mytool; imagetool; echo \"bashrc=${{FROM_BASHRC:-}} profile=${{FROM_PROFILE:-}} shared=$SHARED\"; }} > /tmp/seen 2>&1"
}}"#
    )
}

fn repo(probe: Option<&str>) -> Repo {
    let repo = Repo::example();
    repo.write(".devcontainer/Dockerfile", DOCKERFILE);
    repo.write(".devcontainer/devcontainer.json", &config(probe));
    repo
}

#[test]
fn by_default_hooks_and_exec_see_what_bashrc_sets_under_remote_env() {
    let repo = repo(None);
    repo.devboot(["up"]).status(0);
    assert_eq!(
        repo.sh("cat /tmp/seen"),
        "my tool ran\nimage tool ran\nbashrc=yes profile=yes shared=from-remote-env\n"
    );
    let exec = repo.devboot([
        "exec",
        "sh",
        "-c",
        "mytool && echo \"$FROM_BASHRC $SHARED\"",
    ]);
    exec.status(0);
    assert_eq!(exec.stdout, "my tool ran\nyes from-remote-env\n");

    // A change to the profile is read at the next start (once per start, not per command).
    repo.sh("echo 'export FROM_BASHRC=changed' >> /root/.bashrc");
    let exec = repo.devboot(["exec", "sh", "-c", "echo $FROM_BASHRC"]);
    assert_eq!(exec.stdout, "yes\n");
    repo.devboot(["down"]).status(0);
    repo.devboot(["up"]).status(0);
    assert_eq!(
        repo.sh("cat /tmp/seen"),
        "my tool ran\nimage tool ran\nbashrc=changed profile=yes shared=from-remote-env\n"
    );
}

#[test]
fn an_interactive_shell_reads_bashrc_only_and_none_reads_nothing() {
    // bash -i reads .bashrc only (-l would read .profile, which on Debian reads .bashrc).
    let repo = repo(Some("interactiveShell"));
    repo.devboot(["up"]).status(0);
    assert_eq!(
        repo.sh("cat /tmp/seen"),
        "my tool ran\nimage tool ran\nbashrc=yes profile= shared=from-remote-env\n"
    );

    let repo = self::repo(Some("none"));
    repo.devboot(["up"]).status(0);
    let seen = repo.sh("cat /tmp/seen");
    assert!(seen.contains("mytool: not found"), "{seen}");
    assert!(
        seen.ends_with("bashrc= profile= shared=from-remote-env\n"),
        "{seen}"
    );
    let exec = repo.devboot(["exec", "sh", "-c", "echo \"[$FROM_BASHRC]\""]);
    assert_eq!(exec.stdout, "[]\n");
}

#[test]
fn a_value_that_is_not_a_mode_is_an_error_at_its_place() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        "{\n  \"image\": \"devboot/python-flask:bookworm\",\n  \"userEnvProbe\": \"loginshell\"\n}\n",
    );
    let run = repo.devboot(["up"]);
    run.status(2)
        .stderr_has("devcontainer.json:3:")
        .stderr_has("loginShell");
}

#[test]
fn in_a_container_another_tool_made_hooks_see_the_profile_too() {
    let repo = repo(None);
    let id = repo.run_as_the_reference_cli_would();
    // Its image is the stand-in itself: the profile is written into it as the Dockerfile
    // does.
    let runs = DOCKERFILE.replace(" \\\n", " ");
    for line in runs.lines().filter_map(|l| l.strip_prefix("RUN ")) {
        repo.sh(line);
    }
    repo.devboot(["up"])
        .status(0)
        .stderr_has("made by another tool");
    assert_eq!(repo.container(), id);
    // (Its image has no ENV PATH for /opt/imagetools: only the profile's tools.)
    let seen = repo.sh("cat /tmp/seen");
    assert!(seen.starts_with("my tool ran\n"), "{seen}");
    assert!(
        seen.ends_with("bashrc=yes profile=yes shared=from-remote-env\n"),
        "{seen}"
    );
}
