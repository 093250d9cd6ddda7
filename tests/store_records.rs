//! The job registry and audit log contract, run against both backends: the file store (always)
//! and MongoDB (when `MONGODB_URI` is set; each test uses its own database). Plus what only one
//! backend has: the file log's rotation by age, MongoDB's indexes.
//!
//! Run everything with `scripts/dev-mongo.sh run cargo test --test store_records`.

mod common_store;

use std::sync::Arc;
use std::time::Duration;

use afpool::job::MaskMode;
use afpool::store::audit::{AuditEntry, AuditFilter, AuditKind, AuditLog};
use afpool::store::audit_file::FileAudit;
use afpool::store::registry::{Held, JobMasks, PoolJob};
use bson::doc;
use common_store::{contract, Backend};
use futures_util::TryStreamExt;

contract!(
    registry_upsert_get_list_remove,
    registry_survives_reopening,
    registry_concurrent_writers_lose_nothing,
    registry_replace_if_claims_once,
    audit_reads_back_in_order,
    audit_filters_by_pool_job_and_age,
    audit_concurrent_appends_lose_nothing,
    recorder_registers_and_audits_a_routed_job,
    registry_keeps_a_held_jobs_hold,
);

fn job(job_id: i64, pool: &str) -> PoolJob {
    PoolJob {
        job_id,
        pool: pool.into(),
        user: "ann".into(),
        job_name: format!("shot_{job_id}"),
        submitted_at: bson::DateTime::from_millis(1_780_000_000_123),
        masks_written: JobMasks {
            hosts_mask: None,
            hosts_mask_exclude: Some("(pc-9|pc-8)".into()),
            hosts_mask_type: Some("regex".into()),
        },
        user_masks: JobMasks {
            hosts_mask: Some("pc".into()),
            ..JobMasks::default()
        },
        mask_mode: MaskMode::Exclude,
        serial: None,
        held: None,
    }
}

fn ids(jobs: &[Arc<PoolJob>]) -> Vec<i64> {
    jobs.iter().map(|j| j.job_id).collect()
}

async fn registry_upsert_get_list_remove(b: &Backend) {
    let registry = b.recorder(90).await.registry;
    assert!(registry.list(None).await.unwrap().is_empty());
    assert_eq!(registry.get(3).await.unwrap(), None);
    for (id, pool) in [(3, "gpu"), (1, "cpu"), (2, "gpu")] {
        registry.upsert(&job(id, pool)).await.unwrap();
    }
    assert_eq!(registry.get(3).await.unwrap(), Some(job(3, "gpu")));
    assert_eq!(ids(&registry.list(None).await.unwrap()), [1, 2, 3]);
    assert_eq!(ids(&registry.list(Some("gpu")).await.unwrap()), [2, 3]);
    assert!(registry.list(Some("GPU")).await.unwrap().is_empty());
    let moved = job(3, "cpu");
    registry.upsert(&moved).await.unwrap();
    assert_eq!(registry.get(3).await.unwrap(), Some(moved));
    assert_eq!(ids(&registry.list(Some("cpu")).await.unwrap()), [1, 3]);
    assert!(registry.remove(1).await.unwrap());
    assert!(!registry.remove(1).await.unwrap());
    assert_eq!(ids(&registry.list(None).await.unwrap()), [2, 3]);
}

async fn registry_survives_reopening(b: &Backend) {
    b.recorder(90)
        .await
        .registry
        .upsert(&job(7, "gpu"))
        .await
        .unwrap();
    let reopened = b.recorder(90).await.registry;
    assert_eq!(
        reopened.list(None).await.unwrap(),
        [Arc::new(job(7, "gpu"))]
    );
}

async fn registry_keeps_a_held_jobs_hold(b: &Backend) {
    let held = PoolJob {
        held: Some(Held {
            reason: "held (paused): unknown pool 'late'".into(),
            paused_by_afpool: true,
        }),
        ..job(8, "late")
    };
    let registry = b.recorder(90).await.registry;
    registry.upsert(&held).await.unwrap();
    let reopened = b.recorder(90).await.registry;
    assert_eq!(reopened.get(8).await.unwrap(), Some(held.clone()));
    // Whose pause it is changes by compare-and-set, like a re-target's claim.
    let owners = PoolJob {
        held: Some(Held {
            paused_by_afpool: false,
            ..held.held.clone().unwrap()
        }),
        ..held.clone()
    };
    assert!(reopened.replace_if(&owners, &held).await.unwrap());
    let back = PoolJob {
        held: None,
        ..owners.clone()
    };
    assert!(reopened.replace_if(&back, &owners).await.unwrap());
    assert_eq!(
        b.recorder(90).await.registry.get(8).await.unwrap(),
        Some(back)
    );
}

async fn registry_concurrent_writers_lose_nothing(b: &Backend) {
    let mut tasks = Vec::new();
    for id in 0..16 {
        let registry = b.recorder(90).await.registry;
        tasks.push(tokio::spawn(async move {
            registry.upsert(&job(id, "gpu")).await.unwrap();
            registry.upsert(&job(id, "cpu")).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let registry = b.recorder(90).await.registry;
    assert_eq!(
        ids(&registry.list(Some("cpu")).await.unwrap()),
        (0..16).collect::<Vec<_>>()
    );
    assert!(registry.list(Some("gpu")).await.unwrap().is_empty());
}

async fn registry_replace_if_claims_once(b: &Backend) {
    let registry = b.recorder(90).await.registry;
    let old = job(7, "gpu");
    let mut new = old.clone();
    new.masks_written.hosts_mask_exclude = Some("(pc-1)".into());
    assert!(
        !registry.replace_if(&new, &old).await.unwrap(),
        "not registered"
    );
    registry.upsert(&old).await.unwrap();
    let mut claims = Vec::new();
    for _ in 0..8 {
        let (registry, new, old) = (b.recorder(90).await.registry, new.clone(), old.clone());
        claims.push(tokio::spawn(async move {
            registry.replace_if(&new, &old).await.unwrap()
        }));
    }
    let mut won = 0;
    for claim in claims {
        won += usize::from(claim.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one writer claims the change");
    assert_eq!(registry.get(7).await.unwrap(), Some(new.clone()));
    registry.upsert(&job(8, "gpu")).await.unwrap();
    let mut eight = job(8, "cpu");
    eight.masks_written.hosts_mask = Some("x".into());
    let pairs = [
        (old.clone(), new.clone()),
        (eight.clone(), job(8, "gpu")),
        (old, new),
    ];
    let done = registry.replace_many_if(&pairs).await.unwrap();
    assert_eq!(done, [true, true, false], "by pair, in order");
    assert_eq!(registry.get(8).await.unwrap(), Some(eight));
}

/// An entry `age` old.
fn entry(kind: AuditKind, pool: &str, job_id: Option<i64>, age: Duration) -> AuditEntry {
    let mut entry = AuditEntry::now(kind, "ann", pool, format!("{kind:?}"));
    entry.at = bson::DateTime::from_millis(entry.at.timestamp_millis() - age.as_millis() as i64);
    entry.job_id = job_id;
    entry
}

const MINUTE: Duration = Duration::from_secs(60);

async fn audit_reads_back_in_order(b: &Backend) {
    let audit = b.recorder(90).await.audit;
    let hosts = |h: &[&str]| Some(serde_json::json!(h));
    let created =
        entry(AuditKind::PoolCreated, "gpu", None, 3 * MINUTE).change(None, hosts(&["pc-1"]));
    let added = entry(AuditKind::HostsAdded, "gpu", None, 2 * MINUTE)
        .change(hosts(&["pc-1"]), hosts(&["pc-1", "pc-2"]));
    let routed = entry(AuditKind::JobRouted, "gpu", Some(12), MINUTE);
    for e in [&added, &routed, &created] {
        audit.append(e).await.unwrap();
    }
    let read = b
        .recorder(90)
        .await
        .audit
        .read(&AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(read, [created, added, routed]);
}

async fn audit_filters_by_pool_job_and_age(b: &Backend) {
    let audit = b.recorder(30).await.audit;
    let entries = [
        entry(
            AuditKind::PoolDeleted,
            "old",
            None,
            Duration::from_secs(31 * 86_400),
        ),
        entry(
            AuditKind::JobHeld,
            "gpu",
            Some(1),
            Duration::from_secs(3 * 3_600),
        ),
        entry(AuditKind::JobRouted, "gpu", Some(2), 30 * MINUTE),
        entry(AuditKind::Retarget, "cpu", Some(2), MINUTE),
    ];
    for e in &entries {
        audit.append(e).await.unwrap();
    }
    let read = |pool: Option<&str>, job_id, since| {
        let filter = AuditFilter {
            since,
            pool: pool.map(str::to_string),
            job_id,
        };
        let audit = audit.clone();
        async move { audit.read(&filter).await.unwrap() }
    };
    assert_eq!(read(None, None, None).await, entries[1..]);
    assert_eq!(read(Some("gpu"), None, None).await, entries[1..3]);
    assert_eq!(read(None, Some(2), None).await, entries[2..]);
    assert_eq!(
        read(None, None, Some(3_600 * Duration::from_secs(1))).await,
        entries[2..]
    );
    assert_eq!(read(Some("cpu"), Some(1), None).await, []);
}

async fn audit_concurrent_appends_lose_nothing(b: &Backend) {
    let mut tasks = Vec::new();
    for id in 0..24 {
        let audit = b.recorder(90).await.audit;
        tasks.push(tokio::spawn(async move {
            let e = AuditEntry::now(AuditKind::JobPassed, "ann", "", "x".repeat(3_000)).job(id);
            audit.append(&e).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let read = b
        .recorder(90)
        .await
        .audit
        .read(&AuditFilter::default())
        .await
        .unwrap();
    let mut seen: Vec<i64> = read.iter().filter_map(|e| e.job_id).collect();
    seen.sort();
    assert_eq!(seen, (0..24).collect::<Vec<_>>());
}

async fn recorder_registers_and_audits_a_routed_job(b: &Backend) {
    let recorder = b.recorder(90).await;
    recorder
        .record_routed(&job(5, "gpu"), "proxy")
        .await
        .unwrap();
    let decision = recorder.record_decision(AuditKind::JobHeld, "proxy", "nope", None, "held");
    decision.await.unwrap();
    assert_eq!(recorder.registry.get(5).await.unwrap(), Some(job(5, "gpu")));
    let read = recorder.audit.read(&AuditFilter::default()).await.unwrap();
    let kinds: Vec<_> = read
        .iter()
        .map(|e| (e.kind, e.pool.as_str(), e.job_id))
        .collect();
    assert_eq!(
        kinds,
        [
            (AuditKind::JobRouted, "gpu", Some(5)),
            (AuditKind::JobHeld, "nope", None)
        ]
    );
    assert_eq!(read[0].who, "proxy");
    assert_eq!(
        read[0].after.as_ref().unwrap()["hosts_mask_exclude"],
        "(pc-9|pc-8)"
    );
}

/// The file log rotates to `audit.jsonl.1` when its oldest entry is past `keep_days`, without
/// rewriting any entry; reads never show entries past `keep_days`.
#[tokio::test]
async fn file_audit_rotates_by_age_without_rewriting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let old = entry(
        AuditKind::PoolCreated,
        "gpu",
        None,
        Duration::from_secs(3 * 86_400),
    );
    let recent = entry(AuditKind::HostsAdded, "gpu", None, MINUTE);
    let mut lines = serde_json::to_string(&old).unwrap() + "\n";
    lines += &(serde_json::to_string(&recent).unwrap() + "\n");
    std::fs::write(&path, &lines).unwrap();
    let audit = FileAudit::new(&path, 2);
    let new = entry(AuditKind::HostsRemoved, "gpu", None, Duration::ZERO);
    audit.append(&new).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(audit.rotated_path()).unwrap(),
        lines
    );
    let current = std::fs::read_to_string(&path).unwrap();
    assert_eq!(current, serde_json::to_string(&new).unwrap() + "\n");
    let read = audit.read(&AuditFilter::default()).await.unwrap();
    assert_eq!(read, [recent, new.clone()]);
    // A second append of a fresh log appends only; a cut line is skipped on read.
    let again = FileAudit::new(&path, 2);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    again.append(&new).await.unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with(&current));
    std::fs::write(audit.rotated_path(), "{\"at\": \"20").unwrap();
    assert_eq!(
        again.read(&AuditFilter::default()).await.unwrap(),
        [new.clone(), new]
    );
}

/// MongoDB gets a unique index on `jobs.job_id` and a TTL index on `audit.at`.
#[tokio::test]
async fn mongo_indexes() {
    let Some(b) = Backend::mongo("mongo_indexes") else {
        return;
    };
    let recorder = b.recorder(7).await;
    recorder
        .record_routed(&job(1, "gpu"), "proxy")
        .await
        .unwrap();
    let index = |name: &'static str, coll| {
        let b = &b;
        async move {
            let raw = b.raw_named(coll).await;
            let indexes: Vec<_> = raw
                .list_indexes()
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            indexes
                .into_iter()
                .find(|i| i.options.as_ref().and_then(|o| o.name.as_deref()) == Some(name))
        }
    };
    let jobs = index("job_id_1", "jobs").await.expect("job_id_1");
    assert_eq!(jobs.keys, doc! { "job_id": 1 });
    assert_eq!(jobs.options.unwrap().unique, Some(true));
    let audit = index("at_1", "audit").await.expect("at_1");
    let expire = audit.options.unwrap().expire_after;
    assert_eq!(expire, Some(Duration::from_secs(7 * 86_400)));
    let stored = b
        .raw_named("audit")
        .await
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    assert!(stored.get_datetime("at").is_ok(), "{stored}");
    b.cleanup().await;
}
