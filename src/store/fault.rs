//! What [`super::live::LivePools`] does with each read of its store (pure): publish the pools
//! read, or keep the last good ones through a fault, and which reads are worth a log line.
//!
//! Faults: the store cannot be read (MongoDB down, a file unreadable or not valid JSON, e.g. half
//! written by an editor), or the file store's file is missing or blank after it held pools (an
//! editor truncating it, someone deleting it). A missing or blank file before any pools were
//! read means "no pools yet", as for `afpool pool list`. Each fault is reported once when it
//! starts or changes kind, not on every poll; the first good read afterwards ends it.

use super::{Pool, Snapshot, StoreError};

/// Why the last pools are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The store could not be read.
    Unreadable(StoreError),
    /// The store holds no data after it held pools: `"missing"` or `"empty"`.
    Absent(&'static str),
}

impl Fault {
    /// True when `other` is the same fault for logging: same kind, and for an absent file the
    /// same reason (error texts vary while an editor writes, so they are not compared).
    fn same_kind(&self, other: &Fault) -> bool {
        match (self, other) {
            (Fault::Unreadable(_), Fault::Unreadable(_)) => true,
            (Fault::Absent(a), Fault::Absent(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Unreadable(e) => write!(f, "{e}"),
            Fault::Absent(why) => f.write_str(why),
        }
    }
}

/// What to do after one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Publish these pools; `ended` is the fault this read ended, if any.
    Publish {
        /// The pools read.
        pools: Vec<Pool>,
        /// The fault that was going on until this read.
        ended: Option<Fault>,
    },
    /// Keep the last pools.
    Keep {
        /// What is wrong.
        fault: Fault,
        /// True when this fault starts here (or changed kind): log it loudly, once.
        new: bool,
    },
}

/// The state carried from one read to the next.
#[derive(Debug, Default)]
pub struct Tracker {
    fault: Option<Fault>,
    loaded: bool,
}

impl Tracker {
    /// No read yet.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// True unless a fault is going on.
    pub fn is_healthy(&self) -> bool {
        self.fault.is_none()
    }

    /// Decides what one read means.
    pub fn observe(&mut self, read: Result<Snapshot, StoreError>) -> Verdict {
        let fault = match read {
            Ok(Snapshot::Pools(pools)) => {
                self.loaded = true;
                return self.publish(pools);
            }
            Ok(Snapshot::Absent(_)) if !self.loaded => return self.publish(Vec::new()),
            Ok(Snapshot::Absent(why)) => Fault::Absent(why),
            Err(e) => Fault::Unreadable(e),
        };
        let new = !self.fault.as_ref().is_some_and(|f| f.same_kind(&fault));
        self.fault = Some(fault.clone());
        Verdict::Keep { fault, new }
    }

    fn publish(&mut self, pools: Vec<Pool>) -> Verdict {
        Verdict::Publish {
            pools,
            ended: self.fault.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// A read in a test table.
    #[derive(Clone, Copy, Debug)]
    enum R {
        Good,
        NoPools,
        Missing,
        Empty,
        Broken(&'static str),
    }

    fn read(r: R) -> Result<Snapshot, StoreError> {
        match r {
            R::Good => Ok(Snapshot::Pools(vec![Pool::new("p", ["h"])])),
            R::NoPools => Ok(Snapshot::Pools(Vec::new())),
            R::Missing => Ok(Snapshot::Absent("missing")),
            R::Empty => Ok(Snapshot::Absent("empty")),
            R::Broken(e) => Err(StoreError::Unavailable(e.into())),
        }
    }

    /// What a verdict amounts to in a table: `P` publish, `P!` publish ending a fault, `K` keep
    /// quietly, `K!` keep and warn.
    fn code(v: &Verdict) -> &'static str {
        match v {
            Verdict::Publish { ended: None, .. } => "P",
            Verdict::Publish { ended: Some(_), .. } => "P!",
            Verdict::Keep { new: false, .. } => "K",
            Verdict::Keep { new: true, .. } => "K!",
        }
    }

    #[rstest]
    #[case::missing_at_start_is_no_pools(&[R::Missing, R::Missing, R::Good], "P P P")]
    #[case::empty_at_start_is_no_pools(&[R::Empty, R::Good], "P P")]
    #[case::broken_at_start(&[R::Broken("a"), R::Broken("b"), R::Good], "K! K P!")]
    #[case::truncated_then_rewritten(&[R::Good, R::Empty, R::Empty, R::Empty, R::Good], "P K! K K P!")]
    #[case::half_written(&[R::Good, R::Broken("line 1"), R::Broken("line 9"), R::Good], "P K! K P!")]
    #[case::deleted(&[R::Good, R::Missing, R::Missing, R::Good], "P K! K P!")]
    #[case::each_new_kind_once(
        &[R::Good, R::Empty, R::Broken("x"), R::Broken("y"), R::Missing, R::Empty, R::Good],
        "P K! K! K K! K! P!"
    )]
    #[case::no_pools_stored_is_good(&[R::Good, R::NoPools, R::Missing], "P P K!")]
    #[case::absent_after_a_fault_at_start(&[R::Broken("x"), R::Missing, R::Good], "K! P! P")]
    fn one_warning_per_fault(#[case] reads: &[R], #[case] expected: &str) {
        let mut tracker = Tracker::new();
        let codes: Vec<&str> = reads
            .iter()
            .map(|&r| code(&tracker.observe(read(r))))
            .collect();
        assert_eq!(codes.join(" "), expected);
    }

    #[test]
    fn keeps_reporting_what_is_wrong() {
        let mut tracker = Tracker::new();
        tracker.observe(read(R::Good));
        let verdict = tracker.observe(read(R::Empty));
        assert_eq!(
            verdict,
            Verdict::Keep {
                fault: Fault::Absent("empty"),
                new: true
            }
        );
        assert!(!tracker.is_healthy());
        let Verdict::Publish { pools, ended } = tracker.observe(read(R::Good)) else {
            panic!("a good read publishes");
        };
        assert_eq!((pools.len(), ended), (1, Some(Fault::Absent("empty"))));
        assert!(tracker.is_healthy());
    }
}
