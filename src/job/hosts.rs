//! Host lists for explanations: [`HostState`] (a render and whether it is online) and [`HostList`],
//! the known renders minus a pool's members, listed on demand instead of copied per pool or job.

use std::collections::HashSet;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeSeq, Serializer};

/// A render host as the explanation shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostState {
    /// Name as afserver spells it.
    pub name: String,
    /// Online in afserver's render list.
    pub online: bool,
}

/// Known renders, optionally leaving out a set of names, plus a few extra ones. Listed on demand,
/// so a pool's outsiders (most of the farm) are never copied per pool or per job.
#[derive(Debug, Clone, Default)]
pub struct HostList {
    all: Arc<Vec<HostState>>,
    /// Lowercase names left out of `all`.
    except: Option<Arc<HashSet<String>>>,
    /// Listed after the rest of `all`.
    extra: Arc<Vec<HostState>>,
}

impl HostList {
    /// Every host of the list, in order.
    pub fn iter(&self) -> impl Iterator<Item = &HostState> {
        let except = self.except.as_deref();
        self.all
            .iter()
            .filter(move |h| except.is_none_or(|e| !e.contains(&h.name.to_lowercase())))
            .chain(self.extra.iter())
    }
    /// The list as a vector.
    pub fn to_vec(&self) -> Vec<HostState> {
        self.iter().cloned().collect()
    }
    /// How many hosts are listed.
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    /// True when nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
    /// `all` without the hosts whose lowercase names are in `except`.
    pub(crate) fn except(all: Arc<Vec<HostState>>, except: Arc<HashSet<String>>) -> HostList {
        HostList {
            all,
            except: Some(except),
            extra: Arc::default(),
        }
    }
    /// The same list with `extra` hosts appended.
    pub(crate) fn with_extra(&self, extra: Vec<HostState>) -> HostList {
        HostList {
            extra: Arc::new(extra),
            ..self.clone()
        }
    }
}

impl Serialize for HostList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for h in self.iter() {
            seq.serialize_element(h)?;
        }
        seq.end()
    }
}
