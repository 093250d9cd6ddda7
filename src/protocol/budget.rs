//! The in-flight byte budget: one pool of bytes shared by every message afpool holds at once.
//! Small messages (most requests and replies) pass free; a message that grows past
//! [`Budget::free_below`] takes its whole buffer from the pool as its bytes arrive, and gives it
//! back when the connection is done. When the pool is empty, the reader stops and the caller
//! answers an error instead of allocating.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Most bytes taken from the pool in one step (`Semaphore` counts permits in `u32`).
const STEP_MAX: usize = 1 << 30;

/// A shared pool of bytes.
#[derive(Debug, Clone)]
pub struct Budget {
    pool: Arc<Semaphore>,
    total: usize,
    free_below: usize,
}

impl Budget {
    /// A pool of `total` bytes; buffers up to `free_below` bytes need none of it.
    pub fn new(total: usize, free_below: usize) -> Self {
        let total = total.min(Semaphore::MAX_PERMITS);
        Budget {
            pool: Arc::new(Semaphore::new(total)),
            total,
            free_below,
        }
    }

    /// Bytes of the pool not taken right now.
    pub fn available(&self) -> usize {
        self.pool.available_permits()
    }

    /// The pool's size.
    pub fn total(&self) -> usize {
        self.total
    }

    /// An empty lease on this pool.
    pub fn lease(&self) -> Lease {
        Lease {
            budget: Some(self.clone()),
            held: None,
            held_bytes: 0,
        }
    }
}

/// The bytes one connection holds; given back when dropped.
#[derive(Debug, Default)]
pub struct Lease {
    budget: Option<Budget>,
    held: Option<OwnedSemaphorePermit>,
    held_bytes: usize,
}

impl Lease {
    /// A lease on no pool: every size is covered (tools and tests that hold one message).
    pub fn unlimited() -> Self {
        Lease::default()
    }

    /// Make sure buffers of `bytes` in all are covered; `false` when the pool cannot give the
    /// rest now (nothing more is taken then).
    pub fn cover(&mut self, bytes: usize) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        if bytes <= budget.free_below || bytes <= self.held_bytes {
            return true;
        }
        let need = bytes - self.held_bytes;
        if need > STEP_MAX {
            return false;
        }
        let Ok(permit) = budget.pool.clone().try_acquire_many_owned(need as u32) else {
            return false;
        };
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.held_bytes = bytes;
        true
    }

    /// Bytes this lease holds from the pool.
    pub fn held(&self) -> usize {
        self.held_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_are_free_and_large_ones_take_their_whole_size() {
        let budget = Budget::new(10_000, 1_000);
        let mut lease = budget.lease();
        assert!(lease.cover(1_000));
        assert_eq!(budget.available(), 10_000);
        assert!(lease.cover(4_000));
        assert!(lease.cover(3_000), "already covered");
        assert_eq!((lease.held(), budget.available()), (4_000, 6_000));
        drop(lease);
        assert_eq!(budget.available(), 10_000);
    }

    #[test]
    fn an_empty_pool_refuses_and_takes_nothing_more() {
        let budget = Budget::new(10_000, 1_000);
        let mut first = budget.lease();
        assert!(first.cover(8_000));
        let mut second = budget.lease();
        assert!(!second.cover(3_000));
        assert_eq!((second.held(), budget.available()), (0, 2_000));
        assert!(second.cover(2_000));
        drop(first);
        assert!(second.cover(9_000));
    }

    #[test]
    fn an_unlimited_lease_covers_everything() {
        let mut lease = Lease::unlimited();
        assert!(lease.cover(usize::MAX));
        assert_eq!(lease.held(), 0);
    }
}
