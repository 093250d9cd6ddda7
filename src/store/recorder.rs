//! [`Recorder`]: the job registry and the audit log of one pool store, opened together from the
//! store spec, with the calls the proxy makes when it routes a job.
//!
//! File store `DIR/pools.json` → `DIR/jobs.json` and `DIR/audit.jsonl`; MongoDB → collections
//! `jobs` and `audit` in the pools' database.

use std::sync::Arc;

use super::audit::{AuditEntry, AuditKind, SharedAudit};
use super::audit_file::FileAudit;
use super::audit_mongo::MongoAudit;
use super::registry::{PoolJob, SharedRegistry};
use super::registry_file::FileRegistry;
use super::registry_mongo::MongoRegistry;
use super::{locate, mongo, Location, StoreError, StoreOptions};

/// The registry and audit log beside a pool store.
#[derive(Clone)]
pub struct Recorder {
    /// The registry of pool jobs.
    pub registry: SharedRegistry,
    /// The audit log.
    pub audit: SharedAudit,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder(..)")
    }
}

impl Recorder {
    /// Opens both beside the store named by `spec` (see [`super::open_with`]); the audit log
    /// keeps `keep_days`. A MongoDB server need not be reachable yet.
    pub async fn open(
        spec: &str,
        options: &StoreOptions,
        keep_days: u32,
    ) -> Result<Recorder, StoreError> {
        Ok(match locate(spec)? {
            Location::Mongo(uri) => {
                let client = mongo::client(&uri).await?;
                let db = &options.database;
                Recorder {
                    registry: Arc::new(MongoRegistry::new(&client, db)),
                    audit: Arc::new(MongoAudit::new(&client, db, keep_days)),
                }
            }
            Location::File(pools) => Recorder {
                registry: Arc::new(FileRegistry::beside(&pools)),
                audit: Arc::new(FileAudit::beside(&pools, keep_days)),
            },
        })
    }

    /// afserver accepted `job` into its pool: registers it and audits `job_routed` by `who`.
    pub async fn record_routed(&self, job: &PoolJob, who: &str) -> Result<(), StoreError> {
        self.record_routed_many(vec![(Arc::new(job.clone()), who.to_string())])
            .await
    }

    /// [`Recorder::record_routed`] for many jobs (each with who submitted it), registered in
    /// one write.
    pub async fn record_routed_many(
        &self,
        jobs: Vec<(Arc<PoolJob>, String)>,
    ) -> Result<(), StoreError> {
        let records: Vec<Arc<PoolJob>> = jobs.iter().map(|(job, _)| job.clone()).collect();
        self.registry.upsert_many(&records).await?;
        self.audit.append_routed(jobs).await
    }

    /// Audits a routing decision that registers nothing (`job_held`, `job_rejected`,
    /// `job_passed`), with afserver's job id when there is one.
    pub async fn record_decision(
        &self,
        kind: AuditKind,
        who: &str,
        pool: &str,
        job_id: Option<i64>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut entry = AuditEntry::now(kind, who, pool, detail);
        entry.job_id = job_id;
        self.audit.append(&entry).await
    }
}
