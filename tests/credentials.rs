//! Credentials lent on request: a real `ssh-agent` on this machine with a real key, its
//! socket lent with `--forward-ssh-agent` (a hook and `devboot exec` list the key through
//! the agent protocol (python3 in the stand-in image; `ssh-add -l` in an image that has it); the key
//! itself is nowhere in the container), the git identity with `--forward-git-identity`
//! (from this machine's git config; never on the container itself), and nothing without
//! the flags. No ports.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::engine::Repo;

/// Lists the agent's keys' comments by the agent protocol (`SSH_AGENTC_REQUEST_IDENTITIES`).
const LIST_KEYS: &str = r#"import os, socket, struct
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["SSH_AUTH_SOCK"])
s.sendall(struct.pack(">IB", 1, 11))
def read(n):
    b = b""
    while len(b) < n:
        b += s.recv(n - len(b))
    return b
size, = struct.unpack(">I", read(4)); body = read(size)
assert body[0] == 12, body[0]
count, = struct.unpack(">I", body[1:5]); at = 5
for _ in range(count):
    n, = struct.unpack(">I", body[at:at+4]); at += 4 + n
    n, = struct.unpack(">I", body[at:at+4]); print(body[at+4:at+4+n].decode()); at += 4 + n
"#;

struct Agent {
    child: Child,
    socket: String,
}

impl Agent {
    /// A real ssh-agent with one new key (comment `devboot-e2e-key`) in `dir`.
    fn start(dir: &std::path::Path) -> Agent {
        let socket = dir.join("agent.sock").display().to_string();
        let child = Command::new("ssh-agent")
            .args(["-D", "-a", &socket])
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent is installed (openssh-client; scripts/test.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::path::Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "ssh-agent made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        let key = dir.join("key");
        let made = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "devboot-e2e-key",
                "-f",
            ])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        let added = Command::new("ssh-add")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &socket)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(added.success());
        Agent { child, socket }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(hook: &str) -> String {
    format!(
        r#"{{ "image": "devboot/python-flask:bookworm", "waitFor": "postCreateCommand",
  "postCreateCommand": {} }}"#,
        serde_json::to_string(hook).unwrap()
    )
}

#[test]
fn the_ssh_agent_is_lent_only_when_asked_and_lists_the_hosts_key_inside() {
    let repo = Repo::example();
    repo.write("list_keys.py", LIST_KEYS);
    repo.write(
        ".devcontainer/devcontainer.json",
        &config("python3 list_keys.py > /tmp/keys 2>&1; echo \"sock=${SSH_AUTH_SOCK:-none}\" >> /tmp/keys"),
    );
    // Outside the workspace folder, which the container mounts.
    let keys = tempfile::tempdir().unwrap();
    let agent = Agent::start(keys.path());
    let env = [("SSH_AUTH_SOCK", agent.socket.as_str())];

    // Not asked: nothing of the agent in the container.
    repo.devboot_env(["up"], &env).status(0);
    assert!(repo.sh("cat /tmp/keys").ends_with("sock=none\n"));

    let up = repo.devboot_env(["up", "--forward-ssh-agent"], &env);
    up.status(0);
    assert_eq!(
        repo.sh("cat /tmp/keys"),
        "devboot-e2e-key\nsock=/tmp/devboot-ssh-agent.sock\n"
    );
    let exec = repo.devboot_env(["exec", "python3", "list_keys.py"], &env);
    exec.status(0);
    assert_eq!(exec.stdout, "devboot-e2e-key\n");
    // The private key is not in the container.
    let found = repo.sh("grep -rl 'OPENSSH PRIVATE KEY' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | head -1");
    assert_eq!(found, "");

    // Asked for without an agent: an error that says how to start one, nothing made.
    let bare = Repo::example();
    bare.write(".devcontainer/devcontainer.json", &config("true"));
    bare.devboot_env(["up", "--forward-ssh-agent"], &[("SSH_AUTH_SOCK", "")])
        .status(2)
        .stderr_has("no SSH agent here")
        .stderr_has("ssh-agent");
    assert!(bare.containers().is_empty());
}

#[test]
fn the_git_identity_reaches_hooks_and_exec_but_not_the_container() {
    let repo = Repo::example();
    repo.write(
        ".devcontainer/devcontainer.json",
        &config("echo \"$GIT_AUTHOR_NAME <$GIT_COMMITTER_EMAIL>\" > /tmp/who"),
    );
    let home = repo.base().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join(".gitconfig"),
        "[user]\n\tname = Ada Lovelace\n\temail = ada@example.test\n",
    )
    .unwrap();
    let home = home.display().to_string();
    let settings = repo.base().join(".test-config/devboot");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::write(
        settings.join("config.toml"),
        "[credentials]\ngit-identity = true\n",
    )
    .unwrap();

    repo.devboot_env(["up"], &[("HOME", &home)]).status(0);
    assert_eq!(repo.sh("cat /tmp/who"), "Ada Lovelace <ada@example.test>\n");
    let exec = repo.devboot_env(
        ["exec", "sh", "-c", "echo $GIT_AUTHOR_EMAIL"],
        &[("HOME", &home)],
    );
    assert_eq!(exec.stdout, "ada@example.test\n");
    let env = repo.engine_cmd(&["inspect", "-f", "{{.Config.Env}}", &repo.container()]);
    assert!(!env.contains("Lovelace"), "{env}");
}

#[test]
fn ssh_add_in_the_container_lists_the_key_of_the_lent_agent() {
    // An image with ssh-add (openssh-client from Debian's mirror, over plain HTTP).
    let repo = Repo::example();
    repo.write(
        ".devcontainer/Dockerfile",
        "FROM devboot/python-flask:bookworm\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-client > /dev/null && rm -rf /var/lib/apt/lists/*\n",
    );
    repo.write(
        ".devcontainer/devcontainer.json",
        r#"{ "build": { "dockerfile": "Dockerfile" } }"#,
    );
    let keys = tempfile::tempdir().unwrap();
    let agent = Agent::start(keys.path());
    let env = [("SSH_AUTH_SOCK", agent.socket.as_str())];
    repo.devboot_env(["up", "--forward-ssh-agent"], &env)
        .status(0);
    let listed = repo.devboot_env(["exec", "ssh-add", "-l"], &env);
    listed.status(0).stdout_has("devboot-e2e-key (ED25519)");
}

#[test]
fn git_in_the_container_gets_the_hosts_stored_credential_and_nothing_else() {
    let repo = Repo::example();
    // A hook asks as git would (git itself is not in the stand-in image): through the
    // helper git's config names.
    repo.write(".devcontainer/devcontainer.json", &config("true"));
    let home = repo.base().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".gitconfig"), "[credential]\n\thelper = store\n").unwrap();
    std::fs::write(
        home.join(".git-credentials"),
        "https://alice:s3cret@git.example.test\n",
    )
    .unwrap();
    let home = home.display().to_string();
    let ask = |host: &str| {
        format!(
            "test \"$GIT_CONFIG_KEY_0\" = credential.helper && printf 'protocol=https\\nhost={host}\\nwwwauth[]=x\\n\\n' | \"$GIT_CONFIG_VALUE_0\" get"
        )
    };

    repo.devboot_env(["up", "--forward-git-credentials"], &[("HOME", &home)])
        .status(0);
    // Lent by the settings file for `exec` (the flag is `up`'s).
    let settings = repo.base().join(".test-config/devboot");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::write(
        settings.join("config.toml"),
        "[credentials]\ngit-credentials = true\n",
    )
    .unwrap();
    let known = repo.devboot_env(
        ["exec", "sh", "-c", &ask("git.example.test")],
        &[("HOME", &home)],
    );
    known.status(0);
    assert!(
        known.stdout.contains("username=alice\n") && known.stdout.contains("password=s3cret\n"),
        "{}",
        known.stdout
    );
    // A host the helper does not know: nothing, at once (no prompt on this machine).
    let unknown = repo.devboot_env(
        ["exec", "sh", "-c", &ask("other.example.test")],
        &[("HOME", &home)],
    );
    assert_eq!(unknown.stdout, "");
    // The container cannot change the answers (read-only), and `down` stops the server.
    let write = "echo x > /.devboot/credentials/1 2>/dev/null && echo wrote || echo refused";
    assert_eq!(repo.sh(write), "refused\n");
    repo.devboot_env(["down"], &[("HOME", &home)]).status(0);
    let servers = Command::new("pgrep")
        .args([
            "-f",
            &format!(
                "serve-git-credentials --state-dir {}",
                repo.base().display()
            ),
        ])
        .output()
        .unwrap();
    assert!(servers.stdout.is_empty(), "the server is stopped");
    // Not lent: no helper in the environment.
    std::fs::remove_file(settings.join("config.toml")).unwrap();
    repo.devboot_env(["up"], &[("HOME", &home)]).status(0);
    let none = repo.devboot_env(
        ["exec", "sh", "-c", "echo \"[$GIT_CONFIG_VALUE_0]\""],
        &[("HOME", &home)],
    );
    assert_eq!(none.stdout, "[]\n");
}
