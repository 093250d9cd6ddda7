//! `afpool explain`: where job files would run and why, without sending them. The same code as
//! `afsubmit --dry-run` (`crate::submit`), with the global `--store` and `--config`.

use clap::Args;

use crate::config::Config;
use crate::submit::{self, args::JobArgs};

/// `afpool explain` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  afpool explain --pool gpu shot010.json\n  afpool explain --json *.json"
)]
pub struct ExplainArgs {
    /// Job files, pool, server and routing (as for `afsubmit`).
    #[command(flatten)]
    pub job: JobArgs,
}

/// Run `afpool explain`.
pub async fn run(config: Config, args: ExplainArgs) -> anyhow::Result<()> {
    let mut opts = args.job.options(config)?;
    opts.dry_run = true;
    submit::run(&opts, &args.job.files).await
}
