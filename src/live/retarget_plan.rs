//! What a re-target pass claims: each registered job's masks computed again for its pool (after
//! renames) and compared with what afpool wrote. Pure: no I/O; the pass runs it on a blocking
//! thread, since a farm's registry holds tens of thousands of jobs. Jobs with the same own
//! masks in the same pool get the same masks, so each such set is routed once, and a job is
//! cloned only when it changes.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::job::poolexpr::{self, PoolExpr};
use crate::job::{Inventory, RouteSettings};
use crate::store::registry::{Held, JobMasks, PoolJob};
use crate::store::Pool;

use super::action;
use super::target::{compute, Computed};

/// Masks that keep a job off every host (a job whose own masks leave none of its pool).
fn fence() -> JobMasks {
    JobMasks {
        hosts_mask: None,
        hosts_mask_exclude: Some(".*".into()),
        hosts_mask_type: Some("regex".into()),
    }
}

/// What one job still needs sent.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub params: Map<String, Value>,
    pub pause: bool,
    pub release: bool,
    /// A held job routed again: its hold, to resume it when the pause was afpool's.
    pub resume: Option<Held>,
    pub before: PoolJob,
    pub after: PoolJob,
}

/// Masks computed for one snapshot of the pools, by pool and then by the user's own masks.
/// Jobs with the same own masks in the same pool get the same masks, so each such set is routed
/// once; and they are kept while the pools stay the same, so the pass after a reconcile routes
/// nothing again.
pub(super) struct Targets {
    pools: Arc<Vec<Pool>>,
    by_pool: HashMap<String, HashMap<JobMasks, Computed>>,
}

impl Targets {
    /// The masks of `job` (by its own masks) in `pool`; on a first sight, routed with `inv`
    /// (built then: routing state is not kept between passes, the masks are).
    fn get(
        &mut self,
        job: &PoolJob,
        pool: &str,
        settings: &RouteSettings,
        inv: &mut Option<Inventory>,
    ) -> &Computed {
        if !self.by_pool.contains_key(pool) {
            self.by_pool.insert(pool.to_string(), HashMap::new());
        }
        let masks = self.by_pool.get_mut(pool).expect("inserted above");
        if !masks.contains_key(&job.user_masks) {
            let inv = inv.get_or_insert_with(|| Inventory::new(self.pools.to_vec(), Vec::new()));
            let (user, name, owner) = (&job.user_masks, &job.job_name, &job.user);
            let computed = compute(user, name, owner, pool, settings, inv);
            masks.insert(job.user_masks.clone(), computed);
        }
        &masks[&job.user_masks]
    }
}

/// The jobs of `jobs` whose masks or pool change under `pools` (a pool renamed as `renames`
/// says is followed), with their next state. `targets` are kept from the last pass when they
/// were computed for the same `pools`.
pub(super) fn claims<J: Borrow<PoolJob>>(
    targets: &mut Option<Targets>,
    jobs: &[J],
    pools: &Arc<Vec<Pool>>,
    renames: &HashMap<String, String>,
    settings: &RouteSettings,
) -> Vec<Pending> {
    let targets = match targets {
        Some(t) if Arc::ptr_eq(&t.pools, pools) => t,
        _ => targets.insert(Targets {
            pools: pools.clone(),
            by_pool: HashMap::new(),
        }),
    };
    let mut inv = None;
    let mut claims = Vec::new();
    for job in jobs.iter().map(Borrow::borrow) {
        let followed = follow(&job.pool, pools, renames);
        let pool = followed.as_deref().unwrap_or(&job.pool);
        let computed = targets.get(job, pool, settings, &mut inv);
        let gate;
        let guarded = match (&job.held, computed) {
            (Some(_), Computed::Routed { .. }) => super::gate::checks_submitters(pool, pools),
            _ => None,
        };
        let computed = match (computed, guarded) {
            (Computed::Routed { masks, .. }, Some(guarded)) => {
                gate = Computed::Held {
                    pool: pool.to_string(),
                    masks: job.masks_written.clone(),
                    reason: format!(
                        "pool '{guarded}' checks who submits into it, which a job held before \
                         that check cannot be brought back through; submit it again (masks \
                         it would get: {})",
                        masks.hosts_mask_exclude.as_deref().unwrap_or("none")
                    ),
                };
                &gate
            }
            (computed, _) => computed,
        };
        claims.extend(next(job, pool, computed));
    }
    claims
}

/// The name a job's pool reference takes after `renames`: the new name of a renamed pool, or a
/// pool expression with its renamed pools replaced (`gpu|old` → `gpu|legacy`); `None` when it
/// stays. An existing pool's exact name is never read as an expression.
fn follow(reference: &str, pools: &[Pool], renames: &HashMap<String, String>) -> Option<String> {
    if let Some(new) = renames.get(reference) {
        return Some(new.clone());
    }
    if renames.is_empty()
        || !poolexpr::is_expression(reference)
        || pools.iter().any(|p| p.name == reference)
    {
        return None;
    }
    let expr = PoolExpr::parse(reference).ok()?;
    expr.renamed(renames).map(|e| e.to_string())
}

/// The job's next state in `pool` with its `computed` masks, if its masks, pool or hold change.
/// A held job that routes again comes back even when its masks stay (a guarded edit moved it).
fn next(job: &PoolJob, pool: &str, computed: &Computed) -> Option<Pending> {
    let fenced;
    let (pool, masks, held) = match computed {
        Computed::Routed { pool, masks } => (pool.as_str(), masks, None),
        Computed::Held { masks, reason, .. } => (pool, masks, Some(reason.as_str())),
        Computed::Released { masks } => (pool, masks, None),
        Computed::Refused(why) => {
            fenced = fence();
            if job.masks_written != fenced {
                tracing::warn!(job = job.job_id, pool = %job.pool,
                    "job's own masks leave none of its pool; fencing and pausing it: {why}");
            }
            (pool, &fenced, Some(why.as_str()))
        }
    };
    let release = matches!(computed, Computed::Released { .. });
    let resume = match held {
        None => job.held.clone(),
        Some(_) => None,
    };
    if *masks == job.masks_written && pool == job.pool && resume.is_none() {
        return None;
    }
    let mut after = job.clone();
    (after.pool, after.masks_written) = (pool.into(), masks.clone());
    after.held = held.map(|reason| hold(job, reason));
    Some(Pending {
        params: action::params(masks),
        pause: held.is_some(),
        release,
        resume,
        before: job.clone(),
        after,
    })
}

/// The hold of a job afpool holds now for `reason`: a job held already keeps whose pause it is;
/// one held now is paused by afpool (the pause checks afserver first: a job its owner had
/// paused is not afpool's to resume, see [`super::comeback`]).
fn hold(job: &PoolJob, reason: &str) -> Held {
    Held {
        reason: reason.to_string(),
        paused_by_afpool: job.held.as_ref().is_none_or(|h| h.paused_by_afpool),
    }
}

/// Pools renamed between two snapshots: old name → new name, when exactly one vanished pool
/// and one new pool have the same hosts.
pub(super) fn renamed(before: &[Pool], after: &[Pool]) -> HashMap<String, String> {
    let has = |pools: &[Pool], name: &str| pools.iter().any(|p| p.name == name);
    let gone: Vec<&Pool> = before.iter().filter(|p| !has(after, &p.name)).collect();
    let new: Vec<&Pool> = after.iter().filter(|p| !has(before, &p.name)).collect();
    let same = |a: &Pool, b: &Pool| {
        let key = |p: &Pool| {
            let mut hosts: Vec<String> = p.hosts.iter().map(|h| h.to_lowercase()).collect();
            hosts.sort();
            hosts
        };
        key(a) == key(b)
    };
    gone.iter()
        .filter_map(|old| {
            let matches: Vec<&&Pool> = new.iter().filter(|n| same(old, n)).collect();
            let [only] = matches[..] else {
                return None;
            };
            let olds = gone.iter().filter(|o| same(o, only)).count();
            (olds == 1).then(|| (old.name.clone(), only.name.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MaskMode;

    #[test]
    fn a_vanished_pool_with_the_hosts_of_a_new_one_was_renamed() {
        let before = [Pool::new("gpu", ["a", "B"]), Pool::new("cpu", ["c"])];
        let after = [Pool::new("cpu", ["c"]), Pool::new("render", ["b", "a"])];
        let got = renamed(&before, &after);
        assert_eq!(got.get("gpu").map(String::as_str), Some("render"));
        assert_eq!(got.len(), 1);
        let twins = [Pool::new("x", ["a"]), Pool::new("y", ["a"])];
        assert!(renamed(&twins, &[Pool::new("z", ["a"])]).is_empty());
        assert!(renamed(&before, &[Pool::new("cpu", ["c"])]).is_empty());
    }

    fn job(id: i64, pool: &str, written: JobMasks) -> PoolJob {
        PoolJob {
            job_id: id,
            pool: pool.into(),
            user: "ann".into(),
            job_name: format!("shot{id}"),
            submitted_at: bson::DateTime::from_millis(0),
            masks_written: written,
            user_masks: JobMasks::default(),
            mask_mode: MaskMode::Exclude,
            serial: None,
            held: None,
        }
    }

    #[test]
    fn only_jobs_whose_masks_or_pool_change_are_claimed() {
        let settings = RouteSettings::default();
        let gpu = Arc::new(vec![Pool::new("gpu", ["gpu.node3"])]);
        let current = |pool: &str| {
            let probe = job(0, pool, JobMasks::default());
            let got = claims(&mut None, &[probe], &gpu, &HashMap::new(), &settings);
            got[0].after.masks_written.clone()
        };
        let routed = current("gpu");
        assert!(routed.hosts_mask_exclude.is_some(), "{routed:?}");
        let jobs = [
            job(1, "gpu", routed.clone()),
            job(2, "gpu", JobMasks::default()),
            job(3, "old", routed.clone()),
            job(4, "gone", JobMasks::default()),
        ];
        let renames = HashMap::from([("old".to_string(), "gpu".to_string())]);
        let mut targets = None;
        let got = claims(&mut targets, &jobs, &gpu, &renames, &settings);
        let ids: Vec<i64> = got.iter().map(|p| p.after.job_id).collect();
        assert_eq!(ids, [2, 3, 4]);
        assert_eq!(
            (got[0].after.masks_written == routed, got[0].pause),
            (true, false)
        );
        assert_eq!(
            (got[1].after.pool.as_str(), got[1].before.pool.as_str()),
            ("gpu", "old")
        );
        assert_eq!(
            got[1].after.masks_written, routed,
            "a rename keeps the masks"
        );
        // A pool that is gone holds its jobs by default: fenced and paused.
        assert!(got[2].pause, "{:?}", got[2].after);
        assert_ne!(got[2].after.masks_written, routed);
    }

    #[test]
    fn a_held_job_comes_back_once_its_pool_routes_and_keeps_whose_pause_it_is() {
        let settings = RouteSettings::default();
        let none = Arc::new(Vec::new());
        let probe = [job(1, "gpu", JobMasks::default())];
        let first = claims(&mut None, &probe, &none, &HashMap::new(), &settings);
        let fenced = first[0].after.masks_written.clone();
        let held = first[0].after.held.clone().expect("held: gpu is unknown");
        assert!(first[0].pause && held.paused_by_afpool, "{held:?}");
        let mut owners = job(2, "gpu", fenced.clone());
        owners.held = Some(Held {
            paused_by_afpool: false,
            ..held.clone()
        });
        let mut mine = job(1, "gpu", fenced.clone());
        mine.held = Some(held.clone());
        let jobs = [mine, owners];
        // Still unknown: nothing to send, and neither hold changes.
        assert!(claims(&mut None, &jobs, &none, &HashMap::new(), &settings).is_empty());
        let gpu = Arc::new(vec![Pool::new("gpu", ["gpu.node3"])]);
        let back = claims(&mut None, &jobs, &gpu, &HashMap::new(), &settings);
        assert_eq!(back.len(), 2);
        for (p, mine) in back.iter().zip([true, false]) {
            assert_eq!(p.resume.as_ref().map(|h| h.paused_by_afpool), Some(mine));
            assert!(!p.pause && p.after.held.is_none(), "{p:?}");
            assert_ne!(p.after.masks_written, fenced);
        }
        // Held again later (its pool deleted): the owner's pause stays theirs.
        let mut again = back[1].after.clone();
        again.held = jobs[1].held.clone();
        again.masks_written = back[1].after.masks_written.clone();
        let gone = claims(&mut None, &[again], &none, &HashMap::new(), &settings);
        let hold = gone[0].after.held.clone().unwrap();
        assert!(gone[0].pause && !hold.paused_by_afpool, "{hold:?}");
    }

    #[test]
    fn targets_are_kept_while_the_pools_stay_and_computed_again_when_they_change() {
        let settings = RouteSettings::default();
        let before = Arc::new(vec![Pool::new("gpu", ["gpu.node3"])]);
        let mut targets = None;
        let probe = [job(1, "gpu", JobMasks::default())];
        let routed = claims(&mut targets, &probe, &before, &HashMap::new(), &settings);
        let written = routed[0].after.masks_written.clone();
        let jobs = [
            job(1, "gpu", written.clone()),
            job(2, "gpu", written.clone()),
        ];
        assert!(claims(&mut targets, &jobs, &before, &HashMap::new(), &settings).is_empty());
        let kept = targets.as_ref().map(|t| Arc::ptr_eq(&t.pools, &before));
        assert_eq!(kept, Some(true));
        // The same pools again, in a new snapshot with another host: every job moves.
        let after = Arc::new(vec![Pool::new("gpu", ["gpu.node3", "gpu.node4"])]);
        let moved = claims(&mut targets, &jobs, &after, &HashMap::new(), &settings);
        assert_eq!(moved.len(), 2);
        assert_ne!(moved[0].after.masks_written, written);
        assert_eq!(moved[0].before.masks_written, written);
    }

    #[test]
    fn an_expression_job_follows_a_renamed_pool_and_a_changed_one() {
        let settings = RouteSettings::default();
        let pools = |gpu: &[&str]| {
            Arc::new(vec![
                Pool::new("gpu", gpu.to_vec()),
                Pool::new("legacy", ["old1"]),
            ])
        };
        let before = pools(&["g1", "old1"]);
        let probe = [job(1, "gpu&!legacy", JobMasks::default())];
        let first = claims(&mut None, &probe, &before, &HashMap::new(), &settings);
        let written = first[0].after.masks_written.clone();
        let exclude = written.hosts_mask_exclude.clone().unwrap();
        assert!(
            exclude.contains("g1") && !exclude.contains("old1"),
            "{exclude}"
        );
        // `old` renamed to `legacy` while the job named `gpu&!old`: it keeps its masks.
        let renames = HashMap::from([("old".to_string(), "legacy".to_string())]);
        let jobs = [job(1, "gpu&!old", written.clone())];
        let got = claims(&mut None, &jobs, &before, &renames, &settings);
        assert_eq!(got[0].after.pool, "gpu&!legacy");
        assert_eq!(got[0].after.masks_written, written);
        // A pool inside it gains a host: the job is re-targeted.
        let jobs = [job(1, "gpu&!legacy", written.clone())];
        let grown = claims(
            &mut None,
            &jobs,
            &pools(&["g1", "g2", "old1"]),
            &HashMap::new(),
            &settings,
        );
        let exclude = grown[0]
            .after
            .masks_written
            .hosts_mask_exclude
            .clone()
            .unwrap();
        assert!(
            exclude.contains("g2") && !exclude.contains("old1"),
            "{exclude}"
        );
    }
}
