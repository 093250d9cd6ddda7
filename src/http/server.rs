//! The HTTP accept loop: one task per connection (HTTP/1.1 and HTTP/2, over TLS when configured),
//! the client address handed to handlers (the loopback rule of [`super::auth`]), a connection cap,
//! accept backoff, TLS handshake and request header timeouts, and a graceful shutdown bounded by
//! [`DRAIN`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long open connections may take to finish after shutdown.
pub const DRAIN: Duration = Duration::from_secs(5);
/// How long a client may take for the TLS handshake.
pub const HANDSHAKE: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers (also closes idle connections).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most HTTP connections served at once; more wait in the accept queue.
pub const MAX_CONNECTIONS: usize = 512;

/// Serves `app` on `listener` until `shutdown`, then drains connections for up to [`DRAIN`].
pub async fn run(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = crate::accept::with_backoff(&listener, "HTTP API") => accepted,
            _ = shutdown.cancelled() => break,
        };
        let (app, tls, shutdown) = (app.clone(), tls.clone(), shutdown.clone());
        tracker.spawn(async move {
            connection(socket, peer, app, tls, shutdown).await;
            drop(permit);
        });
    }
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::debug!("HTTP connections still open after {DRAIN:?}; closing them");
    }
}

async fn connection(
    socket: TcpStream,
    peer: SocketAddr,
    app: Router,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    socket.set_nodelay(true).ok();
    match tls {
        None => serve_io(socket, peer, app, shutdown).await,
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE, acceptor.accept(socket)).await {
            Ok(Ok(stream)) => serve_io(stream, peer, app, shutdown).await,
            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        },
    }
}

/// Serves HTTP on one stream; on shutdown, lets the request in flight finish.
async fn serve_io<S>(stream: S, peer: SocketAddr, app: Router, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let done = tokio::select! {
        done = conn.as_mut() => done,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = done {
        tracing::debug!(%peer, "HTTP connection ended: {e}");
    }
}
