//! [`Clock`]: the wall time that member windows are read at, and how to wait for an instant of
//! it. The server's clock is the system's; tests drive time either with tokio's paused clock
//! ([`Clock::starting_at`]: wall time is a chosen start plus tokio's elapsed time, so
//! `tokio::time::advance` moves it) or by hand ([`Clock::manual`] and [`Clock::set`], for tests
//! whose real network I/O cannot run under a paused clock).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;

/// Longest sleep towards an instant of the system clock: a wall clock stepped meanwhile (NTP,
/// a suspended VM) is noticed within it.
const SYSTEM_RECHECK: Duration = Duration::from_secs(60);

/// A source of wall time.
#[derive(Debug, Clone)]
pub struct Clock(Source);

#[derive(Debug, Clone)]
enum Source {
    System,
    Anchored { instant: Instant, wall: Timestamp },
    Manual(Arc<watch::Sender<Timestamp>>),
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// `wall` now, then moving with tokio's clock (paused or not).
    pub fn starting_at(wall: Timestamp) -> Clock {
        Clock(Source::Anchored {
            instant: Instant::now(),
            wall,
        })
    }

    /// `wall` until [`Clock::set`] moves it.
    pub fn manual(wall: Timestamp) -> Clock {
        Clock(Source::Manual(Arc::new(watch::Sender::new(wall))))
    }

    /// Moves a manual clock to `wall` (waking whoever waits for it); other clocks ignore it.
    pub fn set(&self, wall: Timestamp) {
        if let Source::Manual(tx) = &self.0 {
            tx.send_replace(wall);
        }
    }

    /// The wall time now.
    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Source::System => Timestamp::now(),
            Source::Anchored { instant, wall } => {
                let elapsed = jiff::SignedDuration::try_from(instant.elapsed());
                *wall + elapsed.unwrap_or(jiff::SignedDuration::MAX)
            }
            Source::Manual(tx) => *tx.borrow(),
        }
    }

    /// Completes once the wall time has reached `at` (the system clock may complete up to a
    /// minute early, for the caller to look again).
    pub async fn reach(&self, at: Timestamp) {
        match &self.0 {
            Source::System => {
                let left = until(Timestamp::now(), at).min(SYSTEM_RECHECK);
                tokio::time::sleep(left).await;
            }
            Source::Anchored { instant, wall } => {
                tokio::time::sleep_until(*instant + until(*wall, at)).await;
            }
            Source::Manual(tx) => {
                let mut rx = tx.subscribe();
                // The sender lives as long as this clock, so this cannot fail.
                let _ = rx.wait_for(|now| *now >= at).await;
            }
        }
    }
}

/// The time from `from` to `to`, none if `to` is not later.
fn until(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_anchored_clock_moves_with_tokio_time() {
        let start: Timestamp = "2026-12-07T18:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now().to_string(), "2026-12-07T18:01:30Z");
        let at: Timestamp = "2026-12-07T19:00:00Z".parse().unwrap();
        clock.reach(at).await;
        assert!(clock.now() >= at, "{}", clock.now());
    }

    #[tokio::test]
    async fn a_manual_clock_moves_when_set() {
        let start: Timestamp = "2026-12-07T18:00:00Z".parse().unwrap();
        let clock = Clock::manual(start);
        let at: Timestamp = "2026-12-07T19:00:00Z".parse().unwrap();
        let waiter = tokio::spawn({
            let clock = clock.clone();
            async move { clock.reach(at).await }
        });
        clock.set("2026-12-07T18:59:00Z".parse().unwrap());
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        clock.set(at);
        waiter.await.unwrap();
        assert_eq!(clock.now(), at);
        Clock::starting_at(start).set(at); // ignored by other clocks
    }
}
