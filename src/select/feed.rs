//! [`ResolvedPools`]: the pools the proxy routes and re-targets with: the stored pools (the
//! store's live view) resolved over afserver's render list ([`super::resolve`]). It publishes a
//! new version only when some pool's resolved members change, so a render that starts or stops
//! matching a rule moves live jobs exactly like a pool edit, and a refresh that changes nothing
//! a rule reads moves nothing. While some pool has a rule, the render list is refreshed with the
//! renders' resources (hardware); otherwise afserver is not asked for them. The stored default
//! pool rules pass through unchanged, and a change of them alone publishes a new version too.
//!
//! Scheduled members: each resolution is made at the [`Clock`]'s now, and the follower also
//! wakes at the next window edge the resolver reports, resolves again and publishes, so live
//! jobs re-target at every edge.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::resolve::Resolver;
use crate::routing::{PoolFeed, RendersCache};
use crate::store::live::LivePools;
use crate::store::rules::DefaultRules;
use crate::store::Pool;

/// The resolved pools, kept current in the background.
pub struct ResolvedPools {
    pools: ArcSwap<Vec<Pool>>,
    version: watch::Sender<u64>,
    /// The stored pools and default pool rules.
    stored: Arc<LivePools>,
}

impl ResolvedPools {
    /// Resolves the stored pools over the render list now, then again whenever either changes
    /// or a member window opens or shuts, until `shutdown`; on the system clock, windows in the
    /// server's local zone unless a pool names one.
    pub fn start(
        stored: Arc<LivePools>,
        renders: Arc<RendersCache>,
        shutdown: CancellationToken,
    ) -> Arc<ResolvedPools> {
        Self::start_with(stored, renders, Clock::system(), Resolver::new(), shutdown)
    }

    /// [`ResolvedPools::start`] on `clock`, with `resolver` (its default zone).
    pub fn start_with(
        stored: Arc<LivePools>,
        renders: Arc<RendersCache>,
        clock: Clock,
        mut resolver: Resolver,
        shutdown: CancellationToken,
    ) -> Arc<ResolvedPools> {
        // Watched before the first read, so no change between the two is missed.
        let watched = (stored.subscribe(), renders.subscribe());
        let (pools, list) = (stored.current(), renders.current());
        renders.ask_resources(has_rules(&pools));
        let first = resolver.resolve(&pools, &list, clock.now());
        let feed = Arc::new(ResolvedPools {
            pools: ArcSwap::from_pointee(first),
            version: watch::Sender::new(0),
            stored: stored.clone(),
        });
        let rules = stored.rules();
        let follower = Follower {
            feed: feed.clone(),
            stored,
            renders,
            inputs: (pools, list),
            rules,
            clock,
            zone: resolver.zone().clone(),
        };
        tokio::spawn(follower.run(resolver, watched, shutdown));
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
    fn rules(&self) -> Arc<Option<DefaultRules>> {
        self.stored.rules()
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
    /// The default pool rules last published.
    rules: Arc<Option<DefaultRules>>,
    clock: Clock,
    /// The resolver's default zone, for a new one.
    zone: jiff::tz::TimeZone,
}

impl Follower {
    async fn run(
        mut self,
        mut resolver: Resolver,
        watched: (watch::Receiver<u64>, watch::Receiver<u64>),
        shutdown: CancellationToken,
    ) {
        let (mut pools_rx, mut renders_rx) = watched;
        loop {
            let edge = resolver.next_edge();
            let clock = self.clock.clone();
            let wake = async move {
                match edge {
                    Some(at) => clock.reach(at).await,
                    None => std::future::pending().await,
                }
            };
            let timed = tokio::select! {
                r = pools_rx.changed() => if r.is_err() { return } else { false },
                r = renders_rx.changed() => if r.is_err() { return } else { false },
                _ = wake => true,
                _ = shutdown.cancelled() => return,
            };
            let rules = self.stored.rules();
            if !Arc::ptr_eq(&rules, &self.rules) {
                self.rules = rules;
                self.feed.version.send_modify(|v| *v += 1);
            }
            let (pools, list) = (self.stored.current(), self.renders.current());
            let same = Arc::ptr_eq(&pools, &self.inputs.0) && Arc::ptr_eq(&list, &self.inputs.1);
            if same && !timed {
                continue;
            }
            self.renders.ask_resources(has_rules(&pools));
            self.inputs = (pools.clone(), list.clone());
            let now = self.clock.now();
            // Off the proxy's workers: 200 rules over a 5,000-render farm is a million checks
            // when every render is new.
            let work = move || {
                let resolved = resolver.resolve(&pools, &list, now);
                (resolver, resolved)
            };
            match tokio::task::spawn_blocking(work).await {
                Ok((back, resolved)) => {
                    resolver = back;
                    self.feed.publish(resolved);
                }
                Err(e) => {
                    tracing::error!("resolving the pools failed; keeping the last ones: {e}");
                    resolver = Resolver::with_zone(self.zone.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Selection;

    /// ws-1 renders Monday 19:00-20:00 in Berlin, ws-2 always.
    fn pools() -> Vec<Pool> {
        let during = [("ws-1".to_string(), vec!["Mon 19:00-20:00".to_string()])];
        vec![
            Pool::new("night", ["ws-1", "ws-2"]).with_selection(Selection {
                during: during.into_iter().collect(),
                time_zone: Some("Europe/Berlin".into()),
                ..Selection::default()
            }),
        ]
    }

    fn hosts(feed: &ResolvedPools) -> Vec<String> {
        feed.current()[0].hosts.clone()
    }

    #[tokio::test(start_paused = true)]
    async fn members_join_and_leave_at_window_edges() {
        let shutdown = CancellationToken::new();
        // Monday 2026-12-07, 18:59 in Berlin.
        let clock = Clock::starting_at("2026-12-07T17:59:00Z".parse().unwrap());
        let stored = Arc::new(LivePools::new(pools()));
        let renders = RendersCache::fixed(Vec::new());
        let feed =
            ResolvedPools::start_with(stored, renders, clock, Resolver::new(), shutdown.clone());
        let mut changes = feed.changes().unwrap();
        assert_eq!(hosts(&feed), ["ws-2"]);
        tokio::time::advance(Duration::from_secs(59)).await;
        tokio::task::yield_now().await;
        assert_eq!(feed.version(), 0, "nothing before the edge");
        tokio::time::advance(Duration::from_secs(1)).await;
        changes.changed().await.unwrap();
        assert_eq!(hosts(&feed), ["ws-1", "ws-2"], "joined at 19:00");
        tokio::time::advance(Duration::from_secs(3600)).await;
        changes.changed().await.unwrap();
        assert_eq!(hosts(&feed), ["ws-2"], "left at 20:00");
        assert_eq!(feed.version(), 2);
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_change_of_the_default_rules_alone_is_published() {
        let shutdown = CancellationToken::new();
        let stored = Arc::new(LivePools::new(vec![Pool::new("comp", ["r1"])]));
        let feed = ResolvedPools::start(
            stored.clone(),
            RendersCache::fixed(Vec::new()),
            shutdown.clone(),
        );
        let mut changes = feed.changes().unwrap();
        assert_eq!(*feed.rules(), None);
        let rules = DefaultRules::from_default_pool(Some("comp"));
        stored.set_rules(Some(rules.clone()));
        changes.changed().await.unwrap();
        assert_eq!((feed.version(), &*feed.rules()), (1, &Some(rules)));
        assert_eq!(hosts(&feed), ["r1"], "the pools as before");
        shutdown.cancel();
    }
}
