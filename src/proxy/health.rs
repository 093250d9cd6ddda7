//! The health probe: while no connection to afserver was made for a `health_interval`, ask it
//! for nothing ([`crate::upstream::PROBE_BODY`]) every interval, and once more at once when a
//! connection failed, so [`crate::upstream::Reach`] (and the listener following it) is never
//! more than about an interval out of date.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Shared;

/// Start probing until `shutdown`.
pub fn spawn(shared: &Shared, shutdown: CancellationToken) -> JoinHandle<()> {
    let upstream = shared.upstream.clone();
    let interval = shared.limits.health_interval;
    tokio::spawn(async move {
        let mut up = upstream.reach.watch();
        loop {
            let recent = upstream.reach.since_ok().is_some_and(|t| t < interval);
            if !recent || !upstream.reach.is_up() {
                if let Err(e) = upstream.probe().await {
                    tracing::debug!("health probe: {e}");
                }
            }
            up.borrow_and_update();
            tokio::select! {
                _ = tokio::time::sleep(interval.max(Duration::from_millis(10))) => {}
                _ = up.changed() => {}
                _ = shutdown.cancelled() => return,
            }
        }
    })
}
