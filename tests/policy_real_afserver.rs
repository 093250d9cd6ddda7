//! Optional: pool policy and default pool rules in front of a real afserver 3.4.1 with two real
//! afrender processes. Runs only when `AFPOOL_REAL_AFSERVER` names an afserver binary (afrender
//! beside it; see `tests/common/real_afserver.rs`); otherwise it says it was skipped. CI never has
//! one. afserver holds the clamped values, a refused job is never created, and a Nuke job naming
//! no pool is routed by a rule: its tasks start on the rule's pool's render only.

#[allow(unused_imports)] // the fake afserver is not used here
mod common;
mod live_common;

use std::net::SocketAddr;
use std::time::Duration;

use afpool::job::policy::PoolPolicy;
use afpool::protocol::encode;
use afpool::store::rules::{DefaultRules, Otherwise, Rule};
use common::real_afserver::RealAfserver;
use common::{reply_json, send};
use live_common::*;
use serde_json::{json, Value};

async fn ask(to: SocketAddr, request: Value) -> Value {
    let bytes = encode::text_request(request.to_string().as_bytes());
    reply_json(&send(to, &bytes).await)
}

fn job(name: &str, user: &str, pool: Option<&str>, service: &str) -> Value {
    let mut job = json!({"name": name, "user_name": user, "host_name": "ws01",
        "priority": 250, "need_memory": 9000,
        "blocks": [{"name": "b", "service": service, "capacity": 4000, "need_memory": 9000,
                    "flags": 1, "frame_first": 1, "frame_last": 3, "frames_per_task": 1,
                    "frames_inc": 1, "command": "echo @#@"}]});
    if let Some(pool) = pool {
        job["pool"] = json!(pool);
    }
    json!({ "job": job })
}

/// Where the job's started tasks ran (`hst` of `get jobs` mode progress).
async fn hosts(afserver: SocketAddr, id: i64) -> Vec<String> {
    let reply = ask(
        afserver,
        json!({"get": {"type": "jobs", "ids": [id], "mode": "progress"}}),
    )
    .await;
    let blocks = reply["job_progress"]["progress"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (blocks
        .iter()
        .flat_map(|b| b.as_array().cloned().unwrap_or_default()))
    .filter_map(|t| t["hst"].as_str().map(str::to_string))
    .collect()
}

#[tokio::test]
async fn a_real_afserver_holds_clamps_never_sees_refused_jobs_and_runs_rule_routed_tasks_in_the_pool(
) {
    let Some(binary) = common::real_afserver::binary() else {
        eprintln!("skipped: set AFPOOL_REAL_AFSERVER to an afserver 3.4.1 binary to run this test");
        return;
    };
    let afserver = RealAfserver::start(&binary);
    let _renders = [
        afserver.start_render("light01"),
        afserver.start_render("farm01"),
    ];
    let (_dir, spec, store) = file_store().await;
    store.create("light", &["light01".into()]).await.unwrap();
    let policy: PoolPolicy = serde_json::from_value(json!({"deny": {"users": ["intruder"]},
        "limits": {"priority": {"max": 150}, "capacity": {"max": 500},
                   "need_memory": {"max": 100}}}))
    .unwrap();
    store.set_policy("light", &policy).await.unwrap();
    let rules = DefaultRules {
        rules: vec![Rule {
            when: "'nuke' in services".into(),
            pool: "light".into(),
        }],
        otherwise: Otherwise::None,
    };
    store.set_rules(Some(&rules)).await.unwrap();
    let proxy = start_proxy(&spec, afserver.addr).await;
    let online = || async {
        let list = ask(afserver.addr, json!({"get": {"type": "renders"}})).await;
        let renders = list["renders"].as_array().cloned().unwrap_or_default();
        (renders
            .iter()
            .filter(|r| r["state"].as_str().unwrap_or("").contains("ONL")))
        .count()
            == 2
    };
    eventually("both renders online", online).await;

    // Clamps, as afserver holds them.
    let reply = ask(proxy.addr, job("clamped", "anna", Some("light"), "maya")).await;
    let id = reply["id"].as_i64().expect("a job id");
    let full = ask(
        afserver.addr,
        json!({"get": {"type": "jobs", "ids": [id], "mode": "full"}}),
    )
    .await;
    let kept = &full["jobs"][0];
    assert_eq!(kept["priority"], 150, "{kept}");
    assert_eq!(kept["need_memory"], 100, "{kept}");
    assert_eq!(kept["blocks"][0]["capacity"], 500, "{kept}");
    assert_eq!(kept["blocks"][0]["need_memory"], 100, "{kept}");

    // A refused job is never created.
    let before = ask(afserver.addr, json!({"get": {"type": "jobs"}})).await["jobs"]
        .as_array()
        .unwrap()
        .len();
    let reply = ask(
        proxy.addr,
        job("intruding", "intruder", Some("light"), "maya"),
    )
    .await;
    let text = reply["error"].as_str().expect("a refusal");
    assert!(text.contains("deny users (intruder)"), "{text}");
    let after = ask(afserver.addr, json!({"get": {"type": "jobs"}})).await["jobs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // A Nuke job naming no pool: the rule's pool, where its tasks start (about one every 2 s).
    let reply = ask(proxy.addr, job("comp010", "anna", None, "nuke")).await;
    let id = reply["id"].as_i64().expect("a job id");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let ran = loop {
        let ran = hosts(afserver.addr, id).await;
        if ran.len() >= 2 {
            break ran;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no task started: {ran:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(ran.iter().all(|h| h == "light01"), "{ran:?}");
}
