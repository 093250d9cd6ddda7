//! Which of a pool's hosts a job's own masks let through, as afserver reads the masks: every
//! block must keep at least one. All the matches of one job share one step budget.

use super::{PlanError, UserMasks};
use crate::job::ecma::{self, Matcher};
use crate::job::inventory::PoolPlan;
use crate::job::mask;
use crate::job::rejection::{Rejection, ShieldRule};
use crate::job::shield::JobLabel;

/// The pool's hosts the job's own masks let through; every block must keep at least one.
pub(super) fn allowed_hosts<'p>(
    user: &UserMasks,
    pool: &'p PoolPlan,
    label: JobLabel<'_>,
) -> Result<Vec<&'p str>, PlanError> {
    let too_complex = |_| {
        let msg =
            format!("job {label}: a hosts mask is too complex to evaluate on the pool's hosts");
        PlanError::Rejected(Rejection::shield(ShieldRule::InvalidRegex, msg))
    };
    let job = HostFilter::new(&user.hosts_mask, &user.hosts_mask_exclude, label)?;
    // One budget for every host and block: a pool of many hosts must not multiply it.
    let mut steps = 0;
    let mut allowed = Vec::new();
    for host in pool.hosts.iter().map(String::as_str) {
        if job.admits(host, &mut steps).map_err(too_complex)? {
            allowed.push(host);
        }
    }
    if allowed.is_empty() {
        return Err(PlanError::NoHostLeft("the job's hosts masks".into()));
    }
    for (name, include, exclude) in &user.blocks {
        let block = HostFilter::new(include, exclude, label)?;
        let mut admitted = false;
        for host in &allowed {
            if block.admits(host, &mut steps).map_err(too_complex)? {
                admitted = true;
                break;
            }
        }
        if !admitted {
            return Err(PlanError::NoHostLeft(format!(
                "the hosts masks of block {name}"
            )));
        }
    }
    Ok(allowed)
}

fn internal(label: JobLabel<'_>, mask: &str, err: String) -> PlanError {
    let msg = format!("job {label}: hosts mask '{mask}' cannot be used ({err})");
    PlanError::Rejected(Rejection::shield(ShieldRule::InvalidRegex, msg))
}

/// A pair of masks as a filter on host names, as afserver reads them: in `include` (when set) and
/// not in `exclude`.
struct HostFilter {
    include: Option<Matcher>,
    exclude: Option<Matcher>,
}

impl HostFilter {
    fn new(include: &str, exclude: &str, label: JobLabel<'_>) -> Result<Self, PlanError> {
        let compile = |m: &str| {
            (!m.is_empty())
                .then(|| mask::full_match(m).map_err(|e| internal(label, m, e)))
                .transpose()
        };
        Ok(HostFilter {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }

    /// Whether afserver lets `host` through; `Err` when the job's masks together take more than
    /// one step budget (counted in `steps`) to decide on.
    fn admits(&self, host: &str, steps: &mut u64) -> Result<bool, ecma::TooComplex> {
        let mut hit = |m: &Option<Matcher>| match m {
            Some(m) => m.try_match_counted(host.as_bytes(), false, steps).map(Some),
            None => Ok(None),
        };
        let included = hit(&self.include)?.unwrap_or(true);
        Ok(included && !hit(&self.exclude)?.unwrap_or(false))
    }
}
