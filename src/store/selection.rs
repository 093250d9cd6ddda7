//! [`Selection`]: how a pool chooses members beyond its typed hosts: a `select` rule (CEL over
//! what afserver says a render is, see [`crate::select`]) and an `except` list of hosts that are
//! never members. A pool without either is a typed list, exactly as the older tool stores it;
//! both are stored beside `name` and `clients` (`"select": "...", "except": [...]`), which the
//! older tool ignores.
//!
//! Scheduled members: `during` maps a member (a host, or `*` for every render the rule selects)
//! to its windows ([`crate::select::window`]), `time_zone` names the IANA zone they are read in
//! (none: the server's). In the API and `--json` output `during` is a map (`{"ws-01": ["Mon-Fri
//! 19:00-07:00"], "*": ["Sat,Sun"]}`); the stores keep it, only when set, as a list shaped like
//! `clients` (`"during": [{"hostname": "ws-01", "windows": ["Mon-Fri 19:00-07:00"]}],
//! "time_zone": "Europe/Berlin"`), since host names hold dots and older MongoDB servers refuse
//! dotted field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{names, StoreError};
use crate::select::rule::Rule;
use crate::select::window::{self, Schedule};

/// A pool's selection settings; all empty for a typed list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The rule that selects renders, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    /// Hosts that are never members, whatever the rule or the typed list says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Windows per member: a host name, or [`ALL_SELECTED`] for the renders the rule selects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub during: BTreeMap<String, Vec<String>>,
    /// The IANA time zone the windows are read in; `None`: the server's local zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// The `during` key of the renders a pool's rule selects, as a whole.
pub const ALL_SELECTED: &str = "*";

impl Selection {
    /// True when the pool is a typed list only.
    pub fn is_empty(&self) -> bool {
        self.select.is_none()
            && self.except.is_empty()
            && self.during.is_empty()
            && self.time_zone.is_none()
    }

    /// The settings as they will be stored: the rule compiled and checked (a blank rule means
    /// none), the `except` hosts validated and de-duplicated.
    pub fn validated(&self) -> Result<Selection, StoreError> {
        let select = match self.select.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(rule) => {
                Rule::compile(rule).map_err(|e| StoreError::InvalidRule(e.to_string()))?;
                Some(rule.to_string())
            }
        };
        Ok(Selection {
            select,
            except: names::validate_hosts(&self.except)?,
            during: validated_windows(&self.during)?,
            time_zone: validated_zone(self.time_zone.as_deref())?,
        })
    }

    /// The windows of `host` (as stored), if it has any: its own key, else `*` when the rule
    /// selected it (`selected`). `None`: always a member.
    pub fn windows_for(&self, host: &str, selected: bool) -> Option<&[String]> {
        let own = self
            .during
            .iter()
            .find(|(key, _)| *key != ALL_SELECTED && names::same_host(key, host));
        match own {
            Some((_, windows)) => Some(windows),
            None if selected => self.during.get(ALL_SELECTED).map(Vec::as_slice),
            None => None,
        }
    }

    /// True when `host` is excepted (compared case-insensitively).
    pub fn excepts(&self, host: &str) -> bool {
        self.except.iter().any(|h| names::same_host(h, host))
    }
}

/// One member's windows as the stores keep them (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWindows {
    /// The host, or [`ALL_SELECTED`].
    pub hostname: String,
    /// Its windows, one per string.
    pub windows: Vec<String>,
}

/// `during` in the stores' list shape.
pub fn during_to_stored(during: &BTreeMap<String, Vec<String>>) -> Vec<StoredWindows> {
    let stored = |(hostname, windows): (&String, &Vec<String>)| StoredWindows {
        hostname: hostname.clone(),
        windows: windows.clone(),
    };
    during.iter().map(stored).collect()
}

/// `during` from the stores' list shape (a host listed twice gets the windows of both).
pub fn during_from_stored(stored: &[StoredWindows]) -> BTreeMap<String, Vec<String>> {
    let mut during: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in stored {
        during
            .entry(s.hostname.clone())
            .or_default()
            .extend(s.windows.iter().cloned());
    }
    during
}

/// Windows as stored: keys are `*` or valid host names (two spellings of one host merge),
/// each spec read and written in its canonical form, one window per string; members without
/// windows are dropped.
fn validated_windows(
    during: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, specs) in during {
        let key = key.trim();
        let key = match key {
            ALL_SELECTED => key.to_string(),
            host => names::validate_hosts(&[host.to_string()])?.remove(0),
        };
        let schedule = Schedule::parse(specs)
            .map_err(|e| StoreError::InvalidSchedule(format!("{key}: {e}")))?;
        let key = out
            .keys()
            .find(|k| names::same_host(k, &key))
            .cloned()
            .unwrap_or(key);
        let windows = out.entry(key).or_default();
        for w in schedule.canonical() {
            if !windows.contains(&w) {
                windows.push(w);
            }
        }
    }
    out.retain(|_, windows| !windows.is_empty());
    Ok(out)
}

/// A zone jiff knows, trimmed; blank means none.
fn validated_zone(zone: Option<&str>) -> Result<Option<String>, StoreError> {
    match zone.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) => {
            window::zone(name).map_err(|e| StoreError::InvalidSchedule(e.to_string()))?;
            Ok(Some(name.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_checks_the_rule_and_the_hosts() {
        let typed = Selection::default();
        assert!(typed.is_empty() && typed.validated().unwrap().is_empty());
        let blank = Selection {
            select: Some("  ".into()),
            ..Selection::default()
        };
        assert_eq!(blank.validated().unwrap(), Selection::default());
        let good = Selection {
            select: Some(" cpu_num >= 16 ".into()),
            except: vec!["old1".into(), "OLD1".into()],
            ..Selection::default()
        };
        let stored = good.validated().unwrap();
        assert_eq!(stored.select.as_deref(), Some("cpu_num >= 16"));
        assert_eq!(stored.except, ["old1"]);
        assert!(stored.excepts("Old1") && !stored.excepts("old2"));
        let bad = Selection {
            select: Some("ram > 4".into()),
            ..Selection::default()
        };
        let Err(StoreError::InvalidRule(why)) = bad.validated() else {
            panic!("accepted");
        };
        assert!(why.contains("\"ram\"") && why.contains("column 1"), "{why}");
        let bad_host = Selection {
            except: vec!["a b".into()],
            ..Selection::default()
        };
        assert!(matches!(
            bad_host.validated(),
            Err(StoreError::InvalidHost(..))
        ));
    }

    fn during(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        let specs = |s: &[&str]| s.iter().map(|w| w.to_string()).collect();
        pairs
            .iter()
            .map(|(k, s)| (k.to_string(), specs(s)))
            .collect()
    }

    #[test]
    fn windows_and_zone_are_validated_and_canonical() {
        let given = Selection {
            during: during(&[
                ("ws-01", &["mon-fri 19:00-07:00, sat,sun"]),
                ("WS-01", &["Mon-Fri 19:00-07:00"]),
                (" * ", &["Sat,Sun"]),
                ("ws-02", &[]),
            ]),
            time_zone: Some(" Europe/Berlin ".into()),
            ..Selection::default()
        };
        let stored = given.validated().unwrap();
        let want = during(&[
            ("*", &["Sat,Sun"]),
            ("WS-01", &["Mon-Fri 19:00-07:00", "Sat,Sun"]),
        ]);
        assert_eq!(
            stored.during, want,
            "two spellings merge, the first (in key order) kept"
        );
        assert_eq!(stored.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(stored.windows_for("WS-01", true).unwrap().len(), 2);
        assert_eq!(stored.windows_for("r1", true).unwrap(), ["Sat,Sun"]);
        assert_eq!(
            stored.windows_for("r1", false),
            None,
            "a static host is always one"
        );
        let cases: &[(Selection, &str)] = &[
            (
                Selection {
                    during: during(&[("ws-01", &["Mon-Fry 19:00-07:00"])]),
                    ..Selection::default()
                },
                "ws-01: window 'Mon-Fry 19:00-07:00': 'Fry' is not a day",
            ),
            (
                Selection {
                    time_zone: Some("Mars/Olympus".into()),
                    ..Selection::default()
                },
                "Mars/Olympus",
            ),
        ];
        for (bad, want) in cases {
            let Err(StoreError::InvalidSchedule(why)) = bad.validated() else {
                panic!("accepted {bad:?}");
            };
            assert!(why.contains(want), "{why}");
        }
        let bad_key = Selection {
            during: during(&[("a b", &["Sat"])]),
            ..Selection::default()
        };
        assert!(matches!(
            bad_key.validated(),
            Err(StoreError::InvalidHost(..))
        ));
    }
}
