//! `devboot logs [TASK] [-f] [--tail N]`: a task's output, from its log file in the
//! container. Secret values are masked line by line, as in everything devboot prints: a
//! task that echoes a token does not leak it through `logs`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::cli::Global;
use crate::error::{Error, Result};
use crate::lifecycle;
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
}

pub(crate) fn run(args: &LogsArgs, global: &Global) -> Result<u8> {
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
    let lanes = lifecycle::lane_ids(ws);
    let ids: Vec<String> = match &args.task {
        Some(task) => {
            let Some(id) = lanes
                .get(task)
                .or_else(|| lanes.values().find(|id| *id == task))
            else {
                let names: Vec<&str> = lanes.keys().map(String::as_str).collect();
                return Err(Error::Usage {
                    message: format!("no task named `{task}`"),
                    help: Some(format!("tasks of this workspace: {}", names.join(", "))),
                });
            };
            vec![id.clone()]
        }
        None => lanes.values().cloned().collect(),
    };
    let mut script = String::from("cd \"${HOME:-/tmp}\" && exec tail");
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
    let mut argv: Vec<String> = vec!["exec".into()];
    if let Some(user) = &target.exec.user {
        argv.extend(["-u".into(), user.clone()]);
    }
    argv.extend([
        info.id.clone(),
        "sh".into(),
        "-c".into(),
        script,
        "devboot-logs".into(),
    ]);
    // devboot's containers keep lane logs in the state folder (absolute paths); others
    // under the remote user's home (relative to it, where the script starts).
    let place = if info.mounts_at(crate::state::MOUNT) {
        lifecycle::Place::State
    } else {
        lifecycle::Place::Home
    };
    argv.extend(ids.iter().map(|id| {
        lifecycle::lane_log(place, id)
            .trim_start_matches("~/")
            .to_string()
    }));
    let spawn_error = |source| crate::engine::EngineError::Spawn {
        program: engine.program_name(),
        source,
    };
    let mut child = engine
        .command(&argv)
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
