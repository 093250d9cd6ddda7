//! Live pools: queued pool jobs follow pool edits, and edits of their masks cannot take them out
//! of their pool. [`LiveJobs`] ties the parts together for the proxy:
//! - `jobs`: [`jobs::JobIndex`], the in-memory copy of the registry the guard reads;
//! - `record`: registering a routed job once afserver answered it with an id;
//! - `target`: a job's masks for a pool, by the same routing as a submission;
//! - `retarget`: on every pool change, new masks to every live job of the pool, claimed once
//!   (`retarget_plan`: which jobs change, pure);
//! - `reconcile`: every ~30 s, the registry against afserver's `get jobs` for the registered
//!   ids; on start, every ~10 min and after a lost record, against afserver's whole list
//!   (`listed`: the replies read cheaply);
//! - `guard`: mask edits (`action` messages) of pool jobs merged with their pool;
//! - `action`: afserver `action` messages and sending them;
//! - `comeback`: held jobs routed and resumed when their pool gets usable hosts;
//! - `spill_after`: queued jobs of a spilling pool widened to its next fallback, once per step.
//!
//! The registry and audit log themselves are [`crate::store::recorder::Recorder`].

pub mod action;
pub mod clock;
pub mod comeback;
pub mod full_scan;
pub mod gate;
pub mod guard;
mod guard_clamp;
pub mod jobs;
pub mod listed;
pub mod reconcile;
mod reconciler;
pub mod record;
pub mod retarget;
mod retarget_plan;
pub mod spill_after;
pub mod target;
pub mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::job::{Outcome, Verdict};
use crate::routing::Router;
use crate::store::audit::{AuditEntry, AuditKind};
use crate::store::recorder::Recorder;
use crate::store::registry::PoolJob;
use crate::upstream::Upstream;

use guard::{Change, EditClamp, Guarded};
use jobs::JobIndex;

/// A guarded edit to forward in the client's place.
#[derive(Debug)]
pub struct GuardedEdit {
    /// The action to forward.
    pub body: Vec<u8>,
    /// The registered jobs whose pool lowered values of the edit.
    pub clamped: Vec<EditClamp>,
}
use record::{Accepted, Submitted};

/// How often and how much.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Between two reconciles with afserver.
    pub reconcile_every: Duration,
    /// Between two reconciles with afserver's whole job list (the others ask for the
    /// registered jobs only).
    pub full_scan_every: Duration,
    /// Most job ids in one `action`.
    pub max_batch: usize,
    /// Longest pause between retries of a failed re-target.
    pub max_backoff: Duration,
    /// What `spill_after` is measured with.
    pub clock: clock::Clock,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            reconcile_every: Duration::from_secs(30),
            full_scan_every: Duration::from_secs(600),
            max_batch: 1000,
            max_backoff: Duration::from_secs(30),
            clock: clock::Clock::default(),
        }
    }
}

/// The live pool jobs of one proxy.
pub struct LiveJobs {
    recorder: Recorder,
    index: JobIndex,
    router: Arc<Router>,
    upstream: Upstream,
    tuning: Tuning,
    wake: Notify,
    retargeted: watch::Sender<u64>,
    reconciles: watch::Sender<u64>,
    records: tokio::sync::mpsc::Sender<writer::Record>,
    /// A record was lost: the next reconcile reads afserver's whole list to adopt it.
    rescan: AtomicBool,
    /// The registered jobs as the last reconcile left them, for the re-target pass it wakes.
    reconciled: Mutex<Option<Vec<Arc<PoolJob>>>>,
    /// Jobs just registered, for a pass that checks them against the latest pools (they were
    /// routed with the pools of their submission; an edit meanwhile may have missed them).
    fresh: Mutex<Vec<Arc<PoolJob>>>,
    fresh_ready: Notify,
}

impl LiveJobs {
    /// Loads the registry, then re-targets on every change of `pools` and reconciles with
    /// afserver every `tuning.reconcile_every`, until `shutdown`.
    pub async fn start(
        recorder: Recorder,
        router: Arc<Router>,
        pools: Arc<dyn crate::routing::PoolFeed>,
        upstream: Upstream,
        tuning: Tuning,
        shutdown: CancellationToken,
    ) -> Arc<LiveJobs> {
        let (records, queued) = tokio::sync::mpsc::channel(writer::QUEUE);
        let live = Arc::new(LiveJobs {
            records,
            recorder,
            index: JobIndex::default(),
            router,
            upstream,
            tuning,
            wake: Notify::new(),
            retargeted: watch::Sender::new(0),
            reconciles: watch::Sender::new(0),
            rescan: AtomicBool::new(false),
            reconciled: Mutex::default(),
            fresh: Mutex::default(),
            fresh_ready: Notify::new(),
        });
        let mark = live.index.mark();
        match live.recorder.registry.list(None).await {
            Ok(jobs) => live.index.sync(&jobs, mark),
            Err(e) => tracing::warn!("cannot read the job registry yet: {e}"),
        }
        let retargeter = retarget::Retargeter::new(live.clone(), pools);
        tokio::spawn(retargeter.run(shutdown.clone()));
        tokio::spawn(writer::run(live.clone(), queued, shutdown.clone()));
        tokio::spawn(live.clone().reconcile_loop(shutdown));
        live
    }

    /// The registered jobs this proxy knows of.
    pub fn index(&self) -> &JobIndex {
        &self.index
    }

    /// Waits until a re-target pass computed from pools version `version` (or later) has sent
    /// what it could (bound it with a timeout).
    pub async fn wait_retargeted(&self, version: u64) {
        let _ = self
            .retargeted
            .subscribe()
            .wait_for(|v| *v >= version)
            .await;
    }

    /// Waits until `n` reconciles have ended (bound it with a timeout).
    pub async fn wait_reconciles(&self, n: u64) {
        let _ = self.reconciles.subscribe().wait_for(|r| *r >= n).await;
    }

    /// What to record of a submission, taken before it is forwarded.
    pub fn submitted(&self, outcome: &Outcome) -> Submitted {
        Submitted::of(outcome, self.router.settings())
    }

    /// afserver answered a forwarded submission with `reply`: enters a registering job in the job
    /// index and queues its record (or the audit of a held or passed one) for the writer. Called
    /// before the client has the reply: an edit the client sends the moment it learns the job's id
    /// must find the job guarded (the writer, which batches, may not have run yet).
    pub fn after_reply(self: &Arc<Self>, submitted: Submitted, reply: &[u8]) {
        let Some(accepted) = record::accepted(reply) else {
            return;
        };
        if submitted.registers() {
            self.index.insert(submitted.pool_job(accepted));
        } else {
            self.forget_reused(accepted);
        }
        if submitted.verdict == Verdict::NoPool {
            return;
        }
        if self.records.try_send((submitted, accepted)).is_err() {
            self.rescan.store(true, Ordering::Relaxed);
            tracing::warn!(
                job = accepted.id,
                "record queue full ({} waiting): job left to the reconcile loop",
                writer::QUEUE
            );
        }
    }

    /// afserver accepted a job afpool does not register under an id a registered pool job had:
    /// that job was deleted (afserver reuses ids at once) and is forgotten, so no re-target or
    /// guarded edit reaches the new job.
    fn forget_reused(self: &Arc<Self>, accepted: Accepted) {
        let Some(stale) = self.index.get(accepted.id) else {
            return;
        };
        if stale.serial.is_some() && stale.serial == accepted.serial {
            return;
        }
        self.index.remove(accepted.id);
        let live = self.clone();
        tokio::spawn(async move {
            if let Err(e) = live.recorder.registry.remove(accepted.id).await {
                tracing::warn!(
                    job = accepted.id,
                    "a deleted pool job stays registered until the next reconcile: {e}"
                );
            }
        });
    }

    /// A record could not be written: the next reconcile reads afserver's whole list.
    pub(crate) fn record_lost(&self) {
        self.rescan.store(true, Ordering::Relaxed);
    }

    /// A submission afpool refused: audited in a spawned task.
    pub fn rejected(self: &Arc<Self>, text: &str) {
        let live = self.clone();
        let entry = AuditEntry::now(AuditKind::JobRejected, action::ACTOR, "", text);
        tokio::spawn(async move { live.audit(entry).await });
    }

    /// Guards one JSON request body: `None` = relay it as it is; `Some(Ok(edit))` = forward
    /// `edit.body` instead; `Some(Err(text))` = refuse with this reason.
    pub fn guard(self: &Arc<Self>, body: &[u8]) -> Option<Result<GuardedEdit, String>> {
        if self.index.is_empty() {
            return None;
        }
        let (settings, inv) = (self.router.settings(), self.router.inventory());
        match guard::guard(body, |id| self.index.get(id), settings, &inv) {
            Guarded::Relay => None,
            Guarded::Refuse(text) => {
                tracing::info!("{text}");
                Some(Err(text))
            }
            Guarded::Rewrite {
                body,
                extra,
                changes,
                who,
                clamped,
            } => {
                if !changes.is_empty() {
                    tracing::info!(jobs = changes.len(), %who,
                        "afpool merged a mask edit of pool jobs with their pools");
                }
                for c in &clamped {
                    tracing::info!(job = c.job_id, %who, "[pool: {}] edit clamped: {}",
                        c.pool, c.clamps.join(", "));
                }
                self.apply(changes, extra, who, &clamped);
                Some(Ok(GuardedEdit { body, clamped }))
            }
        }
    }

    /// Applies a guarded edit: index now; registry, extra actions and audit in a spawned task.
    fn apply(
        self: &Arc<Self>,
        changes: Vec<Change>,
        extra: Vec<Vec<u8>>,
        who: String,
        clamped: &[EditClamp],
    ) {
        let clamp_entries: Vec<AuditEntry> = (clamped.iter())
            .map(|c| {
                let detail = format!(
                    "edit of job '{}' clamped by pool '{}': {}",
                    c.job_name,
                    c.pool,
                    c.clamps.join(", ")
                );
                AuditEntry::now(AuditKind::JobClamped, &who, &c.pool, detail).job(c.job_id)
            })
            .collect();
        for change in &changes {
            match change {
                Change::Keep(job) => self.index.insert(job.clone()),
                Change::Release(job) => self.index.remove(job.job_id),
            }
        }
        let mark = self.index.mark();
        let live = self.clone();
        tokio::spawn(async move {
            for body in extra {
                if let Err(e) = action::send(&live.upstream, &body).await {
                    tracing::warn!("part of a guarded edit was not applied: {e}");
                }
            }
            for change in changes {
                live.record_change(change, &who, mark).await;
            }
            if !clamp_entries.is_empty() {
                if let Err(e) = live.recorder.audit.append_many(&clamp_entries).await {
                    tracing::warn!("clamped edits not recorded in the audit log: {e}");
                }
            }
        });
    }

    async fn record_change(&self, change: Change, who: &str, mark: u64) {
        let registry = &self.recorder.registry;
        let (job, written, detail) = match &change {
            Change::Keep(job) => (job, registry.upsert(job).await, "merged with pool"),
            Change::Release(job) => {
                let removed = registry.remove(job.job_id).await.map(|_| ());
                self.untag(job.job_id).await;
                (job, removed, "released from pool")
            }
        };
        if let Err(e) = written {
            tracing::warn!(
                job = job.job_id,
                "guarded edit not recorded in the registry: {e}"
            );
        }
        match &change {
            Change::Keep(job) => self.index.confirm(job.job_id, Some(job.clone()), mark),
            Change::Release(job) => self.index.confirm(job.job_id, None, mark),
        }
        if let Change::Keep(PoolJob { held: Some(_), .. }) = &change {
            // A held job moved into a pool (`pool:NAME` in afwatch): the pass brings it back.
            self.wake.notify_one();
        }
        let detail = format!(
            "mask edit of job '{}' {detail} '{}'",
            job.job_name, job.pool
        );
        let after = serde_json::to_value(&job.masks_written).ok();
        let entry = AuditEntry::now(AuditKind::GuardedEdit, who, &job.pool, detail);
        self.audit(entry.job(job.job_id).change(None, after)).await;
    }

    /// Removes afpool's `[pool: NAME]` tag from a released job's annotation, so that no
    /// reconcile adopts it again.
    async fn untag(&self, id: i64) {
        let Ok(jobs) = reconcile::fetch_ids(&self.upstream, &[id]).await else {
            return tracing::warn!(job = id, "released job keeps its [pool: ...] tag");
        };
        let Some(job) = jobs.into_iter().find(|j| j.id == id) else {
            return;
        };
        let Some(annotation) = reconcile::untagged(&job.annotation) else {
            return;
        };
        let mut params = serde_json::Map::new();
        params.insert("annotation".into(), annotation.into());
        if let Err(e) = action::send(&self.upstream, &action::set_params(&[id], &params)).await {
            tracing::warn!(job = id, "released job keeps its [pool: ...] tag: {e}");
        }
    }

    async fn audit(&self, entry: AuditEntry) {
        if let Err(e) = self.recorder.audit.append(&entry).await {
            tracing::warn!("audit entry lost: {e}");
        }
    }

    /// Jobs the writer just registered: the re-targeter checks them against the latest pools.
    fn registered(&self, jobs: &[Arc<PoolJob>]) {
        let mut fresh = self.fresh.lock().unwrap_or_else(PoisonError::into_inner);
        fresh.extend(jobs.iter().cloned());
        self.fresh_ready.notify_one();
    }

    /// The jobs registered since the last call.
    fn take_fresh(&self) -> Vec<Arc<PoolJob>> {
        std::mem::take(&mut *self.fresh.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The jobs the last reconcile left for the re-target pass, if no pass took them yet.
    fn take_reconciled(&self) -> Option<Vec<Arc<PoolJob>>> {
        let mut slot = self
            .reconciled
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slot.take()
    }
}
