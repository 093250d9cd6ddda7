//! Pool policy, pure: what a pool declares about the jobs it takes ([`PoolPolicy`], stored in the
//! pool document), compiled once per routing snapshot ([`Compiled`]), and [`evaluate`]: one
//! function of (job, pool name, policy, client address) that checks who may submit (ACL and
//! allowed services) and then writes each default and clamp into the job and its blocks, the
//! way afserver reads them, returning every [`Decision`] for explain, the annotation, the audit
//! log and metrics. It never touches masks.
//!
//! Files: `data` (the stored shape and its validation), `cidr` (source networks), `cond` (CEL
//! conditions over a job), `acl` (allow / deny / services), `limits` (defaults and clamps).

mod acl;
pub mod cidr;
pub mod cond;
mod data;
mod limits;

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::envelope::{Block, Fields, Job};
pub use acl::Compiled;
pub use data::{Acl, Limit, LimitKey, OnRefused, PolicyError, PoolPolicy};

/// One thing a pool's policy decided about a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// A rule let the job in (`allow users (anna, ben)`, `deny networks (...)` not matching).
    Allowed {
        /// The pool whose rule it is.
        pool: String,
        /// The rule, and what of the job it saw.
        rule: String,
    },
    /// A rule refused the job.
    Refused {
        /// The pool whose rule it is.
        pool: String,
        /// The rule.
        rule: String,
        /// What of the job it saw.
        reason: String,
    },
    /// A default was written because the job did not set the key (as afserver reads it).
    Default {
        /// The pool whose default it is.
        pool: String,
        /// The key.
        key: String,
        /// The block's index, for a block-level key.
        block: Option<usize>,
        /// The value written.
        value: String,
    },
    /// A value over the pool's maximum (or no limit) was lowered to it.
    Clamped {
        /// The pool whose maximum it is.
        pool: String,
        /// The key.
        key: String,
        /// The block's index, for a block-level key.
        block: Option<usize>,
        /// The value as submitted (`unlimited`, or afserver's value when absent).
        from: String,
        /// The value written.
        to: String,
    },
}

impl Decision {
    /// A clamp's key (for `afpool_clamped_total`).
    pub fn clamped_key(&self) -> Option<(&str, &str)> {
        match self {
            Decision::Clamped { pool, key, .. } => Some((pool, key)),
            _ => None,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |block: &Option<usize>| block.map(|b| format!("block {b} ")).unwrap_or_default();
        match self {
            Decision::Allowed { pool, rule } => write!(f, "pool '{pool}' allows: {rule}"),
            Decision::Refused { pool, rule, reason } => {
                write!(f, "pool '{pool}' policy refuses it: {rule}: {reason}")
            }
            Decision::Default {
                key, block, value, ..
            } => write!(f, "{}{key} {value} (default)", at(block)),
            Decision::Clamped {
                key,
                block,
                from,
                to,
                ..
            } => write!(f, "{}{key} {from}→{to}", at(block)),
        }
    }
}

/// What [`evaluate`] found: every decision in order, and the refusal if there is one (then
/// nothing was written into the job).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Each decision, in the order taken.
    pub decisions: Vec<Decision>,
    /// The first refusing decision, and what the pool does with refused jobs.
    pub refused: Option<(Decision, OnRefused)>,
}

impl Evaluation {
    /// The clamps, as the annotation shows them (`priority 250→150, block 0 capacity 4000→2000`).
    pub fn clamps_text(&self) -> Option<String> {
        let clamps: Vec<String> = self
            .decisions
            .iter()
            .filter(|d| matches!(d, Decision::Clamped { .. }))
            .map(Decision::to_string)
            .collect();
        (!clamps.is_empty()).then(|| clamps.join(", "))
    }
}

/// Applies `policy` of pool `pool` to `job`, submitted from `peer` (`None`: not known, as in an
/// explanation of a job file; network rules are then noted as not checked): the ACL first (deny
/// lists, then allow lists, then allowed services); a job it refuses is left as it is. Then
/// every default and clamp, into the job and every block where the key is block-level.
pub(crate) fn evaluate(
    job: &mut Job<'_>,
    pool: &str,
    policy: &Compiled,
    peer: Option<IpAddr>,
) -> Evaluation {
    let mut out = Evaluation::default();
    if let Err(refusal) = policy.admit(job, pool, peer, &mut out.decisions) {
        out.decisions.push(refusal.clone());
        out.refused = Some((refusal, policy.policy().on_refused()));
        return out;
    }
    limits::apply(job, pool, policy.policy(), &mut out.decisions);
    out
}

/// A block's `service` as afserver reads it (`generic` when absent or not a string).
pub(crate) fn block_service(block: &Block<'_>) -> String {
    block.str_of("service").unwrap_or_else(|| "generic".into())
}

/// An integer key as afserver's `jr_int32` reads it: an integer in int32 range, else absent.
pub(crate) fn int32_of(fields: &impl Fields, key: &str) -> Option<i64> {
    fields.i64_of(key).filter(|v| i32::try_from(*v).is_ok())
}

#[cfg(test)]
#[path = "policy/tests.rs"]
mod tests;
