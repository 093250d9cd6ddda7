//! Scheduled members end to end, in process against the fake afserver: a member's window opens
//! and shuts and a live job's masks follow at each edge. Time is a manual [`Clock`] the test
//! sets (tokio's paused clock would also fire the harness's network timeouts): the resolver
//! reads windows at the clock's now and the feed wakes when it reaches the next edge.

mod common;
#[path = "live_common/mod.rs"]
mod live_common;

use std::sync::Arc;
use std::time::Duration;

use afpool::job::RouteSettings;
use afpool::live::{LiveJobs, Tuning};
use afpool::proxy::{self, Limits, Shared};
use afpool::routing::{PoolFeed, RendersCache, Router};
use afpool::select::clock::Clock;
use afpool::select::feed::ResolvedPools;
use afpool::select::resolve::Resolver;
use afpool::store::live::LivePools;
use afpool::store::recorder::Recorder;
use afpool::store::{self, Selection, StoreOptions};
use common::fake_afserver::fake_jobs::FakeJob;
use common::{farm, upstream, FakeAfserver};
use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use live_common::{runs_on, submit};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

struct Farm {
    fake: FakeAfserver,
    clock: Clock,
    resolved: Arc<ResolvedPools>,
    live: Arc<LiveJobs>,
    proxy: std::net::SocketAddr,
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `2026-12-d h:00` in Berlin; the 7th is a Monday.
fn berlin(d: i8, h: i8) -> Timestamp {
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    tz.to_timestamp(date(2026, 12, d).at(h, 0, 0, 0)).unwrap()
}

/// Pool `night`: r1 always, render01 on Monday 19:00-20:00, and the renders with a 24 GB GPU
/// (gpu.node3) on weekends, in Berlin; the clock at Monday 18:00.
async fn start() -> Farm {
    let fake = FakeAfserver::start(farm()).await;
    fake.renders()
        .set_hardware("gpu.node3", json!({"gpu_mem_total_mb": 24576}));
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    let store = store::open(&spec).await.unwrap();
    store
        .create("night", &["render01".into(), "r1".into()])
        .await
        .unwrap();
    let windows = [("render01", "Mon 19:00-20:00"), ("*", "Sat,Sun")];
    let selection = Selection {
        select: Some("gpu_mem_total_mb >= 20000".into()),
        during: windows
            .iter()
            .map(|(k, w)| (k.to_string(), vec![w.to_string()]))
            .collect(),
        time_zone: Some("Europe/Berlin".into()),
        ..Selection::default()
    };
    store.set_selection("night", &selection).await.unwrap();

    let shutdown = CancellationToken::new();
    let clock = Clock::manual(berlin(7, 18));
    let stored = LivePools::start(store.clone(), shutdown.clone()).await;
    let up = upstream(fake.addr);
    let renders = RendersCache::spawn(up.clone(), Duration::from_secs(3600), shutdown.clone());
    let resolver = Resolver::with_zone(TimeZone::UTC);
    let resolved = ResolvedPools::start_with(
        stored,
        renders.clone(),
        clock.clone(),
        resolver,
        shutdown.clone(),
    );
    let router = Arc::new(Router::new(
        RouteSettings::default(),
        resolved.clone(),
        renders.clone(),
    ));
    router.spawn_rebuilds(shutdown.clone());
    let recorder = Recorder::open(&spec, &StoreOptions::default(), 90)
        .await
        .unwrap();
    let tuning = Tuning {
        reconcile_every: Duration::from_secs(3600),
        ..Tuning::default()
    };
    let live = LiveJobs::start(
        recorder,
        router.clone(),
        resolved.clone(),
        up.clone(),
        tuning,
        shutdown.clone(),
    )
    .await;
    let shared =
        Arc::new(Shared::new(up, router.clone(), Limits::default()).with_live(live.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    tokio::spawn(proxy::run(listener, shared, shutdown.clone()));
    let farm = Farm {
        fake,
        clock,
        resolved,
        live,
        proxy,
        _dir: dir,
        shutdown,
    };
    // Once afserver's render list is in, gpu.node3 is selected (but shut out on a Monday).
    renders.wait_refreshes(1).await;
    farm.members_become(&["r1"]).await;
    // Routing reads the inventory: wait until it was built from that render list and those
    // members (a count of rebuilds could be met by a build from older sources).
    let built = |inv: &afpool::job::Inventory| {
        let night = inv.pools().iter().find(|p| p.name == "night");
        !inv.renders().is_empty() && night.is_some_and(|p| p.hosts == ["r1"])
    };
    tokio::time::timeout(Duration::from_secs(10), router.wait_inventory(built))
        .await
        .expect("the inventory is built from the render list");
    farm
}

impl Farm {
    fn members(&self) -> Vec<String> {
        let mut hosts = self.resolved.current()[0].hosts.clone();
        hosts.sort();
        hosts
    }

    /// Waits (10 s at most, woken by every published version) until `night` resolves to
    /// `want`; then until live jobs were re-targeted for that version.
    async fn members_become(&self, want: &[&str]) {
        let mut changes = self.resolved.changes().unwrap();
        let reached = tokio::time::timeout(Duration::from_secs(10), async {
            while self.members() != want {
                changes.changed().await.unwrap();
            }
        });
        if reached.await.is_err() {
            panic!("night: {:?}, never {want:?}", self.members());
        }
        let version = self.resolved.version();
        tokio::time::timeout(Duration::from_secs(10), self.live.wait_retargeted(version))
            .await
            .expect("live jobs re-targeted");
    }

    /// Waits (10 s at most, woken by every action afserver receives) until job `id` may run on
    /// exactly `want`.
    async fn job_runs_on(&self, id: i64, want: &[&str]) {
        let ready = |jobs: &[FakeJob]| jobs.iter().any(|j| j.id == id && on(j) == want);
        let waited = tokio::time::timeout(Duration::from_secs(10), self.fake.wait_jobs(ready));
        if waited.await.is_err() {
            let job = self.fake.kept_job(id).expect("afserver holds the job");
            panic!("job {id} runs on {:?}, never {want:?}", on(&job));
        }
    }
}

fn on(job: &FakeJob) -> Vec<String> {
    let all = ["render01", "render02", "gpu.node3", "r1", "r10"];
    let mut on: Vec<String> = all
        .iter()
        .filter(|h| runs_on(job, h))
        .map(|h| h.to_string())
        .collect();
    on.sort();
    on
}

#[tokio::test]
async fn a_live_job_follows_its_members_windows() {
    let f = start().await;
    let id = submit(f.proxy, "night", "shot010").await;
    f.job_runs_on(id, &["r1"]).await;
    // Monday 19:00: render01's window opens.
    f.clock.set(berlin(7, 19));
    f.members_become(&["r1", "render01"]).await;
    f.job_runs_on(id, &["r1", "render01"]).await;
    // 20:00: it shuts.
    f.clock.set(berlin(7, 20));
    f.members_become(&["r1"]).await;
    f.job_runs_on(id, &["r1"]).await;
    // Saturday: the selected GPU render joins for the weekend, and a new job goes there too.
    f.clock.set(berlin(12, 0));
    f.members_become(&["gpu.node3", "r1"]).await;
    f.job_runs_on(id, &["gpu.node3", "r1"]).await;
    let weekend = submit(f.proxy, "night", "shot020").await;
    f.job_runs_on(weekend, &["gpu.node3", "r1"]).await;
    // Monday 00:00: it leaves again.
    f.clock.set(berlin(14, 0));
    f.members_become(&["r1"]).await;
    f.job_runs_on(id, &["r1"]).await;
    f.job_runs_on(weekend, &["r1"]).await;
}
