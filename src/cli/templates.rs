//! `devboot templates`: the templates `devboot init` can render, one line each.

use std::fmt::Write as _;

use crate::cli::Global;
use crate::error::{Result, exit};
use crate::template;
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct TemplatesArgs {}

pub(crate) fn run(_args: &TemplatesArgs, _global: &Global) -> Result<u8> {
    let all = template::all();
    let width = all.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for t in all {
        let _ = writeln!(out, "{:width$}  {}", t.name, t.description);
    }
    ui::stdout(&out)?;
    Ok(exit::OK)
}
