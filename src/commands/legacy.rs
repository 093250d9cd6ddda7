//! `afpool legacy-pool-server` and `afpool serve --legacy-pool-server`: the older pools tool's
//! Pool Server (see [`crate::legacy`]), answering from the live pool view resolved as the proxy
//! resolves it (rules over afserver's render list, member windows), so old clients get the
//! members of the moment in `clients`.
//!
//! Where it listens: the address given, else the old `poolserver/config.json` found from
//! `--legacy-config` (`ip` `""` = all interfaces), else `0.0.0.0:9999`; `max_clients` from that
//! file too (default 32).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::legacy::config::{self as legacy_config, ServerConfig};
use crate::legacy::server::{self, Settings};
use crate::routing::{PoolFeed, RendersCache};
use crate::select::feed::ResolvedPools;
use crate::store::live::LivePools;

/// `afpool legacy-pool-server` flags.
#[derive(Debug, Args, Default)]
pub struct LegacyPoolServerArgs {
    /// Address to listen on [default: the old poolserver/config.json's `ip` and `port` found
    /// from --legacy-config, else 0.0.0.0:9999].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Clients served at once [default: the old config's `max_clients`, else 32].
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,
    /// Seconds a client may take to send its request.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub read_timeout: u64,
}

/// The old Pool Server's config found from `--legacy-config`, or the old defaults.
pub fn old_server_config(config: &Config) -> anyhow::Result<ServerConfig> {
    let Some(legacy) = &config.legacy_config else {
        return Ok(ServerConfig::default());
    };
    match legacy_config::locate(std::path::Path::new(legacy)) {
        Some(path) => {
            tracing::info!(config = %path.display(), "legacy Pool Server settings");
            ServerConfig::read(&path)
        }
        None => Ok(ServerConfig::default()),
    }
}

/// Binds `listen` (empty: from the old config) and serves the legacy protocol from `pools` in
/// a task of its own until `shutdown`; the task ends when the last connection has.
pub async fn spawn(
    config: &Config,
    listen: &str,
    max_clients: Option<usize>,
    read_timeout: Duration,
    pools: Arc<dyn PoolFeed>,
    shutdown: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    let old = old_server_config(config)?;
    let addr = match listen.trim() {
        "" => old.listen_addr(),
        addr => addr.to_string(),
    };
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("legacy Pool Server cannot listen on {addr}"))?;
    let settings = Settings {
        max_clients: max_clients.unwrap_or(old.max_clients).max(1),
        read_timeout,
    };
    tracing::info!(listen = %listener.local_addr()?, max_clients = settings.max_clients,
        "legacy Pool Server answering GET POOLS");
    Ok(tokio::spawn(server::run(
        listener, pools, settings, shutdown,
    )))
}

/// `afpool legacy-pool-server`: open the store, keep its pools current and resolved over
/// afserver's render list (read from `upstream` in the background; until it answers, selector
/// pools have their typed hosts only), serve until `shutdown`.
pub async fn run(
    config: Config,
    args: LegacyPoolServerArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = super::open_store(&config).await?;
    tracing::info!(store = %store.describe(), "pool store");
    let stored = LivePools::start(store, shutdown.clone()).await;
    let renders = RendersCache::spawn(
        config.upstream()?,
        config.renders_refresh()?,
        shutdown.clone(),
    );
    let pools = ResolvedPools::start(stored, renders, shutdown.clone());
    let listen = args.listen.unwrap_or_default();
    let timeout = Duration::from_secs(args.read_timeout.max(1));
    let task = spawn(&config, &listen, args.max_clients, timeout, pools, shutdown).await?;
    task.await.context("legacy Pool Server task failed")
}

/// `afpool serve --legacy-pool-server ADDR`: [`spawn`] on the proxy's own pools, with the
/// default read timeout.
pub async fn spawn_for_serve(
    config: &Config,
    listen: &str,
    pools: &Arc<dyn PoolFeed>,
    shutdown: &CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    let timeout = Settings::default().read_timeout;
    spawn(
        config,
        listen,
        None,
        timeout,
        pools.clone(),
        shutdown.clone(),
    )
    .await
}
