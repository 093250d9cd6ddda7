//! `afpool scan CIDR...`: find machines on the network that Afanasy may not know yet (the old
//! Pool Manager's "Local Network" scan, without its bugs), show whether afserver knows each and
//! which pools hold it, and optionally add them to a pool.
//!
//! [`targets`] expands ranges and port lists (pure), [`probe`] connects and looks names up,
//! [`report`] joins the findings with afserver's renders and the pools (pure). A progress bar
//! shows on stderr only when it is a terminal (and not with `--json`).

pub mod probe;
pub mod report;
pub mod targets;

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::commands::pool::PoolCommand;
use crate::config::Config;
use crate::renders::{self, RenderInfo};
use crate::store::Pool;
use report::ScanRow;

/// `afpool scan` flags.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// IPv4 ranges (`192.168.1.0/24`) or single addresses; at most a /16 each unless --force.
    #[arg(required = true, value_name = "CIDR")]
    pub ranges: Vec<String>,
    /// TCP ports to try: a list (`22,445,3389`), ranges (`5900-5910`), or `+LIST` for the
    /// defaults plus LIST.
    #[arg(long, value_name = "LIST", default_value = "22,445,3389")]
    pub ports: String,
    /// Milliseconds to wait for each connection.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub timeout: u64,
    /// Connections in flight at most.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub concurrency: usize,
    /// Add the machines found to this pool (afserver's name when it knows one, else the short
    /// reverse DNS name; machines without a name are skipped).
    #[arg(long, value_name = "POOL")]
    pub add: Option<String>,
    /// With --add: show what would be added, change nothing.
    #[arg(long, requires = "add")]
    pub dry_run: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Allow ranges larger than a /16.
    #[arg(long)]
    pub force: bool,
    /// Do not look names up (reverse DNS).
    #[arg(long)]
    pub no_dns: bool,
    /// afserver address, to tell which machines it knows [default: 127.0.0.1:51000, or the
    /// config file's upstream].
    #[arg(long, env = "AFPOOL_UPSTREAM", value_name = "HOST:PORT")]
    pub upstream: Option<String>,
}

/// Runs `afpool scan`.
pub async fn run(mut config: Config, args: ScanArgs) -> anyhow::Result<()> {
    let ips = targets::expand(&args.ranges, args.force)?;
    let probe = probe::Probe {
        ports: targets::parse_ports(&args.ports)?,
        timeout: Duration::from_millis(args.timeout.max(1)),
        concurrency: args.concurrency.max(1),
    };
    let bar = progress_bar((ips.len() * probe.ports.len()) as u64, args.json);
    let found = probe::scan(&ips, &probe, &bar).await;
    bar.finish_and_clear();
    let names = match args.no_dns {
        true => Default::default(),
        false => probe::names(&found.iter().map(|f| f.ip).collect::<Vec<_>>()).await,
    };
    if let Some(up) = args.upstream.clone() {
        config.upstream = Some(up);
    }
    let renders = afserver_renders(&config).await;
    let pools = current_pools(&config, args.add.is_some()).await?;
    let rows = report::rows(&found, &names, renders.as_deref(), &pools);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", report::table(&rows));
    }
    match &args.add {
        Some(pool) => add(&config, &rows, pool, args.dry_run).await,
        None => Ok(()),
    }
}

/// A bar on a terminal, hidden otherwise.
fn progress_bar(total: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{spinner} scanning [{bar:40}] {pos}/{len} connects ({percent}%) {eta} left",
    );
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// afserver's renders, or `None` (with a note) when it cannot be asked.
async fn afserver_renders(config: &Config) -> Option<Vec<RenderInfo>> {
    let asked = match config.upstream() {
        Ok(upstream) => renders::fetch(&upstream).await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match asked {
        Ok(list) => Some(list),
        Err(e) => {
            eprintln!("afpool: cannot list afserver's renders ({e:#}); AFSERVER shows '?'");
            None
        }
    }
}

/// The pools; without `--add` an unreachable store is a note, not an error.
async fn current_pools(config: &Config, needed: bool) -> anyhow::Result<Vec<Pool>> {
    let listed = match super::open_store(config).await {
        Ok(store) => store.list().await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match listed {
        Ok(pools) => Ok(pools),
        Err(e) if needed => Err(e),
        Err(e) => {
            eprintln!("afpool: cannot read the pools ({e:#}); POOLS shows none");
            Ok(Vec::new())
        }
    }
}

/// `--add POOL`: adds the named machines the pool does not hold yet, as `afpool pool add` does
/// (audited); with `dry_run`, only says which.
async fn add(config: &Config, rows: &[ScanRow], pool: &str, dry_run: bool) -> anyhow::Result<()> {
    let hosts = report::to_add(rows, pool);
    let unnamed = rows.iter().filter(|r| r.pool_name().is_none()).count();
    if unnamed > 0 {
        eprintln!("afpool: {unnamed} machine(s) without a name not added (add them with `afpool pool add` by name)");
    }
    if hosts.is_empty() {
        eprintln!("afpool: nothing to add to pool '{pool}'");
        return Ok(());
    }
    if dry_run {
        eprintln!("dry run: would add to pool '{pool}': {}", hosts.join(" "));
        return Ok(());
    }
    let store = super::open_store(config).await?;
    let recorder = super::open_recorder(config).await?;
    let command = PoolCommand::Add {
        name: pool.to_string(),
        hosts,
    };
    super::pool::run(store, recorder, command, None).await
}
