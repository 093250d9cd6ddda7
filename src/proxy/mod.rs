//! `afpool serve`: accept submitter connections and hand each to [`connection::handle`], under a
//! connection cap, with accept backoff and a graceful shutdown that lets in-flight requests finish.

pub mod connection;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::routing::Router;
use crate::upstream::Upstream;

/// Limits of the proxy's service.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most connections handled at once; more wait in the accept queue.
    pub max_connections: usize,
    /// How long a client may take to send its one message.
    pub first_message_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            first_message_timeout: Duration::from_secs(15),
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
    /// Live pool jobs (registry, guard on edits); `None`: routing only.
    pub live: Option<Arc<crate::live::LiveJobs>>,
}

/// Serve on an already bound `listener` until `shutdown` is cancelled, then wait for in-flight
/// connections to finish.
pub async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections));
    let tracker = TaskTracker::new();
    let mut ids: u64 = 0;
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("semaphore never closes"),
            _ = shutdown.cancelled() => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = accept(&listener) => accepted,
            _ = shutdown.cancelled() => break,
        };
        ids += 1;
        let shared = shared.clone();
        let span = tracing::info_span!("conn", id = ids, %peer);
        tracker.spawn(tracing::Instrument::instrument(
            async move {
                connection::handle(socket, &shared).await;
                drop(permit);
            },
            span,
        ));
    }
    tracker.close();
    tracing::info!(
        in_flight = tracker.len(),
        "stopped accepting; finishing in-flight requests"
    );
    tracker.wait().await;
}

/// Accept with backoff on errors such as running out of file descriptors.
async fn accept(listener: &TcpListener) -> (tokio::net::TcpStream, std::net::SocketAddr) {
    let mut backoff = Duration::from_millis(5);
    loop {
        match listener.accept().await {
            Ok(pair) => return pair,
            Err(e) => {
                tracing::warn!("accept failed, retrying in {backoff:?}: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
