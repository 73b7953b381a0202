//! `devboot up`: bring the workspace up and say where everything is.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result, exit};
use crate::lifecycle::{LaneReport, LaneState};
use crate::ui;
use crate::up::{self, UpOptions, UpReport};

#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Build the image again (Dockerfile configs, Features) and make a new container.
    #[arg(long)]
    rebuild: bool,
    /// Write the Features' resolved versions to devcontainer-lock.json when they are
    /// installed.
    #[arg(long, conflicts_with = "frozen_lockfile")]
    lockfile: bool,
    /// Fail when the Features resolve to other versions than devcontainer-lock.json pins,
    /// or it is missing (for CI).
    #[arg(long)]
    frozen_lockfile: bool,
    /// Always make a new container.
    #[arg(
        long,
        visible_alias = "remove-existing-container",
        conflicts_with = "no_recreate"
    )]
    recreate: bool,
    /// Keep the existing container even when the config changed.
    #[arg(long)]
    no_recreate: bool,
    /// Publish every port at host port + N.
    #[arg(long, value_name = "N", default_value_t = 0)]
    port_offset: u16,
    /// Seconds to wait for every port to answer [default: 60, or `wait-timeout` in your
    /// settings file].
    #[arg(long, value_name = "SECS")]
    wait_timeout: Option<u64>,
    /// Do not wait for ports.
    #[arg(long)]
    no_wait: bool,
    /// A new container may start from the prebuild of an older commit (the newest one that
    /// has one) when this commit has none, as Gitpod's incremental prebuilds do.
    #[arg(long, conflicts_with = "no_prebuild")]
    prebuild_ancestors: bool,
    /// Never start a new container from a prebuild (`devboot prebuild`): run init.
    #[arg(long)]
    no_prebuild: bool,
    /// When a new container is made, pull this prebuild (`devboot prebuild --push REF`)
    /// first and start from it if it was made for this config and commit.
    #[arg(long, value_name = "REF", conflicts_with = "no_prebuild")]
    prebuild_from: Option<String>,
    /// Print one JSON object on stdout; everything else goes to stderr.
    #[arg(long)]
    json: bool,
    /// Trust the config's initializeCommand to run on this machine, and remember it, without
    /// asking (for scripts; `devboot trust` shows it first).
    #[arg(long)]
    trust: bool,
    /// Run the hooks here, in the workspace devboot runs in, instead of making a container
    /// (found by itself in a Codespace, a VS Code dev container or a `DevPod` workspace).
    #[arg(long, conflicts_with = "no_in_place")]
    in_place: bool,
    /// Make a container even inside a Codespace, a VS Code dev container or a `DevPod`
    /// workspace.
    #[arg(long)]
    no_in_place: bool,
    /// Return once this hook is done and leave the later ones running in the background
    /// (`status` and `logs` show them), instead of the config's `waitFor`; `all` waits for
    /// every hook, as the reference CLI's `up` [default: the config's `waitFor`, else
    /// `wait-for` in your settings file, else updateContentCommand]. Ports are waited for
    /// either way.
    #[arg(long, value_enum, value_name = "HOOK")]
    wait_for: Option<crate::settings::WaitFor>,
    /// Fail, before anything is made, when the engine's machine does not meet the
    /// config's `hostRequirements` (CPUs, memory, storage) instead of warning.
    #[arg(long)]
    strict: bool,
    /// Lend this machine's SSH agent to the workspace: its socket is mounted in the
    /// container and `SSH_AUTH_SOCK` names it (also `[credentials] ssh-agent = true` in your
    /// settings file). Whatever runs in the container can then use your keys.
    #[arg(long)]
    forward_ssh_agent: bool,
    /// Give tasks, hooks and exec your git user.name and user.email (as `GIT_AUTHOR_*` and
    /// `GIT_COMMITTER_*`; also `[credentials] git-identity = true`).
    #[arg(long)]
    forward_git_identity: bool,
    /// Let git in the workspace ask your git credential helper here for passwords and
    /// tokens (HTTPS remotes; also `[credentials] git-credentials = true`). Whatever runs in
    /// the container can then ask too.
    #[arg(long)]
    forward_git_credentials: bool,
    /// Your dotfiles, installed once into every new container: a git URL, `owner/repo` on
    /// GitHub, or a local folder (also `[dotfiles] repository` in your settings file).
    #[arg(long, value_name = "URL|DIR")]
    dotfiles_repository: Option<String>,
    /// What installs them: a script in the repository or a shell command run in it
    /// [default: the first of install.sh, install, bootstrap.sh, bootstrap,
    /// script/bootstrap, setup.sh, setup, script/setup; else the dot-files are linked into
    /// the home folder].
    #[arg(long, value_name = "COMMAND")]
    dotfiles_install_command: Option<String>,
    /// Where the dotfiles go in the container [default: ~/dotfiles].
    #[arg(long, value_name = "PATH")]
    dotfiles_target_path: Option<String>,
}

impl UpArgs {
    /// What the command line says of the settings (see `settings`).
    fn settings_flags(&self) -> crate::settings::Flags {
        crate::settings::Flags {
            wait_timeout: self.wait_timeout,
            wait_for: self.wait_for,
            dotfiles_repository: self.dotfiles_repository.clone(),
            dotfiles_install_command: self.dotfiles_install_command.clone(),
            dotfiles_target_path: self.dotfiles_target_path.clone(),
            forward_ssh_agent: self.forward_ssh_agent,
            forward_git_identity: self.forward_git_identity,
            forward_git_credentials: self.forward_git_credentials,
        }
    }

    /// `--in-place` / `--no-in-place`, or `None` to find out from the environment.
    fn in_place_flag(&self) -> Option<bool> {
        match (self.in_place, self.no_in_place) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

pub(crate) fn run(args: &UpArgs, global: &Global) -> Result<u8> {
    let result = bring_up(args, global);
    match (&result, args.json) {
        (Ok(report), true) => {
            let mut value = serde_json::to_value(report).expect("the report serializes");
            value
                .as_object_mut()
                .expect("an object")
                .insert("outcome".into(), "success".into());
            ui::stdout(&format!("{value}\n"))?;
        }
        (Ok(report), false) => ui::stdout(&summary(report))?,
        (Err(err), true) => {
            let mut value = serde_json::json!({"outcome": "error", "message": err.to_string()});
            if let Error::TasksFailed {
                container, lanes, ..
            } = err
            {
                value["containerName"] = container.clone().into();
                value["tasks"] = serde_json::to_value(lanes).expect("lanes serialize");
            }
            ui::stdout(&format!("{value}\n"))?;
        }
        // What did come up is said too, before the errors.
        (
            Err(Error::TasksFailed {
                container, lanes, ..
            }),
            false,
        ) if !lanes.is_empty() => {
            let mut out = format!("workspace not up: container {container}\n");
            out.push_str(&task_lines(lanes));
            ui::line(out.trim_end());
        }
        (Err(_), false) => {}
    }
    result.map(|_| exit::OK)
}

fn bring_up(args: &UpArgs, global: &Global) -> Result<UpReport> {
    let options = global.load_options_for(args.source)?;
    let mut loaded = config::load(&options)?;
    if let Some(note) = &loaded.note {
        ui::note(note);
    }
    let unusable = config::devcontainer::features::unusable_ids(
        &loaded.workspace.features,
        &loaded.workspace.config_file,
        &loaded.diagnostics,
    );
    if !unusable.is_empty() {
        return Err(Error::Config(crate::diagnostic::Diagnostics(unusable)));
    }
    for warning in loaded.diagnostics.warnings() {
        ui::diagnostic(warning);
    }
    let settings = crate::settings::load(&options.host_env, &args.settings_flags())?;
    loaded.workspace.wait_for = settings.wait_for_in(&loaded.workspace);
    let persisted = up::persisted_env(&options.host_env, &options.workspace_folder)?;
    if let Some(text) = crate::env::missing_secrets(&loaded.workspace, &persisted.values) {
        ui::warning(&text);
    }
    ui::set_secrets(crate::env::secret_values(
        &loaded.workspace,
        &persisted.values,
        &persisted.secrets,
        [],
    ));
    let up_options = UpOptions {
        rebuild: args.rebuild,
        lockfile: match (args.lockfile, args.frozen_lockfile) {
            (_, true) => crate::features::lockfile::Mode::Frozen,
            (true, _) => crate::features::lockfile::Mode::Write,
            _ => crate::features::lockfile::Mode::Read,
        },
        recreate: args.recreate,
        no_recreate: args.no_recreate,
        port_offset: args.port_offset,
        wait: (!args.no_wait).then(|| Duration::from_secs(settings.wait_timeout.value)),
        consent: crate::trust::Consent {
            given: args.trust,
            line: crate::trust::line_of(&loaded.document),
        },
        prebuild_ancestors: args.prebuild_ancestors,
        no_prebuild: args.no_prebuild,
        prebuild_from: args.prebuild_from.clone(),
        dotfiles: settings.dotfiles(),
        strict: args.strict,
    };
    // What of the host's credentials the workspace is lent (nothing unless asked).
    if settings.lend().any() {
        loaded.workspace =
            crate::credentials::apply(&loaded.workspace, &options.host_env, settings.lend())?;
    }
    if let Some(why) = up::in_place(&loaded.workspace, &options.host_env, args.in_place_flag()) {
        return up::up_in_place(
            &loaded.workspace,
            &options.host_env,
            &persisted,
            &up_options,
            why,
        );
    }
    let engine = global.engine(&options.host_env).map_err(|err| match err {
        Error::Engine(crate::engine::EngineError::NotFound { tried }) => {
            up::no_engine(tried, &options.host_env)
        }
        err => err,
    })?;
    // An engine on another machine cannot mount this machine's folders (the workspace
    // folder is copied there; a Compose config's own mounts cannot be).
    crate::engine::location::Location::of(engine.kind, &options.host_env)
        .can_run(&loaded.workspace)?;
    let mut report = up::up(
        &engine,
        &loaded.workspace,
        &options.host_env,
        &persisted,
        &up_options,
    )?;
    report.engine = Some(format!(
        "{}, {}",
        engine.kind.program(),
        crate::engine::location::Location::of(engine.kind, &options.host_env).describe()
    ));
    if settings.lend().git_credentials {
        lend_git_credentials(&loaded.workspace, &options.host_env)?;
    }
    if global.verbose > 0 {
        ui::note(&format!("engine calls: {}", report.engine_calls));
    }
    Ok(report)
}

/// Starts the host's side of git credential lending, where the state folder is shared.
fn lend_git_credentials(
    ws: &crate::workspace::Workspace,
    host_env: &crate::workspace::EnvMap,
) -> Result<()> {
    let compose = matches!(ws.image, crate::workspace::ImageSource::Compose { .. });
    if compose || !crate::backend::Backend::detect(host_env).shares_state() {
        ui::warning(
            "--forward-git-credentials works with devboot's own containers on this machine's engine; not lent here",
        );
        return Ok(());
    }
    let state = up::state_dir(ws, host_env);
    let id = state
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::credentials::git_helper::ensure_server(&state, &crate::dirs::cache_dir(host_env), &id)
}

/// The human summary: where the container, tasks and ports are.
fn summary(report: &UpReport) -> String {
    let mut out = String::new();
    let action = match report.action {
        up::Action::Created => "created",
        up::Action::Recreated => "recreated",
        up::Action::Started => "started",
        up::Action::Reused => "already running",
        up::Action::InPlace => return summary_in_place(report),
        up::Action::InGitpod => {
            let mut out = String::from(
                "inside this .gitpod.yml's own Gitpod workspace: no container made, Gitpod runs the tasks\n",
            );
            for port in &report.ports {
                let _ = writeln!(
                    out,
                    "  port {:<24} {:<11} {}",
                    port.port, port.state, port.url
                );
            }
            return out;
        }
    };
    let engine = report
        .engine
        .as_deref()
        .map(|e| format!(", engine {e}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "workspace up: container {} ({action}), folder {}{engine}",
        report.container_name, report.workspace_folder
    );
    summary_rest(report, out)
}

/// The human summary of an `up` in place: no container.
fn summary_in_place(report: &UpReport) -> String {
    let out = format!(
        "workspace up in place: folder {}\n",
        report.workspace_folder
    );
    summary_rest(report, out)
}

/// Tasks and ports, after the first line.
fn summary_rest(report: &UpReport, mut out: String) -> String {
    out.push_str(&task_lines(&report.tasks));
    for port in &report.ports {
        let label = port
            .label
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  port {:<24} {:<11} {}",
            format!("{}{label}", port.port),
            port.state,
            port.url
        );
    }
    out
}

/// One line per task with its state.
fn task_lines(tasks: &[LaneReport]) -> String {
    let mut out = String::new();
    for task in tasks {
        let state = match task.state {
            LaneState::Pending => "pending",
            LaneState::Running if task.restarted => "running (restarted)",
            LaneState::Running => "running",
            LaneState::Done if task.ran => "done",
            LaneState::Done => "done earlier",
            LaneState::Failed => "failed",
            LaneState::Stopped => "stopped",
        };
        let _ = writeln!(out, "  task {:<24} {state}", task.shown_name());
    }
    out
}
