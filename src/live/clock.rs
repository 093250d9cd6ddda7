//! The live pools' clock: the system's, moved forward by tests ([`Clock::advance`]) so that
//! time-driven behaviour (`spill_after`) is tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Wall-clock time (UTC) plus an offset tests may add to; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, as this clock says.
    pub fn now(&self) -> bson::DateTime {
        let now = bson::DateTime::now().timestamp_millis();
        bson::DateTime::from_millis(now + self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and its clones) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_move_together() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = other.now().timestamp_millis();
        clock.advance(Duration::from_secs(3600));
        let after = other.now().timestamp_millis();
        assert!(after - before >= 3_600_000, "{}", after - before);
    }
}
