//! The `afsubmit` command line (clap) and its validation into [`Options`]: the afserver address
//! (see [`super::server`]), the routing settings (config file, then the shared routing flags), and
//! the mode.

use clap::{Args, Parser};

use super::{server, Options};
use crate::args::{GlobalArgs, RoutingArgs};

const EXAMPLES: &str = "\
Examples:
  afsubmit --pool gpu shot010.json            route into pool 'gpu' and submit
  afsubmit --dry-run --pool gpu shot010.json  explain where it would run; send nothing
  afsubmit --json *.json                      one JSON result per line, for scripts
  my_exporter | afsubmit --pool night -       read the job from standard input
  afsubmit --via-proxy --server afpool:51100 --pool gpu job.json
                                              let an `afpool serve` proxy do the routing

Job files are the JSON af.py sends: {\"job\":{...}} or a bare job object. Without --pool the job's
own reference is used, as the proxy reads it: a top-level \"pool\" key, {\"pool\":..} in custom_data,
a pool:NAME token in a hosts mask, then --default-pool.

afserver is found like CGRU finds it: --server, else CGRU_AF_SERVERNAME / CGRU_AF_SERVERPORT, else
af_servername / af_serverport in $CGRU_LOCATION/config.json, else 127.0.0.1:51000.

Exit status: 0 when every file was submitted, 1 when any failed, 2 when afserver or the pool store
was unavailable for all of them.";

/// afsubmit: submit Afanasy job files into an afpool render pool.
///
/// Routes each job in-process with exactly the rules `afpool serve` applies (pool lookup, shield
/// against jobs that crash afserver, host-mask rewrite) and sends it to afserver as af.py does.
#[derive(Debug, Parser)]
#[command(name = "afsubmit", version, about, long_about, after_help = EXAMPLES)]
pub struct SubmitArgs {
    /// Job files, pool, server and routing.
    #[command(flatten)]
    pub job: JobArgs,
    /// Config file and pool store (as for `afpool`).
    #[command(flatten)]
    pub globals: GlobalArgs,
    /// --server is an `afpool serve` proxy: only set the pool and send; the proxy routes.
    #[arg(long)]
    pub via_proxy: bool,
    /// Send nothing; explain where each job would run and print the rewritten job.
    #[arg(long)]
    pub dry_run: bool,
}

/// What `afsubmit` and `afpool explain` share: the job files and how to route them.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// Job files (af.py JSON: {"job":{...}} or a bare job object; `-` reads standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Route into this pool (sets or overrides the job's top-level "pool" key).
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// afserver address (or the proxy's, with --via-proxy) [default: from CGRU's settings].
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// One JSON object per file and line, for scripts.
    #[arg(long)]
    pub json: bool,
    /// Routing options (as for `afpool serve`).
    #[command(flatten)]
    pub routing: RoutingArgs,
}

impl JobArgs {
    /// Options over `config`: afserver found as CGRU finds it, then these flags.
    pub fn options(&self, config: crate::config::Config) -> anyhow::Result<Options> {
        let server = server::from_environment(self.server.as_deref());
        let mut opts = Options::new(config, &server, &self.routing)?;
        opts.pool = self.pool.clone();
        opts.json = self.json;
        Ok(opts)
    }
}

impl SubmitArgs {
    /// Validated options: config file, then flags.
    pub fn options(&self) -> anyhow::Result<Options> {
        let mut opts = self.job.options(self.globals.load_config()?)?;
        opts.via_proxy = self.via_proxy;
        opts.dry_run = self.dry_run;
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        SubmitArgs::command().debug_assert();
    }

    #[test]
    fn flags_parse() {
        let a = SubmitArgs::try_parse_from([
            "afsubmit",
            "--pool",
            "gpu",
            "--dry-run",
            "--on-unknown-pool",
            "reject",
            "a.json",
            "-",
        ])
        .unwrap();
        assert_eq!(a.job.files, ["a.json", "-"]);
        assert_eq!(a.job.pool.as_deref(), Some("gpu"));
        assert!(a.dry_run && !a.via_proxy && !a.job.json);
        assert_eq!(
            a.job.routing.on_unknown_pool,
            Some(crate::job::Policy::Reject)
        );
        assert!(
            SubmitArgs::try_parse_from(["afsubmit"]).is_err(),
            "a file is required"
        );
    }
}
