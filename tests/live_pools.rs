//! Live pools end to end, in-process: a file pool store, the fake afserver (which keeps jobs and
//! applies actions), and one or two proxies with live pools in front of it. Waits are bounded
//! polls of real state (the fake's jobs, the registry) or notifications, never fixed sleeps.

mod common;
mod live_common;

use std::time::Duration;

use afpool::live::reconcile::Scan;
use afpool::protocol::encode;
use afpool::store::recorder::Recorder;
use afpool::store::StoreOptions;
use common::fake_afserver::fake_jobs::FakeJob;
use common::{farm, reply_json, send, FakeAfserver};
use live_common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn a_pool_edit_reaches_every_live_job_in_one_action() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let ids = [
        submit(proxy.addr, "gpu", "a").await,
        submit(proxy.addr, "gpu", "b").await,
        submit(proxy.addr, "gpu", "c").await,
    ];
    submit(proxy.addr, "cpu", "other").await;
    registered(&proxy, &spec, 4).await;
    for id in ids {
        assert!(runs_on(&fake.kept_job(id).unwrap(), "gpu.node3"));
    }
    store
        .remove_hosts("gpu", &["gpu.node3".into()])
        .await
        .unwrap();
    store.add_hosts("gpu", &["r1".into()]).await.unwrap();
    let moved = |jobs: &[FakeJob]| {
        ids.iter().all(|id| {
            let job = jobs.iter().find(|j| j.id == *id).unwrap();
            !runs_on(job, "gpu.node3") && runs_on(job, "r1") && runs_on(job, "render01")
        })
    };
    let wait = fake.wait_jobs(moved);
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("every gpu job follows the pool");
    let edits: Vec<Value> = fake.actions();
    let batched = edits.iter().any(|a| a["ids"] == json!(ids));
    assert!(batched, "one action for the three jobs: {edits:?}");
    let cpu_job = fake
        .kept_jobs()
        .into_iter()
        .find(|j| j.name == "other")
        .unwrap();
    assert!(runs_on(&cpu_job, "r10") && !runs_on(&cpu_job, "render01"));
}

/// More jobs of one mask set than an action takes: full actions, and the rest in one more.
#[tokio::test]
async fn jobs_beyond_one_batch_fill_the_next_action() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let tuning = afpool::live::Tuning {
        reconcile_every: Duration::from_secs(3600),
        max_batch: 2,
        ..afpool::live::Tuning::default()
    };
    let proxy = start_proxy_with(&spec, fake.addr, Vec::new(), tuning).await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        ids.push(submit(proxy.addr, "gpu", name).await);
    }
    registered(&proxy, &spec, 5).await;
    let before = fake.actions().len();
    store
        .remove_hosts("gpu", &["gpu.node3".into()])
        .await
        .unwrap();
    let moved = |jobs: &[FakeJob]| jobs.iter().all(|j| !runs_on(j, "gpu.node3"));
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(moved))
        .await
        .expect("every gpu job follows the pool");
    let sizes: Vec<usize> = fake.actions()[before..]
        .iter()
        .map(|a| a["ids"].as_array().unwrap().len())
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [1, 2, 2],
        "five jobs in actions of at most two: {sizes:?}"
    );
}

#[tokio::test]
async fn a_deleted_job_leaves_the_registry_and_a_tagged_job_is_adopted() {
    let fake = FakeAfserver::start(farm()).await;
    let (dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let gone = submit(proxy.addr, "gpu", "gone").await;
    let lost = submit(proxy.addr, "cpu", "lost").await;
    registered(&proxy, &spec, 2).await;
    fake.delete_job(gone);
    // The registry loses job `lost` (a hand edit); afserver still has it, tagged [pool: cpu].
    for file in ["jobs.json", "jobs.json.journal"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    proxy.live.reconcile(Scan::Full).await;
    let index = proxy.live.index();
    assert!(index.get(gone).is_none());
    assert_eq!(
        index.get(lost).map(|j| j.pool.to_string()),
        Some("cpu".to_string())
    );
    let recorder = Recorder::open(&spec, &StoreOptions::default(), 90)
        .await
        .unwrap();
    let jobs = recorder.registry.list(None).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.job_id).collect::<Vec<_>>(), [lost]);
}

#[tokio::test]
async fn a_guarded_edit_cannot_widen_a_job_past_its_pool() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit(proxy.addr, "gpu", "a").await;
    let other = fake.kept_jobs().len() as i64 + 100; // not a pool job
    registered(&proxy, &spec, 1).await;
    let answer = edit(
        proxy.addr,
        &[id, other],
        json!({"hosts_mask_exclude": "", "hosts_mask_type": "regex"}),
    )
    .await;
    assert_eq!(answer["info"]["kind"], "log", "{answer}");
    let job = fake.kept_job(id).unwrap();
    assert!(runs_on(&job, "render01") && !runs_on(&job, "r1"), "{job:?}");
    // Narrowing within the pool is the user's right.
    edit(proxy.addr, &[id], json!({"hosts_mask": "render.*"})).await;
    let job = fake.kept_job(id).unwrap();
    assert!(
        runs_on(&job, "render01") && !runs_on(&job, "gpu.node3"),
        "{job:?}"
    );
    // Masks that leave no host of the pool are refused and nothing reaches afserver.
    let before = fake.actions().len();
    let answer = edit(proxy.addr, &[id], json!({"hosts_mask": "r1"})).await;
    assert_eq!(answer["info"]["kind"], "error", "{answer}");
    assert_eq!(fake.actions().len(), before);
}

#[tokio::test]
async fn a_pool_token_in_an_edit_moves_the_job_and_pool_none_releases_it() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit(proxy.addr, "gpu", "a").await;
    registered(&proxy, &spec, 1).await;
    edit(proxy.addr, &[id], json!({"hosts_mask": "pool:cpu"})).await;
    let job = fake.kept_job(id).unwrap();
    assert!(runs_on(&job, "r1") && !runs_on(&job, "render01"), "{job:?}");
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "cpu");
    edit(proxy.addr, &[id], json!({"hosts_mask": "pool:none"})).await;
    let job = fake.kept_job(id).unwrap();
    assert_eq!(
        (job.hosts_mask.as_str(), job.hosts_mask_exclude.as_str()),
        ("", "")
    );
    assert!(proxy.live.index().get(id).is_none());
    let recorder = Recorder::open(&spec, &StoreOptions::default(), 90)
        .await
        .unwrap();
    let index_settled = || async { recorder.registry.get(id).await.unwrap().is_none() };
    eventually("released job unregistered", index_settled).await;
    let untagged = |jobs: &[FakeJob]| jobs[0].annotation.is_empty();
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(untagged))
        .await
        .expect("the [pool: gpu] tag is removed");
    proxy.live.reconcile(Scan::Full).await;
    assert!(proxy.live.index().get(id).is_none(), "not adopted again");
}

#[tokio::test]
async fn two_proxies_on_one_store_retarget_each_job_once() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let a = start_proxy(&spec, fake.addr).await;
    let b = start_proxy(&spec, fake.addr).await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d"] {
        ids.push(submit(a.addr, "gpu", name).await);
    }
    registered(&a, &spec, 4).await;
    store
        .remove_hosts("gpu", &["gpu.node3".into()])
        .await
        .unwrap();
    for proxy in [&a, &b] {
        let version = async {
            let pools = proxy
                .pools
                .wait_for(|p| p.iter().any(|p| p.name == "gpu" && p.hosts.len() == 1))
                .await;
            drop(pools);
            proxy.live.wait_retargeted(proxy.pools.version()).await;
        };
        tokio::time::timeout(Duration::from_secs(10), version)
            .await
            .expect("both proxies re-targeted");
    }
    let actions = fake.actions();
    for id in &ids {
        let sent = actions
            .iter()
            .filter(|a| a["ids"].as_array().unwrap().contains(&json!(id)))
            .count();
        assert_eq!(sent, 1, "job {id} re-targeted once: {actions:?}");
        assert!(!runs_on(&fake.kept_job(*id).unwrap(), "gpu.node3"));
    }
}

#[tokio::test]
async fn a_restarted_proxy_keeps_every_registration() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let first = start_proxy(&spec, fake.addr).await;
    let id = submit(first.addr, "gpu", "a").await;
    registered(&first, &spec, 1).await;
    drop(first);
    let second = start_proxy(&spec, fake.addr).await;
    assert_eq!(second.live.index().get(id).unwrap().pool, "gpu");
    store
        .remove_hosts("gpu", &["gpu.node3".into()])
        .await
        .unwrap();
    let moved = |jobs: &[FakeJob]| jobs.iter().all(|j| !runs_on(j, "gpu.node3"));
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(moved))
        .await
        .expect("the restarted proxy re-targets the job");
}

#[tokio::test]
async fn a_pool_edit_while_afserver_is_down_lands_once_it_is_back() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit(proxy.addr, "gpu", "a").await;
    registered(&proxy, &spec, 1).await;
    fake.set_down(true);
    store
        .remove_hosts("gpu", &["gpu.node3".into()])
        .await
        .unwrap();
    let tried = async {
        proxy.pools.wait_for(|p| p[1].hosts.len() == 1).await;
        proxy.live.wait_retargeted(proxy.pools.version()).await;
    };
    tokio::time::timeout(Duration::from_secs(10), tried)
        .await
        .expect("a re-target was tried while afserver was down");
    assert!(runs_on(&fake.kept_job(id).unwrap(), "gpu.node3"));
    fake.set_down(false);
    let moved = |jobs: &[FakeJob]| jobs.iter().all(|j| !runs_on(j, "gpu.node3"));
    tokio::time::timeout(Duration::from_secs(20), fake.wait_jobs(moved))
        .await
        .expect("the update lands once afserver is back");
}

#[tokio::test]
async fn a_renamed_pool_keeps_its_jobs_and_a_deleted_one_holds_them() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit(proxy.addr, "gpu", "a").await;
    registered(&proxy, &spec, 1).await;
    let written = fake.kept_job(id).unwrap();
    store.rename("gpu", "render").await.unwrap();
    let index = proxy.live.index();
    let renamed = || async { index.get(id).is_some_and(|j| j.pool == "render") };
    eventually("the job follows the rename", renamed).await;
    assert_eq!(fake.kept_job(id).unwrap(), written, "masks unchanged");
    store.delete("render").await.unwrap();
    let held = |jobs: &[FakeJob]| jobs.iter().all(|j| j.offline && !runs_on(j, "render01"));
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(held))
        .await
        .expect("the jobs of a deleted pool are fenced and paused");
}

#[tokio::test]
async fn an_edit_sent_the_moment_a_job_is_accepted_is_guarded() {
    // afwatch (or a script) may edit a job as soon as afserver's reply names its id, before the
    // proxy's record writer (which gathers records for a batch) has run: the job must already be
    // guarded then.
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    for name in ["a", "b", "c"] {
        let id = submit(proxy.addr, "gpu", name).await;
        let widen = json!({"hosts_mask_exclude": "", "hosts_mask_type": "regex"});
        let answer = edit(proxy.addr, &[id], widen).await;
        assert_eq!(answer["info"]["kind"], "log", "{answer}");
        let job = fake.kept_job(id).unwrap();
        assert!(runs_on(&job, "render01") && !runs_on(&job, "r1"), "{job:?}");
    }
}

#[tokio::test]
async fn an_edit_selecting_jobs_by_name_is_refused() {
    // afcmd's jhmask, jpri and jtmax select jobs by name (`mask`, no `ids`), and afserver applies
    // an action none of whose ids it finds to the jobs whose names match: the guard cannot know
    // which those are, so such an edit of masks or limits is refused (it used to panic the
    // connection: afcmd read no answer; seen on a real afserver).
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = submit(proxy.addr, "gpu", "shot").await;
    for selection in [json!({}), json!({"ids": [id + 100]})] {
        let mut action = json!({"type": "jobs", "mask": "shot", "user_name": "artist",
            "host_name": "ws01", "params": {"hosts_mask_exclude": ""}});
        action
            .as_object_mut()
            .unwrap()
            .extend(selection.as_object().unwrap().clone());
        let body = json!({ "action": action }).to_string();
        let reply = send(proxy.addr, &encode::text_request(body.as_bytes())).await;
        let answer = reply_json(&reply);
        assert_eq!(answer["info"]["kind"], "error", "{answer}");
        let text = answer["info"]["text"].as_str().unwrap();
        assert!(text.contains("selects jobs by name ('shot')"), "{text}");
        let job = fake.kept_job(id).unwrap();
        assert!(runs_on(&job, "render01") && !runs_on(&job, "r1"), "{job:?}");
    }
}
