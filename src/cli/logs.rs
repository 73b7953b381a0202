//! `devboot logs [TASK] [-f] [--tail N]`: a task's output, from its log file in the
//! container.

use std::fmt::Write as _;

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::up::{Persisted, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
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
    let options = global.load_options()?;
    let loaded = config::load(&options)?;
    let ws = &loaded.workspace;
    let engine = global.engine(&options.host_env)?;
    let target = Target::new(ws, &options.host_env, 0, &Persisted::default())?;
    let Some(info) = target.find(&engine)? else {
        return Err(Error::NoContainer {
            folder: options.workspace_folder,
        });
    };
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
    argv.extend(
        ids.iter()
            .map(|id| lifecycle::lane_log(id).trim_start_matches("~/").to_string()),
    );
    let status =
        engine
            .command(&argv)
            .status()
            .map_err(|source| crate::engine::EngineError::Spawn {
                program: engine.program_name(),
                source,
            })?;
    Ok(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1))
}
