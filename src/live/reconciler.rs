//! The reconcile loop of one proxy: every `reconcile_every` the registry is compared with what
//! afserver holds ([`super::reconcile::plan`]), asking afserver for the registered ids, or for
//! its whole list on start, every `full_scan_every` and after a lost record; deleted jobs (and
//! jobs at reused ids) leave the registry, lost tagged jobs are adopted, the index is reloaded.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::store::registry::PoolJob;

use super::comeback;
use super::listed;
use super::reconcile::AfJob;
use super::reconcile::{self, Plan, Scan};
use super::spill_after;
use super::LiveJobs;

impl LiveJobs {
    /// Reconciles now and every `reconcile_every` until `shutdown`: with afserver's whole list
    /// first, then every `full_scan_every` or after a lost record, else with the registered ids.
    pub(super) async fn reconcile_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut full_at: Option<Instant> = None;
        loop {
            let due = full_at.is_none_or(|t| t.elapsed() >= self.tuning.full_scan_every);
            let full = self.rescan.swap(false, Ordering::Relaxed) || due;
            let scan = if full { Scan::Full } else { Scan::Registered };
            match self.reconcile(scan).await {
                true if full => full_at = Some(Instant::now()),
                false if full => self.rescan.store(true, Ordering::Relaxed),
                _ => {}
            }
            crate::memory::trim_off_workers().await;
            self.reconciles.send_modify(|r| *r += 1);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.tuning.reconcile_every) => {}
            }
        }
    }

    /// One reconcile: drop deleted jobs (and those whose id afserver gave to another job),
    /// adopt lost ones, reload the index; `false` when afserver or the registry could not be
    /// read. The comparison and the reload run off the proxy's workers: afserver's list and the
    /// registry can both hold tens of thousands of jobs.
    pub async fn reconcile(self: &Arc<Self>, scan: Scan) -> bool {
        // The registry first: a job registered after this read is not taken for deleted.
        let mark = self.index.mark();
        let Ok(registered) = self.recorder.registry.list(None).await else {
            return false;
        };
        let afserver = match listed::fetch(&self.upstream, scan, &registered).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::debug!("cannot reconcile the job registry yet: {e}");
                return false;
            }
        };
        let mode = self.router.settings().mask_mode;
        let (inv, now) = (self.router.inventory(), self.tuning.clock.now());
        let compared = tokio::task::spawn_blocking(move || {
            let plan = reconcile::plan(&registered, &afserver, mode);
            let refs: Vec<&PoolJob> = registered.iter().map(|j| j.as_ref()).collect();
            let listed: HashMap<i64, &AfJob> = afserver.iter().map(|j| (j.id, j)).collect();
            let steps = spill_after::due(&refs, &listed, inv.pools(), now.timestamp_millis());
            let unpaused = comeback::unpaused(&refs, &listed);
            (plan, steps, unpaused, registered)
        });
        let Ok((plan, steps, unpaused, registered)) = compared.await else {
            return false;
        };
        let stepped = spill_after::take(self, steps).await;
        let unpaused = comeback::not_afpools(self, &unpaused).await;
        let registered = replaced(replaced(registered, stepped), unpaused);
        self.apply_plan(plan, registered, mark).await;
        // A re-target pass after every reconcile, on the jobs it read, also catches jobs
        // registered during a pass.
        self.wake.notify_one();
        true
    }

    /// Writes `plan` to the registry, brings the index to what it leaves and hands that to the
    /// re-target pass. Only the dropped and adopted jobs are looked at on the proxy's workers.
    async fn apply_plan(self: &Arc<Self>, plan: Plan, registered: Vec<Arc<PoolJob>>, mark: u64) {
        let registry = &self.recorder.registry;
        let dropping: HashSet<i64> = plan.drop.iter().copied().collect();
        let serials: HashMap<i64, Option<i64>> = match dropping.is_empty() {
            true => HashMap::new(),
            false => (registered.iter())
                .filter(|j| dropping.contains(&j.job_id))
                .map(|j| (j.job_id, j.serial))
                .collect(),
        };
        let mut dropped = HashSet::new();
        for id in plan.drop {
            // Registered again meanwhile (afserver gave the id to a new pool job): kept.
            match registry.get(id).await {
                Ok(Some(now)) if Some(&now.serial) != serials.get(&id) => continue,
                _ => {}
            }
            match registry.remove(id).await {
                Ok(_) => drop(dropped.insert(id)),
                Err(e) => tracing::warn!(job = id, "deleted job stays registered for now: {e}"),
            }
        }
        let mut adopted = Vec::new();
        for job in plan.adopt {
            // Registered meanwhile (by any proxy): not lost. A job registered right after
            // this check is written again by its registration, which wins.
            let taken = !matches!(registry.get(job.job_id).await, Ok(None));
            if taken {
                continue;
            }
            match registry.upsert(&job).await {
                Ok(()) => adopted.push(Arc::new(job)),
                Err(e) => tracing::warn!(job = job.job_id, "pool job not adopted yet: {e}"),
            }
        }
        if !dropped.is_empty() || !adopted.is_empty() {
            tracing::info!(
                dropped = dropped.len(),
                adopted = adopted.len(),
                "job registry reconciled with afserver"
            );
        }
        let live = self.clone();
        let hand_over = tokio::task::spawn_blocking(move || {
            let mut current = registered;
            current.retain(|j| !dropped.contains(&j.job_id));
            current.extend(adopted);
            live.index.sync(&current, mark);
            tracing::debug!(jobs = current.len(), "job index reloaded after a reconcile");
            *live
                .reconciled
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(current);
        });
        if let Err(e) = hand_over.await {
            tracing::warn!("the job index was not reloaded: {e}");
        }
    }
}

/// `registered` with the jobs of `changed` in place of their older records.
fn replaced(mut registered: Vec<Arc<PoolJob>>, changed: Vec<PoolJob>) -> Vec<Arc<PoolJob>> {
    if changed.is_empty() {
        return registered;
    }
    let mut by_id: HashMap<i64, PoolJob> = changed.into_iter().map(|j| (j.job_id, j)).collect();
    for slot in registered.iter_mut() {
        if let Some(job) = by_id.remove(&slot.job_id) {
            *slot = Arc::new(job);
        }
    }
    registered
}
