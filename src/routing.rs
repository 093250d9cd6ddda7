//! The live routing state shared by the proxy's connections: routing settings, the pools (kept
//! fresh by the store's live view), and afserver's render list (refreshed in the background), turned
//! into a [`job::Inventory`] that is rebuilt only when one of them changes, never per job.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::job::{self, Inventory, Outcome, Rejection, RouteSettings};
use crate::renders::{self, RenderInfo};
use crate::store::Pool;
use crate::upstream::Upstream;

/// Anything that can hand out the current pools cheaply.
pub trait PoolSource: Send + Sync {
    /// The pools as of now.
    fn current(&self) -> Arc<Vec<Pool>>;
}

/// A fixed set of pools (one-shot commands, tests).
pub struct FixedPools(pub Arc<Vec<Pool>>);

impl PoolSource for FixedPools {
    fn current(&self) -> Arc<Vec<Pool>> {
        self.0.clone()
    }
}

impl PoolSource for crate::store::live::LivePools {
    fn current(&self) -> Arc<Vec<Pool>> {
        crate::store::live::LivePools::current(self)
    }
}

struct Built {
    pools: Arc<Vec<Pool>>,
    renders: Arc<Vec<RenderInfo>>,
    inventory: Arc<Inventory>,
}

/// Routes job submissions against the latest pools and renders.
pub struct Router {
    settings: RouteSettings,
    pools: Arc<dyn PoolSource>,
    renders: Arc<RendersCache>,
    built: ArcSwap<Built>,
}

impl Router {
    /// A router over these sources.
    pub fn new(
        settings: RouteSettings,
        pools: Arc<dyn PoolSource>,
        renders: Arc<RendersCache>,
    ) -> Self {
        let built = build(pools.current(), renders.current());
        Router {
            settings,
            pools,
            renders,
            built: ArcSwap::from_pointee(built),
        }
    }

    /// The routing settings.
    pub fn settings(&self) -> &RouteSettings {
        &self.settings
    }

    /// The inventory as of now (rebuilt if pools or renders changed since the last call).
    pub fn inventory(&self) -> Arc<Inventory> {
        let pools = self.pools.current();
        let renders = self.renders.current();
        let built = self.built.load();
        if Arc::ptr_eq(&built.pools, &pools) && Arc::ptr_eq(&built.renders, &renders) {
            return built.inventory.clone();
        }
        let fresh = Arc::new(build(pools, renders));
        self.built.store(fresh.clone());
        fresh.inventory.clone()
    }

    /// Route one job submission body.
    pub fn route(&self, body: &[u8]) -> Result<Outcome, Rejection> {
        job::route(body, &self.settings, &self.inventory())
    }
}

fn build(pools: Arc<Vec<Pool>>, renders: Arc<Vec<RenderInfo>>) -> Built {
    let inventory = Arc::new(Inventory::new(
        pools.as_ref().clone(),
        renders.as_ref().clone(),
    ));
    Built {
        pools,
        renders,
        inventory,
    }
}

/// afserver's render list, refreshed in the background; the last good list is kept when afserver
/// cannot answer.
pub struct RendersCache {
    list: ArcSwap<Vec<RenderInfo>>,
    fetched_at: Mutex<Option<Instant>>,
    interval: Duration,
    wake: Notify,
    generation: watch::Sender<u64>,
}

impl RendersCache {
    /// A cache holding `list` that never refreshes (one-shot commands, tests).
    pub fn fixed(list: Vec<RenderInfo>) -> Arc<Self> {
        Arc::new(Self::with(list, Duration::MAX))
    }

    fn with(list: Vec<RenderInfo>, interval: Duration) -> Self {
        RendersCache {
            list: ArcSwap::from_pointee(list),
            fetched_at: Mutex::new(None),
            interval,
            wake: Notify::new(),
            generation: watch::channel(0).0,
        }
    }

    /// Start refreshing from `upstream` every `interval` until `shutdown`.
    pub fn spawn(upstream: Upstream, interval: Duration, shutdown: CancellationToken) -> Arc<Self> {
        let cache = Arc::new(Self::with(Vec::new(), interval));
        tokio::spawn(cache.clone().refresh_loop(upstream, shutdown));
        cache
    }

    /// The list as of now. A stale list (no success for two intervals) asks for a refresh.
    pub fn current(&self) -> Arc<Vec<RenderInfo>> {
        let stale = match *self.fetched_at.lock().unwrap() {
            Some(at) => at.elapsed() > self.interval.saturating_mul(2),
            None => self.interval != Duration::MAX,
        };
        if stale {
            self.wake.notify_one();
        }
        self.list.load_full()
    }

    /// Wait until at least `n` refreshes have succeeded.
    pub async fn wait_refreshes(&self, n: u64) {
        let mut rx = self.generation.subscribe();
        let _ = rx.wait_for(|g| *g >= n).await;
    }

    async fn refresh_loop(self: Arc<Self>, upstream: Upstream, shutdown: CancellationToken) {
        let mut failing = false;
        loop {
            match renders::fetch(&upstream).await {
                Ok(list) => {
                    if failing {
                        tracing::info!(renders = list.len(), "render list available again");
                    }
                    failing = false;
                    self.list.store(Arc::new(list));
                    *self.fetched_at.lock().unwrap() = Some(Instant::now());
                    self.generation.send_modify(|g| *g += 1);
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(
                        "keeping the last render list ({} hosts): {e:#}",
                        self.list.load().len()
                    );
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}
