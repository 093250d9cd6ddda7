//! [`Gate`]: the proxy's listening socket, open only while afserver is reachable. af.py (every
//! DCC plugin) reports a failure only when it cannot connect, so while afserver is down the
//! proxy's port refuses connections exactly as afserver's would; it reopens on the same address
//! as soon as afserver answers again. Closing never resets a connection the kernel already
//! accepted: the ones waiting in the listen backlog are taken first and served like any other
//! (afserver may be back by then; if not, a JSON sender gets an error reply that says the
//! request was not delivered), so a client is either served or refused, never reset.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::upstream::Reach;

/// The listening socket and the reachability it follows.
pub struct Gate {
    addr: SocketAddr,
    listener: Option<TcpListener>,
    up: watch::Receiver<bool>,
    /// Connections taken from the backlog when the listener closed, served before waiting.
    backlog: VecDeque<(TcpStream, SocketAddr)>,
}

impl Gate {
    /// Follow `reach` with `listener` (bound already).
    pub fn new(listener: TcpListener, reach: Arc<Reach>) -> Self {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        Gate {
            addr,
            listener: Some(listener),
            up: reach.watch(),
            backlog: VecDeque::new(),
        }
    }

    /// The next connection; `None` on shutdown. Closes and reopens the listener as afserver
    /// goes and comes.
    pub async fn accept(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Option<(TcpStream, SocketAddr)> {
        loop {
            if !*self.up.borrow_and_update() {
                self.close();
            } else if self.listener.is_none() {
                self.reopen(shutdown).await?;
            }
            if let Some(waiting) = self.backlog.pop_front() {
                return Some(waiting);
            }
            let Some(listener) = &self.listener else {
                tokio::select! {
                    r = self.up.changed() => if r.is_err() { return None },
                    _ = shutdown.cancelled() => return None,
                }
                continue;
            };
            tokio::select! {
                accepted = crate::accept::with_backoff(listener, "proxy") => return Some(accepted),
                r = self.up.changed() => if r.is_err() { return None },
                _ = shutdown.cancelled() => return None,
            }
        }
    }

    /// Stop listening; what the kernel accepted already is kept in `backlog`.
    fn close(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let waiting = take_backlog(listener);
        tracing::warn!(
            listen = %self.addr,
            backlog = waiting.len(),
            "afserver is unreachable: not accepting connections until it answers again"
        );
        self.backlog.extend(waiting);
    }

    /// Bind the same address again, retrying while it is taken.
    async fn reopen(&mut self, shutdown: &CancellationToken) -> Option<()> {
        let mut logged = false;
        loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    tracing::info!(listen = %self.addr, "afserver answers again: accepting connections");
                    self.listener = Some(listener);
                    return Some(());
                }
                Err(e) if !logged => {
                    tracing::error!(listen = %self.addr, "cannot listen again, retrying: {e}");
                    logged = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shutdown.cancelled() => return None,
            }
        }
    }
}

/// Every connection waiting in `listener`'s backlog, then the listener closed. Accepting
/// without waiting (the socket is non-blocking) until the queue is empty leaves only a
/// connection that arrives in the same microseconds to be reset.
fn take_backlog(listener: TcpListener) -> Vec<(TcpStream, SocketAddr)> {
    let mut waiting = Vec::new();
    let Ok(listener) = listener.into_std() else {
        return waiting;
    };
    while let Ok((socket, peer)) = listener.accept() {
        let socket = socket
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(socket));
        match socket {
            Ok(socket) => waiting.push((socket, peer)),
            Err(e) => tracing::warn!(%peer, "cannot keep a waiting connection: {e}"),
        }
    }
    waiting
}
