//! `afpool serve`: resolve settings, bind, start the pools and render refreshers and live pools
//! (job registry, re-targeting, reconcile), run the proxy.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::{check_no_loop, Config};
use crate::live::{LiveJobs, Tuning};
use crate::proxy::{self, Shared};
use crate::routing::{RendersCache, Router};
use crate::store::live::LivePools;

/// Run the proxy until `shutdown`.
pub async fn run(
    mut config: Config,
    args: ServeArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.listen = Some(listen);
    }
    if let Some(upstream) = args.upstream {
        config.upstream = Some(upstream);
    }
    args.routing.apply(&mut config.routing);
    let upstream = config.upstream()?;
    let listener = TcpListener::bind(config.listen())
        .await
        .with_context(|| format!("cannot listen on {}", config.listen()))?;
    let local = listener.local_addr()?;
    if let Ok(addrs) = tokio::net::lookup_host(&upstream.addr).await {
        check_no_loop(local, &addrs.collect::<Vec<_>>())?;
    }
    let store = super::open_store(&config).await?;
    let store_name = store.describe();
    let pools = LivePools::start(store, shutdown.clone()).await;
    let renders = RendersCache::spawn(
        upstream.clone(),
        config.renders_refresh()?,
        shutdown.clone(),
    );
    let first = tokio::time::timeout(upstream.connect_timeout, renders.wait_refreshes(1)).await;
    if first.is_err() {
        tracing::warn!(
            "afserver at {} did not list its renders yet; routing needs no render list, \
             explanations will show render states once it does",
            upstream.addr
        );
    }
    let (pool_count, render_count) = (pools.current().len(), renders.current().len());
    let router = Arc::new(Router::new(config.routing.clone(), pools.clone(), renders));
    router.spawn_rebuilds(shutdown.clone());
    let live = start_live(&config, &router, pools, &upstream, &shutdown).await?;
    tracing::info!(listen = %local, upstream = %upstream.addr, store = %store_name,
        pools = pool_count, renders = render_count, "afpool serving");
    let shared = Arc::new(Shared {
        upstream,
        router,
        limits: config.limits()?,
        live: Some(live),
    });
    proxy::run(listener, shared, shutdown).await;
    Ok(())
}

/// Starts live pools: the job registry beside the store, re-targeting and reconciling.
async fn start_live(
    config: &Config,
    router: &Arc<Router>,
    pools: Arc<LivePools>,
    upstream: &crate::upstream::Upstream,
    shutdown: &CancellationToken,
) -> anyhow::Result<Arc<LiveJobs>> {
    let recorder = super::open_recorder(config).await?;
    let (router, upstream, tuning) = (router.clone(), upstream.clone(), Tuning::default());
    let live = LiveJobs::start(recorder, router, pools, upstream, tuning, shutdown.clone());
    Ok(live.await)
}
