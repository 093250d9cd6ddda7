//! Held jobs come back. A job afpool held (its pool unknown, empty or without a usable host) is
//! registered with its hold ([`Held`]); when a re-target pass finds that its pool routes again,
//! the job gets its pool's masks like any re-target, and then, here:
//! - its annotation's `[afpool: held: ...]` tag becomes `[pool: NAME]`, as a submission into
//!   the pool would have it;
//! - it is started (`"operation":{"type":"start"}`, which clears afserver's `OFFLINE` state in
//!   `JobAf::v_action`) only when the pause is afpool's: not when the job was submitted paused,
//!   and not when its owner started or paused it since afpool held it.
//!
//! afserver does not say who paused a job, so afpool keeps it: [`Held::paused_by_afpool`] is
//! cleared when a reconcile sees the held job running ([`unpaused`]) (its owner started it, so a later pause
//! is theirs), and when afpool pauses a job afserver already lists as paused. Just before
//! starting, afserver is asked again: a job it no longer lists as paused is not started again.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map};

use crate::store::registry::{Held, PoolJob};

use super::action::{self, ActionError};
use super::reconcile::{self, AfJob};
use super::LiveJobs;

/// What happened to a held job that came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// Routed and started: the pause was afpool's.
    Started,
    /// Routed, left paused: its owner submitted it paused or paused it since.
    LeftPaused,
    /// Routed; afserver did not list it as paused (its owner had started it).
    Running,
    /// afserver no longer has it (the reconcile drops it).
    Gone,
}

impl Resumed {
    /// How the audit log says it.
    pub fn words(self) -> &'static str {
        match self {
            Resumed::Started => "and resumed",
            Resumed::LeftPaused => "and left paused (its owner paused it)",
            Resumed::Running => "(it was not paused)",
            Resumed::Gone => "(afserver no longer has it)",
        }
    }
}

/// Is afserver's job paused (`OFF` among its state words)?
pub fn is_offline(job: &AfJob) -> bool {
    (job.offline).unwrap_or_else(|| job.state.split_whitespace().any(|w| w == "OFF"))
}

/// Was the job's state read at all?
fn state_known(job: &AfJob) -> bool {
    job.offline.is_some() || !job.state.is_empty()
}

/// The annotation a held job gets when it comes back into `pool`: afpool's `[afpool: held: ...]`
/// tag removed (the one `hold` wrote for `held`'s reason, else the first tag of its kind) and,
/// when `annotate`, `[pool: NAME]` put first unless it carries a pool tag already. `None` when
/// it stays as it is.
pub fn annotation(old: &str, pool: &str, held: &Held, annotate: bool) -> Option<String> {
    const TAG: &str = "[afpool: held: ";
    let problem = held.reason.strip_prefix("held (paused): ");
    let exact = problem.map(|p| format!("{TAG}{p}]"));
    let mut rest = old.to_string();
    if let Some(start) = old.find(TAG) {
        let end = match exact.as_deref().filter(|t| old[start..].starts_with(t)) {
            Some(tag) => Some(start + tag.len()),
            None => old[start..].find(']').map(|e| start + e + 1),
        };
        if let Some(end) = end {
            let after = old[end..].strip_prefix(' ').unwrap_or(&old[end..]);
            rest = format!("{}{after}", &old[..start]);
        }
    }
    if annotate && reconcile::annotated_pool(&rest).is_none() {
        rest = match rest.is_empty() {
            true => format!("[pool: {pool}]"),
            false => format!("[pool: {pool}] {rest}"),
        };
    }
    (rest != old).then_some(rest)
}

/// The registered held jobs (of `registered`) whose pause afpool still takes as its own but that
/// afserver (`afserver`) lists as running: their owner started them.
pub fn unpaused(registered: &[&PoolJob], afserver: &HashMap<i64, &AfJob>) -> Vec<i64> {
    registered
        .iter()
        .filter(|r| r.held.as_ref().is_some_and(|h| h.paused_by_afpool))
        .filter(|r| {
            afserver.get(&r.job_id).is_some_and(|af| {
                reconcile::same_serial(r.serial, af.serial) && state_known(af) && !is_offline(af)
            })
        })
        .map(|r| r.job_id)
        .collect()
}

/// The held jobs `ids` came back into their pools (their masks already sent): annotations
/// rewritten, and those whose pause is afpool's started. What happened to each.
pub(super) async fn resume(
    live: &LiveJobs,
    jobs: &[&PoolJob],
    holds: &HashMap<i64, Held>,
) -> Result<HashMap<i64, Resumed>, ActionError> {
    let ids: Vec<i64> = jobs.iter().map(|j| j.job_id).collect();
    let listed = listed(live, &ids).await?;
    let annotate = live.router.settings().annotate;
    let mut outcome = HashMap::new();
    let mut start = Vec::new();
    for job in jobs {
        let (Some(af), Some(held)) = (listed.get(&job.job_id), holds.get(&job.job_id)) else {
            outcome.insert(job.job_id, Resumed::Gone);
            continue;
        };
        if let Some(text) = annotation(&af.annotation, &job.pool, held, annotate) {
            let mut params = Map::new();
            params.insert("annotation".into(), json!(text));
            action::send(&live.upstream, &action::set_params(&[job.job_id], &params)).await?;
        }
        let what = match (is_offline(af), held.paused_by_afpool) {
            (false, _) => Resumed::Running,
            (true, false) => Resumed::LeftPaused,
            (true, true) => Resumed::Started,
        };
        if what == Resumed::Started {
            start.push(job.job_id);
        }
        outcome.insert(job.job_id, what);
    }
    if !start.is_empty() {
        action::send(&live.upstream, &action::operation(&start, "start")).await?;
    }
    Ok(outcome)
}

/// Pauses jobs `ids` that afpool holds now. A job afserver lists as paused already was paused
/// by its owner: its hold is marked as not afpool's, so it is not resumed when its pool is back.
pub(super) async fn pause(live: &LiveJobs, ids: &[i64]) -> Result<(), ActionError> {
    let listed = listed(live, ids).await?;
    let paused: Vec<i64> = (ids.iter().copied())
        .filter(|id| listed.get(id).is_some_and(is_offline))
        .collect();
    action::send(&live.upstream, &action::operation(ids, "pause")).await?;
    not_afpools(live, &paused).await;
    Ok(())
}

/// afserver's current view of jobs `ids`.
async fn listed(live: &LiveJobs, ids: &[i64]) -> Result<HashMap<i64, AfJob>, ActionError> {
    let jobs = reconcile::fetch_ids(&live.upstream, ids)
        .await
        .map_err(|e| ActionError::NoAnswer(format!("held jobs not read: {e}")))?;
    Ok(jobs.into_iter().map(|j| (j.id, j)).collect())
}

/// Marks the holds of jobs `ids` as not afpool's pause (registry, compare-and-set, and index):
/// the jobs changed.
pub(super) async fn not_afpools(live: &LiveJobs, ids: &[i64]) -> Vec<PoolJob> {
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    let mut changed = Vec::new();
    for id in wanted {
        let Some(job) = live.index.get(id) else {
            continue;
        };
        let Some(held) = job.held.as_ref().filter(|h| h.paused_by_afpool) else {
            continue;
        };
        let mut next = job.clone();
        next.held = Some(Held {
            paused_by_afpool: false,
            ..held.clone()
        });
        match live.recorder.registry.replace_if(&next, &job).await {
            Ok(true) => {
                live.index.insert(next.clone());
                changed.push(next);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(job = id, "whose pause a held job is, not recorded: {e}"),
        }
        tracing::info!(
            job = id,
            "held job paused by its owner: it stays paused when its pool comes back"
        );
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn held(problem: &str) -> Held {
        Held {
            reason: format!("held (paused): {problem}"),
            paused_by_afpool: true,
        }
    }

    #[rstest]
    #[case("[afpool: held: unknown pool 'gpu']", true, Some("[pool: gpu]"))]
    #[case(
        "[afpool: held: unknown pool 'gpu'] notes",
        true,
        Some("[pool: gpu] notes")
    )]
    #[case("[afpool: held: unknown pool 'gpu'] notes", false, Some("notes"))]
    // A reason holding `]`: the tag hold wrote is removed whole.
    #[case(
        "[afpool: held: pool 'a]b' has no hosts] x",
        true,
        Some("[pool: gpu] x")
    )]
    // Held live (its pool deleted): the annotation kept its pool tag.
    #[case("[pool: gpu] notes", true, None)]
    #[case("", true, Some("[pool: gpu]"))]
    #[case("", false, None)]
    fn the_held_tag_becomes_the_pool_tag(
        #[case] old: &str,
        #[case] annotate: bool,
        #[case] want: Option<&str>,
    ) {
        let reason = match old.contains("a]b") {
            true => held("pool 'a]b' has no hosts"),
            false => held("unknown pool 'gpu'"),
        };
        assert_eq!(annotation(old, "gpu", &reason, annotate).as_deref(), want);
    }

    fn af(id: i64, state: &str) -> AfJob {
        AfJob {
            id,
            state: state.into(),
            ..AfJob::default()
        }
    }

    #[test]
    fn a_held_job_seen_running_was_started_by_its_owner() {
        let job = |id: i64, held: Option<bool>| PoolJob {
            job_id: id,
            pool: "gpu".into(),
            user: "ann".into(),
            job_name: format!("j{id}"),
            submitted_at: bson::DateTime::from_millis(0),
            masks_written: Default::default(),
            user_masks: Default::default(),
            mask_mode: crate::job::MaskMode::Exclude,
            serial: None,
            held: held.map(|mine| Held {
                reason: "r".into(),
                paused_by_afpool: mine,
            }),
        };
        let registered = [
            job(1, Some(true)),  // held, seen running: the owner started it
            job(2, Some(true)),  // held, still paused
            job(3, Some(false)), // not afpool's pause already
            job(4, None),        // routed, running
            job(5, Some(true)),  // held, its state not read
        ];
        let listed = [
            af(1, "RDY"),
            af(2, "RDY OFF"),
            af(3, "RDY"),
            af(4, "RUN"),
            af(5, ""),
        ];
        let by_id: HashMap<i64, &AfJob> = listed.iter().map(|j| (j.id, j)).collect();
        let refs: Vec<&PoolJob> = registered.iter().collect();
        assert_eq!(unpaused(&refs, &by_id), [1]);
    }
}
