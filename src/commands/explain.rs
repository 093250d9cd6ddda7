//! `afpool explain`: where job files would run and why, without sending them. The same code as
//! `afsubmit --dry-run` (`crate::submit`), with the global `--store` and `--config`.

use clap::Args;

use crate::config::Config;
use crate::submit::{self, args::JobArgs};

/// `afpool explain` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  afpool explain --pool gpu shot010.json\n  afpool explain --json *.json\n  \
                  afpool explain --from 10.1.2.3 --pool lighting shot010.json   # its network rules too"
)]
pub struct ExplainArgs {
    /// Job files, pool, server and routing (as for `afsubmit`).
    #[command(flatten)]
    pub job: JobArgs,
    /// Explain as if the job came from this client address, so that a pool's network rules
    /// (`--allow-networks`, `--deny-networks`) are checked; without it they say `not checked`.
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<std::net::IpAddr>,
}

/// Run `afpool explain`.
pub async fn run(config: Config, args: ExplainArgs) -> anyhow::Result<()> {
    let mut opts = args.job.options(config)?;
    opts.dry_run = true;
    opts.from = args.from.map(|a| a.to_canonical());
    submit::run(&opts, &args.job.files).await
}
