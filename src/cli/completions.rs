//! `devboot completions SHELL` and `devboot manpages --out DIR`: the shell completions and
//! man pages, made from the same definitions as the command line itself (so they always
//! match this binary). `scripts/install.sh` puts both where shells and `man` look.

use std::path::PathBuf;

use clap::CommandFactory;

use crate::error::{Error, Result, exit};
use crate::ui;

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// Your shell. Load it: bash `source <(devboot completions bash)`, zsh `devboot
    /// completions zsh > ~/.zfunc/_devboot` (with ~/.zfunc on fpath), fish `devboot
    /// completions fish > ~/.config/fish/completions/devboot.fish`.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ManpagesArgs {
    /// The folder to write devboot.1 and one page per subcommand (devboot-up.1, ...) into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub(crate) fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut command = super::Arguments::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "devboot", &mut script);
    ui::stdout(&String::from_utf8_lossy(&script))?;
    Ok(exit::OK)
}

pub(crate) fn manpages(args: &ManpagesArgs) -> Result<u8> {
    let mut command = super::Arguments::command();
    command.build();
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io("create", &args.out, e))?;
    let mut written = Vec::new();
    let mut write = |name: String, page: clap::Command| -> Result<()> {
        let path = args.out.join(format!("{name}.1"));
        let mut text = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.clone())
            .render(&mut text)
            .map_err(|e| Error::io("write", &path, e))?;
        std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))?;
        written.push(path);
        Ok(())
    };
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write(format!("devboot-{}", sub.get_name()), sub.clone())?;
    }
    write("devboot".into(), command.clone())?;
    ui::stdout(&format!(
        "wrote {} man pages into {}\n",
        written.len(),
        args.out.display()
    ))?;
    Ok(exit::OK)
}
