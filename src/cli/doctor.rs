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
    let host_env = crate::cli::host_env();
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
