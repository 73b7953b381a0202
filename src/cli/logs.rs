//! `devboot logs [TASK] [-f] [--tail N]`: a task's output, from its log file in the
//! container. Secret values are masked line by line, as in everything devboot prints: a
//! task that echoes a token does not leak it through `logs`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::state::{LogReader, StateDir, tail_lines};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// The task (Gitpod task name, or devcontainer hook name); default: all.
    task: Option<String>,
    /// Keep printing new output.
    #[arg(short, long)]
    follow: bool,
    /// Lines from the end to start with.
    #[arg(long, value_name = "N")]
    tail: Option<usize>,
    /// The tasks ran here, in the workspace devboot runs in (`up --in-place`).
    #[arg(long)]
    in_place: bool,
}

pub(crate) fn run(args: &LogsArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    if args.in_place || crate::up::may_be_in_place(&options.host_env) {
        let loaded = crate::config::load(&options)?;
        let flag = args.in_place.then_some(true);
        if crate::up::in_place(&loaded.workspace, &options.host_env, flag).is_some() {
            let persisted = crate::up::persisted_env(&options.host_env, &options.workspace_folder)?;
            let ws = &loaded.workspace;
            ui::set_secrets(crate::env::secret_values(
                ws,
                &persisted.values,
                &persisted.secrets,
                [],
            ));
            let logs: Vec<String> = lane_ids(ws, args)?
                .iter()
                .map(|id| log_here(id, &options.host_env))
                .collect();
            return print_by_exec(&lifecycle::Shell::Here, &logs, args);
        }
    }
    let crate::cli::Existing {
        loaded,
        engine,
        persisted,
        target,
        info,
        ..
    } = global.existing(args.source, false)?;
    let ws = &loaded.workspace;
    let container_env = info.env();
    ui::set_secrets(crate::env::secret_values(
        ws,
        &persisted.values,
        &persisted.secrets,
        &container_env,
    ));
    let ids = lane_ids(ws, args)?;
    if info.mounts_at(crate::state::MOUNT) {
        return print_from_state(&target.state, &ids, args);
    }
    let shell = lifecycle::Shell::Container {
        engine: &engine,
        id: &info.id,
        user: target.exec.user.as_deref(),
    };
    // Under the remote user's home (relative to it, where the script starts).
    let logs: Vec<String> = ids
        .iter()
        .map(|id| {
            lifecycle::lane_log(lifecycle::Place::Home, id)
                .trim_start_matches("~/")
                .to_string()
        })
        .collect();
    print_by_exec(&shell, &logs, args)
}

/// A lane's log in place: under the home folder, else (in the container devboot made,
/// where its runner ran the lane) in the container's half of the state folder.
fn log_here(id: &str, host_env: &crate::workspace::EnvMap) -> String {
    let home = std::path::Path::new(host_env.get("HOME").map_or("/tmp", String::as_str));
    let mine = home.join(lifecycle::lane_log(crate::up::IN_PLACE, id).trim_start_matches("~/"));
    let runner = lifecycle::lane_log(lifecycle::Place::State, id);
    if !mine.is_file() && std::path::Path::new(&runner).is_file() {
        return runner;
    }
    mine.display().to_string()
}

/// The lanes asked for (all when none is named).
fn lane_ids(ws: &crate::workspace::Workspace, args: &LogsArgs) -> Result<Vec<String>> {
    Ok(match &args.task {
        Some(task) => {
            let found = lifecycle::find_lanes(ws, task);
            if found.is_empty() {
                let names: Vec<String> = lifecycle::shown_lanes(ws)
                    .into_iter()
                    .map(|(shown, _)| shown)
                    .collect();
                return Err(Error::Usage {
                    message: format!("no task named `{task}`"),
                    help: Some(format!("tasks of this workspace: {}", names.join(", "))),
                });
            }
            found.into_iter().map(|(_, id)| id).collect()
        }
        None => lifecycle::shown_lanes(ws)
            .into_iter()
            .map(|(_, id)| id)
            .collect(),
    })
}

/// devboot's container: the logs are read on the host, from the container's half of the
/// state folder, as the untrusted files they are (no engine call; a FIFO or a link in place
/// of a log is skipped with a warning, a huge log costs only what is printed).
fn print_from_state(state: &StateDir, ids: &[String], args: &LogsArgs) -> Result<u8> {
    let mut readers: Vec<(&String, Option<std::fs::File>, LogReader)> = ids
        .iter()
        .map(|id| (id, None, LogReader::default()))
        .collect();
    let headers = ids.len() > 1;
    let mut last_shown: Option<&String> = None;
    loop {
        for (id, file, reader) in &mut readers {
            if file.is_none() {
                let Some((opened, size)) = state.open_log(id) else {
                    continue;
                };
                if let Some(n) = args.tail {
                    let lines = tail_lines(&opened, size, n);
                    print_lines(id, &lines, headers, &mut last_shown)?;
                    *reader = LogReader::starting_at(size);
                }
                *file = Some(opened);
            }
            let Some(file) = file else { continue };
            let mut result = Ok(());
            // To its end now (a bounded amount at a time, each printed as it comes).
            while reader.read_new(file, &mut |lines| {
                if result.is_ok() {
                    result = print_lines(id, lines, headers, &mut last_shown);
                }
            }) && result.is_ok()
            {}
            result?;
            if !args.follow
                && let Some(line) = reader.finish()
            {
                print_lines(id, &[line], headers, &mut last_shown)?;
            }
        }
        if !args.follow {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for (id, file, _) in &readers {
        if file.is_none() {
            ui::note(&format!(
                "`{id}` has no output yet ({} does not exist)",
                state.log_shown(id).display()
            ));
        }
    }
    Ok(0)
}

/// Prints lines of one lane, with a `==> lane <==` header when several are shown and the
/// lane changes. Text from the container: on a terminal, only its colours get through.
fn print_lines<'a>(
    id: &'a String,
    lines: &[String],
    headers: bool,
    last: &mut Option<&'a String>,
) -> Result<()> {
    let mut text = String::new();
    if headers && *last != Some(id) {
        let _ = writeln!(text, "==> {id} <==");
        *last = Some(id);
    }
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    ui::stdout(&text)
}

/// A container another tool made, or the workspace devboot runs in: the `logs` (paths
/// there, relative ones under the user's home) are read with `tail`.
fn print_by_exec(shell: &lifecycle::Shell, logs: &[String], args: &LogsArgs) -> Result<u8> {
    // Only the logs that exist: a task that never ran has none, which is said plainly.
    let mut script = String::from(
        "cd \"${HOME:-/tmp}\" || exit 1\nfor f; do shift; if [ -f \"$f\" ]; then set -- \"$@\" \"$f\"; \
         else echo \"devboot: ${f%/log} has no output yet (it has not run in this container)\" >&2; fi; done\n\
         [ $# -gt 0 ] || exit 0\nexec tail",
    );
    match args.tail {
        Some(n) => {
            let _ = write!(script, " -n {n}");
        }
        None => script.push_str(" -n +1"),
    }
    if args.follow {
        script.push_str(" -F");
    }
    script.push_str(" \"$@\"");
    let mut argv: Vec<String> = vec!["sh".into(), "-c".into(), script, "devboot-logs".into()];
    argv.extend(logs.iter().cloned());
    let mut command = shell.command(&argv, &crate::workspace::EnvMap::new(), None, &[]);
    let program = command.get_program().to_string_lossy().into_owned();
    let spawn_error = |source| crate::engine::EngineError::Spawn {
        program: program.clone(),
        source,
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if let Err(e) = ui::stdout(&String::from_utf8_lossy(&line)) {
                    // The reader went away (`devboot logs | head`): stop tail too.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e);
                }
            }
        }
    }
    let status = child.wait().map_err(spawn_error)?;
    Ok(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1))
}
