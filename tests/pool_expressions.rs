//! Pool expressions end to end, in process against the fake afserver: a job naming `gpu|cpu`
//! or `gpu&!old` runs on exactly that set, follows edits of any pool in it, an afwatch edit with
//! a `pool:` token holding an expression moves a job, and an expression naming an unknown pool
//! is held with the name in the reason. New pool names may not hold the operators.

mod common;
mod live_common;

use std::time::Duration;

use afpool::store::StoreError;
use common::fake_afserver::fake_jobs::FakeJob;
use common::{farm, FakeAfserver};
use live_common::*;
use serde_json::json;

/// The hosts of the farm a job can run on.
fn hosts_of(job: &FakeJob) -> Vec<&'static str> {
    ["render01", "render02", "gpu.node3", "r1", "r10", "new7"]
        .into_iter()
        .filter(|h| runs_on(job, h))
        .collect()
}

#[tokio::test]
async fn an_expression_routes_to_its_set_and_follows_every_pool_in_it() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await; // gpu: render01 gpu.node3; cpu: r1 r10
    store.create("old", &["gpu.node3".into()]).await.unwrap();
    let proxy = start_proxy(&spec, fake.addr).await;
    let either = submit(proxy.addr, "gpu|cpu", "either").await;
    let newer = submit(proxy.addr, "gpu&!old", "newer").await;
    registered(&proxy, &spec, 2).await;
    let job = |id| fake.kept_job(id).unwrap();
    assert_eq!(
        hosts_of(&job(either)),
        ["render01", "gpu.node3", "r1", "r10"]
    );
    assert_eq!(hosts_of(&job(newer)), ["render01"]);
    assert_eq!(proxy.live.index().get(newer).unwrap().pool, "gpu&!old");

    // cpu gains render02: the union follows, the difference does not change.
    store.add_hosts("cpu", &["render02".into()]).await.unwrap();
    let grown = |jobs: &[FakeJob]| {
        let e = jobs.iter().find(|j| j.id == either).unwrap();
        hosts_of(e) == ["render01", "render02", "gpu.node3", "r1", "r10"]
    };
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(grown))
        .await
        .expect("the gpu|cpu job follows cpu");
    assert_eq!(hosts_of(&job(newer)), ["render01"]);

    // old lets gpu.node3 go: the difference now has it.
    store
        .remove_hosts("old", &["gpu.node3".into()])
        .await
        .unwrap();
    let freed = |jobs: &[FakeJob]| {
        let n = jobs.iter().find(|j| j.id == newer).unwrap();
        hosts_of(n) == ["render01", "gpu.node3"]
    };
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(freed))
        .await
        .expect("the gpu&!old job follows old");
}

#[tokio::test]
async fn a_token_with_an_expression_moves_a_job_and_an_unknown_name_holds_it() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    store.create("old", &["r10".into()]).await.unwrap();
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit(proxy.addr, "gpu", "a").await;
    registered(&proxy, &spec, 1).await;
    let mask = "pool:(gpu|cpu)&!old";
    edit(proxy.addr, &[id], json!({ "hosts_mask": mask })).await;
    let moved = fake.kept_job(id).unwrap();
    assert_eq!(
        hosts_of(&moved),
        ["render01", "gpu.node3", "r1"],
        "{moved:?}"
    );
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "(gpu|cpu)&!old");

    let held = submit(proxy.addr, "gpu|nope", "b").await;
    let job = fake.kept_job(held).unwrap();
    assert!(job.offline, "held jobs are paused: {job:?}");
    assert!(hosts_of(&job).is_empty(), "and fenced: {job:?}");
    assert!(
        job.annotation.contains("unknown pool 'nope'"),
        "{}",
        job.annotation
    );

    let refused = store.create("gpu&!old", &[]).await.unwrap_err();
    assert!(matches!(refused, StoreError::InvalidName(..)), "{refused}");
    assert!(refused.to_string().contains("'&'"), "{refused}");
}
