//! The legacy Pool Server: answers the old clients' `GET POOLS` from the live pool view.
//!
//! One request per connection, as before: read until one complete JSON object has arrived
//! ([`super::request::parse`]), write the reply ([`super::reply::encode`]), close. Unlike the old
//! server: at most `max_clients` connections are served at once (more wait in the accept queue),
//! a client gets `read_timeout` to send its request, every connection ends (no spinning thread),
//! and no store connection is opened per request: the pools come from
//! [`LivePools::current`], which the caller keeps current. Garbage, unknown commands and
//! silence are logged and the connection is closed, which is what the old clients expect.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::request::{self, Parse, Request};
use crate::routing::PoolFeed;

/// How the server serves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connections served at once (the old config's `max_clients`).
    pub max_clients: usize,
    /// How long a client may take to send its request (the old server waited 60 s).
    pub read_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_clients: super::config::DEFAULT_MAX_CLIENTS,
            read_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves on an already bound `listener` until `shutdown` is cancelled, then lets the
/// connections in flight finish.
pub async fn run(
    listener: TcpListener,
    pools: Arc<dyn PoolFeed>,
    settings: Settings,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(settings.max_clients.max(1)));
    let tracker = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("semaphore never closes"),
            _ = shutdown.cancelled() => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = crate::accept::with_backoff(&listener, "legacy Pool Server") => accepted,
            _ = shutdown.cancelled() => break,
        };
        let (pools, timeout) = (pools.clone(), settings.read_timeout);
        let span = tracing::info_span!("legacy", %peer);
        tracker.spawn(tracing::Instrument::instrument(
            async move {
                let answered = serve(socket, pools.as_ref(), timeout).await;
                drop(permit);
                if let Some(socket) = answered {
                    linger(socket, timeout).await;
                }
            },
            span,
        ));
    }
    tracker.close();
    tracker.wait().await;
}

/// Reads one request and answers it; the socket back when it was answered (to close gently).
async fn serve(
    mut socket: TcpStream,
    pools: &dyn PoolFeed,
    timeout: Duration,
) -> Option<TcpStream> {
    let request = match tokio::time::timeout(timeout, read_request(&mut socket)).await {
        Ok(Ok(request)) => request,
        Ok(Err(why)) => {
            tracing::warn!("legacy Pool Server: closing the connection: {why}");
            return None;
        }
        Err(_) => {
            tracing::warn!("legacy Pool Server: no complete request within {timeout:?}; closing");
            return None;
        }
    };
    match request {
        Request::GetPools => {
            let pools = pools.current();
            let reply = super::reply::encode(&pools);
            let _ = socket.set_nodelay(true);
            if let Err(e) = socket.write_all(&reply).await {
                tracing::warn!("legacy Pool Server: cannot send the pool list: {e}");
                return None;
            }
            tracing::debug!(
                pools = pools.len(),
                bytes = reply.len(),
                "answered GET POOLS"
            );
        }
    }
    Some(socket)
}

/// Reads until the bytes hold a complete request, or say why there is none.
async fn read_request(socket: &mut TcpStream) -> Result<Request, String> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        match request::parse(&buf) {
            Parse::Complete(request) => return Ok(request),
            Parse::Invalid(why) => return Err(why),
            Parse::Incomplete => {}
        }
        let read = socket.read_buf(&mut buf).await;
        match read {
            Ok(0) if buf.is_empty() => return Err("closed without a request".to_string()),
            Ok(0) => return Err("closed before a complete request".to_string()),
            Ok(_) => {}
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

/// Ends the reply (FIN) and waits, at most `timeout`, for the client to close, reading and
/// dropping anything it still sends: closing with unread bytes would reset the connection and
/// could destroy the reply before the client has read it.
async fn linger(mut socket: TcpStream, timeout: Duration) {
    if socket.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0u8; 1024];
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(timeout, drain).await;
}
