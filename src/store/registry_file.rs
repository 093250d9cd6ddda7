//! The file backend of the job registry: `jobs.json` in the pools file's folder,
//! `{"jobs": [PoolJob...]}` pretty-printed. Every change is a read-modify-write under the
//! exclusive lock `jobs.json.lock` with an atomic replace ([`super::atomic`]), like the pools
//! file; readers take no lock and always see a complete file. A missing file is no jobs.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::atomic;
use super::registry::{unchanged, JobRegistry, PoolJob};
use super::StoreError;

/// File name of the registry beside the pools file.
pub const FILE_NAME: &str = "jobs.json";

/// A job registry in one JSON file.
#[derive(Debug, Clone)]
pub struct FileRegistry {
    path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct JobsDoc {
    #[serde(default)]
    jobs: Vec<PoolJob>,
}

impl FileRegistry {
    /// A registry in `path`; nothing is touched until the first operation.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileRegistry { path: path.into() }
    }

    /// The registry beside the pools file `pools`.
    pub fn beside(pools: &Path) -> Self {
        FileRegistry::new(atomic::dir_of(pools).join(FILE_NAME))
    }

    /// The JSON file this registry uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("{what} {}: {e}", self.path.display()))
    }

    fn read(&self) -> Result<JobsDoc, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JobsDoc::default()),
            Err(e) => return Err(self.io_error("cannot read", e)),
        };
        if text.trim().is_empty() {
            return Ok(JobsDoc::default());
        }
        serde_json::from_str(&text).map_err(|e| self.io_error("invalid jobs file", e))
    }

    /// Runs `change` under the lock; writes the document back when it reports a change.
    fn modify<T>(&self, change: impl FnOnce(&mut JobsDoc) -> (T, bool)) -> Result<T, StoreError> {
        let _lock = atomic::lock(&self.path).map_err(|e| self.io_error("cannot lock", e))?;
        let mut doc = self.read()?;
        let (value, changed) = change(&mut doc);
        if changed {
            doc.jobs.sort_by_key(|j| j.job_id);
            atomic::replace_json(&self.path, &doc).map_err(|(what, e)| self.io_error(what, e))?;
        }
        Ok(value)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&FileRegistry) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let registry = self.clone();
        tokio::task::spawn_blocking(move || work(&registry))
            .await
            .map_err(|e| StoreError::Unavailable(format!("job registry task failed: {e}")))?
    }
}

#[async_trait]
impl JobRegistry for FileRegistry {
    async fn upsert(&self, job: &PoolJob) -> Result<(), StoreError> {
        let job = job.clone();
        self.blocking(move |r| {
            r.modify(|doc| {
                match doc.jobs.iter_mut().find(|j| j.job_id == job.job_id) {
                    Some(old) if *old == job => return ((), false),
                    Some(old) => *old = job,
                    None => doc.jobs.push(job),
                }
                ((), true)
            })
        })
        .await
    }

    async fn upsert_many(&self, jobs: &[PoolJob]) -> Result<(), StoreError> {
        let jobs = jobs.to_vec();
        self.blocking(move |r| {
            r.modify(|doc| {
                let mut at: std::collections::HashMap<i64, usize> = doc
                    .jobs
                    .iter()
                    .enumerate()
                    .map(|(i, j)| (j.job_id, i))
                    .collect();
                let mut changed = false;
                for job in jobs {
                    match at.get(&job.job_id) {
                        Some(&i) if doc.jobs[i] == job => {}
                        Some(&i) => (doc.jobs[i], changed) = (job, true),
                        None => {
                            at.insert(job.job_id, doc.jobs.len());
                            doc.jobs.push(job);
                            changed = true;
                        }
                    }
                }
                ((), changed)
            })
        })
        .await
    }

    async fn remove(&self, job_id: i64) -> Result<bool, StoreError> {
        self.blocking(move |r| {
            r.modify(|doc| {
                let before = doc.jobs.len();
                doc.jobs.retain(|j| j.job_id != job_id);
                let removed = doc.jobs.len() != before;
                (removed, removed)
            })
        })
        .await
    }

    async fn get(&self, job_id: i64) -> Result<Option<PoolJob>, StoreError> {
        self.blocking(move |r| Ok(r.read()?.jobs.into_iter().find(|j| j.job_id == job_id)))
            .await
    }

    async fn list(&self, pool: Option<&str>) -> Result<Vec<PoolJob>, StoreError> {
        let pool = pool.map(str::to_string);
        self.blocking(move |r| {
            let mut jobs = r.read()?.jobs;
            jobs.retain(|j| pool.as_ref().is_none_or(|p| *p == j.pool));
            jobs.sort_by_key(|j| j.job_id);
            Ok(jobs)
        })
        .await
    }

    async fn replace_many_if(&self, pairs: &[(PoolJob, PoolJob)]) -> Result<Vec<bool>, StoreError> {
        let pairs = pairs.to_vec();
        self.blocking(move |r| {
            r.modify(|doc| {
                let at: std::collections::HashMap<i64, usize> = doc
                    .jobs
                    .iter()
                    .enumerate()
                    .map(|(i, j)| (j.job_id, i))
                    .collect();
                let done: Vec<bool> = pairs
                    .into_iter()
                    .map(|(job, expected)| match at.get(&job.job_id) {
                        Some(&i) if unchanged(&doc.jobs[i], &expected) => {
                            doc.jobs[i] = job;
                            true
                        }
                        _ => false,
                    })
                    .collect();
                let changed = done.iter().any(|d| *d);
                (done, changed)
            })
        })
        .await
    }

    async fn replace_if(&self, job: &PoolJob, expected: &PoolJob) -> Result<bool, StoreError> {
        let job = job.clone();
        let expected = expected.clone();
        self.blocking(move |r| {
            r.modify(
                |doc| match doc.jobs.iter_mut().find(|j| j.job_id == job.job_id) {
                    Some(old) if unchanged(old, &expected) => {
                        *old = job;
                        (true, true)
                    }
                    _ => (false, false),
                },
            )
        })
        .await
    }
}
