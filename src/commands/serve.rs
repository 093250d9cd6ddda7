//! `afpool serve`: resolve settings, bind, start the pools and render refreshers and live pools
//! (job registry, re-targeting, reconcile), run the proxy and, on `--http` (default
//! 127.0.0.1:51180), the HTTP API and web page beside it.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::{check_no_loop, Config};
use crate::http::{self, AppState, HttpOptions};
use crate::live::{LiveJobs, Tuning};
use crate::metrics::Metrics;
use crate::proxy::{self, Shared};
use crate::routing::{PoolFeed, RendersCache, Router};
use crate::select::feed::ResolvedPools;
use crate::store::live::LivePools;
use crate::store::recorder::Recorder;

/// Run the proxy until `shutdown`.
pub async fn run(
    mut config: Config,
    args: ServeArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let http_options = http_options(&args);
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
    let auth = Arc::new(http::load_auth(&http_options)?);
    let store = super::open_store(&config).await?;
    let recorder = super::open_recorder(&config).await?;
    let store_name = store.describe();
    let stored = LivePools::start(store.clone(), shutdown.clone()).await;
    let renders = RendersCache::spawn(
        upstream.clone(),
        config.renders_refresh()?,
        shutdown.clone(),
    );
    let resolved = ResolvedPools::start(stored.clone(), renders.clone(), shutdown.clone());
    let pools: Arc<dyn PoolFeed> = resolved;
    let legacy = match &args.legacy_pool_server {
        Some(addr) => Some(super::legacy::spawn_for_serve(&config, addr, &pools, &shutdown).await?),
        None => None,
    };
    // Routing needs no render list: the proxy serves (or, afserver down, refuses) from the
    // start, and only the log says when the first list is late.
    warn_if_no_render_list(&renders, &upstream);
    let (pool_count, render_count) = (pools.current().len(), renders.current().len());
    let router = Arc::new(Router::new(
        config.routing.clone(),
        pools.clone(),
        renders.clone(),
    ));
    router.spawn_rebuilds(shutdown.clone());
    let live = start_live(
        recorder.clone(),
        &router,
        pools.clone(),
        &upstream,
        &shutdown,
    )
    .await?;
    let metrics = Arc::new(Metrics::new());
    let state = AppState {
        store,
        audit: recorder.audit,
        registry: recorder.registry,
        pools: stored,
        resolved: pools,
        renders,
        router: router.clone(),
        metrics: metrics.clone(),
        auth,
        shutdown: shutdown.clone(),
    };
    let api = http::start(&http_options, state).await?;
    let http_at = api
        .as_ref()
        .map_or("off".to_string(), |a| format!("{}://{}", a.scheme, a.addr));
    tracing::info!(listen = %local, upstream = %upstream.addr, store = %store_name,
        pools = pool_count, renders = render_count, http = %http_at, "afpool serving");
    let shared = Shared::new(upstream, router, config.limits()?)
        .with_metrics(metrics)
        .with_live(live)
        .with_relays(config.relays()?);
    let shared = Arc::new(shared);
    // On a worker thread, not block_on's: accepting there would wake the main thread and then
    // hand every connection over to a worker, two thread wake-ups per request.
    tokio::spawn(proxy::run(listener, shared, shutdown))
        .await
        .context("the proxy's accept loop failed")?;
    if let Some(api) = api {
        api.stopped().await;
    }
    if let Some(legacy) = legacy {
        let _ = legacy.await;
    }
    Ok(())
}

/// Warn once if afserver has not listed its renders within its connect timeout.
fn warn_if_no_render_list(renders: &Arc<RendersCache>, upstream: &crate::upstream::Upstream) {
    let (renders, addr, wait) = (
        renders.clone(),
        upstream.addr.clone(),
        upstream.connect_timeout,
    );
    tokio::spawn(async move {
        if tokio::time::timeout(wait, renders.wait_refreshes(1))
            .await
            .is_err()
        {
            tracing::warn!(
                "afserver at {addr} did not list its renders yet; routing needs no render list, \
                 explanations will show render states once it does"
            );
        }
    });
}

/// The HTTP server's settings from the flags (`--http off` disables it).
fn http_options(args: &ServeArgs) -> HttpOptions {
    let addr = match args.http.as_deref().map(str::trim) {
        Some(off) if off.eq_ignore_ascii_case("off") => None,
        Some(addr) => Some(addr.to_string()),
        None => Some(http::DEFAULT_ADDR.to_string()),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => None,
    };
    HttpOptions {
        addr,
        tokens: args.api_tokens.clone(),
        tls,
        optional: args.http.is_none(),
    }
}

/// Starts live pools: the job registry beside the store, re-targeting and reconciling.
async fn start_live(
    recorder: Recorder,
    router: &Arc<Router>,
    pools: Arc<dyn PoolFeed>,
    upstream: &crate::upstream::Upstream,
    shutdown: &CancellationToken,
) -> anyhow::Result<Arc<LiveJobs>> {
    let (router, upstream, tuning) = (router.clone(), upstream.clone(), Tuning::default());
    let live = LiveJobs::start(recorder, router, pools, upstream, tuning, shutdown.clone());
    Ok(live.await)
}
