//! `afpool explain`: where job files would run and why, without sending them. The same code as
//! `afsubmit --dry-run` (`crate::submit`), with the global `--store` and `--config`.

use clap::Args;

use crate::cli::RoutingArgs;
use crate::config::Config;
use crate::submit::{self, server, Options};

/// `afpool explain` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  afpool explain --pool gpu shot010.json\n  afpool explain --json *.json"
)]
pub struct ExplainArgs {
    /// Job files (af.py JSON: {"job":{...}} or a bare job object; `-` reads standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Explain as if the job named this pool (as `afsubmit --pool`).
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// afserver address, for its render list [default: from CGRU's settings, as afsubmit].
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// Print one JSON object per file and line.
    #[arg(long)]
    pub json: bool,
    /// Routing options (as for `afpool serve`).
    #[command(flatten)]
    pub routing: RoutingArgs,
}

/// Run `afpool explain`.
pub async fn run(config: Config, args: ExplainArgs) -> anyhow::Result<()> {
    let server = server::from_environment(args.server.as_deref());
    let mut opts = Options::new(config, &server, &args.routing)?;
    opts.pool = args.pool;
    opts.dry_run = true;
    opts.json = args.json;
    submit::run(&opts, &args.files).await
}
