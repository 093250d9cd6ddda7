//! The `afpool` binary: parse the command line, run the subcommand, map errors to exit codes
//! (1 = user error, 2 = a backend such as the pool store or afserver is unavailable).

use clap::Parser;

use afpool::cli::{Cli, Command};
use afpool::commands;

#[tokio::main]
async fn main() {
    afpool::logging::init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("afpool: {e:#}");
        std::process::exit(afpool::exit_code(&e));
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.globals.load_config()?;
    match cli.command {
        Command::Serve(args) => {
            let shutdown = afpool::shutdown::on_signals();
            commands::serve::run(config, args, shutdown).await
        }
        Command::Pool(cmd) => commands::pool::run(commands::open_store(&config).await?, cmd).await,
        Command::Hosts(args) => commands::hosts::run(config, args).await,
        Command::Explain(args) => commands::explain::run(config, args).await,
    }
}
