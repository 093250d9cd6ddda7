//! Optional: the live registry in front of a real afserver 3.4.1. Runs only when
//! `AFPOOL_REAL_AFSERVER` names an afserver binary (see `tests/common/real_afserver.rs`);
//! otherwise it says it was skipped. CI never has one. Pool jobs routed through afpool are
//! registered; a job deleted on afserver leaves the registry at the next reconcile, asked for
//! alone (afserver answers one id it lacks with an error, not an empty list) or among others; a
//! job afserver holds with afpool's `[pool: NAME]` tag that no registry has is adopted.

#[allow(unused_imports)] // the fake afserver is not used here
mod common;
mod live_common;

use std::net::SocketAddr;

use afpool::live::reconcile::Scan;
use afpool::protocol::encode;
use common::real_afserver::RealAfserver;
use common::{reply_json, send};
use live_common::*;
use serde_json::{json, Value};

async fn ask(afserver: SocketAddr, request: Value) -> Value {
    let bytes = encode::text_request(request.to_string().as_bytes());
    reply_json(&send(afserver, &bytes).await)
}

/// Deletes job `id` on afserver as af.py's `Cmd.deleteJobById` does, and waits until afserver
/// no longer lists it (its run thread carries actions out).
async fn delete(afserver: SocketAddr, id: i64) {
    let action = json!({"action": {"type": "jobs", "ids": [id], "user_name": "artist",
        "host_name": "ws01", "operation": {"type": "delete"}}});
    ask(afserver, action).await;
    let gone = || async {
        let all = ask(afserver, json!({"get": {"type": "jobs"}})).await;
        let jobs = all["jobs"].as_array().cloned().unwrap_or_default();
        !jobs.iter().any(|j| j["id"] == id)
    };
    eventually("afserver deleted the job", gone).await;
}

async fn registered_ids(spec: &str) -> Vec<i64> {
    let recorder = registry_of(spec).await;
    let mut ids: Vec<i64> = (recorder.registry.list(None).await.unwrap().iter())
        .map(|j| j.job_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_real_afservers_deleted_and_tagged_jobs_are_reconciled() {
    let Some(binary) = common::real_afserver::binary() else {
        eprintln!("skipped: set AFPOOL_REAL_AFSERVER to an afserver 3.4.1 binary to run this test");
        return;
    };
    let mut afserver = RealAfserver::start(&binary);
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, afserver.addr).await;

    // Alone: a registry of one job, deleted on afserver.
    let alone = submit(proxy.addr, "gpu", "alone").await;
    registered(&proxy, &spec, 1).await;
    delete(afserver.addr, alone).await;
    let reply = ask(
        afserver.addr,
        json!({"get": {"type": "jobs", "ids": [alone]}}),
    )
    .await;
    assert_eq!(
        reply,
        json!({"info": {"kind": "error", "text": "Invalid ID"}}),
        "afserver's answer to one id it lacks"
    );
    assert!(proxy.live.reconcile(Scan::Registered).await);
    assert!(proxy.live.index().get(alone).is_none());
    assert_eq!(registered_ids(&spec).await, Vec::<i64>::new());

    // Among others: only the deleted one leaves.
    let mut kept = Vec::new();
    for name in ["a", "b", "c"] {
        kept.push(submit(proxy.addr, "cpu", name).await);
    }
    registered(&proxy, &spec, 3).await;
    let gone = kept.remove(1);
    delete(afserver.addr, gone).await;
    assert!(proxy.live.reconcile(Scan::Registered).await);
    kept.sort();
    assert_eq!(registered_ids(&spec).await, kept);

    // A tagged job that reached afserver without afpool's record is adopted by a full scan.
    let tagged = json!({"job": {"name": "lost", "user_name": "artist", "host_name": "ws01",
        "annotation": "[pool: gpu] shot 10",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
    let lost = ask(afserver.addr, tagged).await["id"]
        .as_i64()
        .expect("a job id");
    assert!(proxy.live.reconcile(Scan::Full).await);
    let mut want = [kept.clone(), vec![lost]].concat();
    want.sort();
    assert_eq!(registered_ids(&spec).await, want);
    assert_eq!(
        proxy.live.index().get(lost).map(|j| j.pool),
        Some("gpu".into())
    );
    assert!(afserver.alive());
}
