//! `afpool serve`: accept submitter connections and hand each to [`connection::handle`], under a
//! connection cap, with accept backoff; listen only while afserver is reachable ([`listen`]); on
//! shutdown, let in-flight requests finish up to the drain deadline.

mod client;
pub mod connection;
mod health;
mod listen;
mod opaque;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::budget::Budget;
use crate::routing::Router;
use crate::upstream::Upstream;

/// Limits of the proxy's service.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most connections handled at once; more wait in the accept queue.
    pub max_connections: usize,
    /// How long a client may take to send its one message.
    pub first_message_timeout: Duration,
    /// How long a client may take to take afpool's reply.
    pub client_write_timeout: Duration,
    /// The longest a connection is served, whatever happens.
    pub connection_deadline: Duration,
    /// On shutdown, how long in-flight requests may take to finish.
    pub drain_timeout: Duration,
    /// How often afserver is probed while no connection to it was made.
    pub health_interval: Duration,
    /// Bytes all messages in flight may hold at once ([`crate::protocol::budget`]).
    pub max_inflight_bytes: usize,
    /// An unrecognised message's reply ends at the first pause this long.
    pub opaque_idle_gap: Duration,
}

/// Messages up to this size need none of the in-flight byte budget.
pub const BUDGET_FREE_BELOW: usize = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            first_message_timeout: Duration::from_secs(15),
            client_write_timeout: Duration::from_secs(30),
            connection_deadline: Duration::from_secs(180),
            drain_timeout: Duration::from_secs(30),
            health_interval: Duration::from_secs(1),
            max_inflight_bytes: 1 << 30,
            opaque_idle_gap: Duration::from_secs(1),
        }
    }
}

/// What every connection shares.
pub struct Shared {
    /// afserver.
    pub upstream: Upstream,
    /// Job routing.
    pub router: Arc<Router>,
    /// Service limits.
    pub limits: Limits,
    /// The in-flight byte budget (made from `limits` by [`Shared::new`]).
    pub budget: Budget,
    /// Routing decisions, upstream errors and latency, for `GET /metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Live pool jobs (registry, guard on edits); `None`: routing only.
    pub live: Option<Arc<crate::live::LiveJobs>>,
}

impl Shared {
    /// What connections share, with a byte budget of `limits.max_inflight_bytes` and metrics
    /// of their own.
    pub fn new(upstream: Upstream, router: Arc<Router>, limits: Limits) -> Self {
        Shared {
            budget: Budget::new(limits.max_inflight_bytes, BUDGET_FREE_BELOW),
            upstream,
            router,
            limits,
            metrics: Arc::default(),
            live: None,
        }
    }

    /// Count into `metrics` (shared with `GET /metrics`).
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Register routed jobs and guard edits with `live`.
    pub fn with_live(mut self, live: Arc<crate::live::LiveJobs>) -> Self {
        self.live = Some(live);
        self
    }
}

/// Serve on an already bound `listener` until `shutdown` is cancelled, then wait for in-flight
/// connections to finish (up to the drain deadline). While afserver is unreachable the listener
/// is closed, so connections are refused as if afserver were down, and reopened when it answers.
pub async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections));
    let tracker = TaskTracker::new();
    let probe = health::spawn(&shared, shutdown.clone());
    let mut gate = listen::Gate::new(listener, shared.upstream.reach.clone());
    let cut = CancellationToken::new();
    let mut ids: u64 = 0;
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("semaphore never closes"),
            _ = shutdown.cancelled() => break,
        };
        let Some((socket, peer)) = gate.accept(&shutdown).await else {
            break;
        };
        ids += 1;
        let shared = shared.clone();
        let span = tracing::info_span!("conn", id = ids, %peer);
        let cut = cut.clone();
        tracker.spawn(tracing::Instrument::instrument(
            async move {
                let _timer = shared.metrics.proxy_timer();
                tokio::select! {
                    _ = connection::handle(socket, peer.ip(), &shared) => {}
                    _ = cut.cancelled() => tracing::debug!("cut by the drain deadline"),
                }
                drop(permit);
            },
            span,
        ));
    }
    drop(gate);
    probe.abort();
    drain(tracker, cut, shared.limits.drain_timeout).await;
}

/// Let in-flight connections finish, up to `deadline`; those still open then are closed.
async fn drain(tracker: TaskTracker, cut: CancellationToken, deadline: Duration) {
    tracker.close();
    tracing::info!(
        in_flight = tracker.len(),
        "stopped accepting; finishing in-flight requests"
    );
    if tokio::time::timeout(deadline, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            cut = tracker.len(),
            "drain deadline of {deadline:?} passed; closing the connections still open"
        );
        cut.cancel();
        tracker.wait().await;
    }
}
