//! What the command line says about itself, generated from its clap definitions
//! ([`crate::cli::Cli`]): shell completion scripts (`meterlab completions SHELL`) and man pages
//! in roff (`meterlab man`, `cargo xtask man`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "meterlab", out);
}

/// Writes the man page of `meterlab` (roff) to `out`.
pub fn man_page(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Writes `meterlab.1` and `meterlab-SUBCOMMAND.1` for each subcommand into `dir` (created if
/// missing); returns the files written.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut cli = Cli::command();
    cli.build();
    let page = |command: clap::Command, name: &str| -> std::io::Result<PathBuf> {
        let path = dir.join(format!("{name}.1"));
        let mut bytes = Vec::new();
        clap_mangen::Man::new(command).render(&mut bytes)?;
        std::fs::write(&path, bytes)?;
        Ok(path)
    };
    written.push(page(cli.clone(), "meterlab")?);
    for sub in cli.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("meterlab-{}", sub.get_name());
        written.push(page(
            sub.clone()
                .display_name(name.clone())
                .bin_name(format!("meterlab {}", sub.get_name())),
            &name,
        )?);
    }
    Ok(written)
}
