//! [`Selection`]: how a pool chooses members beyond its typed hosts: a `select` rule (CEL over
//! what afserver says a render is, see [`crate::select`]) and an `except` list of hosts that are
//! never members. A pool without either is a typed list, exactly as the older tool stores it;
//! both are stored beside `name` and `clients` (`"select": "...", "except": [...]`), which the
//! older tool ignores.

use serde::{Deserialize, Serialize};

use super::{names, StoreError};
use crate::select::rule::Rule;

/// A pool's selection settings; all empty for a typed list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The rule that selects renders, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    /// Hosts that are never members, whatever the rule or the typed list says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

impl Selection {
    /// True when the pool is a typed list only.
    pub fn is_empty(&self) -> bool {
        self.select.is_none() && self.except.is_empty()
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
        })
    }

    /// True when `host` is excepted (compared case-insensitively).
    pub fn excepts(&self, host: &str) -> bool {
        self.except.iter().any(|h| names::same_host(h, host))
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
}
