//! [`SharedStr`]: one copy in memory of a string that many records repeat. A farm's registry
//! holds a [`PoolJob`](crate::store::registry::PoolJob) per live pool job, and its pool name, its
//! owner and the masks afpool wrote are the same for every job of a pool: at 200,000 jobs in 2,000
//! pools, a `String` each was tens of MB of copies. A `SharedStr` is an `Arc<str>` taken from a
//! process-wide set, so equal strings share one allocation whether they were deserialised from the
//! store, read from afserver or built by routing. It reads, compares and serialises like a `str`.
//!
//! The set holds each string once; strings nothing else holds any more are dropped from it
//! whenever it has doubled since the last sweep, so pool edits (new masks) do not make it grow
//! without bound.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string shared with every equal `SharedStr` in the process.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedStr(Arc<str>);

/// The fewest strings the set holds before its first sweep.
const FIRST_SWEEP: usize = 1024;

#[derive(Default)]
struct Set {
    strings: HashSet<Arc<str>>,
    sweep_at: usize,
}

impl Set {
    /// The set's copy of `s`, made if there is none yet.
    fn share(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.strings.get(s) {
            return Arc::clone(found);
        }
        if self.strings.len() >= self.sweep_at.max(FIRST_SWEEP) {
            // Only the set holds a string whose count is 1, and only under the set's lock can
            // anyone take a new copy of it: dropping it here cannot race a clone.
            self.strings.retain(|kept| Arc::strong_count(kept) > 1);
            self.sweep_at = self.strings.len() * 2;
        }
        let made: Arc<str> = Arc::from(s);
        self.strings.insert(Arc::clone(&made));
        made
    }
}

fn set() -> &'static Mutex<Set> {
    static SET: OnceLock<Mutex<Set>> = OnceLock::new();
    SET.get_or_init(Mutex::default)
}

impl SharedStr {
    /// The shared copy of `s`, made if there is none yet.
    pub fn new(s: &str) -> Self {
        let mut set = set()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        SharedStr(set.share(s))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `a` and `b` are one allocation.
    pub fn same(a: &SharedStr, b: &SharedStr) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr::new("")
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        SharedStr::new(s)
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        SharedStr::new(s)
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        SharedStr::new(&s)
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        **self == *other.0
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SharedStr, E> {
                Ok(SharedStr::new(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_allocation_from_every_source() {
        let made = SharedStr::new("shared_str test: gpu");
        let owned = SharedStr::from(String::from("shared_str test: gpu"));
        let read: SharedStr = serde_json::from_str("\"shared_str test: gpu\"").unwrap();
        let escaped: SharedStr = serde_json::from_str("\"shared_str test: g\\u0070u\"").unwrap();
        for other in [&owned, &read, &escaped] {
            assert!(SharedStr::same(&made, other));
        }
        assert!(!SharedStr::same(
            &made,
            &SharedStr::new("shared_str test: cpu")
        ));
    }

    #[test]
    fn it_reads_compares_and_serialises_like_a_str() {
        let s = SharedStr::new("n04af.farm");
        assert_eq!(s, "n04af.farm");
        assert_eq!("n04af.farm", s);
        assert_eq!(s, String::from("n04af.farm"));
        assert_eq!(s.len(), 10);
        assert_eq!(format!("{s} {s:?}"), "n04af.farm \"n04af.farm\"");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"n04af.farm\"");
        assert_eq!(
            bson::to_bson(&s).unwrap(),
            bson::Bson::String("n04af.farm".into())
        );
        assert!(serde_json::from_str::<SharedStr>("7").is_err());
    }

    #[test]
    fn strings_nothing_holds_are_swept_once_the_set_doubles() {
        let mut set = Set::default();
        let kept = set.share("kept");
        for i in 0..4 * FIRST_SWEEP {
            drop(set.share(&format!("dropped {i}")));
        }
        assert!(
            set.strings.len() <= FIRST_SWEEP,
            "{} held",
            set.strings.len()
        );
        assert!(Arc::ptr_eq(&kept, &set.share("kept")));
        let held: Vec<Arc<str>> = (0..2 * FIRST_SWEEP)
            .map(|i| set.share(&format!("held {i}")))
            .collect();
        assert!(
            held.iter().all(|h| set.strings.contains(h)),
            "a string still held is kept"
        );
    }
}
