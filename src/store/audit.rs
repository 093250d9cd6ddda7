//! The audit log: append-only [`AuditEntry`]s for every pool change, routing decision,
//! re-target and guarded edit, kept beside the pools and bounded by age
//! ([`DEFAULT_KEEP_DAYS`], config key `audit_keep_days`).
//!
//! Backends: [`super::audit_file::FileAudit`] (`audit.jsonl` beside the pools file) and
//! [`super::audit_mongo::MongoAudit`] (collection `audit`, insert only, TTL index on `at`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::PoolJob;
use super::StoreError;

/// Days an entry is kept unless `audit_keep_days` says otherwise.
pub const DEFAULT_KEEP_DAYS: u32 = 90;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A pool was created.
    PoolCreated,
    /// A pool was renamed.
    PoolRenamed,
    /// A pool was deleted.
    PoolDeleted,
    /// Hosts were added to a pool.
    HostsAdded,
    /// Hosts were removed from a pool.
    HostsRemoved,
    /// A job was routed into a pool.
    JobRouted,
    /// A job was forwarded paused.
    JobHeld,
    /// A job was refused.
    JobRejected,
    /// A job was forwarded unchanged.
    JobPassed,
    /// A live job got new masks after a pool change.
    Retarget,
    /// A mask edit of a pool job was merged with its pool.
    GuardedEdit,
    /// A pool's select rule or except list was set.
    SelectionChanged,
    /// A job afpool held came back: routed into its pool once it had usable hosts (and resumed
    /// when the pause was afpool's).
    JobResumed,
    /// A pool's spill-over settings (fallback pools, triggers) were set.
    SpillChanged,
    /// A job spilled over into its pool's fallback.
    JobSpilled,
    /// A pool's policy (ACL, defaults, maxima) was set.
    PolicyChanged,
    /// A routed job's values were lowered to its pool's maxima.
    JobClamped,
    /// The default pool rules (for jobs naming no pool) were set.
    RulesChanged,
}

impl AuditKind {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::PoolCreated => "pool_created",
            AuditKind::PoolRenamed => "pool_renamed",
            AuditKind::PoolDeleted => "pool_deleted",
            AuditKind::HostsAdded => "hosts_added",
            AuditKind::HostsRemoved => "hosts_removed",
            AuditKind::JobRouted => "job_routed",
            AuditKind::JobHeld => "job_held",
            AuditKind::JobRejected => "job_rejected",
            AuditKind::JobPassed => "job_passed",
            AuditKind::Retarget => "retarget",
            AuditKind::GuardedEdit => "guarded_edit",
            AuditKind::SelectionChanged => "selection_changed",
            AuditKind::JobResumed => "job_resumed",
            AuditKind::SpillChanged => "spill_changed",
            AuditKind::JobSpilled => "job_spilled",
            AuditKind::PolicyChanged => "policy_changed",
            AuditKind::JobClamped => "job_clamped",
            AuditKind::RulesChanged => "rules_changed",
        }
    }
}

/// One audit entry; `at` is UTC, RFC 3339 in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened.
    #[serde(with = "bson::serde_helpers::bson_datetime_as_rfc3339_string")]
    pub at: bson::DateTime,
    /// Who did it: the OS user (CLI) or the API caller.
    pub who: String,
    /// What happened.
    pub kind: AuditKind,
    /// The pool concerned (`""` when none).
    pub pool: String,
    /// afserver's job id, for job entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    /// State before (e.g. the pool's hosts), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// State after, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// A human sentence.
    #[serde(default)]
    pub detail: String,
}

impl AuditEntry {
    /// An entry stamped now, without job id, before or after.
    pub fn now(kind: AuditKind, who: &str, pool: &str, detail: impl Into<String>) -> Self {
        AuditEntry {
            at: bson::DateTime::now(),
            who: who.to_string(),
            kind,
            pool: pool.to_string(),
            job_id: None,
            before: None,
            after: None,
            detail: detail.into(),
        }
    }

    /// The same entry with `before` and `after`.
    pub fn change(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    /// The same entry about job `job_id`.
    pub fn job(mut self, job_id: i64) -> Self {
        self.job_id = Some(job_id);
        self
    }
}

/// Which entries to read; every `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries at most this old.
    pub since: Option<Duration>,
    /// Only entries about this pool (exact name; a rename matches its old and new names).
    pub pool: Option<String>,
    /// Only entries about this job.
    pub job_id: Option<i64>,
}

impl AuditFilter {
    /// The oldest time an entry may have, given also the log's `keep_days`.
    pub fn cutoff(&self, keep_days: u32) -> bson::DateTime {
        let keep = Duration::from_secs(u64::from(keep_days) * 86_400);
        let age = self.since.map_or(keep, |s| s.min(keep));
        let now = bson::DateTime::now().timestamp_millis();
        bson::DateTime::from_millis(now.saturating_sub(age.as_millis() as i64))
    }

    /// True when `entry` passes the pool and job filters (not the time).
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let renamed_to = |p: &String| {
            let new = entry.after.as_ref().and_then(|a| a.get("name"));
            entry.kind == AuditKind::PoolRenamed && new.and_then(Value::as_str) == Some(p)
        };
        self.pool
            .as_ref()
            .is_none_or(|p| *p == entry.pool || renamed_to(p))
            && self.job_id.is_none_or(|id| entry.job_id == Some(id))
    }
}

/// Where audit entries go.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one entry; entries are never rewritten.
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Appends entries in order; backends override it to write them at once.
    async fn append_many(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        for entry in entries {
            self.append(entry).await?;
        }
        Ok(())
    }
    /// Appends the `job_routed` entries of `jobs` (each with who submitted it), as
    /// [`AuditEntry::routed`] makes them; backends override it to write them without building
    /// each entry first.
    async fn append_routed(&self, jobs: Vec<(Arc<PoolJob>, String)>) -> Result<(), StoreError> {
        let entries: Vec<AuditEntry> = (jobs.iter())
            .map(|(job, who)| AuditEntry::routed(job, who))
            .collect();
        self.append_many(&entries).await
    }
    /// Entries passing `filter`, oldest first (never older than the log keeps).
    async fn read(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}

/// A shared, dynamically dispatched audit log.
pub type SharedAudit = Arc<dyn AuditLog>;

/// The OS user running this process: `$USER`, else `$LOGNAME`, else `unknown`.
pub fn os_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Parses a duration like `30s`, `30m`, `2h`, `7d` or `1w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 30m, 2h or 7d"))?;
    let secs = match unit.trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}': use s, m, h, d or w"
            ))
        }
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{text}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("30m", Ok(1_800))]
    #[case("2h", Ok(7_200))]
    #[case("7d", Ok(604_800))]
    #[case("1w", Ok(604_800))]
    #[case("45", Ok(45))]
    #[case(" 10s ", Ok(10))]
    #[case("h", Err(()))]
    #[case("3y", Err(()))]
    #[case("-1d", Err(()))]
    #[case("99999999999999999999d", Err(()))]
    fn durations(#[case] text: &str, #[case] secs: Result<u64, ()>) {
        let parsed = parse_duration(text).map(|d| d.as_secs()).map_err(|_| ());
        assert_eq!(parsed, secs);
    }

    #[test]
    fn kinds_serialize_as_their_names() {
        for kind in [
            AuditKind::PoolCreated,
            AuditKind::GuardedEdit,
            AuditKind::Retarget,
        ] {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, Value::String(kind.as_str().to_string()));
        }
    }

    #[test]
    fn filter_matches_pool_and_job() {
        let entry = AuditEntry::now(AuditKind::JobRouted, "ann", "gpu", "").job(7);
        let by = |pool: Option<&str>, job_id| AuditFilter {
            since: None,
            pool: pool.map(str::to_string),
            job_id,
        };
        assert!(by(None, None).matches(&entry));
        assert!(by(Some("gpu"), Some(7)).matches(&entry));
        assert!(!by(Some("cpu"), None).matches(&entry));
        assert!(!by(None, Some(8)).matches(&entry));
        let name = |n: &str| Some(serde_json::json!({ "name": n }));
        let renamed =
            AuditEntry::now(AuditKind::PoolRenamed, "ann", "a", "").change(name("a"), name("b"));
        assert!(by(Some("a"), None).matches(&renamed) && by(Some("b"), None).matches(&renamed));
        assert!(!by(Some("c"), None).matches(&renamed));
    }
}
