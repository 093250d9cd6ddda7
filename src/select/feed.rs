//! [`ResolvedPools`]: the pools the proxy routes and re-targets with: the stored pools (the
//! store's live view) resolved over afserver's render list ([`super::resolve`]). It publishes a
//! new version only when some pool's resolved members change, so a render that starts or stops
//! matching a rule moves live jobs exactly like a pool edit, and a refresh that changes nothing
//! a rule reads moves nothing. While some pool has a rule, the render list is refreshed with the
//! renders' resources (hardware); otherwise afserver is not asked for them.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::resolve::Resolver;
use crate::routing::{PoolFeed, RendersCache};
use crate::store::live::LivePools;
use crate::store::Pool;

/// The resolved pools, kept current in the background.
pub struct ResolvedPools {
    pools: ArcSwap<Vec<Pool>>,
    version: watch::Sender<u64>,
}

impl ResolvedPools {
    /// Resolves the stored pools over the render list now, then again whenever either changes,
    /// until `shutdown`.
    pub fn start(
        stored: Arc<LivePools>,
        renders: Arc<RendersCache>,
        shutdown: CancellationToken,
    ) -> Arc<ResolvedPools> {
        let mut resolver = Resolver::new();
        let (pools, list) = (stored.current(), renders.current());
        renders.ask_resources(has_rules(&pools));
        let first = resolver.resolve(&pools, &list);
        let feed = Arc::new(ResolvedPools {
            pools: ArcSwap::from_pointee(first),
            version: watch::Sender::new(0),
        });
        let follower = Follower {
            feed: feed.clone(),
            stored,
            renders,
            inputs: (pools, list),
        };
        tokio::spawn(follower.run(resolver, shutdown));
        feed
    }

    fn publish(&self, pools: Vec<Pool>) {
        if **self.pools.load() == pools {
            return;
        }
        self.pools.store(Arc::new(pools));
        self.version.send_modify(|v| *v += 1);
    }
}

impl PoolFeed for ResolvedPools {
    fn current(&self) -> Arc<Vec<Pool>> {
        self.pools.load_full()
    }
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.version.subscribe())
    }
    fn version(&self) -> u64 {
        *self.version.borrow()
    }
}

/// True when some pool selects renders by a rule.
fn has_rules(pools: &[Pool]) -> bool {
    pools.iter().any(|p| p.selection.select.is_some())
}

/// The task that resolves again on every change of its inputs.
struct Follower {
    feed: Arc<ResolvedPools>,
    stored: Arc<LivePools>,
    renders: Arc<RendersCache>,
    /// The inputs of the last resolution.
    inputs: (Arc<Vec<Pool>>, Arc<Vec<crate::renders::RenderInfo>>),
}

impl Follower {
    async fn run(mut self, mut resolver: Resolver, shutdown: CancellationToken) {
        let mut pools_rx = self.stored.subscribe();
        let mut renders_rx = self.renders.subscribe();
        loop {
            tokio::select! {
                r = pools_rx.changed() => if r.is_err() { return },
                r = renders_rx.changed() => if r.is_err() { return },
                _ = shutdown.cancelled() => return,
            }
            let (pools, list) = (self.stored.current(), self.renders.current());
            if Arc::ptr_eq(&pools, &self.inputs.0) && Arc::ptr_eq(&list, &self.inputs.1) {
                continue;
            }
            self.renders.ask_resources(has_rules(&pools));
            self.inputs = (pools.clone(), list.clone());
            // Off the proxy's workers: 200 rules over a 5,000-render farm is a million checks
            // when every render is new.
            let work = move || {
                let resolved = resolver.resolve(&pools, &list);
                (resolver, resolved)
            };
            match tokio::task::spawn_blocking(work).await {
                Ok((back, resolved)) => {
                    resolver = back;
                    self.feed.publish(resolved);
                }
                Err(e) => {
                    tracing::error!("resolving the pools failed; keeping the last ones: {e}");
                    resolver = Resolver::new();
                }
            }
        }
    }
}
