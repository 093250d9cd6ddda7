//! [`LivePools`]: an always-available in-memory copy of every pool (and of the default pool
//! rules, read with them: [`LivePools::rules`]) for the proxy, refreshed in the background when
//! the store changes.
//!
//! The refresher follows the backend's [`ChangeFeed`]: a MongoDB change stream where the server
//! offers one, otherwise polling (file store: the file's metadata every 500 ms; MongoDB without
//! change streams: a reload every 2 s). When the store becomes unreachable or unreadable, or
//! the pools file goes missing or blank, the last good pools stay in place, one warning is logged
//! per fault (see [`super::fault`]), and the refresher keeps retrying until the store is good.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::fault::{Fault, Tracker, Verdict};
use super::rules::DefaultRules;
use super::{ChangeFeed, Pool, SharedStore, StoreError};

/// Pause before reopening a broken change feed.
const RETRY: Duration = Duration::from_secs(1);

/// The current pools, shared by every connection of the proxy.
#[derive(Debug)]
pub struct LivePools {
    pools: ArcSwap<Vec<Pool>>,
    /// The default pool rules as stored (`None`: none stored).
    rules: ArcSwap<Option<DefaultRules>>,
    version: watch::Sender<u64>,
    available: watch::Sender<bool>,
}

impl LivePools {
    /// Loads the pools once (none, with a warning, if the store is unreachable; none if the
    /// file store's file does not exist yet) and spawns a task that keeps them current until
    /// `shutdown` is cancelled.
    pub async fn start(store: SharedStore, shutdown: CancellationToken) -> Arc<LivePools> {
        let live = Arc::new(LivePools::new(Vec::new()));
        let mut refresher = Refresher {
            store,
            live: live.clone(),
            shutdown,
            tracker: Tracker::new(),
            rules: None,
        };
        refresher.reload().await;
        tokio::spawn(refresher.run());
        live
    }

    /// Fixed pools that never change (for tests and one-shot commands).
    pub fn new(pools: Vec<Pool>) -> Self {
        LivePools {
            pools: ArcSwap::from_pointee(pools),
            rules: ArcSwap::from_pointee(None),
            version: watch::Sender::new(0),
            available: watch::Sender::new(true),
        }
    }

    /// Every pool as last loaded, in natural order of names.
    pub fn current(&self) -> Arc<Vec<Pool>> {
        self.pools.load_full()
    }

    /// The default pool rules as last loaded (`None`: none stored).
    pub fn rules(&self) -> Arc<Option<DefaultRules>> {
        self.rules.load_full()
    }

    /// Replaces the rules of a fixed view (tests, one-shot commands), published like a change.
    pub fn set_rules(&self, rules: Option<DefaultRules>) {
        self.publish(self.current().as_ref().clone(), rules);
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

    /// False during a fault of the store (the pools are then the last good ones loaded).
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

    /// Replaces the pools and the rules that differ, and bumps the version if any did.
    fn publish(&self, pools: Vec<Pool>, rules: Option<DefaultRules>) {
        let same_pools = **self.pools.load() == pools;
        let same_rules = **self.rules.load() == rules;
        if same_pools && same_rules {
            return;
        }
        if !same_pools {
            self.pools.store(Arc::new(pools));
        }
        if !same_rules {
            self.rules.store(Arc::new(rules));
        }
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
    tracker: Tracker,
    /// The rules read with the pools being observed.
    rules: Option<DefaultRules>,
}

impl Refresher {
    async fn run(mut self) {
        loop {
            let flow = match self.store.changes().await {
                Ok(ChangeFeed::Poll(every)) => self.poll(every).await,
                Ok(ChangeFeed::Stream(events)) => self.follow(events).await,
                Err(e) => {
                    self.observe(Err(e));
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
                    self.observe(Err(e));
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
                Ok(Some(now)) if self.tracker.is_healthy() && loaded.as_ref() == Some(&now) => {}
                Ok(now) => {
                    if self.reload().await {
                        loaded = now;
                    }
                }
                Err(e) => {
                    self.observe(Err(e));
                }
            }
        }
    }

    /// Reads the store and publishes what it holds, or keeps the last pools; false on a fault.
    async fn reload(&mut self) -> bool {
        let read = match self.store.snapshot().await {
            Ok(snapshot) => self.store.rules().await.map(|rules| (snapshot, rules)),
            Err(e) => Err(e),
        };
        let read = read.map(|(snapshot, rules)| {
            self.rules = rules;
            snapshot
        });
        self.observe(read)
    }

    /// Acts on one read (or failure) of the store; false when it is a fault.
    fn observe(&mut self, read: Result<super::Snapshot, StoreError>) -> bool {
        match self.tracker.observe(read) {
            Verdict::Publish { pools, ended } => {
                if let Some(fault) = ended {
                    tracing::info!(store = %self.store.describe(), was = %fault,
                        "pool store valid again");
                    self.live.available.send_replace(true);
                }
                self.publish(pools);
                true
            }
            Verdict::Keep { fault, new } => {
                self.live.available.send_replace(false);
                self.report(&fault, new);
                false
            }
        }
    }

    fn publish(&self, pools: Vec<Pool>) {
        if *self.live.rules() != self.rules {
            let rules = self.rules.as_ref().map_or(0, |r| r.rules.len());
            tracing::info!(
                rules,
                "default pool rules changed; routing with the new rules"
            );
        }
        if *self.live.current() != pools {
            let hosts: usize = pools.iter().map(|p| p.hosts.len()).sum();
            tracing::info!(
                pools = pools.len(),
                hosts,
                "pools changed; routing with the new pools"
            );
        }
        self.live.publish(pools, self.rules.clone());
    }

    /// Logs a fault loudly when it starts or changes kind, quietly on every later poll.
    fn report(&self, fault: &Fault, new: bool) {
        let (store, kept) = (self.store.describe(), self.live.current().len());
        if !new {
            tracing::debug!(%store, %fault, "pool store still faulty");
            return;
        }
        match fault {
            Fault::Unreadable(error) => tracing::warn!(%store, %error, kept,
                "pool store unreachable or unreadable; keeping the last pools and retrying"),
            Fault::Absent(what) => tracing::warn!(%store, kept,
                "pool store is {what} after it held pools (a file truncated, deleted or being rewritten?); keeping the last pools until it is valid again"),
        }
    }
}
