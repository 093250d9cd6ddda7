//! [`JobIndex`]: this proxy's in-memory copy of the registered pool jobs, so the guard can tell
//! on the request path, without I/O, whether an edited job is a pool job. The registry in the
//! pool store stays the truth: the index is reloaded from it by every re-target pass and
//! reconcile, and updated at once by what this proxy records itself. A reload keeps what this
//! proxy changed after the reload's read began ([`JobIndex::mark`]), so a read that raced a
//! registration cannot hide the job.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use crate::store::registry::PoolJob;

/// Registered pool jobs by afserver job id.
#[derive(Debug, Default)]
pub struct JobIndex {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Shared with the file registry's view and the reconcile's lists: one copy of each job.
    /// (`PoolJob` is `Eq`, so comparing two `Arc`s looks at the pointer before the fields.)
    jobs: HashMap<i64, Arc<PoolJob>>,
    /// Change counter, and the count at each job's last insert or removal here (kept for
    /// [`FORGET_AFTER`], far longer than any registry read, so overlapping reloads all see it).
    clock: u64,
    touched: HashMap<i64, u64>,
    /// Every touch in clock order, to find those since a mark and forget old ones without
    /// looking at the others: at 2,000 jobs/s the last [`FORGET_AFTER`] holds a million.
    log: VecDeque<(u64, i64, Instant)>,
}

/// How long a local change outranks reloads begun before it.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// Jobs compared per read-lock hold while a reload looks for what changed.
const SYNC_CHUNK: usize = 1024;

impl Inner {
    fn touch(&mut self, id: i64) {
        self.clock += 1;
        let now = Instant::now();
        self.touched.insert(id, self.clock);
        self.log.push_back((self.clock, id, now));
        self.forget_old(now);
    }

    fn since(&self, id: i64, mark: u64) -> bool {
        self.touched.get(&id).is_some_and(|t| *t >= mark)
    }

    fn confirm(&mut self, id: i64, job: Option<Arc<PoolJob>>, mark: u64) {
        if self.since(id, mark) || self.jobs.get(&id) == job.as_ref() {
            return;
        }
        self.touch(id);
        match job {
            Some(job) => drop(self.jobs.insert(id, job)),
            None => drop(self.jobs.remove(&id)),
        }
    }

    /// The ids touched since `mark`.
    fn touched_since(&self, mark: u64) -> impl Iterator<Item = i64> + '_ {
        let newer = self.log.iter().rev().take_while(move |(t, ..)| *t >= mark);
        newer.map(|(_, id, _)| *id)
    }

    /// Forgets touches older than [`FORGET_AFTER`].
    fn forget_old(&mut self, now: Instant) {
        while let Some(&(t, id, at)) = self.log.front() {
            if now.duration_since(at) < FORGET_AFTER {
                break;
            }
            self.log.pop_front();
            if self.touched.get(&id) == Some(&t) {
                self.touched.remove(&id);
            }
        }
    }
}

impl JobIndex {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The job `id`, if registered.
    pub fn get(&self, id: i64) -> Option<PoolJob> {
        self.read().jobs.get(&id).map(|job| (**job).clone())
    }

    /// Registers or replaces a job.
    pub fn insert(&self, job: PoolJob) {
        let mut inner = self.write();
        inner.touch(job.job_id);
        inner.jobs.insert(job.job_id, Arc::new(job));
    }

    /// Registers or replaces many jobs under one lock (call it off the proxy's workers: a
    /// growing index now and then moves every job to a larger table).
    pub fn insert_many(&self, jobs: Vec<Arc<PoolJob>>) {
        let mut inner = self.write();
        for job in jobs {
            inner.touch(job.job_id);
            inner.jobs.insert(job.job_id, job);
        }
    }

    /// Forgets a job.
    pub fn remove(&self, id: i64) {
        let mut inner = self.write();
        inner.touch(id);
        inner.jobs.remove(&id);
    }

    /// Take before reading the registry, and pass to [`JobIndex::sync`].
    pub fn mark(&self) -> u64 {
        self.read().clock + 1
    }

    /// Makes the index hold `jobs`, a read of the registry begun at `mark`; jobs inserted or
    /// removed here since `mark` keep their state here. A farm's registry holds tens of
    /// thousands of jobs, nearly all unchanged since the last reload, and requests wait on this
    /// lock: what differs is found under short read locks, and only that is written, so a
    /// reload that changes nothing copies no job.
    pub fn sync(&self, jobs: &[Arc<PoolJob>], mark: u64) {
        let mut changed: Vec<&Arc<PoolJob>> = Vec::new();
        for part in jobs.chunks(SYNC_CHUNK) {
            let inner = self.read();
            changed.extend(
                part.iter()
                    .filter(|j| inner.jobs.get(&j.job_id) != Some(*j)),
            );
        }
        let listed: HashSet<i64> = jobs.iter().map(|j| j.job_id).collect();
        let gone: Vec<i64> = {
            let inner = self.read();
            let ids = inner.jobs.keys().filter(|id| !listed.contains(id));
            ids.copied().collect()
        };
        let mut inner = self.write();
        let local: HashSet<i64> = inner.touched_since(mark).collect();
        for job in changed.into_iter().filter(|j| !local.contains(&j.job_id)) {
            inner.jobs.insert(job.job_id, job.clone());
        }
        for id in gone.into_iter().filter(|id| !local.contains(id)) {
            inner.jobs.remove(&id);
        }
    }

    /// Touches job `id` again (inserts `job`, or removes it when `None`) unless it was changed
    /// here since `mark`: a newer local change wins over this older one being confirmed.
    pub fn confirm(&self, id: i64, job: Option<PoolJob>, mark: u64) {
        self.write().confirm(id, job.map(Arc::new), mark);
    }

    /// [`JobIndex::confirm`] of many jobs under one lock (off the proxy's workers, like
    /// [`JobIndex::insert_many`]).
    pub fn confirm_many(&self, jobs: Vec<Arc<PoolJob>>, mark: u64) {
        let mut inner = self.write();
        for job in jobs {
            inner.confirm(job.job_id, Some(job), mark);
        }
    }

    /// Whether job `id` was inserted or removed here since `mark`.
    pub fn touched_since(&self, id: i64, mark: u64) -> bool {
        self.read().since(id, mark)
    }

    /// How many jobs are registered.
    pub fn len(&self) -> usize {
        self.read().jobs.len()
    }

    /// True when no job is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MaskMode;
    use crate::store::registry::JobMasks;

    fn job(id: i64, pool: &str) -> PoolJob {
        PoolJob {
            job_id: id,
            pool: pool.into(),
            user: "ann".into(),
            job_name: "shot".into(),
            submitted_at: bson::DateTime::from_millis(0),
            masks_written: JobMasks::default(),
            user_masks: JobMasks::default(),
            mask_mode: MaskMode::Exclude,
            serial: None,
            held: None,
        }
    }

    fn shared(jobs: impl IntoIterator<Item = PoolJob>) -> Vec<Arc<PoolJob>> {
        jobs.into_iter().map(Arc::new).collect()
    }

    #[test]
    fn insert_get_remove_replace() {
        let index = JobIndex::default();
        index.insert(job(1, "gpu"));
        index.insert(job(1, "cpu"));
        assert_eq!(index.get(1).unwrap().pool, "cpu");
        index.remove(1);
        assert!(index.is_empty());
        let mark = index.mark();
        index.sync(&shared([job(2, "gpu"), job(3, "gpu")]), mark);
        assert_eq!((index.len(), index.get(1)), (2, None));
    }

    #[test]
    fn a_stale_reload_keeps_later_changes() {
        let index = JobIndex::default();
        index.insert(job(1, "gpu"));
        let mark = index.mark();
        index.insert(job(2, "gpu")); // registered while the registry was read
        index.remove(1); // released meanwhile
        index.sync(&shared([job(1, "gpu"), job(3, "cpu")]), mark);
        let mut ids: Vec<i64> = [1, 2, 3]
            .into_iter()
            .filter(|i| index.get(*i).is_some())
            .collect();
        ids.sort();
        assert_eq!(ids, [2, 3]);
        index.sync(&shared([job(1, "gpu")]), index.mark());
        assert_eq!((index.len(), index.get(1).is_some()), (1, true));
    }

    #[test]
    fn a_reload_writes_what_changed_and_drops_what_is_gone() {
        let index = JobIndex::default();
        let jobs: Vec<PoolJob> = (0..3 * SYNC_CHUNK as i64).map(|i| job(i, "gpu")).collect();
        index.sync(&shared(jobs.clone()), index.mark());
        assert_eq!(index.len(), jobs.len());
        let mut next = jobs[1..].to_vec(); // job 0 was deleted
        next[5].pool = "cpu".into(); // job 6 moved (another proxy re-targeted it)
        next.push(job(-7, "gpu")); // registered by another proxy
        index.sync(&shared(next), index.mark());
        assert_eq!(index.len(), jobs.len());
        assert_eq!(index.get(0), None);
        assert_eq!(index.get(6).map(|j| j.pool), Some("cpu".into()));
        assert_eq!(index.get(-7), Some(job(-7, "gpu")));
        assert_eq!(index.get(7), Some(job(7, "gpu")));
    }

    #[test]
    fn changes_since_a_mark_are_found_in_the_touch_log() {
        let mut inner = Inner::default();
        for id in [4, 5, 4, 6] {
            inner.touch(id);
        }
        let mut since: Vec<i64> = inner.touched_since(3).collect();
        since.sort();
        assert_eq!(since, [4, 6]);
        assert_eq!(inner.touched_since(5).count(), 0);
        assert!(inner.since(4, 3) && !inner.since(5, 3));
        // Forgetting a touch that a later one of the same job replaced keeps the later one.
        let later = Instant::now() + FORGET_AFTER;
        inner.log.back_mut().unwrap().2 = later;
        inner.log[2].2 = later;
        inner.forget_old(Instant::now() + FORGET_AFTER);
        assert_eq!(inner.log.len(), 2);
        assert_eq!(
            (inner.touched.get(&4), inner.touched.get(&5)),
            (Some(&3), None)
        );
        assert_eq!(inner.touched.get(&6), Some(&4));
    }

    #[test]
    fn a_batch_is_confirmed_unless_changed_here_since() {
        let index = JobIndex::default();
        index.insert_many(shared([job(1, "gpu"), job(2, "gpu")]));
        let mark = index.mark();
        index.remove(2); // released while the batch was stored
        index.sync(&shared([]), index.mark()); // a reload that read an empty registry meanwhile
        index.confirm_many(shared([job(1, "gpu"), job(2, "gpu")]), mark);
        assert_eq!((index.get(1).is_some(), index.get(2)), (true, None));
    }
}
