//! Accepting connections with backoff, shared by every listener afpool runs (the proxy, the HTTP
//! API, the legacy Pool Server): errors such as running out of file descriptors are logged and
//! retried after a pause that doubles up to 1 s, never ending the accept loop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// The next connection on `listener`; `what` names the listener in the warning.
pub async fn with_backoff(listener: &TcpListener, what: &str) -> (TcpStream, SocketAddr) {
    let mut backoff = Duration::from_millis(5);
    loop {
        match listener.accept().await {
            Ok(pair) => return pair,
            Err(e) => {
                tracing::warn!("{what}: accept failed, retrying in {backoff:?}: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
