//! The HTTP API (and the web page) that `afpool serve` serves on `--http ADDR`: JSON routes over the
//! same store code as `afpool pool`, the render list and routing of the running proxy, health,
//! metrics and server-sent events. See the README's "Web page and API" section for the routes.
//!
//! One concept per file: [`router`] (routes, body limits, latency), [`error`] (the one
//! [`error::ApiError`]), [`auth`] (who may write), [`pools`], [`selection`], [`spill`], [`rules`] (default pool rules), [`hosts`], [`explain`], [`jobs`], [`audit`],
//! [`health`], [`metrics`], [`events`], [`page`], [`tls`] (rustls) and [`server`] (the accept loop).

pub mod audit;
pub mod auth;
pub mod error;
pub mod events;
pub mod explain;
pub mod health;
pub mod hosts;
pub mod jobs;
pub mod metrics;
pub mod page;
pub mod policy;
pub mod pools;
pub mod router;
pub mod rules;
pub mod selection;
pub mod server;
pub mod spill;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::routing::{RendersCache, Router};
use crate::store::audit::SharedAudit;
use crate::store::live::LivePools;
use crate::store::registry::SharedRegistry;
use crate::store::SharedStore;

/// The default `--http` address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:51180";
/// Largest request body of the pool routes (bytes).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Largest job file `POST /api/v1/explain` reads (bytes).
pub const EXPLAIN_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// How the HTTP server is set up (from `afpool serve` flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpOptions {
    /// Where to listen; `None` disables the server (`--http off`).
    pub addr: Option<String>,
    /// `--api-tokens FILE`.
    pub tokens: Option<PathBuf>,
    /// `--tls-cert FILE` and `--tls-key FILE`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The address is the default, not asked for: if it cannot be bound (another afpool on this
    /// machine), warn and run the proxy without the HTTP server instead of failing.
    pub optional: bool,
}

/// What every handler shares: the running proxy's sources and the API's own settings.
#[derive(Clone)]
pub struct AppState {
    /// The pool store (writes and reads; the same store `afpool pool` uses).
    pub store: SharedStore,
    /// The audit log beside it.
    pub audit: SharedAudit,
    /// The registry of pool jobs beside it.
    pub registry: SharedRegistry,
    /// The proxy's live pools as stored (change notifications, store health).
    pub pools: Arc<LivePools>,
    /// The same pools resolved over the render list: the members routing uses.
    pub resolved: Arc<dyn crate::routing::PoolFeed>,
    /// The proxy's render list.
    pub renders: Arc<RendersCache>,
    /// The proxy's router (explanations).
    pub router: Arc<Router>,
    /// Metrics shared with the proxy.
    pub metrics: Arc<Metrics>,
    /// Who may write.
    pub auth: Arc<auth::Auth>,
    /// Ends event streams on shutdown.
    pub shutdown: CancellationToken,
}

/// A running HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    /// The address it listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// Waits until the server has stopped (after shutdown).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Binds `options.addr` and serves `state` until `state.shutdown`; `None` when disabled. Token
/// file and TLS files are read now, so a mistake stops `afpool serve` before it starts.
pub async fn start(options: &HttpOptions, state: AppState) -> anyhow::Result<Option<HttpServer>> {
    let Some(addr) = &options.addr else {
        return Ok(None);
    };
    let acceptor = match &options.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) if options.optional => {
            tracing::warn!("HTTP API and web page off: cannot listen on {addr}: {e} (set --http)");
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot listen for HTTP on {addr}")),
    };
    let addr = listener.local_addr()?;
    if acceptor.is_none() && options.tokens.is_some() && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "API tokens will cross the network in clear text: add --tls-cert/--tls-key");
    }
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let shutdown = state.shutdown.clone();
    let app = router::app(state);
    let task = tokio::spawn(server::run(listener, app, acceptor, shutdown));
    Ok(Some(HttpServer { addr, scheme, task }))
}

/// Reads `--api-tokens` (loopback-only writes without it).
pub fn load_auth(options: &HttpOptions) -> anyhow::Result<auth::Auth> {
    match &options.tokens {
        Some(path) => auth::Auth::from_file(path),
        None => Ok(auth::Auth::LoopbackOnly),
    }
}
