//! Re-targeting: whenever the pools change (from the CLI, the store edited directly, another
//! proxy, MongoDB by hand; [`LivePools`] notices them all), every registered job's masks are
//! computed again with the same routing as a submission ([`super::target::compute`]). A job
//! whose masks change is first claimed in the registry with a compare-and-set on its written
//! masks ([`crate::store::registry::JobRegistry::replace_if`]), so of several proxies on one
//! store exactly one sends it; then the jobs are sent in batches, one `action` per distinct mask
//! set. A failed send stays pending and is retried with backoff (afserver down: until it is back),
//! newer masks of the same job replacing older ones; nothing is dropped. A pool that vanished
//! while a new one with the same hosts appeared was renamed: its jobs follow the new name
//! (registry only, their masks do not change).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::job::Inventory;
use crate::store::audit::{AuditEntry, AuditKind};
use crate::store::live::LivePools;
use crate::store::registry::{JobMasks, PoolJob};
use crate::store::Pool;

use super::action;
use super::target::{compute, Computed};
use super::LiveJobs;

/// First pause before retrying a failed send.
const FIRST_RETRY: Duration = Duration::from_millis(250);

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
struct Pending {
    params: Map<String, Value>,
    pause: bool,
    release: bool,
    before: PoolJob,
    after: PoolJob,
}

/// The re-targeting task of one proxy.
pub(super) struct Retargeter {
    live: Arc<LiveJobs>,
    pools: Arc<LivePools>,
    pending: BTreeMap<i64, Pending>,
    backoff: Duration,
    failing: bool,
    previous: Arc<Vec<Pool>>,
}

impl Retargeter {
    pub(super) fn new(live: Arc<LiveJobs>, pools: Arc<LivePools>) -> Self {
        Retargeter {
            live,
            previous: pools.current(),
            pools,
            pending: BTreeMap::new(),
            backoff: FIRST_RETRY,
            failing: false,
        }
    }

    /// Runs until `shutdown`: a pass on start, on every pool change, on a wake-up (reconcile
    /// adopted jobs) and, while sends are pending, after each backoff.
    pub(super) async fn run(mut self, shutdown: CancellationToken) {
        let mut changes = self.pools.subscribe();
        loop {
            let version = self.pools.version();
            self.pass().await;
            self.flush().await;
            self.live.retargeted.send_replace(version);
            let retry = async {
                match self.pending.is_empty() {
                    true => std::future::pending().await,
                    false => tokio::time::sleep(self.backoff).await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = changes.changed() => if r.is_err() { return },
                _ = self.live.wake.notified() => {}
                _ = retry => {}
            }
        }
    }

    /// Computes every registered job's masks and claims those that changed.
    async fn pass(&mut self) {
        let registry = &self.live.recorder.registry;
        let mark = self.live.index.mark();
        let jobs = match registry.list(None).await {
            Ok(jobs) => jobs,
            Err(e) => {
                return tracing::warn!("cannot read the job registry; re-targeting later: {e}")
            }
        };
        let current = self.pools.current();
        let renames = renamed(&self.previous, &current);
        self.previous = current.clone();
        let inv = Inventory::new(current.to_vec(), Vec::new());
        let mut claims = Vec::new();
        // Jobs with the same own masks in the same pool get the same masks: route each set once.
        // Keys borrow from `jobs`: a farm's registry is tens of thousands of jobs.
        let mut memo: HashMap<(&JobMasks, &str), Computed> = HashMap::new();
        let settings = self.live.router.settings();
        for job in &jobs {
            let pool = renames.get(&job.pool).unwrap_or(&job.pool).as_str();
            let computed = memo.entry((&job.user_masks, pool)).or_insert_with(|| {
                let (user, name, owner) = (&job.user_masks, &job.job_name, &job.user);
                compute(user, name, owner, pool, settings, &inv)
            });
            if let Some(next) = self.next(job, pool, computed.clone()) {
                claims.push(next);
            }
        }
        drop(memo);
        self.live.reload_index(jobs, mark).await;
        if claims.is_empty() {
            return;
        }
        let pairs: Vec<(PoolJob, PoolJob)> = claims
            .iter()
            .map(|c| (c.after.clone(), c.before.clone()))
            .collect();
        let won = match registry.replace_many_if(&pairs).await {
            Ok(won) => won,
            Err(e) => return tracing::warn!("cannot claim re-targets; retrying: {e}"),
        };
        for (next, won) in claims.into_iter().zip(won) {
            if !won {
                continue; // another proxy claimed it first
            }
            self.live.index.insert(next.after.clone());
            if next.after.masks_written != next.before.masks_written || next.pause {
                self.pending.insert(next.after.job_id, next);
            }
        }
    }

    /// The job's next state in `pool` with its `computed` masks, if its masks or pool change.
    fn next(&self, job: &PoolJob, pool: &str, computed: Computed) -> Option<Pending> {
        let (pool, masks, pause, release) = match computed {
            Computed::Routed { pool, masks } => (pool, masks, false, false),
            Computed::Held { masks, .. } => (pool.to_string(), masks, true, false),
            Computed::Released { masks } => (pool.to_string(), masks, false, true),
            Computed::Refused(why) => {
                if job.masks_written != fence() {
                    tracing::warn!(job = job.job_id, pool = %job.pool,
                        "job's own masks leave none of its pool; fencing and pausing it: {why}");
                }
                (pool.to_string(), fence(), true, false)
            }
        };
        if masks == job.masks_written && pool == job.pool {
            return None;
        }
        let mut after = job.clone();
        (after.pool, after.masks_written) = (pool, masks.clone());
        Some(Pending {
            params: action::params(&masks),
            pause,
            release,
            before: job.clone(),
            after,
        })
    }

    /// Sends every pending job, one action per distinct mask set (at most `max_batch` ids).
    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut groups: Vec<(Map<String, Value>, bool, Vec<i64>)> = Vec::new();
        for (id, p) in &self.pending {
            match groups
                .iter_mut()
                .find(|g| g.0 == p.params && g.1 == p.pause)
            {
                Some(g) if g.2.len() < self.live.tuning.max_batch => g.2.push(*id),
                _ => groups.push((p.params.clone(), p.pause, vec![*id])),
            }
        }
        for (params, pause, ids) in groups {
            match self.send(&params, pause, &ids).await {
                Ok(()) => self.done(&ids),
                Err(e) => return self.failed(e, ids.len()),
            }
        }
        if self.failing {
            tracing::info!("afserver takes re-targets again; every pending job was updated");
        }
        (self.failing, self.backoff) = (false, FIRST_RETRY);
    }

    async fn send(
        &self,
        params: &Map<String, Value>,
        pause: bool,
        ids: &[i64],
    ) -> Result<(), action::ActionError> {
        let upstream = &self.live.upstream;
        action::send(upstream, &action::set_params(ids, params)).await?;
        if pause {
            action::send(upstream, &action::operation(ids, "pause")).await?;
        }
        Ok(())
    }

    fn failed(&mut self, e: action::ActionError, jobs: usize) {
        let pending = self.pending.len();
        if !self.failing {
            tracing::warn!(
                pending,
                "re-target of {jobs} jobs failed; retrying with backoff: {e}"
            );
        } else {
            tracing::debug!(pending, "re-target still failing: {e}");
        }
        self.failing = true;
        self.backoff = (self.backoff * 2).min(self.live.tuning.max_backoff);
    }

    /// Jobs `ids` were updated: forget them, audit, unregister released ones.
    fn done(&mut self, ids: &[i64]) {
        let sent: Vec<Pending> = ids
            .iter()
            .filter_map(|id| self.pending.remove(id))
            .collect();
        tracing::info!(jobs = sent.len(), "live jobs re-targeted");
        let live = self.live.clone();
        tokio::spawn(async move {
            for p in sent {
                if p.release {
                    live.index.remove(p.after.job_id);
                    let _ = live.recorder.registry.remove(p.after.job_id).await;
                }
                live.audit(retarget_entry(&p)).await;
            }
        });
    }
}

/// Pools renamed between two snapshots: old name → new name, when exactly one vanished pool
/// and one new pool have the same hosts.
fn renamed(before: &[Pool], after: &[Pool]) -> HashMap<String, String> {
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

fn retarget_entry(p: &Pending) -> AuditEntry {
    let (before, after) = (&p.before, &p.after);
    let what = match (p.release, p.pause) {
        (true, _) => "released (its pool is gone)",
        (_, true) => "fenced and paused",
        _ => "given its pool's new masks",
    };
    let detail = format!("job '{}' of {} {what}", after.job_name, after.user);
    AuditEntry::now(
        AuditKind::Retarget,
        super::action::ACTOR,
        &after.pool,
        detail,
    )
    .job(after.job_id)
    .change(
        serde_json::to_value(&before.masks_written).ok(),
        serde_json::to_value(&after.masks_written).ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
