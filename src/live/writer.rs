//! The record writer: what the proxy routed reaches the registry and the audit log through one
//! bounded queue and one task, in batches (one registry write per batch, however many jobs afserver
//! accepted meanwhile), so a burst of submissions costs the store a few writes, not one each, and
//! never piles up tasks. When the queue is full the record is left to the reconcile loop, which
//! adopts pool jobs from afserver's `[pool: NAME]` annotation.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::record::{Accepted, Submitted};
use super::LiveJobs;
use crate::job::Verdict;
use crate::store::audit::{AuditEntry, AuditKind};
use crate::store::registry::PoolJob;

/// Records waiting to be written, at most.
pub const QUEUE: usize = 16 * 1024;
/// Records written in one batch, at most.
const BATCH: usize = 1024;
/// How long a batch gathers records after its first one arrived (unless it fills first): at a
/// steady stream of submissions this makes one write per window instead of one per job.
const GATHER: Duration = Duration::from_millis(50);

/// One submission afserver accepted.
pub type Record = (Submitted, Accepted);

/// Write what arrives on `rx` until `shutdown` (what is queued then is still written).
pub async fn run(live: Arc<LiveJobs>, mut rx: mpsc::Receiver<Record>, shutdown: CancellationToken) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let n = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => n,
            _ = shutdown.cancelled() => {
                rx.close();
                rx.recv_many(&mut batch, QUEUE).await
            }
        };
        if n == 0 {
            return;
        }
        gather(&mut rx, &mut batch, &shutdown).await;
        write(&live, std::mem::take(&mut batch)).await;
        if shutdown.is_cancelled() && rx.is_empty() {
            return;
        }
    }
}

/// Adds what arrives within [`GATHER`] to `batch`, up to [`BATCH`]; at once on shutdown.
async fn gather(
    rx: &mut mpsc::Receiver<Record>,
    batch: &mut Vec<Record>,
    shutdown: &CancellationToken,
) {
    let until = tokio::time::Instant::now() + GATHER;
    while batch.len() < BATCH && !shutdown.is_cancelled() {
        let more = tokio::select! {
            n = rx.recv_many(batch, BATCH - batch.len()) => n,
            _ = tokio::time::sleep_until(until) => return,
            _ = shutdown.cancelled() => return,
        };
        if more == 0 {
            return;
        }
    }
}

async fn write(live: &Arc<LiveJobs>, batch: Vec<Record>) {
    let (routed, other): (Vec<Record>, Vec<Record>) = batch
        .into_iter()
        .partition(|(s, _)| s.verdict == Verdict::Routed);
    let spills: Vec<AuditEntry> = (routed.iter())
        .filter_map(|(s, accepted)| {
            let why = s.spilled.as_ref()?;
            let detail = format!("job '{}': {why}", s.job_name);
            let entry = AuditEntry::now(AuditKind::JobSpilled, &s.user, &s.pool, detail);
            Some(entry.job(accepted.id))
        })
        .collect();
    let clamped: Vec<AuditEntry> = routed.iter().filter_map(clamp_entry).collect();
    let jobs: Vec<_> = routed
        .into_iter()
        .map(|(s, accepted)| (Arc::new(s.pool_job(accepted)), s.user.to_string()))
        .collect();
    let n = jobs.len();
    // Held jobs are registered too, to come back when their pool does (audited as held below).
    let held: Vec<Arc<PoolJob>> = (other.iter())
        .filter(|(s, _)| s.registers())
        .map(|(s, accepted)| Arc::new(s.pool_job(*accepted)))
        .collect();
    // One copy of each job, shared by the index and the registry's view. The index is written
    // off the workers: a growing index now and then moves every job to a larger table.
    let registered: Vec<Arc<PoolJob>> = (jobs.iter().map(|(job, _)| job.clone()))
        .chain(held.iter().cloned())
        .collect();
    let (index, shared) = (live.clone(), registered.clone());
    let inserted = tokio::task::spawn_blocking(move || index.index.insert_many(shared));
    if let Err(e) = inserted.await {
        tracing::warn!("routed jobs not entered in the job index: {e}");
    }
    let mark = live.index.mark();
    if let Err(e) = live.recorder.record_routed_many(jobs).await {
        live.record_lost();
        tracing::warn!(
            jobs = n,
            "routed jobs not recorded in the registry or audit log (the reconcile loop adopts them): {e}"
        );
    }
    if !held.is_empty() {
        if let Err(e) = live.recorder.registry.upsert_many(&held).await {
            tracing::warn!(
                jobs = held.len(),
                "held jobs not registered: they stay held when their pool comes back: {e}"
            );
        }
    }
    // Again once stored: a reload that read the registry before the write began after the
    // first insert must not hide the jobs.
    let (index, fresh) = (live.clone(), registered.clone());
    let confirmed = tokio::task::spawn_blocking(move || index.index.confirm_many(registered, mark));
    if let Err(e) = confirmed.await {
        tracing::warn!("routed jobs not confirmed in the job index: {e}");
    }
    // A pool edit between a job's routing and this write re-targeted the registry without it.
    live.registered(&fresh);
    let decisions = other.iter().map(|(submitted, accepted)| {
        let (kind, reason) = (submitted.audit_kind(), &submitted.reason);
        let detail = format!("job '{}': {reason}", submitted.job_name);
        let mut entry = AuditEntry::now(kind, &submitted.user, &submitted.pool, detail);
        entry.job_id = Some(accepted.id);
        entry
    });
    let decisions: Vec<AuditEntry> = spills.into_iter().chain(decisions).chain(clamped).collect();
    if let Err(e) = live.recorder.audit.append_many(&decisions).await {
        let n = decisions.len();
        tracing::warn!(
            jobs = n,
            "held, passed or spilled jobs not recorded in the audit log: {e}"
        );
    }
}

/// The `job_clamped` entry of a routed job whose pool lowered some of its values (routing ends
/// its reason with `; clamped: priority 250→150, ...`).
fn clamp_entry((submitted, accepted): &Record) -> Option<AuditEntry> {
    let (_, clamps) = submitted.reason.rsplit_once("; clamped: ")?;
    let (job, pool) = (&submitted.job_name, &submitted.pool);
    let detail = format!("job '{job}' clamped by pool '{pool}': {clamps}");
    let mut entry = AuditEntry::now(AuditKind::JobClamped, &submitted.user, pool, detail);
    entry.job_id = Some(accepted.id);
    Some(entry)
}
