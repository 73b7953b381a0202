//! Shell integration in real shells: the completion scripts `devboot completions` prints,
//! loaded in bash (its completion function called as bash calls it), fish (`complete -C`)
//! and zsh (an interactive zsh in a pseudo-terminal, zsh's own `zpty`, offered the Tab
//! key); the man pages rendered by `man`; `scripts/install.sh` into a prefix. A missing
//! shell fails the test with the package to install (scripts/test.sh installs them).

use std::path::Path;
use std::process::Command;

use crate::harness::devboot_bin;

fn need(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{program} is missing: apt-get install -y {package}");
}

/// PATH with the devboot under test first.
fn path() -> String {
    format!(
        "{}:{}",
        devboot_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn shell(program: &str, script: &str) -> String {
    let out = Command::new(program)
        .args(["-c", script])
        .env("PATH", path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completes_subcommands_and_options() {
    need("bash", "bash");
    let complete = |words: &[&str]| {
        let line = words.join(" ");
        shell(
            "bash",
            &format!(
                r#"source <(devboot completions bash)
f=$(complete -p devboot | sed -n 's/.*-F \([^ ]*\).*/\1/p')
COMP_WORDS=({line}); COMP_CWORD={cword}; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
"$f" devboot "{cur}" "{prev}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
                cword = words.len() - 1,
                cur = words[words.len() - 1],
                prev = words[words.len() - 2],
            ),
        )
    };
    assert_eq!(complete(&["devboot", "u"]), "up\nurl\n");
    let options = complete(&["devboot", "up", "--dotfiles-r"]);
    assert_eq!(options, "--dotfiles-repository\n");
}

#[test]
fn fish_completes_subcommands_and_options() {
    need("fish", "fish");
    let out = shell(
        "fish",
        r#"devboot completions fish | source; complete -C "devboot u"; complete -C "devboot doctor --j""#,
    );
    let words: Vec<&str> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(words, ["up", "url", "--json"], "{out}");
}

#[test]
fn zsh_offers_the_subcommands_on_tab() {
    need("zsh", "zsh");
    let dir = tempfile::tempdir().unwrap();
    let functions = dir.path().join("functions");
    std::fs::create_dir_all(&functions).unwrap();
    let script = shell("bash", "devboot completions zsh");
    std::fs::write(functions.join("_devboot"), script).unwrap();
    // An interactive zsh in a pseudo-terminal of zsh's own, typing `devboot u` and Tab;
    // what it shows is read until the whole list is there (a loaded machine takes a
    // while to load compinit), or a minute has passed.
    let driver = format!(
        r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=({functions} \$fpath); autoload -U compinit; compinit -u -D; setopt nobeep; zstyle ':completion:*' list-prompt ''"
zpty -w -n z $'devboot u\t'
out=''
integer end=$(( SECONDS + 60 ))
while (( SECONDS < end )) && [[ $out != *'url  -- Print the URL of a port'* ]]; do
  if zpty -r -t z line; then out+=$line; else sleep 0.1; fi
done
zpty -d z
print -r -- $out"#,
        functions = functions.display()
    );
    let out = shell("zsh", &driver);
    assert!(out.contains("up   -- Bring the workspace up"), "{out}");
    assert!(out.contains("url  -- Print the URL of a port"), "{out}");
}

#[test]
fn install_puts_the_binary_completions_and_man_pages_under_the_prefix() {
    need("man", "man-db");
    let prefix = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/install.sh"))
        .arg("--prefix")
        .arg(prefix.path())
        .arg("--binary")
        .arg(devboot_bin())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = prefix.path();
    for file in [
        "bin/devboot",
        "share/bash-completion/completions/devboot",
        "share/zsh/site-functions/_devboot",
        "share/fish/vendor_completions.d/devboot.fish",
        "share/man/man1/devboot.1",
        "share/man/man1/devboot-up.1",
    ] {
        assert!(p.join(file).is_file(), "{file} was not installed");
    }
    let installed = Command::new(p.join("bin/devboot"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&installed.stdout).starts_with("devboot "));
    // The page renders, and says what `up --help` says.
    let man = Command::new("man")
        .arg("-l")
        .arg(p.join("share/man/man1/devboot-up.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "200")
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains("devboot-up"), "{page}");
    assert!(page.contains("--dotfiles-repository"), "{page}");
    assert!(page.contains("Bring the workspace up"), "{page}");
}
