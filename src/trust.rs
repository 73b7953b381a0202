//! Trust for what a workspace's config runs on the host: `initializeCommand`, the only command
//! devboot runs outside a container. A freshly cloned repository can write it, and so can a
//! process in the container (the workspace folder is mounted writable); so it runs only with
//! the user's say, as mise and direnv do.
//!
//! Trust is remembered per workspace folder and config file, for one exact command: the
//! sha256 of the host lanes as devboot would run them (name, form and text, after
//! `${localEnv:...}`). Any change asks again. The store is `trust.json` in devboot's config
//! folder: private to its owner, replaced atomically, never read or written through a link.
//!
//! The border: which phase runs on the host is `lifecycle.rs`'s ([`Timing::HostEveryUp`]);
//! this module only decides whether it may run.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::source::Document;
use crate::error::{Error, Result};
use crate::ui;
use crate::workspace::{Command, EnvMap, Timing, Workspace};

/// The key `initializeCommand` is written under, for the question's `file:line`.
const POINTER: &str = "/initializeCommand";
/// The store is a few lines per trusted workspace: anything bigger is not devboot's.
const STORE_CAP: u64 = 4 << 20;

/// One command a workspace runs on the host.
#[derive(Debug, Clone, Serialize)]
struct HostCommand {
    /// The hook (`initializeCommand`).
    stage: String,
    /// The lane: the hook itself, or the key of its object form.
    lane: String,
    command: Command,
}

/// What a workspace runs on the host, and the digest its trust is remembered by.
#[derive(Debug, Clone)]
pub struct HostCommands {
    pub folder: PathBuf,
    pub config_file: PathBuf,
    commands: Vec<HostCommand>,
    digest: String,
}

impl HostCommands {
    /// The workspace's host commands; `None` when it runs nothing on the host.
    pub fn of(ws: &Workspace) -> Option<HostCommands> {
        let commands: Vec<HostCommand> = ws
            .stages
            .iter()
            .flat_map(|stage| stage.lanes.iter().map(move |lane| (stage, lane)))
            .flat_map(|(stage, lane)| {
                lane.steps
                    .iter()
                    .filter(|step| step.phase.timing() == Timing::HostEveryUp)
                    .map(|step| HostCommand {
                        stage: stage.name.clone(),
                        lane: lane.name.clone(),
                        command: step.command.clone(),
                    })
            })
            .collect();
        if commands.is_empty() {
            return None;
        }
        // serde_json writes a `Command` as `{"shell": text}` or `{"exec": [argv]}`: the form
        // is part of what is trusted, as `sh -c x` and `["sh -c x"]` run differently.
        let json = serde_json::to_string(&commands).expect("commands serialize");
        Some(HostCommands {
            folder: ws.local_folder.clone(),
            config_file: ws.config_file.clone(),
            commands,
            digest: crate::container::hex(&Sha256::digest(json.as_bytes())),
        })
    }

    /// The commands as shown to the user: `hook: command`, one per lane, with every control
    /// character visible (a command must not hide part of itself on a terminal).
    pub fn show(&self) -> String {
        self.commands
            .iter()
            .map(|c| {
                let label = if c.lane == c.stage {
                    c.stage.clone()
                } else {
                    format!("{}.{}", c.stage, c.lane)
                };
                let text = visible(&c.command.to_string()).replace('\n', "\n    ");
                format!("{label}: {text}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn key(&self) -> String {
        self.config_file.display().to_string()
    }
}

/// The line `initializeCommand` is written on, when the document has it.
pub fn line_of(doc: &Document) -> Option<usize> {
    doc.spans
        .get(POINTER)
        .map(|_| doc.key_location(POINTER))
        .map(|at| at.file.line_col(at.span.start).0)
}

/// `text` with control characters (newline and tab aside) and the invisible characters that
/// reorder or hide text (bidi controls, zero-width spaces) written as escapes.
fn visible(text: &str) -> String {
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    text.chars()
        .map(|c| {
            if hidden(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Why host commands were not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Never trusted, and no terminal to ask on.
    NotTrusted,
    /// Trusted once, changed since, and no terminal to ask on.
    Changed,
    /// The user answered no.
    Declined,
}

/// How `up` may run the host commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Consent {
    /// `up --trust`: trust them, and remember it, without asking.
    pub given: bool,
    /// The line of the config file they are written on, for the question and the error.
    pub line: Option<usize>,
}

/// Makes sure the workspace's host commands may run: trusted before, trusted now with
/// `--trust`, or trusted by the user's answer on a terminal (both remembered). Off a
/// terminal, untrusted commands are an error. A workspace with none needs nothing.
pub fn ensure(ws: &Workspace, host_env: &EnvMap, consent: Consent) -> Result<()> {
    let Some(commands) = HostCommands::of(ws) else {
        return Ok(());
    };
    let mut store = Store::load(&crate::dirs::config_dir(host_env))?;
    let before = match store.lookup(&commands) {
        Lookup::Trusted => return Ok(()),
        Lookup::Changed(entry) => Some(entry),
        Lookup::Unknown => None,
    };
    if !consent.given {
        let refusal = |reason| Error::Untrusted {
            config_file: commands.config_file.clone(),
            line: consent.line,
            reason,
        };
        let interactive = std::io::stdin().is_terminal() && ui::stderr_is_terminal();
        if !interactive {
            return Err(refusal(if before.is_some() {
                Refusal::Changed
            } else {
                Refusal::NotTrusted
            }));
        }
        if !ask(&commands, consent.line, before.as_ref())? {
            return Err(refusal(Refusal::Declined));
        }
    }
    store.trust(&commands);
    store.save()
}

/// Shows the commands and asks whether to run and trust them (default: no).
fn ask(commands: &HostCommands, line: Option<usize>, before: Option<&Entry>) -> Result<bool> {
    ui::line(&format!(
        "This workspace runs a command on this machine, outside the container, at every `devboot up`:\n  --> {}\n{}",
        at(&commands.config_file, line),
        indent(&commands.show(), "  ")
    ));
    if let Some(before) = before {
        ui::line(&format!(
            "It changed since you trusted it; it was:\n{}",
            indent(&before.command, "  ")
        ));
    }
    dialoguer::Confirm::new()
        .with_prompt("Run it, and trust it for this workspace until it changes?")
        .default(false)
        .interact_on(&dialoguer::console::Term::stderr())
        .map_err(|e| match e {
            dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                Error::Interrupted
            }
            dialoguer::Error::IO(e) => Error::io("read an answer from", "the terminal", e),
        })
}

/// `file:line` (or the file alone), as the user sees paths.
pub fn at(config_file: &Path, line: Option<usize>) -> String {
    let file = crate::config::source::display_path(config_file);
    match line {
        Some(line) => format!("{file}:{line}"),
        None => file,
    }
}

/// Every line of `text`, indented.
pub fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A trusted command, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The config file it is written in.
    pub config: String,
    pub sha256: String,
    /// The commands as they were shown ([`HostCommands::show`]), for `trust --list`.
    pub command: String,
}

/// What the store says about some host commands.
enum Lookup {
    Trusted,
    /// The config file's commands were trusted, with another text.
    Changed(Entry),
    Unknown,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Data {
    /// Workspace folder -> what is trusted there (one entry per config file).
    #[serde(default)]
    workspaces: BTreeMap<String, Vec<Entry>>,
}

/// The trust store: `trust.json` in devboot's config folder.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    data: Data,
}

impl Store {
    /// Reads the store under `config_dir` (empty when there is none yet). It is read only
    /// when it is a regular file of this user that nobody else can write.
    pub fn load(config_dir: &Path) -> Result<Store> {
        let path = config_dir.join("trust.json");
        let data = match read_private(&path)? {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                Error::io(
                    "read",
                    &path,
                    std::io::Error::other(format!(
                        "{e}; devboot writes this file itself: remove it, and trust again"
                    )),
                )
            })?,
            None => Data::default(),
        };
        Ok(Store { path, data })
    }

    fn lookup(&self, commands: &HostCommands) -> Lookup {
        let entry = self
            .data
            .workspaces
            .get(&commands.folder.display().to_string())
            .and_then(|entries| entries.iter().find(|e| e.config == commands.key()));
        match entry {
            Some(e) if e.sha256 == commands.digest => Lookup::Trusted,
            Some(e) => Lookup::Changed(e.clone()),
            None => Lookup::Unknown,
        }
    }

    /// True when exactly these commands are trusted for their workspace and config file.
    pub fn is_trusted(&self, commands: &HostCommands) -> bool {
        matches!(self.lookup(commands), Lookup::Trusted)
    }

    /// Trusts these commands (in place of what their config file had trusted before).
    pub fn trust(&mut self, commands: &HostCommands) {
        let entries = self
            .data
            .workspaces
            .entry(commands.folder.display().to_string())
            .or_default();
        entries.retain(|e| e.config != commands.key());
        entries.push(Entry {
            config: commands.key(),
            sha256: commands.digest.clone(),
            command: commands.show(),
        });
    }

    /// Forgets everything trusted for `folder`; returns what was.
    pub fn revoke(&mut self, folder: &Path) -> Vec<Entry> {
        self.data
            .workspaces
            .remove(&folder.display().to_string())
            .unwrap_or_default()
    }

    /// Every trusted entry with its workspace folder.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.data
            .workspaces
            .iter()
            .flat_map(|(folder, entries)| entries.iter().map(move |e| (folder.as_str(), e)))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the store: mode 0600 in a 0700 folder, by a new file renamed over the old one
    /// (a link in its place is replaced, never followed).
    pub fn save(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        private_dir(dir)?;
        let text = serde_json::to_string_pretty(&self.data).expect("the store serializes");
        crate::dirs::write_private(&self.path, text.as_bytes())
    }
}

/// Makes `dir` (and its parents) if needed; devboot's own folder ends up 0700.
fn private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create", dir, e))?;
    let meta = std::fs::metadata(dir).map_err(|e| Error::io("read", dir, e))?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(Error::io(
            "use",
            dir,
            std::io::Error::other(
                "it belongs to another user: devboot keeps its trust store only in a folder of yours",
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("protect", dir, e))?;
    }
    Ok(())
}

/// The text of `path` when it is there: opened without following a link (and without
/// waiting on a FIFO), then checked on the open file: a regular file, this user's, writable
/// by nobody else, of a sane size. Anything else is an error that says so.
fn read_private(path: &Path) -> Result<Option<String>> {
    let refuse = |why: &str| {
        Error::io(
            "read",
            path,
            std::io::Error::other(format!(
                "{why}; devboot writes this file itself: remove it, and trust again"
            )),
        )
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path);
    let file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(refuse("it is a symbolic link"));
        }
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io("read", path, e))?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file"));
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(refuse("it belongs to another user"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refuse("others can write it"));
    }
    if meta.len() > STORE_CAP {
        return Err(refuse("it is far too big"));
    }
    let mut text = String::new();
    file.take(STORE_CAP)
        .read_to_string(&mut text)
        .map_err(|e| Error::io("read", path, e))?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};

    /// The workspace of a devcontainer.json with `hook` as its `initializeCommand`.
    fn loaded(dir: &Path, hook: &str) -> crate::config::Loaded {
        let text = format!("{{\"image\": \"x\",\n  \"initializeCommand\": {hook}}}");
        std::fs::write(dir.join(".devcontainer.json"), text).unwrap();
        load(&LoadOptions {
            workspace_folder: dir.to_path_buf(),
            config: None,
            format: None,
            host_env: EnvMap::from([("WHO".into(), "me".into())]),
        })
        .unwrap()
    }

    fn commands(dir: &Path, hook: &str) -> Option<HostCommands> {
        HostCommands::of(&loaded(dir, hook).workspace)
    }

    #[test]
    fn the_digest_covers_the_form_the_text_and_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let digest = |hook: &str| commands(dir.path(), hook).unwrap().digest;
        let shell = digest(r#""sh -c x""#);
        assert_eq!(shell, digest(r#""sh -c x""#), "stable");
        assert_ne!(
            shell,
            digest(r#"["sh -c x"]"#),
            "a string and an array differ"
        );
        assert_ne!(shell, digest(r#""sh -c y""#));
        assert_ne!(digest(r#"{"a": "x"}"#), digest(r#"{"b": "x"}"#));
        assert_ne!(digest(r#"{"a": "x"}"#), digest(r#"{"a": "x", "b": "y"}"#));
        // What runs is the text after ${localEnv:...}.
        assert_eq!(digest(r#""echo ${localEnv:WHO}""#), digest(r#""echo me""#));
    }

    #[test]
    fn no_initialize_command_is_nothing_to_trust() {
        let dir = tempfile::tempdir().unwrap();
        assert!(commands(dir.path(), r#""""#).is_none());
        assert!(commands(dir.path(), "null").is_none());
    }

    #[test]
    fn the_command_is_shown_whole_with_control_characters_visible() {
        let dir = tempfile::tempdir().unwrap();
        let shown = commands(
            dir.path(),
            r#"{"a": "echo a\necho b", "b": ["rm", "-rf", "x y"]}"#,
        )
        .unwrap()
        .show();
        assert_eq!(
            shown,
            "initializeCommand.a: echo a\n    echo b\ninitializeCommand.b: rm -rf 'x y'"
        );
        let hidden = commands(dir.path(), r#""echo ok\u001b[2K\rrm -rf ~ \u202e""#).unwrap();
        assert_eq!(
            hidden.show(),
            r"initializeCommand: echo ok\u{1b}[2K\u{d}rm -rf ~ \u{202e}"
        );
        let loaded = loaded(dir.path(), r#""x""#);
        assert_eq!(line_of(&loaded.document), Some(2));
    }

    #[test]
    fn trust_is_per_folder_config_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let first = commands(dir.path(), r#""make""#).unwrap();
        let mut store = Store::load(&config).unwrap();
        assert!(!store.is_trusted(&first));
        store.trust(&first);
        store.save().unwrap();

        let store = Store::load(&config).unwrap();
        assert!(store.is_trusted(&first));
        let changed = commands(dir.path(), r#""make; curl evil""#).unwrap();
        assert!(
            matches!(store.lookup(&changed), Lookup::Changed(e) if e.command == "initializeCommand: make")
        );
        let mut elsewhere = first.clone();
        elsewhere.folder = "/another/checkout".into();
        assert!(!store.is_trusted(&elsewhere));

        let mut store = store;
        store.trust(&changed);
        assert!(store.is_trusted(&changed));
        assert!(
            !store.is_trusted(&first),
            "trusting the new text replaces the old"
        );
        assert_eq!(store.entries().count(), 1);
        assert_eq!(store.revoke(dir.path()).len(), 1);
        assert!(!store.is_trusted(&changed));
    }

    #[test]
    fn the_store_is_private_and_never_read_or_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let mut store = Store::load(&config).unwrap();
        store.trust(&commands(dir.path(), r#""make""#).unwrap());
        store.save().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&config), 0o700);
        assert_eq!(mode(&config.join("trust.json")), 0o600);
        // Nothing but the store is left in the folder.
        assert_eq!(std::fs::read_dir(&config).unwrap().count(), 1);

        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        std::fs::remove_file(config.join("trust.json")).unwrap();
        std::os::unix::fs::symlink(&victim, config.join("trust.json")).unwrap();
        let err = Store::load(&config).unwrap_err().to_diagnostics();
        assert!(err[0].causes[0].contains("symbolic link"), "{err:?}");
        // A link planted where the temporary file goes is replaced, not written through.
        std::fs::remove_file(config.join("trust.json")).unwrap();
        let tmp = config.join(format!(".trust.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        store.save().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert!(Store::load(&config).unwrap().entries().count() == 1);

        // Writable by others: not believed.
        std::fs::set_permissions(
            config.join("trust.json"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        assert!(Store::load(&config).is_err());
    }
}
