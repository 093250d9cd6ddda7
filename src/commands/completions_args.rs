//! The flags of `afpool completions` and `afpool generate-man`, apart from the commands so the
//! command line can name them without an import cycle.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

/// `afpool completions` flags.
#[derive(Debug, Args)]
#[command(after_help = COMPLETIONS_EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
    /// The command to complete.
    #[arg(long = "for", value_enum, default_value_t = Program::Afpool, value_name = "COMMAND")]
    pub program: Program,
}

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  afpool completions bash > ~/.local/share/bash-completion/completions/afpool
  afpool completions bash --for afsubmit > ~/.local/share/bash-completion/completions/afsubmit
  afpool completions zsh > ~/.zfunc/_afpool
  afpool completions fish > ~/.config/fish/completions/afpool.fish

The .deb package installs them for bash, zsh and fish already.";

/// `afpool generate-man` flags (hidden: used when packaging).
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory the pages are written into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The commands afpool ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Program {
    /// `afpool` and its subcommands.
    Afpool,
    /// `afsubmit`.
    Afsubmit,
}
