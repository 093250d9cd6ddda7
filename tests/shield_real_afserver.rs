//! Optional: the shield in front of a real afserver 3.4.1. Runs only when `AFPOOL_REAL_AFSERVER`
//! names an afserver binary inside a CGRU tree (`<cgru>/afanasy/<os>/bin/afserver`, built as in
//! the project notes, listening on loopback only); otherwise it says it was skipped. CI never has
//! one. Every job below crashes or corrupts afserver 3.4.1 when sent to it directly; through
//! afpool each is refused and afserver keeps running, while the clamped and blank-name jobs
//! register and afserver's own `get jobs` reply stays valid JSON.

#[allow(unused_imports)] // the fake afserver is not used here
mod common;

use std::path::Path;

use afpool::job::RouteSettings;
use common::real_afserver::RealAfserver;
use common::{reply_json, send, spawn_proxy};
use serde_json::{json, Value};

fn text_request(v: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(v).unwrap();
    [format!("AFANASY {} JSON", body.len()).as_bytes(), &body].concat()
}

fn job(extra: Value) -> Value {
    let mut j = json!({"name": "j", "user_name": "u", "host_name": "h", "blocks": [{"name": "b", "tasks": [{"name": "t", "command": "c"}]}]});
    j.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({ "job": j })
}

fn blocks(b: Value) -> Value {
    job(json!({ "blocks": [b] }))
}

fn numeric(frames: Value) -> Value {
    let mut b = json!({"name": "n", "flags": 1, "command": "x @#@"});
    b.as_object_mut()
        .unwrap()
        .extend(frames.as_object().unwrap().clone());
    blocks(b)
}

/// Jobs that crash or corrupt afserver 3.4.1 when sent to it directly.
fn harmful() -> Vec<Value> {
    vec![
        job(json!({"user_name": "\u{0}x"})),
        job(json!({"user_name": 5})),
        job(json!({"id": 1})),
        job(json!({"id": -1})),
        numeric(json!({"frame_last": 4294967295_i64})),
        numeric(json!({"frame_first": i64::MIN, "frame_last": i64::MAX})),
        blocks(json!({"tasks": [5]})),
        blocks(json!({"tasks_num": 3, "tasks": [{}]})),
        job(json!({"blocks": [null]})),
        job(json!({"user_name": "a\"b"})),
        job(json!({"host_name": "CORP\\ws01"})),
        blocks(json!({"tasks": [{"command": "a\u{1}b"}]})),
    ]
}

#[tokio::test]
async fn the_shield_keeps_a_real_afserver_alive_and_its_json_valid() {
    let Some(binary) = common::real_afserver::binary() else {
        eprintln!("skipped: set AFPOOL_REAL_AFSERVER to an afserver 3.4.1 binary to run this test");
        return;
    };
    let mut afserver = RealAfserver::start(Path::new(&binary));
    let proxy = spawn_proxy(afserver.addr, Vec::new(), RouteSettings::default()).await;
    for request in &harmful() {
        let reply = reply_json(&send(proxy.addr, &text_request(request)).await);
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("afpool: "), "{request} -> {reply}");
        assert!(afserver.alive(), "afserver died on {request}");
    }
    let accepted = [
        numeric(json!({"frame_first": 10, "frame_last": 1, "frames_per_task": 0})),
        job(json!({"user_name": " ", "branch": "\\show\\x"})),
    ];
    for request in &accepted {
        let reply = reply_json(&send(proxy.addr, &text_request(request)).await);
        assert!(
            reply["id"].as_i64().unwrap_or(0) > 0,
            "{request} -> {reply}"
        );
    }
    // afserver's own reply, parsed strictly: valid JSON, the system job and the two accepted.
    let list = send(
        afserver.addr,
        &text_request(&json!({"get": {"type": "jobs"}})),
    )
    .await;
    let jobs = reply_json(&list);
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        1 + accepted.len(),
        "{jobs}"
    );
    assert!(afserver.alive());
    proxy.shutdown.cancel();
}
