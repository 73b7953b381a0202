//! `devboot doctor`: check this machine for what devboot needs, and say what to fix.

use crate::cli::Global;
use crate::doctor::{self, Outcome};
use crate::error::{Result, exit};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// Print one JSON object on stdout: `{"ok": bool, "checks": [{name, outcome, detail, fix}]}`.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &DoctorArgs, global: &Global) -> Result<u8> {
    let mut host_env = crate::cli::host_env();
    // The settings file's image and mirror, as every command sees them (a bad file is
    // one of doctor's own findings).
    if let Ok(settings) = crate::settings::load(&host_env, &crate::settings::Flags::default()) {
        settings.apply_to_env(&mut host_env);
    }
    let checks = doctor::run(&host_env, global.engine_choice(), global.engine_timeout());
    let ok = checks.iter().all(|c| c.outcome != Outcome::Problem);
    if args.json {
        let value = serde_json::json!({ "ok": ok, "checks": checks });
        ui::stdout(&format!("{value}\n"))?;
    } else {
        ui::stdout(&doctor::describe(&checks))?;
    }
    Ok(if ok { exit::OK } else { 1 })
}
