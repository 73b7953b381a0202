//! `devboot exec [--] CMD...`: run a command in the workspace's container, in the
//! workspace folder, with the workspace's environment, as the configured user.

use std::io::IsTerminal;

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result};
use crate::up::{Persisted, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct ExecArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub(crate) fn run(args: &ExecArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    let engine = global.engine(&options.host_env)?;
    let target = Target::new(
        &loaded.workspace,
        &options.host_env,
        0,
        &Persisted::default(),
    )?;
    let Some(info) = target.find(&engine)?.filter(|i| i.state.running) else {
        return Err(Error::NoContainer {
            folder: options.workspace_folder,
        });
    };
    let mut argv: Vec<String> = vec!["exec".into(), "-i".into()];
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        argv.push("-t".into());
    }
    let (_, exec) = target.exec_in(&loaded.workspace, &info);
    argv.extend(["-w".into(), exec.folder.clone()]);
    if let Some(user) = &exec.user {
        argv.extend(["-u".into(), user.clone()]);
    }
    for (k, v) in &exec.env {
        argv.extend(["-e".into(), format!("{k}={v}")]);
    }
    argv.push(info.id.clone());
    argv.extend(args.command.iter().cloned());
    let status =
        engine
            .command(&argv)
            .status()
            .map_err(|source| crate::engine::EngineError::Spawn {
                program: engine.program_name(),
                source,
            })?;
    // A command killed by a signal exits 128+N, as a shell would say.
    let code = status.code().unwrap_or(128 + 9);
    Ok(u8::try_from(code).unwrap_or(1))
}
