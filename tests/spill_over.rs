//! Spill-over end to end, in process against the fake afserver: `spill_below` routes a
//! submission to its short pool and the fallback (`[pool: gpu → gpu|cpu]`), `spill_after`
//! widens a queued live job to the next fallback once its time is up. Time is the live clock,
//! moved forward by the test; reconciles are run by the test. Both fire once and are audited.

mod common;
mod live_common;

use std::time::Duration;

use afpool::live::clock::Clock;
use afpool::live::reconcile::Scan;
use afpool::live::Tuning;
use afpool::renders::RenderInfo;
use afpool::store::audit::{AuditFilter, AuditKind};
use afpool::store::Spill;
use common::fake_afserver::fake_jobs::FakeJob;
use common::{farm, FakeAfserver};
use live_common::*;

fn render(name: &str, nimby: bool) -> RenderInfo {
    RenderInfo {
        nimby,
        ..RenderInfo::named(name)
    }
}

fn on(job: &FakeJob) -> Vec<&'static str> {
    ["render01", "gpu.node3", "r1", "r10", "newbox"]
        .into_iter()
        .filter(|h| runs_on(job, h))
        .collect()
}

async fn spills_audited(spec: &str, id: i64) -> Vec<String> {
    let recorder = registry_of(spec).await;
    let filter = AuditFilter {
        job_id: Some(id),
        ..AuditFilter::default()
    };
    let entries = recorder.audit.read(&filter).await.unwrap();
    (entries.into_iter())
        .filter(|e| e.kind == AuditKind::JobSpilled)
        .map(|e| e.detail)
        .collect()
}

#[tokio::test]
async fn spill_below_routes_a_submission_to_the_pool_and_its_fallback() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let spill = Spill {
        fallback: vec!["cpu".into()],
        spill_below: Some(2),
        spill_after: None,
    };
    store.set_spill("gpu", &spill).await.unwrap();
    // gpu.node3 is NIMBY: one gpu member ready, fewer than 2.
    let renders = vec![
        render("render01", false),
        render("gpu.node3", true),
        render("r1", false),
        render("r10", false),
    ];
    let tuning = Tuning {
        reconcile_every: Duration::from_secs(3600),
        ..Tuning::default()
    };
    let proxy = start_proxy_with(&spec, fake.addr, renders, tuning).await;
    let id = submit(proxy.addr, "gpu", "shot").await;
    let job = fake.kept_job(id).unwrap();
    assert_eq!(on(&job), ["render01", "gpu.node3", "r1", "r10"], "{job:?}");
    assert_eq!(job.annotation, "[pool: gpu → gpu|cpu]");
    registered(&proxy, &spec, 1).await;
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "gpu|cpu");
    eventually("job_spilled audited", || async {
        !spills_audited(&spec, id).await.is_empty()
    })
    .await;
    let said = spills_audited(&spec, id).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("spill_below fired"), "{said:?}");
    // A reconcile keeps the job where it spilled to (re-targets follow gpu|cpu).
    assert!(proxy.live.reconcile(Scan::Full).await);
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "gpu|cpu");
}

#[tokio::test]
async fn spill_after_adds_the_fallback_to_a_queued_job_once_its_time_is_up() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let spill = Spill {
        fallback: vec!["cpu".into()],
        spill_below: None,
        spill_after: Some("30m".into()),
    };
    store.set_spill("gpu", &spill).await.unwrap();
    let clock = Clock::default();
    let tuning = Tuning {
        reconcile_every: Duration::from_secs(3600),
        clock: clock.clone(),
        ..Tuning::default()
    };
    let proxy = start_proxy_with(&spec, fake.addr, Vec::new(), tuning).await;
    let id = submit(proxy.addr, "gpu", "sim").await;
    registered(&proxy, &spec, 1).await;
    assert_eq!(on(&fake.kept_job(id).unwrap()), ["render01", "gpu.node3"]);
    // Not yet: 29 minutes queued.
    clock.advance(Duration::from_secs(29 * 60));
    assert!(proxy.live.reconcile(Scan::Registered).await);
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "gpu");
    clock.advance(Duration::from_secs(2 * 60));
    assert!(proxy.live.reconcile(Scan::Registered).await);
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "gpu|cpu");
    let widened = |jobs: &[FakeJob]| {
        (jobs.iter()).any(|j| j.id == id && on(j) == ["render01", "gpu.node3", "r1", "r10"])
    };
    tokio::time::timeout(Duration::from_secs(10), fake.wait_jobs(widened))
        .await
        .expect("the job may run on cpu too");
    assert_eq!(
        fake.kept_job(id).unwrap().annotation,
        "[pool: gpu → gpu|cpu]"
    );
    // Later reconciles take no second step: every fallback is taken.
    clock.advance(Duration::from_secs(120 * 60));
    assert!(proxy.live.reconcile(Scan::Registered).await);
    let said = spills_audited(&spec, id).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("spill_after fired") && said[0].contains("'gpu|cpu'"),
        "{said:?}"
    );
    let recorder = registry_of(&spec).await;
    let stored = recorder.registry.get(id).await.unwrap().unwrap();
    assert_eq!(stored.pool, "gpu|cpu");
}

#[tokio::test]
async fn a_paused_job_does_not_spill_after() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = file_store().await;
    let spill = Spill {
        fallback: vec!["cpu".into()],
        spill_below: None,
        spill_after: Some("30m".into()),
    };
    store.set_spill("gpu", &spill).await.unwrap();
    let clock = Clock::default();
    let tuning = Tuning {
        reconcile_every: Duration::from_secs(3600),
        clock: clock.clone(),
        ..Tuning::default()
    };
    let proxy = start_proxy_with(&spec, fake.addr, Vec::new(), tuning).await;
    let id = submit(proxy.addr, "gpu", "paused").await;
    registered(&proxy, &spec, 1).await;
    let pause = serde_json::json!({"action": {"type": "jobs", "ids": [id], "user_name": "artist",
        "host_name": "ws01", "operation": {"type": "pause"}}});
    let body = afpool::protocol::encode::text_request(pause.to_string().as_bytes());
    common::send(fake.addr, &body).await;
    clock.advance(Duration::from_secs(3600));
    assert!(proxy.live.reconcile(Scan::Registered).await);
    assert_eq!(proxy.live.index().get(id).unwrap().pool, "gpu");
    assert!(spills_audited(&spec, id).await.is_empty());
}
