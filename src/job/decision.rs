//! [`Decision`]: what routing settled on for one job, before its [`Explanation`] is written, and
//! the verdicts for a pool that cannot be used ([`unusable`]: reject, hold fenced, or pass).

use std::sync::Arc;

use super::envelope::{Fields, Job};
use super::explain::{Explanation, Masks, SnapshotRef, Verdict};
use super::inventory::PoolPlan;
use super::poolref::PoolChoice;
use super::rejection::Rejection;
use super::settings::{Policy, RouteSettings};
use super::{policy, rewrite, rules, shield, spill};

/// What routing settled on, before the explanation is written.
pub(super) struct Decision {
    pub(super) verdict: Verdict,
    pub(super) reason: String,
    pub(super) changed: bool,
    pub(super) plan: Option<Arc<PoolPlan>>,
    pub(super) routed: Option<rewrite::MaskPlan>,
    pub(super) spilled: Option<spill::Spilled>,
    /// What the pools' policies decided (ACL, defaults, clamps).
    pub(super) policy: Vec<policy::Decision>,
    /// Which default pool rule a job naming no pool hit (`None`: it named one, or no rules).
    pub(super) rule: Option<rules::Choice>,
}

impl Decision {
    /// A decision without a plan, masks or policy decisions.
    pub(super) fn bare(verdict: Verdict, reason: String, changed: bool) -> Decision {
        Decision {
            verdict,
            reason,
            changed,
            plan: None,
            routed: None,
            spilled: None,
            policy: Vec::new(),
            rule: None,
        }
    }

    /// A job forwarded without a pool.
    pub(super) fn no_pool(reason: &str) -> Decision {
        Decision::bare(Verdict::NoPool, reason.to_string(), false)
    }

    /// The explanation of this decision for `job` (as it will be forwarded).
    pub(super) fn explanation(
        &self,
        job: &Job<'_>,
        pool: Option<PoolChoice>,
        masks_before: Masks,
    ) -> Explanation {
        let d = self;
        let (pool_hosts, can_run, cannot_run) = match (&d.plan, &d.routed) {
            (Some(p), Some(m)) => (
                SnapshotRef(p.hosts.clone()),
                SnapshotRef(m.can_run.clone()),
                m.cannot_run.clone(),
            ),
            _ => Default::default(),
        };
        Explanation {
            user_name: job.str_of("user_name").unwrap_or_default(),
            job_name: job.str_of("name").unwrap_or_default(),
            pool,
            pool_hosts,
            can_run,
            cannot_run,
            masks_before,
            masks_after: Masks::of(job),
            verdict: d.verdict,
            reason: d.reason.clone(),
            hosts_excluded: d.routed.as_ref().map_or(0, |m| m.hosts_excluded),
            policy: d.policy.clone(),
            rule: d.rule.clone(),
        }
    }
}

/// The exclude mask of a held job whose pool has no usable host: every host.
pub(super) const FENCE_ALL: &str = ".*";

/// Applies `policy` for a pool that cannot be used. A held job is also fenced: `fence` is merged
/// into its exclude mask, so resuming it in afwatch cannot run it outside its pool.
pub(super) fn unusable(
    job: &mut Job<'_>,
    settings: &RouteSettings,
    policy: Policy,
    pool: &str,
    problem: String,
    fence: &str,
) -> Result<Decision, Rejection> {
    let (verdict, reason) = match policy {
        Policy::Reject => {
            let message = format!("job {} not accepted: {problem}", shield::job_label(job));
            return Err(Rejection::Policy {
                pool: pool.to_string(),
                message,
            });
        }
        Policy::Hold => {
            rewrite::hold(job, &problem, fence, settings)?;
            (Verdict::Held, format!("held (paused): {problem}"))
        }
        Policy::Pass => {
            rewrite::pass(job, &problem);
            (
                Verdict::Passed,
                format!("passed without routing: {problem}"),
            )
        }
    };
    Ok(Decision::bare(verdict, reason, true))
}
