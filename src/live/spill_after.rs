//! `spill_after` on live jobs: at each reconcile, a registered job afserver lists as queued
//! (ready tasks, none started, not paused or done) whose pool's `spill_after` step is due
//! ([`crate::job::spill::after`], measured by the live clock from its submission) gets the next
//! fallback added to its pool reference (`gpu` → `gpu|cpu`). The registry record is claimed
//! with a compare-and-set, so with several proxies one takes each step; the re-target pass the
//! reconcile wakes then sends the wider masks like any pool edit. Audited `job_spilled`.

use std::collections::HashMap;
use std::time::Duration;

use crate::job::spill;
use crate::store::audit::{AuditEntry, AuditKind};
use crate::store::registry::PoolJob;
use crate::store::Pool;

use super::reconcile::{self, AfJob};
use super::LiveJobs;

/// One job's due step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The record as registered.
    pub before: PoolJob,
    /// The record with its pool reference widened.
    pub after: PoolJob,
    /// The fallback added.
    pub added: String,
    /// How long the job has been queued.
    pub queued: Duration,
}

/// The steps due now (`now_ms`, UTC milliseconds) for `registered` jobs as `afserver` lists them.
pub fn due(
    registered: &[&PoolJob],
    afserver: &HashMap<i64, &AfJob>,
    pools: &[Pool],
    now_ms: i64,
) -> Vec<Step> {
    if !pools.iter().any(|p| p.spill.spill_after.is_some()) {
        return Vec::new();
    }
    let mut steps = Vec::new();
    for job in registered.iter().filter(|j| j.held.is_none()) {
        let Some(af) = afserver.get(&job.job_id) else {
            continue;
        };
        if !reconcile::same_serial(job.serial, af.serial) || !af.is_queued() {
            continue;
        }
        let age = now_ms.saturating_sub(job.submitted_at.timestamp_millis());
        let queued = Duration::from_millis(u64::try_from(age).unwrap_or(0));
        let Some((reference, added)) = spill::after(&job.pool, pools, queued) else {
            continue;
        };
        let mut after = (*job).clone();
        after.pool = reference;
        steps.push(Step {
            before: (*job).clone(),
            after,
            added,
            queued,
        });
    }
    steps
}

/// Claims `steps` in the registry and the index, audits them; the jobs whose step was taken.
pub(super) async fn take(live: &LiveJobs, steps: Vec<Step>) -> Vec<PoolJob> {
    let mut taken = Vec::new();
    for step in steps {
        match live
            .recorder
            .registry
            .replace_if(&step.after, &step.before)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue, // another proxy took it, or the job changed meanwhile
            Err(e) => {
                tracing::warn!(
                    job = step.after.job_id,
                    "spill_after step not taken yet: {e}"
                );
                continue;
            }
        }
        live.index.insert(step.after.clone());
        let minutes = step.queued.as_secs() / 60;
        let detail = format!(
            "job '{}': spill_after fired: queued {minutes} min without a started task; \
             '{}' added: now '{}'",
            step.after.job_name, step.added, step.after.pool
        );
        tracing::info!(job = step.after.job_id, "{detail}");
        let entry = AuditEntry::now(
            AuditKind::JobSpilled,
            super::action::ACTOR,
            &step.after.pool,
            detail,
        );
        live.audit(entry.job(step.after.job_id)).await;
        taken.push(step.after);
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Spill;

    fn job(id: i64, pool: &str, submitted_min_ago: i64, now: i64) -> PoolJob {
        PoolJob {
            job_id: id,
            pool: pool.into(),
            user: "ann".into(),
            job_name: format!("j{id}"),
            submitted_at: bson::DateTime::from_millis(now - submitted_min_ago * 60_000),
            masks_written: Default::default(),
            user_masks: Default::default(),
            mask_mode: crate::job::MaskMode::Exclude,
            serial: None,
            held: None,
        }
    }

    fn af(id: i64, state: &str, started: i64) -> AfJob {
        AfJob {
            id,
            state: state.into(),
            time_started: started,
            ..AfJob::default()
        }
    }

    #[test]
    fn only_queued_jobs_whose_step_is_due_spill() {
        let now = 1_800_000_000_000;
        let mut gpu = Pool::new("gpu", ["g1"]);
        gpu.spill = Spill {
            fallback: vec!["cpu".into()],
            spill_below: None,
            spill_after: Some("30m".into()),
        };
        let pools = [gpu, Pool::new("cpu", ["c1"])];
        let registered = [
            job(1, "gpu", 31, now), // queued 31 min: spills
            job(2, "gpu", 10, now), // too soon
            job(3, "gpu", 90, now), // a task started
            job(4, "gpu", 90, now), // paused
            job(5, "cpu", 90, now), // a pool that never spills
            job(6, "gpu", 90, now), // afserver no longer has it
        ];
        let listed = [
            af(1, "RDY", 0),
            af(2, "RDY", 0),
            af(3, "RDY RUN", 1_799_000_000),
            af(4, "RDY OFF", 0),
            af(5, "RDY", 0),
        ];
        let by_id: HashMap<i64, &AfJob> = listed.iter().map(|j| (j.id, j)).collect();
        let refs: Vec<&PoolJob> = registered.iter().collect();
        let got = due(&refs, &by_id, &pools, now);
        let got: Vec<(i64, &str, &str)> = (got.iter())
            .map(|s| (s.after.job_id, s.after.pool.as_str(), s.added.as_str()))
            .collect();
        assert_eq!(got, [(1, "gpu|cpu", "cpu")]);
    }
}
