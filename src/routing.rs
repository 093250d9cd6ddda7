//! The live routing state shared by the proxy's connections: routing settings, the pools (kept
//! fresh by the store's live view), and afserver's render list (refreshed in the background), turned
//! into a [`job::Inventory`] that is rebuilt only when one of them changes, never per job. Masks
//! name pool members only, so routing never waits for the render list; it serves explanations.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::job::{self, Inventory, Outcome, Rejection, RouteSettings, Routed};
use crate::renders::{self, RenderInfo};
use crate::store::rules::DefaultRules;
use crate::store::Pool;
use crate::upstream::Upstream;

/// Anything that can hand out the current pools cheaply (the live view, or a fixed list).
pub trait PoolFeed: Send + Sync {
    /// The pools as of now.
    fn current(&self) -> Arc<Vec<Pool>>;
    /// A receiver that changes whenever the pools may have changed (`None`: they never change).
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }
    /// Increases whenever the pools change (what [`PoolFeed::changes`] carries).
    fn version(&self) -> u64 {
        0
    }
    /// The stored default pool rules (`None`: none stored), changing with the pools.
    fn rules(&self) -> Arc<Option<DefaultRules>> {
        static NONE: std::sync::OnceLock<Arc<Option<DefaultRules>>> = std::sync::OnceLock::new();
        NONE.get_or_init(|| Arc::new(None)).clone()
    }
}

/// A fixed set of pools (one-shot commands, tests).
pub struct FixedPools(pub Arc<Vec<Pool>>);

impl PoolFeed for FixedPools {
    fn current(&self) -> Arc<Vec<Pool>> {
        self.0.clone()
    }
}

impl PoolFeed for crate::store::live::LivePools {
    fn current(&self) -> Arc<Vec<Pool>> {
        crate::store::live::LivePools::current(self)
    }
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.subscribe())
    }
    fn version(&self) -> u64 {
        crate::store::live::LivePools::version(self)
    }
    fn rules(&self) -> Arc<Option<DefaultRules>> {
        crate::store::live::LivePools::rules(self)
    }
}

struct Built {
    pools: Arc<Vec<Pool>>,
    rules: Arc<Option<DefaultRules>>,
    renders: Arc<Vec<RenderInfo>>,
    inventory: Arc<Inventory>,
}

/// Routes job submissions against the latest pools and renders. The inventory is built once up
/// front and rebuilt in the background when pools or renders change (see [`Router::spawn_rebuilds`]);
/// requests never build it.
pub struct Router {
    settings: RouteSettings,
    pools: Arc<dyn PoolFeed>,
    renders: Arc<RendersCache>,
    built: ArcSwap<Built>,
    rebuilt: watch::Sender<u64>,
    rebuilding: tokio::sync::Mutex<()>,
}

impl Router {
    /// A router over these sources, with the inventory built now.
    pub fn new(
        settings: RouteSettings,
        pools: Arc<dyn PoolFeed>,
        renders: Arc<RendersCache>,
    ) -> Self {
        let sources = (pools.current(), pools.rules(), renders.current());
        let built = build(sources, None);
        Router {
            settings,
            pools,
            renders,
            built: ArcSwap::from_pointee(built),
            rebuilt: watch::channel(0).0,
            rebuilding: tokio::sync::Mutex::new(()),
        }
    }

    /// The routing settings.
    pub fn settings(&self) -> &RouteSettings {
        &self.settings
    }

    /// The inventory as of the last build.
    pub fn inventory(&self) -> Arc<Inventory> {
        self.built.load().inventory.clone()
    }

    /// Route one job submission body.
    pub fn route(&self, body: &[u8]) -> Result<Outcome, Rejection> {
        job::route(body, &self.settings, &self.inventory())
    }

    /// Route `body` if it is a job submission (`None`: relay it as it is); parses it once.
    /// `peer` is the client's address, which pool ACLs check.
    pub fn route_submission<'a>(
        &self,
        body: &'a [u8],
        peer: Option<std::net::IpAddr>,
    ) -> Option<Result<Routed<'a>, Rejection>> {
        job::route_submission_from(body, &self.settings, &self.inventory(), peer)
    }

    /// Wait until the inventory, as rebuilt, satisfies `ready` (checked now and after every
    /// rebuild). Waiting for a count of rebuilds can be satisfied by a build from older sources.
    pub async fn wait_inventory(&self, ready: impl Fn(&Inventory) -> bool) {
        let mut rebuilt = self.rebuilt.subscribe();
        while !ready(&self.inventory()) {
            if rebuilt.changed().await.is_err() {
                return;
            }
        }
    }

    /// Wait until the inventory has been rebuilt at least `n` times since start.
    pub async fn wait_rebuilds(&self, n: u64) {
        let _ = self.rebuilt.subscribe().wait_for(|g| *g >= n).await;
    }

    /// Rebuild the inventory off the request path whenever pools or renders change, until
    /// `shutdown`.
    pub fn spawn_rebuilds(self: &Arc<Self>, shutdown: CancellationToken) {
        let router = self.clone();
        tokio::spawn(async move {
            let mut pools_rx = router.pools.changes();
            let mut renders_rx = router.renders.generation.subscribe();
            loop {
                tokio::select! {
                    _ = changed(&mut pools_rx) => {}
                    r = renders_rx.changed() => if r.is_err() { return },
                    _ = shutdown.cancelled() => return,
                }
                router.rebuild_if_changed().await;
            }
        });
    }

    /// Rebuilds the inventory when pools or renders changed. Rebuilds are serialised (one at a
    /// time, each from the latest sources), so an older, slower build never replaces a newer one.
    async fn rebuild_if_changed(&self) {
        let _one_at_a_time = self.rebuilding.lock().await;
        let (pools, renders) = (self.pools.current(), self.renders.current());
        let rules = self.pools.rules();
        let built = self.built.load();
        if Arc::ptr_eq(&built.pools, &pools)
            && Arc::ptr_eq(&built.renders, &renders)
            && Arc::ptr_eq(&built.rules, &rules)
        {
            return;
        }
        let started = Instant::now();
        let (n_pools, n_renders) = (pools.len(), renders.len());
        let previous = built.clone();
        let work = move || build((pools, rules, renders), Some(&previous));
        let Ok(fresh) = tokio::task::spawn_blocking(work).await else {
            return tracing::error!("building the routing inventory failed; keeping the last one");
        };
        // The previous snapshot is freed once its last reader is done; what it held goes back.
        self.built.store(Arc::new(fresh));
        drop(built);
        crate::memory::trim_off_workers().await;
        self.rebuilt.send_modify(|g| *g += 1);
        tracing::info!(
            pools = n_pools,
            renders = n_renders,
            ms = started.elapsed().as_millis() as u64,
            "routing inventory rebuilt"
        );
    }
}

/// Resolves when `rx` changes; never, when there is nothing to watch or its sender is gone.
pub async fn changed(rx: &mut Option<watch::Receiver<u64>>) {
    if let Some(r) = rx {
        if r.changed().await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

/// Pools, rules and renders, as one build reads them.
type Sources = (
    Arc<Vec<Pool>>,
    Arc<Option<DefaultRules>>,
    Arc<Vec<RenderInfo>>,
);

fn build((pools, rules, renders): Sources, previous: Option<&Built>) -> Built {
    let (pool_list, render_list) = (Arc::clone(&pools), Arc::clone(&renders));
    let inventory = match previous {
        Some(prev) => Inventory::after(&prev.inventory, pool_list, render_list),
        None => Inventory::shared(pool_list, render_list).with_rules(rules.as_ref().as_ref()),
    };
    // Rules are compiled again only when they changed.
    let inventory = match previous {
        Some(prev) if !Arc::ptr_eq(&prev.rules, &rules) => {
            inventory.with_rules(rules.as_ref().as_ref())
        }
        _ => inventory,
    };
    Built {
        pools,
        rules,
        renders,
        inventory: Arc::new(inventory),
    }
}

/// afserver's render list, refreshed in the background; the last good list is kept when afserver
/// cannot answer.
pub struct RendersCache {
    list: ArcSwap<Vec<RenderInfo>>,
    resources: AtomicBool,
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
            resources: AtomicBool::new(false),
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
            // Never read: the loop retries every interval (routing does not need the list).
            None => false,
        };
        if stale {
            self.wake.notify_one();
        }
        self.list.load_full()
    }

    /// Whether each refresh also asks afserver for the renders' resources (hardware), which
    /// selector pools need; turning it on refreshes now. Returns whether it was on.
    pub fn ask_resources(&self, on: bool) -> bool {
        let was = self.resources.swap(on, Ordering::Relaxed);
        if !was && on {
            self.wake.notify_one();
        }
        was
    }

    /// Refresh now instead of at the end of the interval.
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }

    /// Time since the last successful refresh (`None`: never refreshed).
    pub fn age(&self) -> Option<Duration> {
        self.fetched_at.lock().unwrap().map(|at| at.elapsed())
    }

    /// The refresh interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// A receiver notified after every successful refresh (its value counts them).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Wait until at least `n` refreshes have succeeded.
    pub async fn wait_refreshes(&self, n: u64) {
        let mut rx = self.generation.subscribe();
        let _ = rx.wait_for(|g| *g >= n).await;
    }

    async fn refresh_loop(self: Arc<Self>, upstream: Upstream, shutdown: CancellationToken) {
        let mut failing = false;
        loop {
            let fetched = match self.resources.load(Ordering::Relaxed) {
                true => renders::fetch_with_resources(&upstream).await,
                false => renders::fetch(&upstream).await,
            };
            match fetched {
                Ok(list) => {
                    if failing {
                        tracing::info!(renders = list.len(), "render list available again");
                    }
                    failing = false;
                    if **self.list.load() != list {
                        self.list.store(Arc::new(list));
                    }
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
