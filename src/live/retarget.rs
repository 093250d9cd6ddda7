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

use crate::routing::{changed, PoolFeed};
use crate::store::audit::{AuditEntry, AuditKind};
use crate::store::registry::{Held, PoolJob};
use crate::store::Pool;

use super::action;
use super::comeback::{self, Resumed};
use super::retarget_plan::{self as plan, Pending};
use super::LiveJobs;

/// What woke the re-targeter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Woken {
    /// The pools changed (or a retry is due, or the first pass): every registered job.
    Changed,
    /// A reconcile adopted jobs and handed over what it read.
    Reconciled,
    /// The writer registered jobs.
    Registered,
}

/// Jobs sent together: one mask set, whether they are paused (held now), whether they come
/// back (held before), their ids.
type Group = (Map<String, Value>, bool, bool, Vec<i64>);

/// First pause before retrying a failed send.
const FIRST_RETRY: Duration = Duration::from_millis(250);

/// The re-targeting task of one proxy.
pub(super) struct Retargeter {
    live: Arc<LiveJobs>,
    pools: Arc<dyn PoolFeed>,
    pending: BTreeMap<i64, Pending>,
    backoff: Duration,
    failing: bool,
    previous: Arc<Vec<Pool>>,
    targets: Option<plan::Targets>,
}

impl Retargeter {
    pub(super) fn new(live: Arc<LiveJobs>, pools: Arc<dyn PoolFeed>) -> Self {
        Retargeter {
            live,
            previous: pools.current(),
            targets: None,
            pools,
            pending: BTreeMap::new(),
            backoff: FIRST_RETRY,
            failing: false,
        }
    }

    /// Runs until `shutdown`: a pass on start, on every pool change, on a wake-up (reconcile
    /// adopted jobs) and, while sends are pending, after each backoff.
    pub(super) async fn run(mut self, shutdown: CancellationToken) {
        let mut changes = self.pools.changes();
        let mut woken = Woken::Changed;
        loop {
            let version = self.pools.version();
            self.pass(woken).await;
            self.flush().await;
            self.live.retargeted.send_replace(version);
            let retry = async {
                match self.pending.is_empty() {
                    true => std::future::pending().await,
                    false => tokio::time::sleep(self.backoff).await,
                }
            };
            woken = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = changed(&mut changes) => Woken::Changed,
                _ = self.live.wake.notified() => Woken::Reconciled,
                _ = self.live.fresh_ready.notified() => Woken::Registered,
                _ = retry => Woken::Changed,
            };
        }
    }

    /// Computes every registered job's masks and claims those that changed. Woken by a
    /// reconcile, the jobs it read (and loaded into the index) are used; otherwise (pools
    /// changed, a retry) the registry is read again and the index reloaded. The computing runs
    /// off the proxy's workers: a farm's registry holds tens of thousands of jobs.
    async fn pass(&mut self, woken: Woken) {
        let registry = &self.live.recorder.registry;
        let fresh = match woken {
            Woken::Registered => self.live.take_fresh(),
            _ => Vec::new(),
        };
        let current = self.pools.current();
        // Pools unchanged since the last pass: only the new jobs can be behind; changed, the
        // full pass below finds them registered.
        if woken == Woken::Registered && Arc::ptr_eq(&current, &self.previous) {
            return self.check(fresh, current).await;
        }
        let handed = self
            .live
            .take_reconciled()
            .filter(|_| woken == Woken::Reconciled);
        let (jobs, reload) = match handed {
            Some(jobs) => (jobs, None),
            None => {
                let mark = self.live.index.mark();
                match registry.list(None).await {
                    Ok(jobs) => (jobs, Some(mark)),
                    Err(e) => {
                        return tracing::warn!(
                            "cannot read the job registry; re-targeting later: {e}"
                        )
                    }
                }
            }
        };
        let renames = plan::renamed(&self.previous, &current);
        self.previous = current.clone();
        let live = self.live.clone();
        // The jobs are also dropped there: freeing tens of thousands of records takes a while.
        let mut targets = self.targets.take();
        let computing = tokio::task::spawn_blocking(move || {
            let settings = live.router.settings();
            let claims = plan::claims(&mut targets, &jobs, &current, &renames, settings);
            if let Some(mark) = reload {
                live.index.sync(&jobs, mark);
            }
            (claims, targets)
        });
        match computing.await {
            Ok((claims, targets)) => {
                self.targets = targets;
                self.claim(claims).await;
            }
            Err(e) => tracing::error!("re-target pass failed; retrying later: {e}"),
        }
    }

    /// Claims re-targets of just-registered jobs whose masks are behind `current` (the pools
    /// of the last pass).
    async fn check(&mut self, fresh: Vec<Arc<PoolJob>>, current: Arc<Vec<Pool>>) {
        if fresh.is_empty() {
            return;
        }
        let live = self.live.clone();
        let mut targets = self.targets.take();
        let computing = tokio::task::spawn_blocking(move || {
            let settings = live.router.settings();
            let renames = Default::default();
            let claims = plan::claims(&mut targets, &fresh, &current, &renames, settings);
            (claims, targets)
        });
        match computing.await {
            Ok((claims, targets)) => {
                self.targets = targets;
                self.claim(claims).await;
            }
            Err(e) => tracing::error!("checking registered jobs failed: {e}"),
        }
    }

    /// Claims `claims` in the registry (another proxy may win some) and queues what to send.
    async fn claim(&mut self, claims: Vec<Pending>) {
        if claims.is_empty() {
            return;
        }
        let pairs: Vec<(PoolJob, PoolJob)> = claims
            .iter()
            .map(|c| (c.after.clone(), c.before.clone()))
            .collect();
        let won = match self.live.recorder.registry.replace_many_if(&pairs).await {
            Ok(won) => won,
            Err(e) => return tracing::warn!("cannot claim re-targets; retrying: {e}"),
        };
        for (next, won) in claims.into_iter().zip(won) {
            if !won {
                continue; // another proxy claimed it first
            }
            self.live.index.insert(next.after.clone());
            let moved = next.after.masks_written != next.before.masks_written;
            if moved || next.pause || next.resume.is_some() {
                self.pending.insert(next.after.job_id, next);
            }
        }
    }

    /// Sends every pending job, one action per distinct mask set (at most `max_batch` ids).
    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut groups: Vec<Group> = Vec::new();
        for (id, p) in &self.pending {
            let resume = p.resume.is_some();
            // A full group does not take more ids, but a later group of the same set may.
            let max = self.live.tuning.max_batch;
            match groups
                .iter_mut()
                .find(|g| g.0 == p.params && g.1 == p.pause && g.2 == resume && g.3.len() < max)
            {
                Some(g) => g.3.push(*id),
                None => groups.push((p.params.clone(), p.pause, resume, vec![*id])),
            }
        }
        for (params, pause, resume, ids) in groups {
            match self.send(&params, pause, resume, &ids).await {
                Ok(resumed) => self.done(&ids, &resumed),
                Err(e) => return self.failed(e, ids.len()),
            }
        }
        if self.failing {
            tracing::info!("afserver takes re-targets again; every pending job was updated");
        }
        (self.failing, self.backoff) = (false, FIRST_RETRY);
    }

    /// Sends one mask set to `ids`, then pauses them (held now) or brings them back (held
    /// before): what happened to each job that came back.
    async fn send(
        &self,
        params: &Map<String, Value>,
        pause: bool,
        resume: bool,
        ids: &[i64],
    ) -> Result<HashMap<i64, Resumed>, action::ActionError> {
        let upstream = &self.live.upstream;
        action::send(upstream, &action::set_params(ids, params)).await?;
        if pause {
            comeback::pause(&self.live, ids).await?;
        }
        if !resume {
            return Ok(HashMap::new());
        }
        let pending: Vec<&Pending> = ids.iter().filter_map(|id| self.pending.get(id)).collect();
        let jobs: Vec<&PoolJob> = pending.iter().map(|p| &p.after).collect();
        let holds: HashMap<i64, Held> = (pending.iter())
            .filter_map(|p| Some((p.after.job_id, p.resume.clone()?)))
            .collect();
        comeback::resume(&self.live, &jobs, &holds).await
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
    fn done(&mut self, ids: &[i64], resumed: &HashMap<i64, Resumed>) {
        let sent: Vec<Pending> = ids
            .iter()
            .filter_map(|id| self.pending.remove(id))
            .collect();
        tracing::info!(jobs = sent.len(), "live jobs re-targeted");
        let live = self.live.clone();
        let resumed = resumed.clone();
        tokio::spawn(async move {
            for p in sent {
                if p.release {
                    live.index.remove(p.after.job_id);
                    let _ = live.recorder.registry.remove(p.after.job_id).await;
                }
                let entry = match resumed.get(&p.after.job_id) {
                    Some(how) => resumed_entry(&p, *how),
                    None => retarget_entry(&p),
                };
                live.audit(entry).await;
            }
        });
    }
}

/// The `job_resumed` entry of a held job that came back into its pool.
fn resumed_entry(p: &Pending, how: Resumed) -> AuditEntry {
    let after = &p.after;
    let why = p.resume.as_ref().map_or("", |h| h.reason.as_str());
    let detail = format!(
        "job '{}' of {} routed to pool '{}' {} (it was {why})",
        after.job_name,
        after.user,
        after.pool,
        how.words()
    );
    AuditEntry::now(AuditKind::JobResumed, action::ACTOR, &after.pool, detail)
        .job(after.job_id)
        .change(
            serde_json::to_value(&p.before.masks_written).ok(),
            serde_json::to_value(&after.masks_written).ok(),
        )
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
