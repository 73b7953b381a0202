//! `devboot init`: look at the repository, ask what to write (only when a person is at a
//! terminal), render a template and write its files without ever replacing a config file
//! that differs, unless `--force`.
//!
//! Answers come from, in order: a flag, a prompt (stdin and stderr both terminals, no
//! `--yes`), the default. Without a terminal and without `--yes` nothing waits for input:
//! init fails with exit code 2 before writing anything.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use clap::ValueEnum;
use dialoguer::console::Term;
use dialoguer::{Confirm, Input, Select};

use crate::cli::Global;
use crate::detect::{self, Detected};
use crate::error::{Error, Result, exit};
use crate::template::{self, Answers, FileKind, Formats, RenderedFile, Template};
use crate::ui;
use crate::workspace::Visibility;

#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Ask nothing: take the flags given and the defaults for the rest.
    #[arg(short, long)]
    yes: bool,
    /// Which config files to write [default: both].
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    formats: Option<FormatsArg>,
    /// The template to render (see `devboot templates`); default: from what is detected.
    #[arg(long, value_name = "NAME")]
    template: Option<String>,
    /// The port the backend listens on in the container [default: 4567].
    #[arg(long, value_name = "PORT")]
    backend_port: Option<u16>,
    /// The port the frontend listens on (templates with a frontend) [default: 3000].
    #[arg(long, value_name = "PORT")]
    frontend_port: Option<u16>,
    /// Who may open the backend's port [default: public].
    #[arg(long, value_enum, value_name = "VISIBILITY")]
    backend_visibility: Option<VisibilityArg>,
    /// Who may open the frontend's port [default: public].
    #[arg(long, value_enum, value_name = "VISIBILITY")]
    frontend_visibility: Option<VisibilityArg>,
    /// The base image [default: the `DEVBOOT_IMAGE` environment variable, else
    /// python:3.11-slim-bookworm].
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    /// Run `devboot up` at start-up: a Gitpod task and a VS Code folder-open task (on a
    /// host they make the container; inside the workspace's own container they run its
    /// hooks in place).
    #[arg(long)]
    hook: bool,
    /// Replace config files that exist and differ.
    #[arg(long)]
    force: bool,
    /// Print the files instead of writing them.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatsArg {
    /// .gitpod.yml
    Gitpod,
    /// .devcontainer/devcontainer.json
    Devcontainer,
    /// .gitpod.yml and .devcontainer/devcontainer.json
    Both,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VisibilityArg {
    Public,
    Private,
}

impl From<VisibilityArg> for Visibility {
    fn from(v: VisibilityArg) -> Self {
        match v {
            VisibilityArg::Public => Visibility::Public,
            VisibilityArg::Private => Visibility::Private,
        }
    }
}

/// What becomes of one rendered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Not there yet: written.
    Create,
    /// There with the same contents: left as is.
    Unchanged,
    /// The app's own file is there: kept, whatever it says.
    Kept,
    /// A config file is there and differs: replaced with `--force`, else init stops.
    Differs,
}

pub(crate) fn run(args: &InitArgs, global: &Global) -> Result<u8> {
    let options = global.load_options()?;
    let folder = options.workspace_folder.clone();
    let formats = args.formats.map(|f| match f {
        FormatsArg::Gitpod => Formats::Gitpod,
        FormatsArg::Devcontainer => Formats::Devcontainer,
        FormatsArg::Both => Formats::Both,
    });
    let interactive = !args.yes && std::io::stdin().is_terminal() && ui::stderr_is_terminal();
    if !args.yes && !interactive {
        return Err(Error::Usage {
            message: "devboot init asks questions, and no terminal is attached to answer them"
                .into(),
            help: Some(
                "pass --yes to take the defaults; choose with --template, --format, --backend-port, --frontend-port, --backend-visibility, --frontend-visibility, --image, --hook"
                    .into(),
            ),
        });
    }
    let template = match &args.template {
        Some(name) => Some(template::find(name).ok_or_else(|| Error::Usage {
            message: format!("there is no template `{name}`"),
            help: Some(format!(
                "choose one of: {} (`devboot templates` describes them)",
                template::all()
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })?),
        None => None,
    };

    let detected = detect::detect(&folder);
    say_detected(&detected);
    let mut answers = Answers::defaults(&detected);
    // Not clap's `env`: a prompt offers the variable's image as its default, a flag skips it.
    if let Some(image) = options
        .host_env
        .get(template::IMAGE_VAR)
        .filter(|i| !i.is_empty())
    {
        answers.image.clone_from(image);
    }
    answers.name = folder.file_name().map_or_else(
        || "workspace".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let template = if interactive {
        ask(args, formats, template, &detected, &mut answers).map_err(|e| match e {
            dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                Error::Interrupted
            }
            dialoguer::Error::IO(e) => Error::io("read answers from", "the terminal", e),
        })?
    } else {
        take_flags(args, formats, &mut answers);
        template.unwrap_or_else(|| template::suggest(&detected))
    };
    answers.check(template).map_err(Error::usage)?;

    if args.hook && !answers.formats.devcontainer() {
        ui::note(
            "the Gitpod start-up task is written only with devcontainer.json (`--format both`): \
             with .gitpod.yml alone, `devboot up` would run itself inside the container; \
             .vscode/tasks.json runs it when VS Code opens the folder",
        );
    }
    let files = template::render(template, &answers).map_err(|e| Error::Usage {
        message: e.to_string(),
        help: Some("this is a bug in devboot; please report it".into()),
    })?;
    let planned: Vec<(RenderedFile, Outcome)> = files
        .into_iter()
        .map(|file| {
            let outcome = outcome(&folder, &file);
            (file, outcome)
        })
        .collect();

    if args.dry_run {
        ui::stdout(&dry_run(&folder, &planned, args.force))?;
        return Ok(exit::OK);
    }
    let differing: Vec<&RenderedFile> = planned
        .iter()
        .filter(|(_, o)| *o == Outcome::Differs)
        .map(|(f, _)| f)
        .collect();
    if !differing.is_empty() && !args.force {
        let mut diffs = String::new();
        for file in &differing {
            diffs.push_str(&diff(&folder, file));
        }
        ui::stdout(&diffs)?;
        let names: Vec<String> = differing
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        return Err(Error::Usage {
            message: format!(
                "{} already exist{} and differ{} from what init would write (diff above); nothing was written",
                names.join(", "),
                if names.len() == 1 { "s" } else { "" },
                if names.len() == 1 { "s" } else { "" },
            ),
            help: Some(
                "pass --force to replace them, or --dry-run to see everything init would write"
                    .into(),
            ),
        });
    }

    let mut report = String::new();
    for (file, outcome) in &planned {
        let shown = file.path.display();
        match outcome {
            Outcome::Create | Outcome::Differs => {
                write(&folder, &file.path.to_string_lossy(), &file.contents)?;
                let verb = if *outcome == Outcome::Create {
                    "created"
                } else {
                    "replaced"
                };
                let _ = writeln!(report, "{verb} {shown}");
            }
            Outcome::Unchanged => {
                let _ = writeln!(report, "unchanged {shown}");
            }
            Outcome::Kept => {
                let _ = writeln!(
                    report,
                    "kept {shown} (it exists, and it is the app's file, not devboot's config)"
                );
            }
        }
    }
    ui::stdout(&report)?;
    ui::note("check with `devboot validate`, then start with `devboot up`");
    Ok(exit::OK)
}

fn say_detected(detected: &Detected) {
    match &detected.backend {
        Some(b) => ui::note(&format!("found a Flask backend in {}", shown_dir(&b.dir))),
        None => ui::warning(&format!(
            "no Flask backend found (backend-flask/app.py, or app.py or wsgi.py with flask in requirements.txt); the files assume one in {}/",
            detect::BACKEND_DIR
        )),
    }
    if let Some(f) = &detected.frontend {
        ui::note(&format!("found a Node frontend in {}", shown_dir(&f.dir)));
    }
}

fn shown_dir(dir: &str) -> String {
    if dir == "." {
        "the workspace root".into()
    } else {
        format!("{dir}/")
    }
}

/// Fills the answers from the flags (the non-interactive path).
fn take_flags(args: &InitArgs, formats: Option<Formats>, answers: &mut Answers) {
    if let Some(formats) = formats {
        answers.formats = formats;
    }
    if let Some(port) = args.backend_port {
        answers.backend_port = port;
    }
    if let Some(port) = args.frontend_port {
        answers.frontend_port = port;
    }
    if let Some(v) = args.backend_visibility {
        answers.backend_visibility = v.into();
    }
    if let Some(v) = args.frontend_visibility {
        answers.frontend_visibility = v.into();
    }
    if let Some(image) = &args.image {
        answers.image.clone_from(image);
    }
    answers.hook = args.hook;
}

/// Asks every question no flag answered, on stderr.
fn ask(
    args: &InitArgs,
    formats: Option<Formats>,
    template: Option<&'static Template>,
    detected: &Detected,
    answers: &mut Answers,
) -> dialoguer::Result<&'static Template> {
    let term = Term::stderr();
    take_flags(args, formats, answers);
    if formats.is_none() {
        let choices = [
            (
                Formats::Both,
                "both .gitpod.yml and .devcontainer/devcontainer.json",
            ),
            (Formats::Gitpod, ".gitpod.yml"),
            (Formats::Devcontainer, ".devcontainer/devcontainer.json"),
        ];
        let i = Select::new()
            .with_prompt("Which config files should init write?")
            .items(choices.iter().map(|(_, text)| *text))
            .default(0)
            .interact_on(&term)?;
        answers.formats = choices[i].0;
    }
    let template = if let Some(t) = template {
        t
    } else {
        let all = template::all();
        let suggested = template::suggest(detected);
        let i = Select::new()
            .with_prompt("Which template?")
            .items(all.iter().map(|t| format!("{}: {}", t.name, t.description)))
            .default(
                all.iter()
                    .position(|t| t.name == suggested.name)
                    .unwrap_or(0),
            )
            .interact_on(&term)?;
        &all[i]
    };
    if args.backend_port.is_none() {
        answers.backend_port = ask_port(&term, "Backend port", answers.backend_port)?;
    }
    if template.frontend && args.frontend_port.is_none() {
        answers.frontend_port = ask_port(&term, "Frontend port", answers.frontend_port)?;
    }
    if args.backend_visibility.is_none() {
        answers.backend_visibility = ask_visibility(&term, "backend", answers.backend_port)?;
    }
    if template.frontend && args.frontend_visibility.is_none() {
        answers.frontend_visibility = ask_visibility(&term, "frontend", answers.frontend_port)?;
    }
    if args.image.is_none() {
        answers.image = Input::<String>::new()
            .with_prompt("Base image")
            .default(answers.image.clone())
            .validate_with(|s: &String| -> std::result::Result<(), &str> {
                if s.trim().is_empty() || s.contains(char::is_whitespace) {
                    Err("write an image name without spaces, like python:3.11-slim-bookworm")
                } else {
                    Ok(())
                }
            })
            .interact_text_on(&term)?;
    }
    if !args.hook {
        answers.hook = Confirm::new()
            .with_prompt("Run `devboot up` at start-up (Gitpod task, VS Code folder-open task)?")
            .default(false)
            .interact_on(&term)?;
    }
    Ok(template)
}

fn ask_port(term: &Term, prompt: &str, default: u16) -> dialoguer::Result<u16> {
    Input::<u16>::new()
        .with_prompt(prompt)
        .default(default)
        .validate_with(|p: &u16| -> std::result::Result<(), &str> {
            if *p == 0 {
                Err("a port is between 1 and 65535")
            } else {
                Ok(())
            }
        })
        .interact_text_on(term)
}

fn ask_visibility(term: &Term, what: &str, port: u16) -> dialoguer::Result<Visibility> {
    let i = Select::new()
        .with_prompt(format!("Who may open the {what} (port {port})?"))
        .items([
            "public: anyone with the URL (published on every host address)",
            "private: only you (published on 127.0.0.1)",
        ])
        .default(0)
        .interact_on(term)?;
    Ok(if i == 0 {
        Visibility::Public
    } else {
        Visibility::Private
    })
}

fn outcome(folder: &Path, file: &RenderedFile) -> Outcome {
    match std::fs::read(folder.join(&file.path)) {
        Err(_) => Outcome::Create,
        Ok(bytes) if bytes == file.contents.as_bytes() => Outcome::Unchanged,
        Ok(_) if file.kind == FileKind::Support => Outcome::Kept,
        Ok(_) => Outcome::Differs,
    }
}

/// A unified diff from the file on disk to what init would write.
fn diff(folder: &Path, file: &RenderedFile) -> String {
    let old = std::fs::read(folder.join(&file.path))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let shown = file.path.display().to_string();
    similar::TextDiff::from_lines(&old, &file.contents)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// Every file, as init would write it, with what would happen to it.
fn dry_run(folder: &Path, planned: &[(RenderedFile, Outcome)], force: bool) -> String {
    let mut out = String::new();
    for (file, outcome) in planned {
        let shown = file.path.display();
        let what = match outcome {
            Outcome::Create => "would be created",
            Outcome::Unchanged => "exists with the same contents: left as is",
            Outcome::Kept => "exists: kept, it is the app's file",
            Outcome::Differs if force => "exists and differs: would be replaced (--force)",
            Outcome::Differs => "exists and differs: init would stop unless --force",
        };
        let _ = writeln!(out, "==> {shown}: {what} <==");
        match outcome {
            Outcome::Create => out.push_str(&file.contents),
            Outcome::Differs => out.push_str(&diff(folder, file)),
            Outcome::Unchanged | Outcome::Kept => {}
        }
    }
    out
}

/// Writes a file of the workspace folder, which a container may have changed: through
/// the boundary's door, so that a link planted in place of a config (or of its folder)
/// never sends devboot's write to a file elsewhere on this machine.
fn write(folder: &Path, rel: &str, contents: &str) -> Result<()> {
    let door = crate::boundary::Door::open(folder).ok_or_else(|| {
        Error::io(
            "open",
            folder,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })?;
    door.write_file(rel, contents.as_bytes())
        .map_err(|e| Error::io("write", folder.join(rel), e))
}
