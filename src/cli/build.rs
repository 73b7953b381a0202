//! `devboot build`: make the workspace's image without a container (pull it, build its
//! Dockerfile, install its Features), tag it and push it, as the reference CLI's
//! `devcontainer build` does; for CI, and to share an image a config makes.

use serde::Serialize;

use crate::cli::Global;
use crate::config;
use crate::error::{Error, Result, exit};
use crate::ui;
use crate::up::{self, Persisted, Target};
use crate::workspace::ImageSource;

#[derive(Debug, clap::Args)]
pub(crate) struct BuildArgs {
    /// Which config format to use when the folder has both.
    #[command(flatten)]
    source: crate::cli::SourceFormat,
    /// Tag the image with this name as well (repeatable).
    #[arg(long, value_name = "NAME")]
    image_name: Vec<String>,
    /// Push every --image-name to its registry.
    #[arg(long, requires = "image_name")]
    push: bool,
    /// Build again even when the image is there (a Dockerfile, Features).
    #[arg(long)]
    no_cache: bool,
    /// Print one JSON object on stdout, as the reference CLI's `devcontainer build` does.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    outcome: &'static str,
    image_name: Vec<String>,
}

pub(crate) fn run(args: &BuildArgs, global: &Global) -> Result<u8> {
    let options = global.load_options_for(args.source)?;
    let loaded = config::load(&options)?;
    let ws = &loaded.workspace;
    if matches!(ws.image, ImageSource::Compose { .. }) {
        return Err(Error::Usage {
            message: "`devboot build` does not build Docker Compose configs yet".into(),
            help: Some("build the service with `docker-compose build`".into()),
        });
    }
    let engine = global.engine(&options.host_env)?;
    let target = Target::new(ws, &options.host_env, 0, &Persisted::default())?;
    up::ensure_image(&engine, &target, args.no_cache)?;
    let image = target.spec.image.clone();
    let mut names = vec![image.clone()];
    for name in &args.image_name {
        engine.call(["tag", image.as_str(), name.as_str()])?;
        names.push(name.clone());
    }
    if args.push {
        for name in &args.image_name {
            ui::note(&format!("pushing {name}"));
            engine.call(["push", name.as_str()])?;
        }
    }
    if args.json {
        let report = Report {
            outcome: "success",
            image_name: names,
        };
        ui::stdout(&format!(
            "{}\n",
            serde_json::to_string(&report).expect("a report serializes")
        ))?;
    } else {
        ui::stdout(&format!("built {}\n", names.join(", ")))?;
    }
    Ok(exit::OK)
}
