//! Re-targeting benchmark for `scripts/bench.sh`: `--jobs N` live jobs of one pool (registered
//! as the proxy registers them) in the tests' fake afserver, then one pool edit (a host removed,
//! in the file store). Prints one JSON line: the time until afpool saw the change, until the last
//! job's update was acknowledged by afserver, and how many `action` messages it took.
//!
//! ```sh
//! cargo run --release --example retarget_bench -- --jobs 1000
//! ```

#[path = "../tests/common/fake_afserver.rs"]
mod fake_afserver;

use std::sync::Arc;
use std::time::{Duration, Instant};

use afpool::job::RouteSettings;
use afpool::live::{LiveJobs, Tuning};
use afpool::protocol::encode;
use afpool::routing::{RendersCache, Router};
use afpool::store::live::LivePools;
use afpool::store::recorder::Recorder;
use afpool::store::{self, StoreOptions};
use afpool::upstream::Upstream;
use anyhow::Context;
use fake_afserver::{FakeAfserver, FakeConfig};
use tokio_util::sync::CancellationToken;

fn jobs_arg() -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(1000),
        [flag, n] if flag == "--jobs" => n.parse().context("--jobs"),
        _ => anyhow::bail!("usage: retarget_bench [--jobs N]"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = jobs_arg()?;
    let fake = FakeAfserver::start(FakeConfig {
        quiet: true,
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir()?;
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    let store = store::open(&spec).await?;
    let hosts: Vec<String> = (1..=50).map(|i| format!("render{i:03}")).collect();
    store.create("gpu", &hosts).await?;
    let shutdown = CancellationToken::new();
    let pools = LivePools::start(store.clone(), shutdown.clone()).await;
    let router = Arc::new(Router::new(
        RouteSettings::default(),
        pools.clone(),
        RendersCache::fixed(Vec::new()),
    ));
    router.spawn_rebuilds(shutdown.clone());
    let upstream = Upstream::new(fake.addr.to_string());
    let recorder = Recorder::open(&spec, &StoreOptions::default(), 90).await?;
    let registry = recorder.registry.clone();
    let live = LiveJobs::start(
        recorder,
        router.clone(),
        pools.clone(),
        upstream.clone(),
        Tuning::default(),
        shutdown.clone(),
    )
    .await;
    for i in 0..n {
        let job = serde_json::json!({"job": {"name": format!("shot{i}"), "user_name": "bench",
            "pool": "gpu", "blocks": [{"name": "b", "flags": 1, "frame_first": 1,
            "frame_last": 10, "command": "x"}]}});
        let body = serde_json::to_vec(&job)?;
        let routed = router
            .route_submission(&body, None)
            .context("a submission")??;
        let submitted = live.submitted(&routed.outcome);
        let routed = routed.body.to_vec();
        let reply = upstream.exchange(&encode::text_request(&routed)).await?;
        live.after_reply(submitted, &reply);
    }
    while registry.list(None).await?.len() < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = fake.actions().len();
    let started = Instant::now();
    store.remove_hosts("gpu", &["render001".into()]).await?;
    pools.wait_for(|p| p[0].hosts.len() == 49).await;
    let seen = started.elapsed();
    // Jobs share masks: each distinct mask is compiled once.
    let mut seen_masks: std::collections::HashMap<String, bool> = Default::default();
    let mut excluded = move |m: &str| {
        *seen_masks.entry(m.to_string()).or_insert_with(|| {
            let re = fancy_regex::Regex::new(&format!("^(?:{m})$")).expect("a valid mask");
            re.is_match("render001").unwrap_or(false)
        })
    };
    let wait = fake.wait_jobs(|jobs| jobs.iter().all(|j| excluded(&j.hosts_mask_exclude)));
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .context("every job re-targeted within 120 s")?;
    let done = started.elapsed();
    let actions = fake.actions().len() - before;
    println!(
        "{{\"jobs\":{n},\"change_seen_ms\":{},\"last_ack_ms\":{},\"retarget_ms\":{},\"actions\":{actions}}}",
        seen.as_millis(),
        done.as_millis(),
        (done - seen).as_millis()
    );
    shutdown.cancel();
    Ok(())
}
