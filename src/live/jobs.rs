//! [`JobIndex`]: this proxy's in-memory copy of the registered pool jobs, so the guard can tell
//! on the request path, without I/O, whether an edited job is a pool job. The registry in the
//! pool store stays the truth: the index is reloaded from it by every re-target pass and
//! reconcile, and updated at once by what this proxy records itself.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::store::registry::PoolJob;

/// Registered pool jobs by afserver job id.
#[derive(Debug, Default)]
pub struct JobIndex {
    jobs: RwLock<HashMap<i64, PoolJob>>,
}

impl JobIndex {
    /// The job `id`, if registered.
    pub fn get(&self, id: i64) -> Option<PoolJob> {
        self.jobs.read().unwrap().get(&id).cloned()
    }

    /// Registers or replaces a job.
    pub fn insert(&self, job: PoolJob) {
        self.jobs.write().unwrap().insert(job.job_id, job);
    }

    /// Forgets a job.
    pub fn remove(&self, id: i64) {
        self.jobs.write().unwrap().remove(&id);
    }

    /// Replaces everything with `jobs` (a fresh read of the registry).
    pub fn replace_all(&self, jobs: &[PoolJob]) {
        let fresh = jobs.iter().map(|j| (j.job_id, j.clone())).collect();
        *self.jobs.write().unwrap() = fresh;
    }

    /// How many jobs are registered.
    pub fn len(&self) -> usize {
        self.jobs.read().unwrap().len()
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
        index.replace_all(&[job(2, "gpu"), job(3, "gpu")]);
        assert_eq!((index.len(), index.get(1)), (2, None));
    }
}
