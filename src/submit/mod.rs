//! `afsubmit` and `afpool explain`: submit job files into a pool, or explain where they would run.
//!
//! Direct mode routes each job in-process with the proxy's own code ([`crate::job::route`] over an
//! [`Inventory`] built from the store's pools and afserver's render list), then sends it as af.py
//! does. `--via-proxy` only writes the pool into the job and lets an `afpool serve` proxy route it.
//! `--dry-run` sends nothing and explains.
//!
//! Files: [`args`] (command line → [`Options`]), [`server`] (where afserver is), [`jobfile`]
//! (reading job files), [`send`] (one request, one judged reply), [`report`] (one result line per
//! file), [`explain`] (the dry-run explanation).

pub mod args;
pub mod explain;
pub mod jobfile;
pub mod report;
pub mod send;
pub mod server;

use anyhow::anyhow;

use crate::args::RoutingArgs;
use crate::config::Config;
use crate::job::{self, Inventory, RouteSettings};
use crate::renders::RendersError;
use crate::store::rules::DefaultRules;
use crate::upstream::Upstream;
use report::{FileError, FileResult};

/// Validated settings for one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The afpool config (store, timeouts); its routing section is already in `settings`.
    pub config: Config,
    /// afserver (or, with `via_proxy`, the proxy).
    pub upstream: Upstream,
    /// Routing settings: the config file's, with the routing flags applied.
    pub settings: RouteSettings,
    /// Pool to write into every job (`--pool`).
    pub pool: Option<String>,
    /// The server is an afpool proxy: set the pool and send, route nothing here.
    pub via_proxy: bool,
    /// Explain instead of sending.
    pub dry_run: bool,
    /// For an explanation: the client address a pool's network rules check (`afpool explain
    /// --from`); none: they are not checked.
    pub from: Option<std::net::IpAddr>,
    /// JSON lines instead of text.
    pub json: bool,
}

impl Options {
    /// Options for afserver at `server`, routing with `config` overridden by `routing`.
    pub fn new(config: Config, server: &str, routing: &RoutingArgs) -> anyhow::Result<Self> {
        let mut upstream = config.upstream()?;
        upstream.addr = server.to_string();
        let mut settings = config.routing.clone();
        routing.apply(&mut settings);
        Ok(Options {
            config,
            upstream,
            settings,
            pool: None,
            via_proxy: false,
            dry_run: false,
            from: None,
            json: false,
        })
    }
}

/// What every file is routed against: nothing (via a proxy), an inventory, or the reason there is
/// none (the store or afserver is unavailable).
enum Target {
    ViaProxy,
    Direct(Inventory),
    Unavailable {
        /// The backend error (kept for the exit code).
        cause: anyhow::Error,
        /// One line for each file's result.
        message: String,
    },
}

/// Submit (or explain) every file, printing one result per file on stdout. `Err` when any file
/// failed; its cause is the backend error when the store or afserver was unavailable for all.
pub async fn run(opts: &Options, files: &[String]) -> anyhow::Result<()> {
    let target = prepare(opts).await;
    let (mut failed, mut unavailable, mut cause) = (0, 0, None);
    for file in files {
        let result = one_file(opts, &target, file).await;
        report::print(opts, file, &result);
        match result {
            Ok(done) if done.ok() => {}
            Ok(_) => failed += 1,
            Err(e) => {
                failed += 1;
                if e.is_unavailable() {
                    unavailable += 1;
                    cause = e.into_cause();
                }
            }
        }
    }
    if failed == 0 {
        return Ok(());
    }
    if unavailable == files.len() {
        if let Target::Unavailable { cause, .. } = target {
            return Err(cause);
        }
        if let Some(cause) = cause {
            return Err(cause);
        }
    }
    Err(anyhow!("{failed} of {} job files failed", files.len()))
}

/// Build the routing target once for all files.
async fn prepare(opts: &Options) -> Target {
    if opts.via_proxy && !opts.dry_run {
        return Target::ViaProxy;
    }
    let (pools, rules) = match load_pools(&opts.config).await {
        Ok(loaded) => loaded,
        Err(cause) => {
            return Target::Unavailable {
                message: format!("{cause:#}"),
                cause,
            }
        }
    };
    match crate::renders::fetch(&opts.upstream).await {
        Ok(renders) => Target::Direct(Inventory::new(pools, renders).with_rules(rules.as_ref())),
        Err(e) if opts.dry_run => {
            eprintln!(
                "warning: {}; explaining with the pools' hosts only",
                renders_failure(&e)
            );
            Target::Direct(Inventory::new(pools, Vec::new()).with_rules(rules.as_ref()))
        }
        Err(e) => Target::Unavailable {
            message: renders_failure(&e),
            cause: e.into(),
        },
    }
}

/// One line saying why the render list could not be had.
fn renders_failure(e: &RendersError) -> String {
    match e {
        RendersError::Upstream(u) => format!(
            "cannot reach afserver at {}: {}",
            send::address(u),
            send::reason(u)
        ),
        RendersError::BadReply(why) => format!("afserver's render list could not be read: {why}"),
    }
}

/// The pools and the default pool rules.
async fn load_pools(
    config: &Config,
) -> anyhow::Result<(Vec<crate::store::Pool>, Option<DefaultRules>)> {
    let store = crate::commands::open_store(config).await?;
    let pools = store
        .list()
        .await
        .map_err(|e| anyhow::Error::new(e).context("cannot list the pools"))?;
    let rules = store
        .rules()
        .await
        .map_err(|e| anyhow::Error::new(e).context("cannot read the default pool rules"))?;
    Ok((pools, rules))
}

/// Read, route and send (or explain) one file.
async fn one_file(opts: &Options, target: &Target, file: &str) -> FileResult {
    let bytes = jobfile::read(file)?;
    let body = jobfile::envelope(&bytes, opts.pool.as_deref())?;
    let inventory = match target {
        Target::ViaProxy => return via_proxy(opts, &body).await,
        Target::Unavailable { message, .. } => return Err(FileError::Unavailable(message.clone())),
        Target::Direct(inv) => inv,
    };
    if opts.dry_run {
        let explained = explain::explain(&body, &opts.settings, inventory, opts.from)?;
        return Ok(report::Done::Explained(Box::new(explained)));
    }
    let outcome = job::route(&body, &opts.settings, inventory)?;
    let accepted = send::send_job(&opts.upstream, outcome.body.as_deref().unwrap_or(&body)).await?;
    Ok(report::Done::Submitted {
        accepted,
        outcome: Some(Box::new(outcome)),
        pool: None,
    })
}

/// Send as is (the pool, if any, is already in the job); the proxy routes.
async fn via_proxy(opts: &Options, body: &[u8]) -> FileResult {
    let accepted = send::send_job(&opts.upstream, body).await?;
    Ok(report::Done::Submitted {
        accepted,
        outcome: None,
        pool: opts.pool.clone(),
    })
}
