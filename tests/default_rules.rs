//! Default pool rules through the proxy, against the fake afserver: a Nuke job that names no pool
//! runs in `comp`, a job matching no rule gets what `otherwise` says (another pool, held, or
//! forwarded byte for byte), a job routed by a rule is a pool job like any other (registered,
//! re-targeted when its pool changes), and a rules edit in the store is followed by every running
//! proxy within 2 s (file store; two proxies on one MongoDB).

mod common;
mod common_store;
#[path = "live_common/mod.rs"]
mod live_common;

use std::time::{Duration, Instant};

use afpool::protocol::encode;
use afpool::store::rules::{DefaultRules, Otherwise, Rule};
use afpool::store::{self, StoreOptions};
use common::{farm, reply_json, send, FakeAfserver};
use live_common::{eventually, registered, runs_on, start_proxy};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A job naming no pool whose one block runs `service`.
fn job(name: &str, service: &str) -> Vec<u8> {
    let job = json!({"job": {
        "name": name, "user_name": "artist", "host_name": "ws01",
        "blocks": [{"name": "b", "service": service, "flags": 1,
                    "frame_first": 1, "frame_last": 4, "command": "x @#@"}]
    }});
    encode::text_request(job.to_string().as_bytes())
}

fn rules(otherwise: Otherwise) -> DefaultRules {
    DefaultRules {
        rules: vec![Rule {
            when: "'nuke' in services".into(),
            pool: "comp".into(),
        }],
        otherwise,
    }
}

/// Sends `request` through `proxy`; the id of the job afserver kept.
async fn kept(proxy: std::net::SocketAddr, request: &[u8]) -> i64 {
    let reply = reply_json(&send(proxy, request).await);
    reply["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a job id: {reply}"))
}

#[tokio::test]
async fn a_nuke_job_runs_in_comp_and_others_get_the_otherwise() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = live_common::file_store().await;
    store.create("comp", &["r10".into()]).await.unwrap();
    store
        .set_rules(Some(&rules(Otherwise::Pool("cpu".into()))))
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (router, proxy) =
        live_common::routing_proxy(&spec, &StoreOptions::default(), fake.addr, &shutdown).await;

    let id = kept(proxy, &job("comp010", "nuke")).await;
    let comp = fake.kept_job(id).unwrap();
    assert!(runs_on(&comp, "r10") && !runs_on(&comp, "r1") && !runs_on(&comp, "render01"));
    assert!(comp.annotation.starts_with("[pool: comp]"), "{comp:?}");
    let id = kept(proxy, &job("sim010", "houdini")).await;
    let sim = fake.kept_job(id).unwrap();
    // cpu (the otherwise) is r1 and r10.
    assert!(runs_on(&sim, "r1") && runs_on(&sim, "r10") && !runs_on(&sim, "render01"));

    // otherwise hold: forwarded paused and kept off every host.
    store
        .set_rules(Some(&rules(Otherwise::Hold)))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), router.wait_rebuilds(1))
        .await
        .expect("the proxy follows the edit");
    let id = kept(proxy, &job("sim020", "houdini")).await;
    let held = fake.kept_job(id).unwrap();
    assert!(held.offline, "{held:?}");
    assert!(["r1", "r10", "render01", "gpu.node3"]
        .iter()
        .all(|h| !runs_on(&held, h)));
    assert!(
        held.annotation.contains("no default pool rule matched"),
        "{held:?}"
    );

    // otherwise none: forwarded byte for byte.
    store
        .set_rules(Some(&rules(Otherwise::None)))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), router.wait_rebuilds(2))
        .await
        .expect("the proxy follows the edit");
    let request = job("sim030", "houdini");
    kept(proxy, &request).await;
    assert_eq!(fake.requests().last().unwrap(), &request);
    shutdown.cancel();
}

#[tokio::test]
async fn a_job_routed_by_a_rule_is_a_pool_job_like_any_other() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = live_common::file_store().await;
    store.create("comp", &["r10".into()]).await.unwrap();
    store
        .set_rules(Some(&rules(Otherwise::None)))
        .await
        .unwrap();
    let proxy = start_proxy(&spec, fake.addr).await;
    let id = kept(proxy.addr, &job("comp010", "nuke")).await;
    registered(&proxy, &spec, 1).await;
    // Its pool grows: the live job follows, as if it had named comp.
    store.add_hosts("comp", &["r1".into()]).await.unwrap();
    eventually("the rule-routed job follows its pool", || async {
        fake.kept_job(id)
            .is_some_and(|j| runs_on(&j, "r1") && runs_on(&j, "r10"))
    })
    .await;
}

/// Every proxy on the store routes a Nuke job nowhere until a rule sends it to comp, within 2 s.
async fn followed_by_every_proxy(spec: &str, options: &StoreOptions, proxies: usize) {
    let fake = FakeAfserver::start(farm()).await;
    let store = store::open_with(spec, options).await.unwrap();
    store.create("comp", &["r10".into()]).await.unwrap();
    let shutdown = CancellationToken::new();
    let mut running = Vec::new();
    for _ in 0..proxies {
        running.push(live_common::routing_proxy(spec, options, fake.addr, &shutdown).await);
    }
    let request = job("comp010", "nuke");
    for (_, addr) in &running {
        let id = kept(*addr, &request).await;
        assert_eq!(fake.kept_job(id).unwrap().hosts_mask_exclude, "");
    }
    let edited = Instant::now();
    store
        .set_rules(Some(&rules(Otherwise::None)))
        .await
        .unwrap();
    for (router, addr) in &running {
        tokio::time::timeout(Duration::from_secs(2), router.wait_rebuilds(1))
            .await
            .expect("the proxy follows the edit within 2 s");
        let id = kept(*addr, &request).await;
        let comp = fake.kept_job(id).unwrap();
        assert!(runs_on(&comp, "r10") && !runs_on(&comp, "r1"), "{comp:?}");
    }
    let followed = edited.elapsed();
    assert!(followed < Duration::from_secs(2), "{followed:?}");
    shutdown.cancel();
}

#[tokio::test]
async fn a_rules_edit_is_followed_by_a_running_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    followed_by_every_proxy(&spec, &StoreOptions::default(), 1).await;
}

/// Two proxies on one MongoDB follow the same rules (skipped without `MONGODB_URI`: run with
/// `scripts/dev-mongo.sh run cargo test --test default_rules`).
#[tokio::test]
async fn two_proxies_on_one_mongodb_follow_the_same_rules() {
    let test = "two_proxies_on_one_mongodb_follow_the_same_rules";
    let Some(uri) = common_store::mongo_uri(test) else {
        return;
    };
    let options = StoreOptions {
        database: common_store::unique_db(test),
        ..StoreOptions::default()
    };
    followed_by_every_proxy(&uri, &options, 2).await;
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let _ = client.database(&options.database).drop().await;
}
