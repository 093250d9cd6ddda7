//! `spill_after` on live jobs: at each reconcile, a registered job afserver lists as queued
//! (ready tasks, none started, not paused or done) whose pool's `spill_after` step is due
//! ([`crate::job::spill::after`], measured by the live clock from its submission) gets the next
//! fallback added to its pool reference (`gpu` → `gpu|cpu`). The registry record is claimed
//! with a compare-and-set, so with several proxies one takes each step; the re-target pass the
//! reconcile wakes then sends the wider masks like any pool edit, and the job's annotation tag
//! says it (`[pool: gpu → gpu|cpu]`, one `action` for the job). Audited `job_spilled`. A
//! fallback whose policy checks who submits is never added live: the job was not checked
//! against it.

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

/// `annotation` with afpool's `[pool: ...]` tag saying the job spilled into `to`: the pool it
/// was sent to stays first (`[pool: gpu]` → `[pool: gpu → gpu|cpu]`, then `gpu → gpu|cpu|cloud`).
pub fn spilled_annotation(annotation: &str, to: &str) -> Option<String> {
    let start = annotation.find("[pool: ")?;
    let inner = start + "[pool: ".len();
    let end = inner + annotation[inner..].find(']')?;
    let tag = &annotation[inner..end];
    let sent_to = tag.split_once(" → ").map_or(tag, |(from, _)| from);
    let (before, after) = (&annotation[..start], &annotation[end + 1..]);
    Some(format!("{before}[pool: {sent_to} → {to}]{after}"))
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
        // The job was admitted into its pool, not into the fallback: a fallback that checks who
        // submits is not added around that check (fail-closed; a submission spills into it).
        if super::gate::checks_submitters(&added, pools).is_some() {
            continue;
        }
        let mut after = (*job).clone();
        after.pool = reference.into();
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
        retag(live, &step.after).await;
        taken.push(step.after);
    }
    taken
}

/// Rewrites the annotation tag of `job` (read from afserver: the reconcile's list leaves a known
/// job's text out) to name its widened reference; a failure is logged, the step stands.
async fn retag(live: &LiveJobs, job: &PoolJob) {
    let id = job.job_id;
    let listed = match reconcile::fetch_ids(&live.upstream, &[id]).await {
        Ok(listed) => listed,
        Err(e) => return tracing::warn!(job = id, "annotation not updated: {e}"),
    };
    let Some(annotation) = (listed.iter().find(|j| j.id == id))
        .and_then(|j| spilled_annotation(&j.annotation, &job.pool))
    else {
        return;
    };
    let params = serde_json::json!({ "annotation": annotation });
    let params = params.as_object().expect("an object");
    let body = super::action::set_params(&[id], params);
    if let Err(e) = super::action::send(&live.upstream, &body).await {
        tracing::warn!(job = id, "annotation not updated: {e}");
    }
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
    fn the_annotation_tag_names_each_step() {
        let cases = [
            (
                "[pool: gpu] shot 12",
                "gpu|cpu",
                Some("[pool: gpu → gpu|cpu] shot 12"),
            ),
            (
                "[pool: gpu → gpu|cpu]",
                "gpu|cpu|cloud",
                Some("[pool: gpu → gpu|cpu|cloud]"),
            ),
            (
                "note [pool: gpu]",
                "gpu|cpu",
                Some("note [pool: gpu → gpu|cpu]"),
            ),
            ("no tag", "gpu|cpu", None),
            ("[pool: gpu", "gpu|cpu", None),
        ];
        for (annotation, to, want) in cases {
            let got = spilled_annotation(annotation, to);
            assert_eq!(got.as_deref(), want, "{annotation}");
            let read_back = got.as_deref().and_then(reconcile::annotated_pool);
            assert_eq!(read_back, want.map(|_| to), "{annotation}");
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
        let mut guarded = pools.clone();
        guarded[1].policy =
            serde_json::from_value(serde_json::json!({"deny": {"users": ["x"]}})).unwrap();
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
        // A fallback that checks who submits is not added live.
        assert!(due(&refs, &by_id, &guarded, now).is_empty());
    }
}
