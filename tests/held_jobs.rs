//! Held jobs come back, end to end in process against the fake afserver: a job held because its
//! pool is unknown is routed and resumed when the pool is created; one submitted paused, or
//! started and paused again by its owner while held, gets its pool's masks but stays paused; one
//! whose pool checks who submits (a policy ACL) stays held, never checked, until submitted again.
//! Waits are bounded polls of the fake's jobs, never fixed sleeps.

mod common;
mod live_common;

use std::net::SocketAddr;
use std::time::Duration;

use afpool::live::reconcile::Scan;
use afpool::protocol::encode;
use afpool::store::audit::{AuditFilter, AuditKind};
use common::fake_afserver::fake_jobs::FakeJob;
use common::{farm, reply_json, send, FakeAfserver};
use live_common::*;
use serde_json::json;

/// Submits job `name` into `pool` through the proxy, paused when `offline`; afserver's id.
async fn submit_job(proxy: SocketAddr, pool: &str, name: &str, offline: bool) -> i64 {
    let mut job = json!({
        "name": name, "user_name": "artist", "host_name": "ws01", "pool": pool,
        "annotation": "notes",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 4, "command": "x"}]
    });
    if offline {
        job["offline"] = json!(true);
    }
    let body = json!({ "job": job }).to_string();
    let reply = send(proxy, &encode::text_request(body.as_bytes())).await;
    reply_json(&reply)["id"].as_i64().expect("a job id")
}

/// An afwatch operation (`start`, `pause`) sent to afserver itself, around the proxy.
async fn operate(fake: SocketAddr, id: i64, operation: &str) {
    let action = json!({"action": {"type": "jobs", "ids": [id], "user_name": "artist",
        "host_name": "ws01", "operation": {"type": operation}}});
    send(fake, &encode::text_request(action.to_string().as_bytes())).await;
}

/// Waits (10 s at most, woken by every action afserver receives) until job `id` satisfies `ok`.
async fn job_becomes(fake: &FakeAfserver, id: i64, what: &str, ok: impl Fn(&FakeJob) -> bool) {
    let ready = |jobs: &[FakeJob]| jobs.iter().any(|j| j.id == id && ok(j));
    let waited = tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(ready));
    if waited.await.is_err() {
        panic!("job {id} never {what}: {:?}", fake.kept_job(id));
    }
}

fn routed_to_r1(job: &FakeJob) -> bool {
    runs_on(job, "r1") && !runs_on(job, "render01") && !runs_on(job, "newbox")
}

#[tokio::test]
async fn a_job_held_for_an_unknown_pool_is_routed_and_resumed_when_the_pool_is_created() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit_job(proxy.addr, "late", "shot", false).await;
    let held = fake.kept_job(id).unwrap();
    assert!(held.offline && !runs_on(&held, "r1"), "{held:?}");
    assert!(held.annotation.starts_with("[afpool: held: "), "{held:?}");
    registered(&proxy, &spec, 1).await;
    let record = proxy.live.index().get(id).unwrap();
    assert_eq!(record.held.map(|h| h.paused_by_afpool), Some(true));

    store.create("late", &["r1".into()]).await.unwrap();
    job_becomes(&fake, id, "routed and resumed", |j| {
        routed_to_r1(j) && !j.offline && j.annotation == "[pool: late] notes"
    })
    .await;
    let recorder = registry_of(&spec).await;
    let stored = recorder.registry.get(id).await.unwrap().unwrap();
    assert_eq!((stored.pool.as_str(), stored.held), ("late", None));
    let filter = AuditFilter {
        job_id: Some(id),
        ..AuditFilter::default()
    };
    let audit = || async { recorder.audit.read(&filter).await.unwrap() };
    eventually("job_resumed audited", || async {
        audit()
            .await
            .iter()
            .any(|e| e.kind == AuditKind::JobResumed)
    })
    .await;
    let entries = audit().await;
    let resumed = entries.iter().find(|e| e.kind == AuditKind::JobResumed);
    let detail = &resumed.unwrap().detail;
    assert!(detail.contains("'late' and resumed"), "{detail}");
    assert!(detail.contains("unknown pool 'late'"), "{detail}");
    let starts = fake.actions();
    let started: Vec<_> = (starts.iter())
        .filter(|a| a["operation"]["type"] == "start")
        .collect();
    assert_eq!(started.len(), 1, "started once: {starts:?}");
}

#[tokio::test]
async fn a_job_submitted_paused_gets_its_pool_but_stays_paused() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit_job(proxy.addr, "late", "paused", true).await;
    registered(&proxy, &spec, 1).await;
    let record = proxy.live.index().get(id).unwrap();
    assert_eq!(record.held.map(|h| h.paused_by_afpool), Some(false));
    store.create("late", &["r1".into()]).await.unwrap();
    job_becomes(&fake, id, "routed", |j| {
        routed_to_r1(j) && j.annotation == "[pool: late] notes"
    })
    .await;
    eventually("the hold is cleared", || async {
        proxy.live.index().get(id).is_some_and(|j| j.held.is_none())
    })
    .await;
    assert!(fake.kept_job(id).unwrap().offline, "left paused");
    let started = fake
        .actions()
        .iter()
        .any(|a| a["operation"]["type"] == "start");
    assert!(!started, "{:?}", fake.actions());
}

#[tokio::test]
async fn a_held_job_its_owner_started_and_paused_again_stays_paused() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit_job(proxy.addr, "late", "mine", false).await;
    registered(&proxy, &spec, 1).await;
    // The owner starts it in afwatch (fenced: it runs nowhere), a reconcile sees it running...
    operate(fake.addr, id, "start").await;
    assert!(proxy.live.reconcile(Scan::Registered).await);
    let record = proxy.live.index().get(id).unwrap();
    assert_eq!(record.held.map(|h| h.paused_by_afpool), Some(false));
    // ... and pauses it again: the pause is theirs now.
    operate(fake.addr, id, "pause").await;
    store.create("late", &["r1".into()]).await.unwrap();
    job_becomes(&fake, id, "routed", routed_to_r1).await;
    eventually("the hold is cleared", || async {
        proxy.live.index().get(id).is_some_and(|j| j.held.is_none())
    })
    .await;
    assert!(fake.kept_job(id).unwrap().offline, "left paused");
    let afpools_start = (fake.actions().iter())
        .any(|a| a["operation"]["type"] == "start" && a["user_name"] == "afpool");
    assert!(!afpools_start, "{:?}", fake.actions());
}

#[tokio::test]
async fn a_job_paused_by_its_owner_before_its_pool_went_away_stays_paused_when_it_is_back() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit_job(proxy.addr, "cpu", "theirs", false).await;
    registered(&proxy, &spec, 1).await;
    operate(fake.addr, id, "pause").await;
    store.delete("cpu").await.unwrap();
    job_becomes(&fake, id, "fenced", |j| !runs_on(j, "r1") && j.offline).await;
    eventually("the owner's pause is recorded", || async {
        let held = proxy.live.index().get(id).and_then(|j| j.held);
        held.is_some_and(|h| !h.paused_by_afpool)
    })
    .await;
    store.create("cpu", &["r1".into()]).await.unwrap();
    job_becomes(&fake, id, "routed", routed_to_r1).await;
    eventually("the hold is cleared", || async {
        proxy.live.index().get(id).is_some_and(|j| j.held.is_none())
    })
    .await;
    assert!(fake.kept_job(id).unwrap().offline, "left paused");
}

#[tokio::test]
async fn a_held_job_moved_to_a_pool_in_afwatch_is_routed_and_resumed() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit_job(proxy.addr, "late", "moved", false).await;
    registered(&proxy, &spec, 1).await;
    // A mask edit that leaves the job held is refused: it cannot lift the fence.
    let widen = edit(proxy.addr, &[id], json!({"hosts_mask_exclude": ""})).await;
    assert_eq!(widen["info"]["kind"], "error", "{widen}");
    assert!(!runs_on(&fake.kept_job(id).unwrap(), "r1"));
    // Typing pool:cpu into the mask field moves it: routed to cpu and resumed.
    let moved = edit(proxy.addr, &[id], json!({"hosts_mask": "pool:cpu"})).await;
    assert_ne!(moved["info"]["kind"], "error", "{moved}");
    job_becomes(&fake, id, "routed to cpu and resumed", |j| {
        runs_on(j, "r1") && runs_on(j, "r10") && !runs_on(j, "render01") && !j.offline
    })
    .await;
    let record = proxy.live.index().get(id).unwrap();
    assert_eq!((record.pool.as_str(), record.held), ("cpu", None));
}

#[tokio::test]
async fn a_held_job_does_not_come_back_around_a_pool_policy_that_checks_submitters() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit_job(proxy.addr, "late", "shot", false).await;
    registered(&proxy, &spec, 1).await;
    // The pool comes, empty, then only anna may submit into it, then it gets a host.
    store.create("late", &[]).await.unwrap();
    let policy = json!({"allow": {"users": ["anna"]}});
    let policy = serde_json::from_value(policy).unwrap();
    store.set_policy("late", &policy).await.unwrap();
    store.add_hosts("late", &["r1".into()]).await.unwrap();
    let settled = async {
        let pools = proxy.pools.wait_for(|p| {
            p.iter()
                .any(|p| p.name == "late" && p.hosts.len() == 1 && !p.policy.is_empty())
        });
        drop(pools.await);
        proxy.live.wait_retargeted(proxy.pools.version()).await;
    };
    tokio::time::timeout(Duration::from_secs(10), settled)
        .await
        .expect("the re-target pass after the edits");
    // 'artist' was never checked against the policy: the job stays held and fenced.
    let job = fake.kept_job(id).unwrap();
    assert!(job.offline && !runs_on(&job, "r1"), "{job:?}");
    let record = proxy.live.index().get(id).unwrap();
    assert!(record.held.is_some(), "{record:?}");
    assert_eq!(record.pool, "late");
    // Submitted again by anna, the same job is routed: the policy, not the hold, decides.
    let again = json!({"job": {"name": "shot", "user_name": "anna", "host_name": "ws01",
        "pool": "late", "blocks": [{"name": "b", "flags": 1, "frame_first": 1,
        "frame_last": 4, "command": "x"}]}});
    let reply = send(
        proxy.addr,
        &encode::text_request(again.to_string().as_bytes()),
    )
    .await;
    let anna = reply_json(&reply)["id"].as_i64().expect("a job id");
    assert!(routed_to_r1(&fake.kept_job(anna).unwrap()));
}
