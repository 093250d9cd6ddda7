//! `afpool completions SHELL` and the hidden `afpool generate-man DIR`: shell completions and
//! man pages generated from the clap definitions of `afpool` and `afsubmit`, so they never drift
//! from the flags. Users source the completions; `scripts/package.sh` writes both into the .deb.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::submit::args::SubmitArgs;

pub use super::completions_args::{CompletionsArgs, ManArgs, Program};

impl Program {
    /// The clap definition of the command, as its binary parses it.
    pub fn command(self) -> clap::Command {
        match self {
            Program::Afpool => Cli::command(),
            Program::Afsubmit => SubmitArgs::command(),
        }
    }

    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Program::Afpool => "afpool",
            Program::Afsubmit => "afsubmit",
        }
    }
}

/// Write the completion script of `args.program` for `args.shell` to `out`.
pub fn run(args: &CompletionsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut cmd = args.program.command();
    clap_complete::generate(args.shell, &mut cmd, args.program.name(), out);
    out.flush().context("cannot write the completion script")
}

/// Write a man page (section 1) for `afpool`, each of its visible subcommands
/// (`afpool-pool-create.1`, ...) and `afsubmit` into `args.dir`; returns the files written.
pub fn man_pages(args: &ManArgs) -> anyhow::Result<Vec<PathBuf>> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for program in [Program::Afpool, Program::Afsubmit] {
        clap_mangen::generate_to(program.command(), dir)
            .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    }
    pages_in(dir)
}

/// The `.1` files in `dir`, sorted.
fn pages_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "1") {
            pages.push(path);
        }
    }
    pages.sort();
    Ok(pages)
}

/// `afpool generate-man DIR`: the pages written, one path per line on `out`.
pub fn run_man(args: &ManArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    for page in man_pages(args)? {
        writeln!(out, "{}", page.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap_complete::Shell;

    fn script(shell: Shell, program: Program) -> String {
        let mut out = Vec::new();
        run(&CompletionsArgs { shell, program }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn completions_name_the_real_subcommands_and_flags() {
        // (shell, program, text each script must hold)
        let cases = [
            (Shell::Bash, Program::Afpool, "doctor"),
            (Shell::Bash, Program::Afpool, "--on-empty-pool"),
            (Shell::Zsh, Program::Afpool, "#compdef afpool"),
            (Shell::Zsh, Program::Afpool, "keeper"),
            (Shell::Fish, Program::Afpool, "complete -c afpool"),
            (Shell::Fish, Program::Afpool, "legacy-pool-server"),
            (Shell::Bash, Program::Afsubmit, "--via-proxy"),
            (Shell::Zsh, Program::Afsubmit, "#compdef afsubmit"),
            (Shell::Fish, Program::Afsubmit, "complete -c afsubmit"),
        ];
        for (shell, program, needle) in cases {
            let text = script(shell, program);
            assert!(text.contains(needle), "{shell} {program:?}: no {needle}");
        }
        assert!(!script(Shell::Bash, Program::Afsubmit).contains("doctor"));
    }

    #[test]
    fn man_pages_cover_every_visible_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let pages = man_pages(&ManArgs {
            dir: dir.path().join("man1"),
        })
        .unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "afpool.1",
            "afsubmit.1",
            "afpool-serve.1",
            "afpool-pool-create.1",
            "afpool-doctor.1",
            "afpool-completions.1",
        ] {
            assert!(names.iter().any(|n| n == want), "no {want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("generate-man")));
        let serve = std::fs::read_to_string(dir.path().join("man1/afpool-serve.1")).unwrap();
        assert!(serve.starts_with(".ie") || serve.contains(".TH"), "{serve}");
        assert!(
            serve.contains("AFPOOL_UPSTREAM"),
            "env fallbacks documented"
        );
    }
}
