//! Edits of the default pool rules as one unit of work shared by `afpool rules` and the HTTP
//! API: [`apply`] reads the stored list, makes a [`RulesEdit`] (rules are numbered from 1 for
//! people), writes it back checked ([`super::rules`]) and returns the list after it with its
//! audit entry (`rules_changed`, before and after). The read and the write are two store
//! operations: two people editing the rules at the same instant can lose one edit (the audit log
//! shows both).

use serde_json::json;

use super::audit::{AuditEntry, AuditKind};
use super::rules::{DefaultRules, Otherwise, Rule};
use super::{SharedStore, StoreError};

/// One edit of the rule list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesEdit {
    /// Insert a rule at position `at` (from 1; `None`: at the end).
    Add {
        /// The rule.
        rule: Rule,
        /// Its position, from 1.
        at: Option<usize>,
    },
    /// Remove rule number `index` (from 1).
    Remove {
        /// Its position, from 1.
        index: usize,
    },
    /// Set what jobs matching no rule get.
    Otherwise(Otherwise),
    /// Replace the whole list (`None`: remove it, so `default_pool` applies again).
    Replace(Option<DefaultRules>),
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesApplied {
    /// The rules after the edit (`None`: none stored).
    pub rules: Option<DefaultRules>,
    /// One human line ending in `\n`.
    pub summary: String,
    /// The audit entry to append.
    pub entry: AuditEntry,
}

/// Makes `edit` in the store on behalf of `who`.
pub async fn apply(
    store: &SharedStore,
    edit: RulesEdit,
    who: &str,
) -> Result<RulesApplied, StoreError> {
    apply_over(store, edit, who, None).await
}

/// [`apply`] where the routing settings' `default_pool` is known: the first edit of a store with
/// no rules starts from the list that pool stands for (no rules, otherwise that pool), so adding
/// a rule does not silently drop the default pool.
pub async fn apply_over(
    store: &SharedStore,
    edit: RulesEdit,
    who: &str,
    default_pool: Option<&str>,
) -> Result<RulesApplied, StoreError> {
    let before = store.rules().await?;
    let start = before
        .clone()
        .or_else(|| default_pool.map(|p| DefaultRules::from_default_pool(Some(p))));
    let (after, summary) = edited(start, edit)?;
    store.set_rules(after.as_ref()).await?;
    let entry = AuditEntry::now(AuditKind::RulesChanged, who, "", summary.trim_end())
        .change(Some(json!(before)), Some(json!(after)));
    Ok(RulesApplied {
        rules: after,
        summary,
        entry,
    })
}

/// The list after `edit`, and the summary line (pure).
fn edited(
    before: Option<DefaultRules>,
    edit: RulesEdit,
) -> Result<(Option<DefaultRules>, String), StoreError> {
    let mut rules = before.unwrap_or_default();
    let count = rules.rules.len();
    let out_of_range = |n: usize, most: usize| {
        StoreError::InvalidRules(match most {
            0 => format!("there is no rule {n}: no rules are stored"),
            _ => format!("there is no rule {n}: rules are numbered 1 to {most}"),
        })
    };
    let summary = match edit {
        RulesEdit::Add { rule, at } => {
            let at = at.unwrap_or(count + 1);
            if at == 0 || at > count + 1 {
                return Err(out_of_range(at, count + 1));
            }
            let line = format!("added default rule {at}: {} → {}", rule.when, rule.pool);
            rules.rules.insert(at - 1, rule);
            line
        }
        RulesEdit::Remove { index } => {
            if index == 0 || index > count {
                return Err(out_of_range(index, count));
            }
            let rule = rules.rules.remove(index - 1);
            format!(
                "removed default rule {index}: {} → {}",
                rule.when, rule.pool
            )
        }
        RulesEdit::Otherwise(otherwise) => {
            rules.otherwise = otherwise;
            format!(
                "jobs matching no default rule get {}",
                otherwise_words(&rules.otherwise)
            )
        }
        RulesEdit::Replace(None) => {
            return Ok((
                None,
                "default pool rules removed: default_pool applies\n".into(),
            ));
        }
        RulesEdit::Replace(Some(new)) => {
            rules = new;
            "default pool rules replaced".to_string()
        }
    };
    let n = rules.rules.len();
    let summary = format!(
        "{summary}; now {n} rule{}, otherwise {}\n",
        if n == 1 { "" } else { "s" },
        otherwise_words(&rules.otherwise)
    );
    Ok((Some(rules), summary))
}

/// `no pool`, `pool 'farm'`, `held`.
pub fn otherwise_words(o: &Otherwise) -> String {
    match o {
        Otherwise::None => "no pool".into(),
        Otherwise::Pool(p) => format!("pool '{p}'"),
        Otherwise::Hold => "held".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(when: &str, pool: &str) -> Rule {
        Rule {
            when: when.into(),
            pool: pool.into(),
        }
    }

    fn pools(r: &Option<DefaultRules>) -> Vec<String> {
        let r = r.as_ref().unwrap();
        r.rules.iter().map(|r| r.pool.clone()).collect()
    }

    #[test]
    fn edits_number_rules_from_one() {
        let add = |pool: &str, at| RulesEdit::Add {
            rule: rule("true", pool),
            at,
        };
        let (r, line) = edited(None, add("comp", None)).unwrap();
        assert_eq!(
            line,
            "added default rule 1: true → comp; now 1 rule, otherwise no pool\n"
        );
        let (r, _) = edited(r, add("farm", None)).unwrap();
        let (r, _) = edited(r, add("gpu", Some(1))).unwrap();
        assert_eq!(pools(&r), ["gpu", "comp", "farm"]);
        let (r, line) = edited(r, RulesEdit::Remove { index: 2 }).unwrap();
        assert_eq!(pools(&r), ["gpu", "farm"]);
        assert!(
            line.starts_with("removed default rule 2: true → comp;"),
            "{line}"
        );
        let (r, line) = edited(r, RulesEdit::Otherwise(Otherwise::Hold)).unwrap();
        assert_eq!(r.as_ref().unwrap().otherwise, Otherwise::Hold);
        assert!(line.ends_with("now 2 rules, otherwise held\n"), "{line}");
        let (r, _) = edited(r, RulesEdit::Replace(None)).unwrap();
        assert_eq!(r, None);
    }

    #[test]
    fn positions_out_of_range_are_refused() {
        let err = edited(None, RulesEdit::Remove { index: 1 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid default pool rules: there is no rule 1: no rules are stored"
        );
        let one = Some(DefaultRules {
            rules: vec![rule("true", "comp")],
            otherwise: Otherwise::None,
        });
        let add = RulesEdit::Add {
            rule: rule("true", "x"),
            at: Some(3),
        };
        assert!(edited(one.clone(), add).is_err());
        assert!(edited(one, RulesEdit::Remove { index: 0 }).is_err());
    }
}
