//! What a job that names no pool gets: the first stored default pool rule that holds for it
//! ([`super::rules`]), else the rules' otherwise (no pool, a pool, or held); with no rules stored,
//! the routing settings' `default_pool` (the trivial rule list `[] -> default_pool`). The pool
//! chosen is then routed as if the job had named it (expression, policy, masks).

use std::net::IpAddr;

use super::envelope::Job;
use super::inventory::Inventory;
use super::policy::cond::JobFacts;
use super::poolref::{PoolChoice, PoolSource};
use super::rules::{self, Choice};
use super::settings::RouteSettings;

/// The pool for a job that named none (`None`: no pool, or held when `rule` says so), and the
/// rule decision when stored rules were evaluated.
pub(crate) struct Unnamed {
    /// The pool chosen, as a reference from [`PoolSource::DefaultRule`] or [`PoolSource::Default`].
    pub choice: Option<PoolChoice>,
    /// What the stored rules decided (`None`: no rules stored).
    pub rule: Option<Choice>,
}

impl Unnamed {
    /// Is the job to be held (the rules' otherwise says hold)?
    pub fn is_hold(&self) -> bool {
        self.rule.as_ref().is_some_and(Choice::is_hold)
    }
}

/// Chooses for `job`, sent from `peer` (which a rule's `address` reads).
pub(crate) fn choose(
    job: &Job<'_>,
    settings: &RouteSettings,
    inv: &Inventory,
    peer: Option<IpAddr>,
) -> Unnamed {
    let Some(compiled) = inv.rules() else {
        let default = settings.default_pool.as_ref().filter(|n| !n.is_empty());
        let choice = default.map(|name| PoolChoice {
            name: name.clone(),
            source: PoolSource::Default,
        });
        return Unnamed { choice, rule: None };
    };
    let facts = match compiled.has_rules() {
        true => JobFacts::of(job, peer),
        false => JobFacts::default(),
    };
    let decided = rules::choose(&facts, compiled);
    let source = match decided {
        Choice::Rule { .. } => PoolSource::DefaultRule,
        Choice::Otherwise { .. } => PoolSource::Default,
    };
    let choice = decided.pool().map(|name| PoolChoice {
        name: name.to_string(),
        source,
    });
    Unnamed {
        choice,
        rule: Some(decided),
    }
}
