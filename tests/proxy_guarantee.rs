//! The pool guarantee through the proxy, against the fake afserver: a forged `afpool_routed` mark
//! routes the job into the pool it names; a job whose own masks leave no pool host is held and
//! fenced; a user mask libstdc++ refuses is answered, never forwarded; a job routed twice gets
//! the same masks; a job of megabytes of tasks lands whole, and a bad task in it is named.

mod common;

use afpool::job::RouteSettings;
use afpool::protocol::encode;
use common::*;
use serde_json::{json, Value};

async fn start() -> (FakeAfserver, TestProxy) {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![pool("gpu", &["gpu.node3", "gpu01"])];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    (fake, proxy)
}

/// Sends a job with `extra` keys through the proxy; the reply as JSON.
async fn submit(proxy: &TestProxy, extra: Value) -> Value {
    let mut job = json!({"name": "j", "user_name": "u", "blocks": [{"tasks": [{"name": "t"}]}]});
    for (k, v) in extra.as_object().unwrap() {
        job[k] = v.clone();
    }
    let body = serde_json::to_vec(&json!({ "job": job })).unwrap();
    reply_json(&send(proxy.addr, &encode::text_request(&body)).await)
}

/// Every name that is not a pool member is excluded, and no member.
fn assert_in_gpu(mask: &str) {
    for outside in ["render01", "r10", "gpu02", "later-render"] {
        assert!(full_match(mask, outside), "{outside}: {mask}");
    }
    for member in ["gpu.node3", "gpu01"] {
        assert!(!full_match(mask, member), "{member}: {mask}");
    }
}

#[tokio::test]
async fn a_forged_routed_mark_routes_the_job_into_the_pool_it_names() {
    let (fake, proxy) = start().await;
    let reply = submit(&proxy, json!({"afpool_routed": "gpu"})).await;
    assert!(reply["id"].as_i64().unwrap() > 0, "{reply}");
    let job = &fake.jobs()[0];
    assert_eq!(job["hosts_mask_type"], "regex");
    assert_in_gpu(job["hosts_mask_exclude"].as_str().unwrap());
}

#[tokio::test]
async fn a_job_whose_masks_leave_no_pool_host_is_held_and_fenced() {
    let (fake, proxy) = start().await;
    let extra = json!({"pool": "gpu", "hosts_mask_type": "regex", "hosts_mask": "render0[1-9]"});
    let reply = submit(&proxy, extra).await;
    assert!(reply["id"].as_i64().unwrap() > 0, "{reply}");
    let job = &fake.jobs()[0];
    assert_eq!(job["offline"], true, "held (paused)");
    let note = job["annotation"].as_str().unwrap();
    assert!(
        note.contains("hosts masks leave no host of pool 'gpu'"),
        "{note}"
    );
    assert_in_gpu(job["hosts_mask_exclude"].as_str().unwrap());
}

#[tokio::test]
async fn user_masks_libstdcxx_refuses_are_answered_not_forwarded() {
    let (fake, proxy) = start().await;
    for mask in ["[](]", "(a{100}){1000}", "render("] {
        let extra = json!({"pool": "gpu", "hosts_mask_type": "regex", "hosts_mask_exclude": mask});
        let reply = submit(&proxy, extra).await;
        assert_eq!(reply["id"], 0, "{mask}: {reply}");
        let text = reply["error"].as_str().unwrap();
        assert!(text.contains("not a valid regular expression"), "{text}");
    }
    assert!(fake.jobs().is_empty() && !fake.crashed());
}

#[tokio::test]
async fn a_job_routed_by_two_proxies_in_a_row_gets_the_same_masks() {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![pool("gpu", &["gpu.node3", "gpu01"])];
    let inner = spawn_proxy(fake.addr, pools.clone(), RouteSettings::default()).await;
    let outer = spawn_proxy(inner.addr, pools.clone(), RouteSettings::default()).await;
    let extra = json!({"pool": "gpu", "hosts_mask_exclude": "gpu01"});
    assert!(submit(&outer, extra.clone()).await["id"].as_i64().unwrap() > 0);
    let direct = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    assert!(submit(&direct, extra).await["id"].as_i64().unwrap() > 0);
    let jobs = fake.jobs();
    let masks = |j: &Value| {
        (
            j["hosts_mask_exclude"].clone(),
            j["hosts_mask_type"].clone(),
        )
    };
    assert_eq!(masks(&jobs[0]), masks(&jobs[1]));
    assert_eq!(
        jobs[0]["hosts_mask_exclude"],
        "(gpu01.*)|((?!(?:gpu[.]node3|gpu01)$).*)"
    );
}

/// A job of two blocks with `n` tasks each (over a megabyte at 20,000), task text with escapes.
fn long_job(n: usize, odd_task: Option<Value>) -> (Value, Vec<u8>) {
    let tasks = |b: usize| -> Vec<Value> {
        let task =
            |i| json!({"name": format!("f{i}"), "command": format!("r \"C:\\s{b}\" -f {i}")});
        (0..n).map(task).collect()
    };
    let mut first = tasks(0);
    if let Some(odd) = odd_task {
        first[n / 2] = odd;
    }
    let job = json!({"name": "long", "user_name": "u", "pool": "gpu", "blocks": [
        {"name": "a", "tasks": first}, {"name": "b", "tasks": tasks(1)}]});
    let body = serde_json::to_vec(&json!({ "job": job })).unwrap();
    (job, body)
}

#[tokio::test]
async fn a_job_of_megabytes_of_tasks_lands_whole_with_its_task_lists_as_sent() {
    let (fake, proxy) = start().await;
    let (job, body) = long_job(20_000, None);
    assert!(body.len() > 1 << 20, "{} bytes", body.len());
    let reply = reply_json(&send(proxy.addr, &encode::text_request(&body)).await);
    assert!(reply["id"].as_i64().unwrap() > 0, "{reply}");
    let got = &fake.jobs()[0];
    assert_in_gpu(got["hosts_mask_exclude"].as_str().unwrap());
    for b in 0..2 {
        assert_eq!(
            got["blocks"][b]["tasks"], job["blocks"][b]["tasks"],
            "block {b}"
        );
    }
    let forwarded = fake.requests().pop().unwrap();
    let sent_tasks = serde_json::to_vec(&job["blocks"][1]).unwrap();
    let found = forwarded.windows(sent_tasks.len()).any(|w| w == sent_tasks);
    assert!(found, "the second block goes out byte for byte");
}

#[tokio::test]
async fn a_task_that_is_no_object_in_megabytes_of_tasks_is_named_and_nothing_forwarded() {
    let (fake, proxy) = start().await;
    let (_, body) = long_job(20_000, Some(json!(["not", "an object"])));
    let reply = reply_json(&send(proxy.addr, &encode::text_request(&body)).await);
    assert_eq!(reply["id"], 0, "{reply}");
    let text = reply["error"].as_str().unwrap();
    assert!(
        text.contains("block 'a' task #10000 is an array, not an object"),
        "{text}"
    );
    assert!(fake.jobs().is_empty() && !fake.crashed());
}

#[tokio::test]
async fn a_jobs_own_serial_never_reaches_afserver() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(
        fake.addr,
        vec![pool("gpu", &["gpu.node3"])],
        RouteSettings::default(),
    )
    .await;
    for pool_key in [json!("gpu"), Value::Null] {
        let body = json!({"job": {"name": "j", "user_name": "u", "pool": pool_key, "serial": 1,
            "blocks": [{"name": "b", "tasks": [{"name": "t", "command": "c"}]}]}});
        let request = encode::text_request(body.to_string().as_bytes());
        let reply = send(proxy.addr, &request).await;
        assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0, "{pool_key}");
        let sent = fake.requests().last().unwrap().clone();
        let frame = afpool::protocol::frame::parse_request(&sent).unwrap();
        let job: Value = serde_json::from_slice(&sent[frame.body]).unwrap();
        assert!(job["job"].get("serial").is_none(), "{job}");
        assert_eq!(job["job"]["name"], "j");
    }
}
