//! Pool policy through the proxy, against the fake afserver: jobs from a user, host or network
//! a pool refuses are rejected with the rule in the reply (or held, as the pool says) and nothing
//! else is forwarded; defaults and clamps land in the job and its blocks as afserver reads them,
//! with the masks unchanged; a policy edit in the store is followed by a running proxy. The
//! tests' only client address is 127.0.0.1, so networks are 127.0.0.0/8 against 10.0.0.0/8.

mod common;
mod common_store;
#[path = "live_common/mod.rs"]
mod live_common;

use std::time::{Duration, Instant};

use afpool::job::policy::PoolPolicy;
use afpool::job::RouteSettings;
use afpool::protocol::encode;
use afpool::store::{self, Pool, StoreOptions};
use common::{capture, farm, reply_json, send, spawn_proxy, FakeAfserver};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

fn with_policy(name: &str, hosts: &[&str], policy: Value) -> Pool {
    Pool {
        policy: serde_json::from_value::<PoolPolicy>(policy).unwrap(),
        ..Pool::new(name, hosts)
    }
}

fn job(pool: &str, user: &str, host: &str) -> Vec<u8> {
    let job = json!({"job": {
        "name": "sh010_light", "user_name": user, "host_name": host, "pool": pool,
        "priority": 250,
        "blocks": [{"name": "beauty", "service": "maya", "capacity": 4000,
                    "flags": 1, "frame_first": 1, "frame_last": 4, "command": "render @#@"}]
    }});
    encode::text_request(job.to_string().as_bytes())
}

/// The reply's error text, or `None` for afserver's own answer with a job id.
fn refusal(reply: &[u8]) -> Option<String> {
    let v = reply_json(reply);
    v["error"].as_str().map(str::to_string)
}

#[tokio::test]
async fn refused_users_hosts_and_networks_are_rejected_and_nothing_is_forwarded() {
    let fake = FakeAfserver::start(farm()).await;
    // (policy, rule the reply must name; None: accepted)
    let cases: &[(Value, Option<&str>)] = &[
        (
            json!({"allow": {"users": ["anna", "ben"]}}),
            Some("allow users (anna, ben): user_name 'artist' is not listed"),
        ),
        (
            json!({"deny": {"hosts": ["WS01"]}}),
            Some("deny hosts (WS01): host_name 'ws01'"),
        ),
        (
            json!({"allow": {"networks": ["10.0.0.0/8"]}}),
            Some("allow networks (10.0.0.0/8): client address 127.0.0.1 is in none"),
        ),
        (
            json!({"deny": {"networks": ["127.0.0.0/8"]}}),
            Some("deny networks (127.0.0.0/8): client address 127.0.0.1"),
        ),
        (
            json!({"services": ["nuke"]}),
            Some("services (nuke): block 'beauty' has service 'maya'"),
        ),
        (
            json!({"allow": {"networks": ["127.0.0.0/8"], "users": ["artist"]}}),
            None,
        ),
    ];
    for (policy, rule) in cases {
        let pools = vec![with_policy(
            "lighting",
            &["render01", "render02"],
            policy.clone(),
        )];
        let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
        let before = fake.requests().len();
        let reply = send(proxy.addr, &job("lighting", "artist", "ws01")).await;
        match rule {
            Some(rule) => {
                let text = refusal(&reply).unwrap_or_else(|| panic!("{policy}: accepted"));
                assert!(text.contains(rule), "{policy}: {text}");
                assert!(text.contains("pool 'lighting' policy refuses it"), "{text}");
                assert_eq!(
                    fake.requests().len(),
                    before,
                    "{policy}: something was forwarded"
                );
            }
            None => {
                assert!(refusal(&reply).is_none(), "{policy}: {reply:?}");
                assert_eq!(fake.requests().len(), before + 1);
            }
        }
        proxy.shutdown.cancel();
    }
}

#[tokio::test]
async fn a_pool_that_holds_refused_jobs_forwards_them_paused_and_fenced() {
    let fake = FakeAfserver::start(farm()).await;
    let policy = json!({"allow": {"networks": ["10.0.0.0/8"]}, "on_refused": "hold",
                        "limits": {"priority": {"max": 10}}});
    let pools = vec![with_policy("lighting", &["render01"], policy)];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    let reply = send(proxy.addr, &job("lighting", "artist", "ws01")).await;
    let id = reply_json(&reply)["id"].as_i64().expect("a job id");
    let held = fake.kept_job(id).unwrap();
    assert!(held.offline, "{held:?}");
    assert!(
        held.annotation
            .starts_with("[afpool: held: pool 'lighting' policy refuses it: allow networks"),
        "{}",
        held.annotation
    );
    assert_eq!(held.hosts_mask_type, "regex");
    assert!(
        held.hosts_mask_exclude.contains(".*"),
        "fenced off every host: {held:?}"
    );
    for host in ["render01", "render02", "r1"] {
        assert!(
            common::full_match(&held.hosts_mask_exclude, host),
            "{host} not fenced"
        );
    }
    // A refused job gets no clamp either.
    assert_eq!(fake.jobs()[0]["priority"], 250);
}

#[tokio::test]
async fn defaults_and_clamps_land_in_job_and_blocks_as_afserver_reads_them() {
    let fake = FakeAfserver::start(farm()).await;
    // The af.py capture's masks (render0[1-9]) are regexes to a user in regex mode.
    let settings = RouteSettings {
        default_pool: Some("lighting".into()),
        assume_mask_type: afpool::job::MaskType::Regex,
        ..RouteSettings::default()
    };
    let limits = json!({"limits": {
        "priority": {"max": 50}, "capacity": {"max": 800, "default": 300},
        "max_running_tasks": {"max": 6}, "need_memory": {"default": 2048},
        "time_life": {"default": 3600}}});
    let hosts = ["render01", "render02", "r1"];
    let plain = spawn_proxy(
        fake.addr,
        vec![Pool::new("lighting", hosts)],
        settings.clone(),
    )
    .await;
    let pools = vec![with_policy("lighting", &hosts, limits)];
    let limited = spawn_proxy(fake.addr, pools, settings).await;
    // af.py's capture (priority 99, capacity 1000) and the web GUI's (neither set).
    for name in [
        "01-afpy-submit-numeric.request.bin",
        "06-http-submit-job.request.bin",
    ] {
        let request = capture(name);
        send(plain.addr, &request).await;
        send(limited.addr, &request).await;
        let jobs = fake.jobs();
        let (without, with) = (&jobs[jobs.len() - 2], &jobs[jobs.len() - 1]);
        let web = name.starts_with("06");
        // af.py's 99, and afserver's 99 for the web GUI's job that sets none, are over 50.
        assert_eq!(with["priority"], 50, "{name}");
        assert_eq!(with["max_running_tasks"], 6, "{name}: no limit lowered");
        assert_eq!(with["time_life"], 3600, "{name}");
        for block in with["blocks"].as_array().unwrap() {
            assert_eq!(block["capacity"], if web { 300 } else { 800 }, "{name}");
            assert_eq!(block["need_memory"], 2048, "{name}");
        }
        for key in ["hosts_mask", "hosts_mask_exclude", "hosts_mask_type"] {
            assert_eq!(with[key], without[key], "{name}: {key} changed");
        }
        let annotation = with["annotation"].as_str().unwrap();
        assert!(annotation.starts_with("[pool: lighting] "), "{annotation}");
        let clamps = match web {
            true => "[pool: lighting] priority unset→50, max_running_tasks unset→6",
            false => "[pool: lighting] priority 99→50, max_running_tasks unset→6, block 0 capacity 1000→800",
        };
        assert!(annotation.starts_with(clamps), "{annotation}");
    }
}

/// Every proxy on the store takes the job first; after a policy edit each refuses it, within 2 s.
async fn followed_by_every_proxy(spec: &str, options: &StoreOptions, proxies: usize) {
    let fake = FakeAfserver::start(farm()).await;
    let store = store::open_with(spec, options).await.unwrap();
    store
        .create("lighting", &["render01".into()])
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let mut running = Vec::new();
    for _ in 0..proxies {
        running.push(live_common::routing_proxy(spec, options, fake.addr, &shutdown).await);
    }
    let request = job("lighting", "artist", "ws01");
    for (_, addr) in &running {
        assert!(refusal(&send(*addr, &request).await).is_none());
    }
    let policy = json!({"deny": {"networks": ["127.0.0.0/8"]}});
    let policy: PoolPolicy = serde_json::from_value(policy).unwrap();
    let edited = Instant::now();
    store.set_policy("lighting", &policy).await.unwrap();
    for (router, addr) in &running {
        tokio::time::timeout(Duration::from_secs(2), router.wait_rebuilds(1))
            .await
            .expect("the proxy follows the edit within 2 s");
        let text = refusal(&send(*addr, &request).await).expect("refused");
        assert!(text.contains("deny networks (127.0.0.0/8)"), "{text}");
    }
    let followed = edited.elapsed();
    assert!(followed < Duration::from_secs(2), "{followed:?}");
    shutdown.cancel();
}

#[tokio::test]
async fn a_policy_edit_is_followed_by_a_running_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    followed_by_every_proxy(&spec, &StoreOptions::default(), 1).await;
}

/// Two proxies on one MongoDB apply the same policy (skipped without `MONGODB_URI`: run with
/// `scripts/dev-mongo.sh run cargo test --test pool_policy`).
#[tokio::test]
async fn two_proxies_on_one_mongodb_apply_the_same_policy() {
    let test = "two_proxies_on_one_mongodb_apply_the_same_policy";
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

/// A routed job whose values were lowered is audited (`job_clamped`, with what changed), beside
/// its `job_routed` entry.
#[tokio::test]
async fn clamps_are_audited() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = live_common::file_store().await;
    let policy = json!({"limits": {"priority": {"max": 50}}});
    let policy: PoolPolicy = serde_json::from_value(policy).unwrap();
    store.set_policy("gpu", &policy).await.unwrap();
    let proxy = live_common::start_proxy(&spec, fake.addr).await;
    let id = live_common::submit(proxy.addr, "gpu", "shot").await;
    live_common::registered(&proxy, &spec, 1).await;
    let recorder = live_common::registry_of(&spec).await;
    let filter = afpool::store::audit::AuditFilter {
        job_id: Some(id),
        ..Default::default()
    };
    // The clamp entry is appended after the registry write `registered` waited for.
    let audit = &recorder.audit;
    let has_clamp = || async {
        let entries = audit.read(&filter).await.unwrap();
        entries.iter().any(|e| e.kind.as_str() == "job_clamped")
    };
    live_common::eventually("a job_clamped entry", has_clamp).await;
    let entries = recorder.audit.read(&filter).await.unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"job_routed"), "{kinds:?}");
    let clamped = entries.iter().find(|e| e.kind.as_str() == "job_clamped");
    let clamped = clamped.unwrap_or_else(|| panic!("no job_clamped entry: {kinds:?}"));
    assert_eq!(clamped.pool, "gpu");
    assert!(
        clamped
            .detail
            .ends_with("clamped by pool 'gpu': priority unset→50"),
        "{clamped:?}"
    );
    assert_eq!(
        fake.kept_job(id).unwrap().annotation,
        "[pool: gpu] priority unset→50"
    );
}

/// An afwatch / web GUI edit raising a pool job's priority past the pool's maximum reaches
/// afserver lowered to it; one under the maximum goes through as sent.
#[tokio::test]
async fn an_edit_raising_a_clamped_value_is_clamped_through_the_proxy() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, store) = live_common::file_store().await;
    let policy = json!({"limits": {"priority": {"max": 100}}});
    let policy: PoolPolicy = serde_json::from_value(policy).unwrap();
    store.set_policy("gpu", &policy).await.unwrap();
    let proxy = live_common::start_proxy(&spec, fake.addr).await;
    let id = live_common::submit(proxy.addr, "gpu", "shot").await;
    live_common::registered(&proxy, &spec, 1).await;
    live_common::edit(proxy.addr, &[id], json!({"priority": 250})).await;
    live_common::edit(proxy.addr, &[id], json!({"priority": 80})).await;
    let priorities: Vec<Value> = fake
        .actions()
        .iter()
        .map(|a| a.get("action").unwrap_or(a)["params"]["priority"].clone())
        .collect();
    assert_eq!(priorities, [json!(100), json!(80)]);
    // The clamp is audited as who edited it, with what was lowered.
    let recorder = live_common::registry_of(&spec).await;
    let filter = afpool::store::audit::AuditFilter {
        job_id: Some(id),
        ..Default::default()
    };
    let audit = &recorder.audit;
    let edit_clamp = |e: &afpool::store::audit::AuditEntry| {
        e.kind.as_str() == "job_clamped" && e.detail.starts_with("edit of job")
    };
    let audited = || async { audit.read(&filter).await.unwrap().iter().any(edit_clamp) };
    live_common::eventually("the edit's job_clamped entry", audited).await;
    let entries = audit.read(&filter).await.unwrap();
    let entry = entries.iter().find(|e| edit_clamp(e)).unwrap();
    assert_eq!(
        (
            entry.who.as_str(),
            entry.pool.as_str(),
            entry.detail.as_str()
        ),
        (
            "artist@ws01",
            "gpu",
            "edit of job 'shot' clamped by pool 'gpu': priority 250→100"
        )
    );
}

#[tokio::test]
async fn a_job_level_need_memory_over_the_maximum_is_lowered() {
    // afserver reads need_memory in the job as well as in its blocks and checks the job's
    // against a render's free memory first (afnodesolve.cpp): a job-level 9000 MB kept every
    // render with less free memory out, past the pool's maximum (seen on a real afserver).
    let fake = FakeAfserver::start(farm()).await;
    let policy = json!({"limits": {"need_memory": {"max": 100}}});
    let pools = vec![with_policy("lighting", &["render01"], policy)];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    let job = json!({"job": {
        "name": "mem", "user_name": "anna", "host_name": "ws01", "pool": "lighting",
        "need_memory": 9000,
        "blocks": [{"name": "b", "need_memory": 50, "flags": 1, "frame_first": 1,
                    "frame_last": 2, "command": "render @#@"}]
    }});
    let reply = send(
        proxy.addr,
        &encode::text_request(job.to_string().as_bytes()),
    )
    .await;
    assert!(reply_json(&reply)["id"].as_i64().is_some(), "{reply:?}");
    let kept = &fake.jobs()[0];
    assert_eq!(kept["need_memory"], 100, "{kept}");
    assert_eq!(kept["blocks"][0]["need_memory"], 50, "{kept}");
    let annotation = kept["annotation"].as_str().unwrap();
    assert!(annotation.contains("need_memory 9000→100"), "{annotation}");
}
