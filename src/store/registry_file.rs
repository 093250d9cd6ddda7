//! The file backend of the job registry: `jobs.json` in the pools file's folder and its journal
//! `jobs.json.journal` ([`super::registry_journal`]). Every operation runs under the exclusive
//! lock `jobs.json.lock` on this process's view of the files, refreshed from what other writers
//! appended; a change appends to the journal, and the journal is folded into `jobs.json` (atomic
//! replace, like the pools file) once it outgrows it. Missing files are no jobs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::atomic;
use super::registry::{unchanged, JobRegistry, PoolJob};
use super::registry_journal::{State, Tx};
use super::StoreError;

/// File name of the registry beside the pools file.
pub const FILE_NAME: &str = "jobs.json";

/// A job registry in one JSON file and its journal.
#[derive(Debug, Clone)]
pub struct FileRegistry {
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl FileRegistry {
    /// A registry in `path`; nothing is touched until the first operation.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileRegistry {
            path: path.into(),
            state: Arc::default(),
        }
    }

    /// The registry beside the pools file `pools`.
    pub fn beside(pools: &Path) -> Self {
        FileRegistry::new(atomic::dir_of(pools).join(FILE_NAME))
    }

    /// The JSON file this registry uses (its journal is `<path>.journal`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `change` under the lock, on the jobs as the files have them now, in a blocking task.
    async fn transact<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Tx<'_>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let registry = self.clone();
        tokio::task::spawn_blocking(move || {
            let path = &registry.path;
            let _lock = atomic::lock(path).map_err(|e| {
                StoreError::Unavailable(format!("cannot lock {}: {e}", path.display()))
            })?;
            let mut state = registry
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.transact(path, change)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("job registry task failed: {e}")))?
    }
}

#[async_trait]
impl JobRegistry for FileRegistry {
    async fn upsert(&self, job: &PoolJob) -> Result<(), StoreError> {
        let job = Arc::new(job.clone());
        self.transact(move |tx| tx.upsert(job)).await
    }

    async fn upsert_many(&self, jobs: &[Arc<PoolJob>]) -> Result<(), StoreError> {
        let jobs = jobs.to_vec();
        self.transact(move |tx| jobs.into_iter().for_each(|job| tx.upsert(job)))
            .await
    }

    async fn remove(&self, job_id: i64) -> Result<bool, StoreError> {
        self.transact(move |tx| tx.remove(job_id)).await
    }

    async fn get(&self, job_id: i64) -> Result<Option<PoolJob>, StoreError> {
        self.transact(move |tx| tx.get(job_id).map(|job| (**job).clone()))
            .await
    }

    async fn list(&self, pool: Option<&str>) -> Result<Vec<Arc<PoolJob>>, StoreError> {
        let pool = pool.map(str::to_string);
        self.transact(move |tx| {
            tx.all()
                .filter(|j| pool.as_ref().is_none_or(|p| *p == j.pool))
                .cloned()
                .collect()
        })
        .await
    }

    async fn replace_many_if(&self, pairs: &[(PoolJob, PoolJob)]) -> Result<Vec<bool>, StoreError> {
        let pairs = pairs.to_vec();
        self.transact(move |tx| {
            pairs
                .into_iter()
                .map(|(job, expected)| replace_if(tx, job, &expected))
                .collect()
        })
        .await
    }

    async fn replace_if(&self, job: &PoolJob, expected: &PoolJob) -> Result<bool, StoreError> {
        let (job, expected) = (job.clone(), expected.clone());
        self.transact(move |tx| replace_if(tx, job, &expected))
            .await
    }
}

fn replace_if(tx: &mut Tx<'_>, job: PoolJob, expected: &PoolJob) -> bool {
    let current = tx
        .get(job.job_id)
        .is_some_and(|old| unchanged(old, expected));
    if current {
        tx.upsert(Arc::new(job));
    }
    current
}
