//! [`Spill`]: where a pool's jobs may spill over when the pool is short: an ordered `fallback`
//! list of pool names and two triggers, `spill_below` (at submission: fewer than K members
//! online and not NIMBY) and `spill_after` (live: a job with ready tasks that has started none
//! for that long). Stored beside `name` and `clients` only when set, so the older tool keeps
//! reading the document.
//!
//! Validated when written: fallback names are pool names (the pool itself refused, no name
//! twice); a fallback that is no pool yet is accepted (a `cloud` pool may come later) and skipped
//! while it does not exist. Only the pool's own list is followed, never a fallback's fallbacks,
//! so no chain of pools can loop. A trigger needs a fallback; a fallback needs a trigger.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{names, StoreError};

/// A pool's spill-over settings; all empty when it never spills.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spill {
    /// Pools a job may spill into, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// Spill at submission when fewer than this many members are online and not NIMBY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill_below: Option<u32>,
    /// Spill a live job that started no task for this long (as written: `30m`, `2h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill_after: Option<String>,
}

impl Spill {
    /// True when the pool never spills.
    pub fn is_empty(&self) -> bool {
        self.fallback.is_empty() && self.spill_below.is_none() && self.spill_after.is_none()
    }

    /// `spill_after` as a duration (`None` when unset or unreadable: a hand-edited document).
    pub fn after(&self) -> Option<Duration> {
        let text = self.spill_after.as_deref()?;
        super::audit::parse_duration(text).ok()
    }

    /// One line for `pool show` (`None` when the pool never spills).
    pub fn describe(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut triggers = Vec::new();
        if let Some(k) = self.spill_below {
            triggers.push(format!(
                "fewer than {k} members online and not NIMBY at submission"
            ));
        }
        if let Some(after) = &self.spill_after {
            triggers.push(format!("a job started no task for {after}"));
        }
        Some(format!(
            "spills into {} when {}",
            self.fallback.join(", then "),
            triggers.join(", or ")
        ))
    }

    /// The settings of pool `pool` as they will be stored, or why not.
    pub fn validated(&self, pool: &str) -> Result<Spill, StoreError> {
        let bad = |why: String| Err(StoreError::InvalidSpill(why));
        if self.is_empty() {
            return Ok(Spill::default());
        }
        let mut fallback: Vec<String> = Vec::new();
        for name in &self.fallback {
            let name = names::validate_pool_name(name.trim())?;
            if name == pool {
                return bad(format!("pool '{pool}' cannot be its own fallback"));
            }
            if fallback.iter().any(|f| f == name) {
                return bad(format!("fallback '{name}' is named twice"));
            }
            fallback.push(name.to_string());
        }
        if self.spill_below == Some(0) {
            return bad(
                "spill_below must be at least 1 (fewer than 0 members never happens)".into(),
            );
        }
        let after = match self.spill_after.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match super::audit::parse_duration(text) {
                Ok(d) if d.is_zero() => return bad("spill_after must be longer than 0".into()),
                Ok(_) => Some(text.to_string()),
                Err(e) => return bad(format!("spill_after: {e}")),
            },
        };
        let triggered = self.spill_below.is_some() || after.is_some();
        match (fallback.is_empty(), triggered) {
            (true, true) => bad("a spill trigger needs a fallback pool (--fallback)".into()),
            (false, false) => {
                bad("a fallback needs a trigger (--spill-below or --spill-after)".into())
            }
            _ => Ok(Spill {
                fallback,
                spill_below: self.spill_below,
                spill_after: after,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn spill(fallback: &[&str], below: Option<u32>, after: Option<&str>) -> Spill {
        Spill {
            fallback: fallback.iter().map(|s| s.to_string()).collect(),
            spill_below: below,
            spill_after: after.map(str::to_string),
        }
    }

    #[rstest]
    #[case(spill(&[], None, None), Ok(spill(&[], None, None)))]
    #[case(spill(&["cpu", " cloud "], Some(2), Some(" 30m ")), Ok(spill(&["cpu", "cloud"], Some(2), Some("30m"))))]
    #[case(spill(&["not-yet-a-pool"], None, Some("2h")), Ok(spill(&["not-yet-a-pool"], None, Some("2h"))))]
    #[case(spill(&["gpu"], Some(1), None), Err("own fallback"))]
    #[case(spill(&["cpu", "cpu"], Some(1), None), Err("named twice"))]
    #[case(spill(&["cpu"], Some(0), None), Err("at least 1"))]
    #[case(spill(&["cpu"], None, Some("soon")), Err("spill_after"))]
    #[case(spill(&["cpu"], None, Some("0m")), Err("longer than 0"))]
    #[case(spill(&[], Some(2), None), Err("needs a fallback"))]
    #[case(spill(&["cpu"], None, None), Err("needs a trigger"))]
    #[case(spill(&["a|b"], Some(1), None), Err("invalid pool name"))]
    fn spill_settings_are_checked_when_written(
        #[case] given: Spill,
        #[case] want: Result<Spill, &str>,
    ) {
        match (given.validated("gpu"), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(words)) => assert!(e.to_string().contains(words), "{e}"),
            (got, want) => panic!("{got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn spill_after_reads_as_a_duration() {
        let s = spill(&["cpu"], None, Some("30m"));
        assert_eq!(s.after(), Some(Duration::from_secs(1800)));
        assert_eq!(spill(&["cpu"], None, Some("x")).after(), None);
    }

    #[test]
    fn show_says_where_and_when() {
        let mut s = spill(&["cpu"], Some(2), None);
        s.fallback.push("cloud".into());
        s.spill_after = Some("30m".into());
        let line = s.describe().unwrap();
        assert_eq!(
            line,
            "spills into cpu, then cloud when fewer than 2 members online and not NIMBY at \
             submission, or a job started no task for 30m"
        );
        assert_eq!(Spill::default().describe(), None);
    }
}
