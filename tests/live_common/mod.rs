//! Helpers for the live-pools tests: a proxy with live pools in-process, a file pool store with
//! pools gpu and cpu, submitting and editing jobs through the proxy, and bounded polls.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::fake_afserver::fake_jobs::FakeJob;
use crate::common::{full_match, reply_json, send, upstream};
use afpool::job::RouteSettings;
use afpool::live::{LiveJobs, Tuning};
use afpool::protocol::encode;
use afpool::proxy::{self, Limits, Shared};
use afpool::routing::{RendersCache, Router};
use afpool::store::live::LivePools;
use afpool::store::recorder::Recorder;
use afpool::store::{self, SharedStore, StoreOptions};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Polls `check` until it holds, for at most 10 s.
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A proxy with live pools.
pub struct LiveProxy {
    /// Its proxy address.
    pub addr: SocketAddr,
    /// Its live jobs.
    pub live: Arc<LiveJobs>,
    /// Its pools.
    pub pools: Arc<LivePools>,
    /// Cancel to stop it.
    pub shutdown: CancellationToken,
}

impl Drop for LiveProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn start_proxy(spec: &str, fake: SocketAddr) -> LiveProxy {
    let tuning = Tuning {
        reconcile_every: Duration::from_secs(3600),
        ..Tuning::default()
    };
    start_proxy_with(spec, fake, Vec::new(), tuning).await
}

/// [`start_proxy`] with a fixed render list for routing and these `tuning`s (their clock).
pub async fn start_proxy_with(
    spec: &str,
    fake: SocketAddr,
    renders: Vec<afpool::renders::RenderInfo>,
    tuning: Tuning,
) -> LiveProxy {
    let shutdown = CancellationToken::new();
    let store = store::open(spec).await.unwrap();
    let pools = LivePools::start(store, shutdown.clone()).await;
    let up = upstream(fake);
    let renders = RendersCache::fixed(renders);
    let router = Arc::new(Router::new(
        RouteSettings::default(),
        pools.clone(),
        renders,
    ));
    router.spawn_rebuilds(shutdown.clone());
    let recorder = Recorder::open(spec, &StoreOptions::default(), 90)
        .await
        .unwrap();
    let live = LiveJobs::start(
        recorder,
        router.clone(),
        pools.clone(),
        up.clone(),
        tuning,
        shutdown.clone(),
    )
    .await;
    let shared = Shared::new(up, router, Limits::default()).with_live(live.clone());
    let shared = Arc::new(shared);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(proxy::run(listener, shared, shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(10), live.wait_reconciles(1))
        .await
        .expect("the first reconcile ends");
    LiveProxy {
        addr,
        live,
        pools,
        shutdown,
    }
}

/// A routing-only proxy (no live jobs) in front of `fake` on the store `spec`, following the
/// store live; its router (to wait for rebuilds) and address.
pub async fn routing_proxy(
    spec: &str,
    options: &StoreOptions,
    fake: SocketAddr,
    shutdown: &CancellationToken,
) -> (Arc<Router>, SocketAddr) {
    let store = store::open_with(spec, options).await.unwrap();
    let pools = LivePools::start(store, shutdown.clone()).await;
    let router = Arc::new(Router::new(
        RouteSettings::default(),
        pools,
        RendersCache::fixed(Vec::new()),
    ));
    router.spawn_rebuilds(shutdown.clone());
    let shared = Shared::new(upstream(fake), router.clone(), Limits::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(proxy::run(listener, Arc::new(shared), shutdown.clone()));
    (router, addr)
}

/// A file store in a temp dir with pools gpu and cpu.
pub async fn file_store() -> (tempfile::TempDir, String, SharedStore) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    let store = store::open(&spec).await.unwrap();
    let hosts = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    store
        .create("gpu", &hosts(&["render01", "gpu.node3"]))
        .await
        .unwrap();
    store.create("cpu", &hosts(&["r1", "r10"])).await.unwrap();
    (dir, spec, store)
}

/// Submits a job into `pool` through the proxy; afserver's id.
pub async fn submit(proxy: SocketAddr, pool: &str, name: &str) -> i64 {
    let job = json!({"job": {
        "name": name, "user_name": "artist", "host_name": "ws01", "pool": pool,
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 4, "command": "x"}]
    }});
    let reply = send(proxy, &encode::text_request(&job.to_string().into_bytes())).await;
    reply_json(&reply)["id"].as_i64().expect("a job id")
}

/// Sends an afwatch-style edit of `ids` through the proxy; afserver's (or afpool's) answer.
pub async fn edit(proxy: SocketAddr, ids: &[i64], params: Value) -> Value {
    let action = json!({"action": {"type": "jobs", "ids": ids, "user_name": "artist",
        "host_name": "ws01", "params": params}});
    let reply = send(proxy, &encode::text_request(action.to_string().as_bytes())).await;
    reply_json(&reply)
}

/// Can afserver start this job's tasks on `host` (job-level regex masks)?
pub fn runs_on(job: &FakeJob, host: &str) -> bool {
    assert_eq!(job.hosts_mask_type, "regex", "{job:?}");
    let include = job.hosts_mask.is_empty() || full_match(&job.hosts_mask, host);
    let exclude = !job.hosts_mask_exclude.is_empty() && full_match(&job.hosts_mask_exclude, host);
    include && !exclude
}

/// The registry and audit log of the store `spec`, as another process sees them.
pub async fn registry_of(spec: &str) -> Recorder {
    Recorder::open(spec, &StoreOptions::default(), 90)
        .await
        .unwrap()
}

/// Waits until `n` jobs are registered, in this proxy's index and in the store's registry.
pub async fn registered(proxy: &LiveProxy, spec: &str, n: usize) {
    let index = proxy.live.index();
    eventually("jobs indexed", || async { index.len() == n }).await;
    let recorder = registry_of(spec).await;
    let registry = &recorder.registry;
    let stored = || async { registry.list(None).await.unwrap().len() == n };
    eventually("jobs registered", stored).await;
}
