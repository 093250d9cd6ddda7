//! Selector pools end to end, in process against the fake afserver: a pool whose `select` rule
//! reads afserver's render resources routes to exactly the renders it selects, renders that
//! join or whose hardware changes move its live jobs, afserver is asked for resources only
//! while some pool has a rule, and a render afpool has not seen stays off.

mod common;
#[path = "live_common/mod.rs"]
mod live_common;

use std::sync::Arc;
use std::time::Duration;

use afpool::job::RouteSettings;
use afpool::live::{LiveJobs, Tuning};
use afpool::proxy::{self, Limits, Shared};
use afpool::routing::{PoolFeed, RendersCache, Router};
use afpool::select::feed::ResolvedPools;
use afpool::store::live::LivePools;
use afpool::store::recorder::Recorder;
use afpool::store::{self, Selection, SharedStore, StoreOptions};
use common::fake_afserver::fake_jobs::FakeJob;
use common::FakeAfserver;
use common::{farm, upstream};
use live_common::{runs_on, submit};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const BIG_GPU: &str = "gpu_mem_total_mb >= 20000";

struct Farm {
    fake: FakeAfserver,
    store: SharedStore,
    renders: Arc<RendersCache>,
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

/// A fake farm whose render01 and gpu.node3 have 24 GB GPUs, a file store with pool `big`
/// (selecting them by rule) and pool `cpu` (typed), and a proxy with live pools in front.
async fn start() -> Farm {
    let fake = FakeAfserver::start(farm()).await;
    for host in ["render01", "gpu.node3"] {
        fake.renders()
            .set_hardware(host, json!({"gpu_mem_total_mb": 24576}));
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    let store = store::open(&spec).await.unwrap();
    store.create("big", &[]).await.unwrap();
    let rule = Selection {
        select: Some(BIG_GPU.into()),
        except: vec![],
        ..Selection::default()
    };
    store.set_selection("big", &rule).await.unwrap();
    store.create("cpu", &["r1".into()]).await.unwrap();

    let shutdown = CancellationToken::new();
    let stored = LivePools::start(store.clone(), shutdown.clone()).await;
    let up = upstream(fake.addr);
    let renders = RendersCache::spawn(up.clone(), Duration::from_secs(3600), shutdown.clone());
    let resolved = ResolvedPools::start(stored, renders.clone(), shutdown.clone());
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
        store,
        renders,
        resolved,
        live,
        proxy,
        _dir: dir,
        shutdown,
    };
    farm.members_become("big", &["gpu.node3", "render01"]).await;
    // Routing reads the inventory: wait until it was built from these members (an earlier build,
    // from before the render list was in, does not count).
    let built = |inv: &afpool::job::Inventory| {
        let pools = inv.pools();
        let big = pools.iter().find(|p| p.name == "big");
        !inv.renders().is_empty() && big.is_some_and(|p| p.hosts.len() == 2)
    };
    tokio::time::timeout(Duration::from_secs(10), router.wait_inventory(built))
        .await
        .expect("the inventory is built from the resolved members");
    farm
}

impl Farm {
    fn members(&self, pool: &str) -> Vec<String> {
        let pools = self.resolved.current();
        let mut hosts = pools
            .iter()
            .find(|p| p.name == pool)
            .map_or(Vec::new(), |p| p.hosts.clone());
        hosts.sort();
        hosts
    }

    /// Waits (10 s at most, woken by every published version) until `pool` resolves to `want`;
    /// then until live jobs were re-targeted for that version.
    async fn members_become(&self, pool: &str, want: &[&str]) {
        let mut changes = self.resolved.changes().unwrap();
        let reached = tokio::time::timeout(Duration::from_secs(10), async {
            while self.members(pool) != want {
                changes.changed().await.unwrap();
            }
        });
        let got = self.members(pool);
        reached
            .await
            .unwrap_or_else(|_| panic!("{pool}: {got:?}, never {want:?}"));
        let version = self.resolved.version();
        tokio::time::timeout(Duration::from_secs(10), self.live.wait_retargeted(version))
            .await
            .expect("live jobs re-targeted");
    }

    /// Asks for a refresh and waits until one more has ended.
    async fn refresh_once(&self) {
        let mut refreshes = self.renders.subscribe();
        let seen = *refreshes.borrow_and_update();
        self.renders.refresh_now();
        tokio::time::timeout(Duration::from_secs(10), refreshes.wait_for(|g| *g > seen))
            .await
            .expect("a refresh")
            .unwrap();
    }

    /// The hosts job `id` may run on now, among [`ALL`].
    fn runs_on(&self, id: i64) -> Vec<String> {
        let job = self.fake.kept_job(id).expect("afserver holds the job");
        on(&job)
    }

    /// Waits (10 s at most, woken by every action afserver receives) until job `id` may run on
    /// exactly `want` among [`ALL`].
    async fn job_runs_on(&self, id: i64, want: &[&str]) {
        let ready = |jobs: &[FakeJob]| jobs.iter().any(|j| j.id == id && on(j) == want);
        let waited = tokio::time::timeout(Duration::from_secs(10), self.fake.wait_jobs(ready));
        if waited.await.is_err() {
            panic!("job {id} runs on {:?}, never {want:?}", self.runs_on(id));
        }
    }
}

fn on(job: &FakeJob) -> Vec<String> {
    let mut on: Vec<String> = ALL
        .iter()
        .filter(|h| runs_on(job, h))
        .map(|h| h.to_string())
        .collect();
    on.sort();
    on
}

const ALL: &[&str] = &[
    "render01",
    "render02",
    "gpu.node3",
    "r1",
    "r10",
    "gpu9",
    "newbox",
];

#[tokio::test]
async fn a_selector_pool_routes_to_exactly_what_its_rule_selects_and_follows_the_farm() {
    let f = start().await;
    let id = submit(f.proxy, "big", "shot010").await;
    assert_eq!(f.runs_on(id), ["gpu.node3", "render01"]);

    // r1 gets a 32 GB card: it joins, and the queued job may now run there. (The change is
    // published before the writer registered the job: the job still follows.)
    f.fake
        .renders()
        .set_hardware("r1", json!({"gpu_mem_total_mb": 32768}));
    f.renders.refresh_now();
    f.members_become("big", &["gpu.node3", "r1", "render01"])
        .await;
    f.job_runs_on(id, &["gpu.node3", "r1", "render01"]).await;

    // A render that registers later with a big card joins too; before afpool lists it, the
    // job's mask keeps it off.
    assert!(!f.runs_on(id).contains(&"gpu9".to_string()));
    f.fake.renders().join("gpu9", true);
    f.fake
        .renders()
        .set_hardware("gpu9", json!({"gpu_mem_total_mb": 49152}));
    f.renders.refresh_now();
    f.members_become("big", &["gpu.node3", "gpu9", "r1", "render01"])
        .await;
    f.job_runs_on(id, &["gpu.node3", "gpu9", "r1", "render01"])
        .await;

    // render01's card is taken out: it leaves.
    f.fake
        .renders()
        .set_hardware("render01", json!({"gpu_mem_total_mb": 0}));
    f.renders.refresh_now();
    f.members_become("big", &["gpu.node3", "gpu9", "r1"]).await;
    f.job_runs_on(id, &["gpu.node3", "gpu9", "r1"]).await;

    // An except list and a typed host are applied on top of the rule.
    let edited = Selection {
        select: Some(BIG_GPU.into()),
        except: vec!["GPU9".into()],
        ..Selection::default()
    };
    f.store.set_selection("big", &edited).await.unwrap();
    f.store.add_hosts("big", &["newbox".into()]).await.unwrap();
    f.members_become("big", &["gpu.node3", "newbox", "r1"])
        .await;
    f.job_runs_on(id, &["gpu.node3", "newbox", "r1"]).await;
    // The typed pool is untouched by all of it.
    assert_eq!(f.members("cpu"), ["r1"]);
}

#[tokio::test]
async fn a_job_held_for_an_empty_selector_pool_comes_back_when_a_matching_render_appears() {
    let farm = start().await;
    let rule = Selection {
        select: Some("gpu_mem_total_mb >= 40000".into()),
        ..Selection::default()
    };
    farm.store.create("huge", &[]).await.unwrap();
    farm.store.set_selection("huge", &rule).await.unwrap();
    farm.members_become("huge", &[]).await;
    let id = submit(farm.proxy, "huge", "sim").await;
    let held = farm.fake.kept_job(id).unwrap();
    assert!(held.offline && farm.runs_on(id).is_empty(), "{held:?}");
    let index = farm.live.index();
    let registered = || async { index.get(id).is_some_and(|j| j.held.is_some()) };
    live_common::eventually("the held job is registered", registered).await;
    farm.fake.renders().join("newbox", true);
    farm.fake
        .renders()
        .set_hardware("newbox", json!({"gpu_mem_total_mb": 49152}));
    farm.refresh_once().await;
    farm.members_become("huge", &["newbox"]).await;
    farm.job_runs_on(id, &["newbox"]).await;
    let resumed = |jobs: &[FakeJob]| jobs.iter().any(|j| j.id == id && !j.offline);
    tokio::time::timeout(Duration::from_secs(10), farm.fake.wait_jobs(resumed))
        .await
        .expect("the job is resumed");
}

#[tokio::test]
async fn resources_are_asked_for_only_while_a_pool_has_a_rule() {
    let f = start().await;
    let asked = || {
        f.fake
            .renders()
            .resources_asked
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    assert!(asked() >= 1, "a rule needs the resources");
    f.store.delete("big").await.unwrap();
    let mut changes = f.resolved.changes().unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while f.resolved.current().iter().any(|p| p.name == "big") {
            changes.changed().await.unwrap();
        }
    })
    .await
    .expect("the deleted pool leaves");
    // A refresh begun before the pool left may still ask; the one after it may not.
    f.refresh_once().await;
    let before = asked();
    f.refresh_once().await;
    assert_eq!(asked(), before, "no rule, no resources request");
}

/// Runs `afpool --config CONFIG pool ARGS` with the upstream and store of `dir`.
async fn pool_cli(dir: &std::path::Path, upstream: &str, args: &[&str]) -> std::process::Output {
    let config = dir.join("afpool.toml");
    let store = dir.join("pools.json");
    let text = format!(
        "upstream = \"{upstream}\"\nstore = \"file:{}\"\n",
        store.display()
    );
    std::fs::write(&config, text).unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_afpool"))
        .arg("--config")
        .arg(&config)
        .arg("pool")
        .args(args)
        .env_remove("AFPOOL_STORE")
        .env("RUST_LOG", "off")
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_cli_sets_a_rule_refuses_a_bad_one_and_shows_why_each_host_is_a_member() {
    let fake = FakeAfserver::start(farm()).await;
    fake.renders()
        .set_hardware("gpu.node3", json!({"gpu_mem_total_mb": 24576}));
    let dir = tempfile::tempdir().unwrap();
    let up = fake.addr.to_string();
    let run = |args: &'static [&'static str]| pool_cli(dir.path(), &up, args);
    assert!(run(&["create", "big", "ws-anna"]).await.status.success());

    let bad = run(&["set", "big", "--select", "gpu_mem >= 20000"]).await;
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{err}");
    assert!(
        err.contains("\"gpu_mem\"") && err.contains("column 1"),
        "{err}"
    );

    let set = run(&["set", "big", "--select", BIG_GPU, "--except", "r1"]).await;
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let shown = run(&["show", "big"]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains(&format!("select   {BIG_GPU}")), "{text}");
    assert!(text.contains("except   r1"), "{text}");
    let line = |host: &str| text.lines().rfind(|l| l.trim_start().starts_with(host));
    assert!(
        line("gpu.node3").is_some_and(|l| l.contains("gpu_mem_total_mb=24576")),
        "{text}"
    );
    assert!(
        line("ws-anna").is_some_and(|l| l.contains("static") && l.contains("no such render")),
        "{text}"
    );
    assert!(line("render01").is_none(), "{text}");

    let json: serde_json::Value =
        serde_json::from_slice(&run(&["show", "big", "--json"]).await.stdout).unwrap();
    assert_eq!(json["select"], BIG_GPU);
    assert_eq!(json["except"], json!(["r1"]));
    let members: Vec<&str> = json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["host"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["ws-anna", "gpu.node3"]);

    let cleared = run(&["set", "big", "--no-select", "--no-except"]).await;
    assert!(cleared.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["show", "big", "--json"]).await.stdout).unwrap();
    assert_eq!(json, json!({"name": "big", "hosts": ["ws-anna"]}));
}
