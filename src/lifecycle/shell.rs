//! Where the workspace's commands run: in a container another tool made (one `docker exec`
//! per command), or here, when devboot runs inside the very workspace its config describes
//! (the command itself, started by devboot). The exec way (`exec.rs`) builds every command
//! through this, so its run-once rules, markers and lanes work the same in both places.

use std::process::Command;

use crate::engine::{Engine, EngineError, pass_env};
use crate::workspace::EnvMap;

/// Where the workspace's commands run.
pub enum Shell<'a> {
    /// A running container, reached with `docker exec [-u USER]`.
    Container {
        engine: &'a Engine,
        id: &'a str,
        user: Option<&'a str>,
    },
    /// This machine: devboot runs inside the workspace.
    Here,
}

impl Shell<'_> {
    /// The command that runs `argv` in the workspace with `env` on top of the workspace's
    /// own environment, in `folder` when given. Secret values never go on a command line:
    /// for a container they go by name (`engine::pass_env`), here straight into the env.
    pub fn command(
        &self,
        argv: &[String],
        env: &EnvMap,
        folder: Option<&str>,
        secret_names: &[String],
    ) -> Command {
        match self {
            Shell::Container { engine, id, user } => {
                let mut args: Vec<String> = vec!["exec".into()];
                if let Some(folder) = folder {
                    args.extend(["-w".into(), folder.to_string()]);
                }
                if let Some(user) = user {
                    args.extend(["-u".into(), (*user).to_string()]);
                }
                let child_env = pass_env(&mut args, env, secret_names);
                args.push((*id).to_string());
                args.extend(argv.iter().cloned());
                let mut cmd = engine.command(&args);
                cmd.envs(child_env);
                cmd
            }
            Shell::Here => {
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]).envs(env);
                if let Some(folder) = folder {
                    cmd.current_dir(folder);
                }
                cmd
            }
        }
    }

    /// Runs `argv` (a short runner verb) and returns what it printed.
    pub fn capture(&self, argv: &[&str]) -> Result<String, EngineError> {
        match self {
            Shell::Container { engine, id, user } => {
                engine.exec_capture(id, *user, &EnvMap::new(), argv)
            }
            Shell::Here => {
                let output = Command::new(argv[0])
                    .args(&argv[1..])
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(|source| EngineError::Spawn {
                        program: argv[0].to_string(),
                        source,
                    })?;
                if output.status.success() {
                    return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
                }
                Err(EngineError::Failed {
                    command: argv.iter().take(2).copied().collect::<Vec<_>>().join(" "),
                    code: output.status.code().unwrap_or(-1),
                    stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                })
            }
        }
    }
}
