//! Default pool rules, pure: an ordered list of `when CEL -> pool` rules for jobs that name no
//! pool, ending with what a job matching no rule gets ([`Otherwise`]: no pool, a pool, or held).
//! Conditions are the pool ACL's CEL conditions ([`Condition`], same variables: `user_name`,
//! `host_name`, `name`, `services`, `custom_data`, `project`, ...), compiled once and checked
//! when written (errors give line and column). [`choose`] is a function of (job facts, rules):
//! the first rule whose condition holds, or the otherwise. A condition that errors on a job (a
//! missing `custom_data` key) does not match. Pool names are not checked here: a rule naming an
//! unknown pool routes like a job naming an unknown pool (the routing settings decide).

use serde::{Deserialize, Serialize};

use crate::job::policy::cond::{Condition, ConditionError, JobFacts};

/// One stored rule: `when` (CEL) -> `pool`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The CEL condition over the job.
    pub when: String,
    /// The pool a matching job gets.
    pub pool: String,
}

/// What a job that matches no rule gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Otherwise {
    /// No pool: forwarded untouched (today's behaviour).
    #[default]
    None,
    /// This pool.
    Pool(String),
    /// Held (forwarded paused and fenced, as for an unknown pool).
    Hold,
}

/// The stored rule list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRules {
    /// In order; the first that holds wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// For jobs matching no rule.
    #[serde(default)]
    pub otherwise: Otherwise,
}

/// Why a rule list was refused on write (the text numbers rules from 1, as people do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// A rule's condition does not compile (the text says line and column).
    #[error("rule {}: {source}", .index + 1)]
    Condition {
        /// Which rule, from 0.
        index: usize,
        /// Why.
        source: ConditionError,
    },
    /// A rule names an empty pool.
    #[error("rule {}: the pool name is empty", .index + 1)]
    EmptyPool {
        /// Which rule, from 0.
        index: usize,
    },
    /// The otherwise names an empty pool.
    #[error("otherwise: the pool name is empty")]
    EmptyOtherwise,
}

/// What [`choose`] decided for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    /// Rule `number` (its text) matched.
    Rule {
        /// From 1, as `afpool rules list` and `GET /api/v1/rules` number rules.
        number: usize,
        /// The condition as written.
        when: String,
        /// Its pool.
        pool: String,
    },
    /// No rule matched; the otherwise applies.
    Otherwise {
        /// What the job gets.
        otherwise: Otherwise,
    },
}

impl Choice {
    /// The pool the job gets, if any (`None` for no pool and for hold).
    pub fn pool(&self) -> Option<&str> {
        match self {
            Choice::Rule { pool, .. }
            | Choice::Otherwise {
                otherwise: Otherwise::Pool(pool),
            } => Some(pool),
            Choice::Otherwise { .. } => None,
        }
    }

    /// Is the job to be held?
    pub fn is_hold(&self) -> bool {
        matches!(
            self,
            Choice::Otherwise {
                otherwise: Otherwise::Hold
            }
        )
    }

    /// In words, for reasons and explanations: `default rule 1 ('nuke' in services) → comp`,
    /// `no default rule matched → farm` (rules are numbered from 1 for people).
    pub fn words(&self) -> String {
        match self {
            Choice::Rule { number, when, pool } => {
                format!("default rule {number} ({when}) → {pool}")
            }
            Choice::Otherwise {
                otherwise: Otherwise::Pool(pool),
            } => format!("no default rule matched → {pool}"),
            Choice::Otherwise {
                otherwise: Otherwise::None,
            } => "no default rule matched → no pool".into(),
            Choice::Otherwise {
                otherwise: Otherwise::Hold,
            } => "no default rule matched → held".into(),
        }
    }
}

/// A checked rule list, conditions compiled (built once per routing snapshot).
#[derive(Debug, Clone, Default)]
pub struct CompiledRules {
    rules: Vec<(Condition, String)>,
    otherwise: Otherwise,
}

impl DefaultRules {
    /// The trivial list for a legacy `default_pool`: no rules, otherwise that pool (or none).
    pub fn from_default_pool(default_pool: Option<&str>) -> DefaultRules {
        DefaultRules {
            rules: Vec::new(),
            otherwise: default_pool.map_or(Otherwise::None, |p| Otherwise::Pool(p.to_string())),
        }
    }

    /// Check and compile every rule (on write, and when a snapshot is built).
    pub fn compile(&self) -> Result<CompiledRules, RulesError> {
        let mut rules = Vec::with_capacity(self.rules.len());
        for (index, r) in self.rules.iter().enumerate() {
            let cond = Condition::compile(&r.when)
                .map_err(|source| RulesError::Condition { index, source })?;
            if r.pool.trim().is_empty() {
                return Err(RulesError::EmptyPool { index });
            }
            rules.push((cond, r.pool.clone()));
        }
        if matches!(&self.otherwise, Otherwise::Pool(p) if p.trim().is_empty()) {
            return Err(RulesError::EmptyOtherwise);
        }
        Ok(CompiledRules {
            rules,
            otherwise: self.otherwise.clone(),
        })
    }
}

impl CompiledRules {
    /// No rule, otherwise hold (what rules that cannot be read or compiled become).
    pub(crate) fn holding() -> CompiledRules {
        CompiledRules {
            rules: Vec::new(),
            otherwise: Otherwise::Hold,
        }
    }

    /// Are there rules to evaluate (facts need reading)?
    pub fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }
}

/// The first rule whose condition holds for the job, or the otherwise.
pub fn choose(facts: &JobFacts, rules: &CompiledRules) -> Choice {
    let scope = facts.scope();
    let bound = scope.bind();
    for (index, (cond, pool)) in rules.rules.iter().enumerate() {
        if cond.holds_in(&bound) == Ok(true) {
            return Choice::Rule {
                number: index + 1,
                when: cond.source().to_string(),
                pool: pool.clone(),
            };
        }
    }
    Choice::Otherwise {
        otherwise: rules.otherwise.clone(),
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
