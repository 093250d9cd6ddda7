//! [`Reach`]: whether afserver can be reached right now, as every connection attempt and the
//! proxy's health probe find it. The proxy listens only while afserver is reachable, so a
//! submitter sees afserver down exactly as it would without afpool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::watch;

/// Shared reachability of one afserver.
#[derive(Debug)]
pub struct Reach {
    up: watch::Sender<bool>,
    origin: Instant,
    /// Milliseconds since `origin` of the last connection afserver accepted (0: none yet).
    last_ok_ms: AtomicU64,
}

impl Default for Reach {
    fn default() -> Self {
        Reach {
            up: watch::Sender::new(true),
            origin: Instant::now(),
            last_ok_ms: AtomicU64::new(0),
        }
    }
}

impl Reach {
    /// afserver accepted a connection.
    pub fn connected(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.last_ok_ms.store(ms.max(1), Ordering::Relaxed);
        self.up.send_if_modified(|up| !std::mem::replace(up, true));
    }

    /// afserver refused or did not answer a connection: it is down until a connection succeeds.
    pub fn unreachable(&self) {
        self.up.send_if_modified(|up| std::mem::replace(up, false));
    }

    /// Reachable as far as the last attempt knows.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Follows the state.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.up.subscribe()
    }

    /// How long ago afserver last accepted a connection (`None`: never).
    pub fn since_ok(&self) -> Option<std::time::Duration> {
        match self.last_ok_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.origin
                    .elapsed()
                    .saturating_sub(std::time::Duration::from_millis(ms)),
            ),
        }
    }
}

/// Does this connect error mean afserver is not there (rather than afpool being short of
/// resources, such as file descriptors)?
pub fn means_unreachable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | TimedOut
            | HostUnreachable
            | NetworkUnreachable
            | NotFound
            | AddrNotAvailable
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_successes_flip_the_state_once() {
        let reach = Reach::default();
        let mut rx = reach.watch();
        assert!(reach.is_up() && reach.since_ok().is_none());
        reach.unreachable();
        assert!(!reach.is_up());
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        reach.unreachable();
        assert!(!rx.has_changed().unwrap(), "no change, no wake-up");
        reach.connected();
        assert!(reach.is_up() && reach.since_ok().is_some());
    }

    #[test]
    fn only_errors_about_the_peer_mean_unreachable() {
        use std::io::{Error, ErrorKind};
        assert!(means_unreachable(&Error::from(
            ErrorKind::ConnectionRefused
        )));
        assert!(!means_unreachable(&Error::other("too many open files")));
    }
}
