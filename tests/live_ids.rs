//! afserver gives a new job the lowest free id, so a deleted pool job's id soon names another
//! job. afpool tells them apart by afserver's `serial`: a job at a reused id is never re-targeted
//! or guarded as the pool job that had the id, whether it came through afpool (forgotten at once)
//! or straight to afserver (dropped by the next reconcile, which asks only for registered ids).

mod common;
mod live_common;

use std::sync::Arc;

use afpool::live::reconcile::{Scan, IDS_PER_GET};
use afpool::protocol::encode;
use afpool::store::registry::PoolJob;
use common::{farm, reply_json, send, FakeAfserver};
use live_common::*;
use serde_json::{json, Value};

/// Submits a job with no pool (and `annotation`) to `addr`, proxy or afserver; afserver's id.
async fn submit_plain(addr: std::net::SocketAddr, name: &str, annotation: &str) -> i64 {
    let job = json!({"job": {
        "name": name, "user_name": "artist", "host_name": "ws01", "annotation": annotation,
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 4, "command": "x"}]
    }});
    let reply = send(addr, &encode::text_request(job.to_string().as_bytes())).await;
    reply_json(&reply)["id"].as_i64().expect("a job id")
}

/// The `get jobs` requests afserver received, as JSON.
fn job_lists_asked(fake: &FakeAfserver) -> Vec<Value> {
    fake.requests()
        .iter()
        .filter_map(|r| {
            let start = r.iter().position(|b| *b == b'{')?;
            serde_json::from_slice::<Value>(&r[start..]).ok()
        })
        .filter(|v| v["get"]["type"] == "jobs")
        .collect()
}

#[tokio::test]
async fn a_job_through_afpool_at_a_deleted_pool_jobs_id_stays_outside_the_pool() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let gone = submit(proxy.addr, "gpu", "gone").await;
    registered(&proxy, &spec, 1).await;
    fake.delete_job(gone);
    let id = submit_plain(proxy.addr, "plain", "").await;
    assert_eq!(id, gone, "afserver reuses the lowest free id");
    let recorder = registry_of(&spec).await;
    let forgotten = || async { recorder.registry.get(id).await.unwrap().is_none() };
    eventually("the deleted pool job leaves the registry", forgotten).await;
    assert!(proxy.live.index().get(id).is_none());
    // A pool edit re-targets no job; a GUI edit of the new job reaches afserver as sent.
    store
        .remove_hosts("gpu", &["gpu.node3".into()])
        .await
        .unwrap();
    let version = proxy.pools.version();
    proxy.live.wait_retargeted(version).await;
    edit(proxy.addr, &[id], json!({"hosts_mask": "gpu.node3"})).await;
    let job = fake.kept_job(id).unwrap();
    assert_eq!(job.name, "plain");
    assert_eq!(
        (job.hosts_mask.as_str(), job.hosts_mask_exclude.as_str()),
        ("gpu.node3", "")
    );
}

#[tokio::test]
async fn a_reconcile_asks_for_registered_ids_and_drops_a_reused_one() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let kept = submit(proxy.addr, "cpu", "kept").await;
    let gone = submit(proxy.addr, "gpu", "gone").await;
    let tagged = submit(proxy.addr, "gpu", "tagged").await;
    registered(&proxy, &spec, 3).await;
    let asked_before = job_lists_asked(&fake).len();
    // Straight to afserver, past afpool: one plain job, one carrying a [pool: cpu] tag.
    fake.delete_job(gone);
    fake.delete_job(tagged);
    assert_eq!(submit_plain(fake.addr, "plain", "").await, gone);
    assert_eq!(submit_plain(fake.addr, "copy", "[pool: cpu]").await, tagged);
    assert!(proxy.live.reconcile(Scan::Registered).await);
    let index = proxy.live.index();
    assert_eq!(index.get(kept).map(|j| j.job_name), Some("kept".into()));
    assert!(index.get(gone).is_none(), "a reused id is not the pool job");
    let adopted = index
        .get(tagged)
        .expect("a tagged job at a reused id is adopted");
    assert_eq!(
        (adopted.pool.as_str(), adopted.job_name.as_str()),
        ("cpu", "copy")
    );
    assert_eq!(adopted.serial, Some(fake.kept_job(tagged).unwrap().serial));
    let asked = &job_lists_asked(&fake)[asked_before..];
    assert_eq!(asked.len(), 1, "{asked:?}");
    let mut ids: Vec<i64> = serde_json::from_value(asked[0]["get"]["ids"].clone()).unwrap();
    ids.sort();
    let mut want = vec![kept, gone, tagged];
    want.sort();
    assert_eq!(ids, want);
    let recorder = registry_of(&spec).await;
    let mut names: Vec<String> = (recorder.registry.list(None).await.unwrap())
        .iter()
        .map(|j| j.job_name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["copy", "kept"]);
}

#[tokio::test]
async fn a_large_registry_is_asked_for_in_parts() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let recorder = registry_of(&spec).await;
    let mut jobs = Vec::new();
    for n in 0..IDS_PER_GET + 1 {
        let id = submit_plain(fake.addr, &format!("job{n}"), "[pool: gpu]").await;
        let serial = fake.kept_job(id).unwrap().serial;
        jobs.push(Arc::new(PoolJob {
            job_id: id,
            pool: "gpu".into(),
            user: "artist".into(),
            job_name: format!("job{n}"),
            submitted_at: bson::DateTime::now(),
            masks_written: Default::default(),
            user_masks: Default::default(),
            mask_mode: afpool::job::MaskMode::Exclude,
            serial: Some(serial),
            held: None,
        }));
    }
    recorder.registry.upsert_many(&jobs).await.unwrap();
    fake.delete_job(jobs[7].job_id);
    let asked_before = job_lists_asked(&fake).len();
    assert!(proxy.live.reconcile(Scan::Registered).await);
    let asked = &job_lists_asked(&fake)[asked_before..];
    let sizes: Vec<usize> = asked
        .iter()
        .map(|a| a["get"]["ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [IDS_PER_GET, 1]);
    let index = proxy.live.index();
    assert_eq!(index.len(), IDS_PER_GET);
    assert!(index.get(jobs[7].job_id).is_none());
}

#[tokio::test]
async fn a_deleted_job_asked_for_alone_is_dropped() {
    // afserver answers a `get jobs` of one id it does not have with an error, not an empty list.
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let gone = submit(proxy.addr, "gpu", "gone").await;
    registered(&proxy, &spec, 1).await;
    fake.delete_job(gone);
    let asked_before = job_lists_asked(&fake).len();
    assert!(proxy.live.reconcile(Scan::Registered).await);
    let asked = &job_lists_asked(&fake)[asked_before..];
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["get"]["ids"], json!([gone]));
    assert!(proxy.live.index().get(gone).is_none());
    let recorder = registry_of(&spec).await;
    assert!(recorder.registry.list(None).await.unwrap().is_empty());
}
