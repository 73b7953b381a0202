//! `devboot exec [--] CMD...`: run a command in the workspace's container, in the
//! workspace folder, with the workspace's environment, as the configured user.

use std::io::IsTerminal;

use crate::cli::Global;
use crate::error::Result;

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
    let crate::cli::Existing {
        loaded,
        engine,
        target,
        info,
        ..
    } = global.existing(args.source, true)?;
    let mut argv: Vec<String> = vec!["exec".into(), "-i".into()];
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        argv.push("-t".into());
    }
    // What the host lends: the git identity when the settings file says so, the agent
    // whenever the container was made with it.
    let host_env = crate::cli::host_env();
    let settings = crate::settings::load(&host_env, &crate::settings::Flags::default())?;
    let lend = crate::credentials::Lend {
        ssh_agent: false,
        git_identity: settings.forward_git_identity.value,
        git_credentials: settings.forward_git_credentials.value,
    };
    let ws = crate::credentials::apply(&loaded.workspace, &host_env, lend)?;
    let (_, mut exec) = target.exec_in(&ws, &info);
    if info.mounts_at(crate::credentials::AGENT_IN_CONTAINER) {
        exec.env.insert(
            "SSH_AUTH_SOCK".into(),
            crate::credentials::AGENT_IN_CONTAINER.into(),
        );
    }
    argv.extend(["-w".into(), exec.folder.clone()]);
    if let Some(user) = &exec.user {
        argv.extend(["-u".into(), user.clone()]);
    }
    // What the user's shell profile sets, under devboot's own variables (in devboot's
    // containers, whose runner reads it once per start).
    let probe = exec
        .probe
        .flags()
        .filter(|_| info.mounts_at(crate::state::MOUNT));
    if probe.is_some() {
        let keep: Vec<&str> = exec.env.keys().map(String::as_str).collect();
        argv.extend(["-e".into(), format!("DEVBOOT_KEEP={}", keep.join(" "))]);
    }
    // Secrets by name only: their values are in no argument list (`ps`).
    let env = crate::engine::pass_env(&mut argv, &exec.env, &target.secret_names);
    argv.push(info.id.clone());
    if let Some(flags) = probe {
        argv.extend(
            [
                "sh",
                &format!("{}/runner.sh", crate::state::MOUNT),
                "probed",
                flags,
                crate::lifecycle::PROBE_FILE,
            ]
            .map(String::from),
        );
    }
    argv.extend(args.command.iter().cloned());
    let status = engine.command(&argv).envs(env).status().map_err(|source| {
        crate::engine::EngineError::Spawn {
            program: engine.program_name(),
            source,
        }
    })?;
    // A command killed by a signal exits 128+N, as a shell would say.
    let code = status.code().unwrap_or(128 + 9);
    Ok(u8::try_from(code).unwrap_or(1))
}
