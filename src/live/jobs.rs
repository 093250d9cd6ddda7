//! [`JobIndex`]: this proxy's in-memory copy of the registered pool jobs, so the guard can tell
//! on the request path, without I/O, whether an edited job is a pool job. The registry in the
//! pool store stays the truth: the index is reloaded from it by every re-target pass and
//! reconcile, and updated at once by what this proxy records itself. A reload keeps what this
//! proxy changed after the reload's read began ([`JobIndex::mark`]), so a read that raced a
//! registration cannot hide the job.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::store::registry::PoolJob;

/// Registered pool jobs by afserver job id.
#[derive(Debug, Default)]
pub struct JobIndex {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<i64, PoolJob>,
    /// Change counter, and when each job was last inserted or removed here (kept for
    /// [`FORGET_AFTER`], far longer than any registry read, so overlapping reloads all see it).
    clock: u64,
    touched: HashMap<i64, (u64, Instant)>,
}

/// How long a local change outranks reloads begun before it.
const FORGET_AFTER: Duration = Duration::from_secs(600);

impl Inner {
    fn touch(&mut self, id: i64) {
        self.clock += 1;
        self.touched.insert(id, (self.clock, Instant::now()));
    }

    fn since(&self, id: i64, mark: u64) -> bool {
        self.touched.get(&id).is_some_and(|(t, _)| *t >= mark)
    }
}

impl JobIndex {
    /// The job `id`, if registered.
    pub fn get(&self, id: i64) -> Option<PoolJob> {
        self.inner.read().unwrap().jobs.get(&id).cloned()
    }

    /// Registers or replaces a job.
    pub fn insert(&self, job: PoolJob) {
        let mut inner = self.inner.write().unwrap();
        inner.touch(job.job_id);
        inner.jobs.insert(job.job_id, job);
    }

    /// Forgets a job.
    pub fn remove(&self, id: i64) {
        let mut inner = self.inner.write().unwrap();
        inner.touch(id);
        inner.jobs.remove(&id);
    }

    /// Take before reading the registry, and pass to [`JobIndex::replace_all`].
    pub fn mark(&self) -> u64 {
        self.inner.read().unwrap().clock + 1
    }

    /// Replaces everything with `jobs`, a read of the registry begun at `mark`; jobs inserted or
    /// removed here since `mark` keep their state here. A farm's registry holds tens of
    /// thousands of jobs and requests wait on this lock, so the new map is built, and the old one
    /// freed, outside it; under the lock only the jobs changed since `mark` are looked at.
    pub fn replace_all(&self, jobs: Vec<PoolJob>, mark: u64) {
        let mut fresh: HashMap<i64, PoolJob> = jobs.into_iter().map(|j| (j.job_id, j)).collect();
        let old = {
            let mut inner = self.inner.write().unwrap();
            let local: Vec<i64> = inner
                .touched
                .iter()
                .filter(|(_, (t, _))| *t >= mark)
                .map(|(id, _)| *id)
                .collect();
            for id in local {
                match inner.jobs.get(&id) {
                    Some(job) => drop(fresh.insert(id, job.clone())),
                    None => drop(fresh.remove(&id)),
                }
            }
            let now = Instant::now();
            inner
                .touched
                .retain(|_, (_, at)| now.duration_since(*at) < FORGET_AFTER);
            std::mem::replace(&mut inner.jobs, fresh)
        };
        drop(old);
    }

    /// Touches job `id` again (inserts `job`, or removes it when `None`) unless it was changed
    /// here since `mark`: a newer local change wins over this older one being confirmed.
    pub fn confirm(&self, id: i64, job: Option<PoolJob>, mark: u64) {
        let mut inner = self.inner.write().unwrap();
        if inner.since(id, mark) || inner.jobs.get(&id) == job.as_ref() {
            return;
        }
        inner.touch(id);
        match job {
            Some(job) => drop(inner.jobs.insert(id, job)),
            None => drop(inner.jobs.remove(&id)),
        }
    }

    /// Whether job `id` was inserted or removed here since `mark`.
    pub fn touched_since(&self, id: i64, mark: u64) -> bool {
        self.inner.read().unwrap().since(id, mark)
    }

    /// How many jobs are registered.
    pub fn len(&self) -> usize {
        self.inner.read().unwrap().jobs.len()
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
        }
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
        index.replace_all(vec![job(2, "gpu"), job(3, "gpu")], mark);
        assert_eq!((index.len(), index.get(1)), (2, None));
    }

    #[test]
    fn a_stale_reload_keeps_later_changes() {
        let index = JobIndex::default();
        index.insert(job(1, "gpu"));
        let mark = index.mark();
        index.insert(job(2, "gpu")); // registered while the registry was read
        index.remove(1); // released meanwhile
        index.replace_all(vec![job(1, "gpu"), job(3, "cpu")], mark);
        let mut ids: Vec<i64> = [1, 2, 3]
            .into_iter()
            .filter(|i| index.get(*i).is_some())
            .collect();
        ids.sort();
        assert_eq!(ids, [2, 3]);
        index.replace_all(vec![job(1, "gpu")], index.mark());
        assert_eq!((index.len(), index.get(1).is_some()), (1, true));
    }
}
