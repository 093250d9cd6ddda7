//! [`LivePools`]: an always-available in-memory copy of every pool for the proxy, refreshed in
//! the background when the store changes.
//!
//! The refresher follows the backend's [`ChangeFeed`]: a MongoDB change stream where the server
//! offers one, otherwise polling (file store: the file's metadata every 500 ms; MongoDB without
//! change streams: a reload every 2 s). When the store becomes unreachable the last pools stay
//! in place, one warning is logged, and the refresher keeps retrying until the store is back.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{ChangeFeed, Pool, SharedStore, StoreError};

/// Pause before reopening a broken change feed.
const RETRY: Duration = Duration::from_secs(1);

/// The current pools, shared by every connection of the proxy.
#[derive(Debug)]
pub struct LivePools {
    pools: ArcSwap<Vec<Pool>>,
    version: watch::Sender<u64>,
    available: watch::Sender<bool>,
}

impl LivePools {
    /// Loads the pools once (empty, with a warning, if the store is unreachable) and spawns a
    /// task that keeps them current until `shutdown` is cancelled.
    pub async fn start(store: SharedStore, shutdown: CancellationToken) -> Arc<LivePools> {
        let live = Arc::new(LivePools::new(Vec::new()));
        let healthy = match store.list().await {
            Ok(pools) => {
                live.publish(pools);
                true
            }
            Err(e) => {
                tracing::warn!(store = %store.describe(), error = %e,
                    "pool store unreachable; starting with no pools and retrying");
                live.available.send_replace(false);
                false
            }
        };
        let refresher = Refresher {
            store,
            live: live.clone(),
            shutdown,
            healthy,
        };
        tokio::spawn(refresher.run());
        live
    }

    /// Fixed pools that never change (for tests and one-shot commands).
    pub fn new(pools: Vec<Pool>) -> Self {
        LivePools {
            pools: ArcSwap::from_pointee(pools),
            version: watch::Sender::new(0),
            available: watch::Sender::new(true),
        }
    }

    /// Every pool as last loaded, sorted by name.
    pub fn current(&self) -> Arc<Vec<Pool>> {
        self.pools.load_full()
    }

    /// The pool named exactly `name`, if any.
    pub fn get(&self, name: &str) -> Option<Pool> {
        self.pools.load().iter().find(|p| p.name == name).cloned()
    }

    /// Increases by one each time the pools change.
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// A receiver that is notified on every change of [`LivePools::version`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// False while the store is unreachable (the pools are then the last ones loaded).
    pub fn is_available(&self) -> bool {
        *self.available.borrow()
    }

    /// Waits until [`LivePools::is_available`] equals `available` (bound it with a timeout).
    pub async fn wait_available(&self, available: bool) {
        let mut changes = self.available.subscribe();
        // The sender lives in `self`, so this cannot fail while `self` exists.
        let _ = changes.wait_for(|now| *now == available).await;
    }

    /// Waits until the pools satisfy `ready` and returns them; never sleeps or polls. Callers
    /// bound the wait with `tokio::time::timeout`.
    pub async fn wait_for(&self, mut ready: impl FnMut(&[Pool]) -> bool) -> Arc<Vec<Pool>> {
        let mut changes = self.subscribe();
        loop {
            let pools = self.current();
            if ready(&pools) {
                return pools;
            }
            // The sender lives in `self`, so this only fails if `self` is gone, which it isn't.
            let _ = changes.changed().await;
        }
    }

    /// Replaces the pools if they differ, and bumps the version.
    fn publish(&self, pools: Vec<Pool>) {
        if **self.pools.load() == pools {
            return;
        }
        self.pools.store(Arc::new(pools));
        self.version.send_modify(|v| *v += 1);
    }
}

/// What a feed-following loop ended with.
enum Flow {
    /// Shutdown was requested.
    Stop,
    /// The feed broke; reopen it after a pause.
    Broken,
}

/// The background task behind [`LivePools::start`].
struct Refresher {
    store: SharedStore,
    live: Arc<LivePools>,
    shutdown: CancellationToken,
    healthy: bool,
}

impl Refresher {
    async fn run(mut self) {
        loop {
            let flow = match self.store.changes().await {
                Ok(ChangeFeed::Poll(every)) => self.poll(every).await,
                Ok(ChangeFeed::Stream(events)) => self.follow(events).await,
                Err(e) => {
                    self.failed(&e);
                    Flow::Broken
                }
            };
            if let Flow::Stop = flow {
                return;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(RETRY) => {}
            }
        }
    }

    /// Reloads on every event of a change stream (opened before the reload, so nothing is lost).
    async fn follow(&mut self, mut events: BoxStream<'static, Result<(), StoreError>>) -> Flow {
        if !self.reload().await {
            return Flow::Broken;
        }
        loop {
            let event = tokio::select! {
                _ = self.shutdown.cancelled() => return Flow::Stop,
                event = events.next() => event,
            };
            match event {
                Some(Ok(())) if self.reload().await => {}
                Some(Ok(())) => return Flow::Broken,
                Some(Err(e)) => {
                    self.failed(&e);
                    return Flow::Broken;
                }
                None => return Flow::Broken, // e.g. the collection was dropped: reopen
            }
        }
    }

    /// Checks the store's fingerprint every `every` and reloads when it changed (or always,
    /// when the backend has no fingerprint). Runs until shutdown.
    async fn poll(&mut self, every: Duration) -> Flow {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut loaded: Option<String> = None;
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Flow::Stop,
                _ = ticker.tick() => {}
            }
            match self.store.fingerprint().await {
                Ok(Some(now)) if self.healthy && loaded.as_ref() == Some(&now) => {}
                Ok(now) => {
                    if self.reload().await {
                        loaded = now;
                    }
                }
                Err(e) => self.failed(&e),
            }
        }
    }

    async fn reload(&mut self) -> bool {
        match self.store.list().await {
            Ok(pools) => {
                self.recovered();
                if *self.live.current() != pools {
                    let hosts: usize = pools.iter().map(|p| p.hosts.len()).sum();
                    tracing::info!(
                        pools = pools.len(),
                        hosts,
                        "pools changed; routing with the new pools"
                    );
                }
                self.live.publish(pools);
                true
            }
            Err(e) => {
                self.failed(&e);
                false
            }
        }
    }

    /// Logs the first failure of an outage only.
    fn failed(&mut self, error: &StoreError) {
        if self.healthy {
            let kept = self.live.current().len();
            tracing::warn!(store = %self.store.describe(), %error, kept,
                "pool store unreachable; keeping the last pools and retrying");
            self.healthy = false;
            self.live.available.send_replace(false);
        } else {
            tracing::debug!(store = %self.store.describe(), %error, "pool store still unreachable");
        }
    }

    fn recovered(&mut self) {
        if !self.healthy {
            tracing::info!(store = %self.store.describe(), "pool store reachable again");
            self.healthy = true;
            self.live.available.send_replace(true);
        }
    }
}
