//! The registry of pool jobs: one [`PoolJob`] per job afserver accepted into a pool, kept in the
//! pool store so it survives restarts and is shared by every proxy on the same store.
//!
//! Backends: [`super::registry_file::FileRegistry`] (`jobs.json` beside the pools file, same
//! locking and atomic writes) and [`super::registry_mongo::MongoRegistry`] (collection `jobs`
//! beside `pools`, unique index on `job_id`).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::job::MaskMode;
use crate::shared_str::SharedStr;

/// A job's three host mask fields; `None` = not set. Shared strings: every job of a pool carries
/// the same masks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobMasks {
    /// `hosts_mask`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_mask: Option<SharedStr>,
    /// `hosts_mask_exclude`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_mask_exclude: Option<SharedStr>,
    /// `hosts_mask_type` (`find` or `regex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_mask_type: Option<SharedStr>,
}

impl JobMasks {
    /// The job-level masks of a routing result.
    pub fn of(m: &crate::job::Masks) -> JobMasks {
        let share = |m: &Option<String>| m.as_deref().map(SharedStr::new);
        JobMasks {
            hosts_mask: share(&m.hosts_mask),
            hosts_mask_exclude: share(&m.hosts_mask_exclude),
            hosts_mask_type: share(&m.hosts_mask_type),
        }
    }
}

/// One registered pool job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolJob {
    /// afserver's job id.
    pub job_id: i64,
    /// The pool the job was routed into.
    pub pool: SharedStr,
    /// The job's `user_name`.
    pub user: SharedStr,
    /// The job's `name`.
    pub job_name: String,
    /// When afserver accepted it (UTC).
    #[serde(with = "bson::serde_helpers::bson_datetime_as_rfc3339_string")]
    pub submitted_at: bson::DateTime,
    /// The masks afpool wrote.
    pub masks_written: JobMasks,
    /// The masks the user submitted.
    pub user_masks: JobMasks,
    /// Which mask the pool went into.
    pub mask_mode: MaskMode,
    /// afserver's serial of the job. afserver gives a new job the lowest free id, so an id
    /// names another job once its job is deleted; the serial is never reused. `None` in records
    /// written before afpool kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<i64>,
    /// Set while afpool holds the job (its pool unknown, empty or without a usable host): why,
    /// and whether the pause is afpool's. `None` for a routed job and in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
}

/// Why afpool holds a registered job, and whether it may resume it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The hold's reason, as the annotation and the audit log say it.
    pub reason: String,
    /// The job is paused because afpool paused it: `false` when it was submitted paused, or its
    /// owner started or paused it since (then afpool leaves it paused when its pool comes back).
    pub paused_by_afpool: bool,
}

/// Where pool jobs are registered.
#[async_trait]
pub trait JobRegistry: Send + Sync {
    /// Inserts `job`, or replaces the record with the same job id.
    async fn upsert(&self, job: &PoolJob) -> Result<(), StoreError>;
    /// [`JobRegistry::upsert`] for many jobs; backends override it to write them at once. The
    /// jobs are shared: a backend that keeps them in memory keeps these copies.
    async fn upsert_many(&self, jobs: &[Arc<PoolJob>]) -> Result<(), StoreError> {
        for job in jobs {
            self.upsert(job).await?;
        }
        Ok(())
    }
    /// Removes a job; `Ok(false)` when it was not registered.
    async fn remove(&self, job_id: i64) -> Result<bool, StoreError>;
    /// One job, or `None`.
    async fn get(&self, job_id: i64) -> Result<Option<PoolJob>, StoreError>;
    /// Every registered job (of `pool` only, when given), by job id. Shared copies: a backend
    /// that keeps the jobs in memory hands out its own, without copying a farm's registry.
    async fn list(&self, pool: Option<&str>) -> Result<Vec<Arc<PoolJob>>, StoreError>;
    /// Replaces the record of `job.job_id` with `job` only if its `masks_written` and `pool`
    /// still equal `expected` (compare-and-set, atomic per backend): `Ok(false)` when another
    /// writer changed or removed it first. Lets several proxies claim a re-target once.
    async fn replace_if(&self, job: &PoolJob, expected: &PoolJob) -> Result<bool, StoreError>;
    /// [`JobRegistry::replace_if`] for many jobs (`(job, expected)` pairs): which were replaced.
    /// Backends override it to claim a whole re-target in one write.
    async fn replace_many_if(&self, pairs: &[(PoolJob, PoolJob)]) -> Result<Vec<bool>, StoreError> {
        let mut done = Vec::with_capacity(pairs.len());
        for (job, expected) in pairs {
            done.push(self.replace_if(job, expected).await?);
        }
        Ok(done)
    }
}

/// Whether `stored` is still the version `expected` a compare-and-set was computed from.
pub fn unchanged(stored: &PoolJob, expected: &PoolJob) -> bool {
    stored.masks_written == expected.masks_written && stored.pool == expected.pool
}

/// A shared, dynamically dispatched registry.
pub type SharedRegistry = Arc<dyn JobRegistry>;
