//! Whether policy applies to what is routed ([`Admission`]), the pools' policies on a job being
//! routed ([`admit`]), between resolving its pool reference
//! and writing its masks, and the clamps in its annotation ([`annotate_clamps`]).

use std::net::IpAddr;

use super::envelope::{Fields, Job};
use super::inventory::Inventory;
use super::policy::{self, OnRefused};

/// Whether a pool's policy applies to what is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A submission from this client address (`None`: not known, as for a job file explained
    /// or sent by afsubmit): ACL, defaults and clamps apply.
    Submitted(Option<IpAddr>),
    /// As `Submitted`, for an explanation of a job a pool refuses: held instead of rejected, so
    /// that every decision can be shown.
    Explained(Option<IpAddr>),
    /// A live job's masks computed again (re-target, guarded edit): it was admitted when
    /// submitted, so no policy applies.
    Live,
}

impl Admission {
    /// The client's address, when known.
    pub(crate) fn peer(&self) -> Option<IpAddr> {
        match self {
            Admission::Submitted(peer) | Admission::Explained(peer) => *peer,
            Admission::Live => None,
        }
    }
}

/// Every policy of the pools `name` routes into (a pool, or each pool an expression names
/// outside a `!`), in order: the first refusal, else `None` with each default and clamp
/// written into the job. Every decision is pushed to `decided`.
pub(crate) fn admit(
    job: &mut Job<'_>,
    name: &str,
    inv: &Inventory,
    peer: Option<IpAddr>,
    decided: &mut Vec<policy::Decision>,
) -> Option<(policy::Decision, OnRefused)> {
    for pool in inv.policy_pools(name) {
        let Some(compiled) = inv.policy(&pool) else {
            continue;
        };
        let eval = policy::evaluate(job, &pool, compiled, peer);
        decided.extend(eval.decisions);
        if eval.refused.is_some() {
            return eval.refused;
        }
    }
    None
}

/// Puts the clamps after the `[pool: NAME]` tag: `[pool: lighting] priority 250→150`.
pub(crate) fn annotate_clamps(job: &mut Job<'_>, name: &str, clamps: &str) {
    let Some(old) = job.str_of("annotation") else {
        return;
    };
    let tag = format!("[pool: {name}]");
    if let Some(rest) = old.strip_prefix(&tag) {
        job.set_str("annotation", &format!("{tag} {clamps}{rest}"));
    }
}
