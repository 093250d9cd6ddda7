//! The `afpool` binary: parse the command line, run the subcommand, map errors to exit codes
//! (1 = user error, 2 = a backend such as the pool store or afserver is unavailable).

use clap::Parser;

use afpool::cli::{Cli, Command};
use afpool::commands;

fn main() {
    afpool::memory::one_arena();
    afpool::logging::init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("afpool: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    // As with #[tokio::main], an error exits with the runtime still running.
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("afpool: {e:#}");
        std::process::exit(afpool::exit_code(&e));
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.globals.load_config()?;
    let out = &mut std::io::stdout();
    match cli.command {
        Command::Serve(args) => {
            let shutdown = afpool::shutdown::on_signals();
            commands::serve::run(config, args, shutdown).await
        }
        Command::Pool(cmd) => {
            let store = commands::open_store(&config).await?;
            let recorder = commands::open_recorder(&config).await?;
            commands::pool::run(store, recorder, cmd, config.upstream().ok()).await
        }
        Command::Rules(cmd) => {
            let store = commands::open_store(&config).await?;
            let audit = commands::open_audit(&config).await?;
            let default = config.routing.default_pool.as_deref();
            commands::rules::run(store, audit.as_ref(), cmd, default, out).await
        }
        Command::Hosts(args) => commands::hosts::run(config, args).await,
        Command::Explain(args) => commands::explain::run(config, args).await,
        Command::Audit(args) => {
            commands::audit::run(commands::open_audit(&config).await?, args).await
        }
        Command::LegacyPoolServer(args) => {
            let shutdown = afpool::shutdown::on_signals();
            commands::legacy::run(config, args, shutdown).await
        }
        Command::Keeper(cmd) => commands::keeper::run(cmd, out),
        Command::Scan(args) => commands::scan::run(config, args).await,
        Command::Jobs(args) => commands::jobs::run(config, args).await,
        Command::Doctor(args) => commands::doctor::run(config, args).await,
        Command::CheckConfig(args) => commands::check_config::run(&config, &args, out),
        Command::Completions(args) => commands::completions::run(&args, out),
        Command::GenerateMan(args) => commands::completions::run_man(&args, out),
    }
}
