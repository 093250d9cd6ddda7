//! The shield against an independent reading of afserver 3.4.1 (`tests/common/afserver_rules.rs`):
//! afpool refuses a job exactly when afserver would crash on it or be corrupted by it, and
//! nothing harmful ever reaches the fake afserver through the proxy.
// The fake afserver loads `afserver_rules.rs` too, inside `crashes_afserver` (so the example
// binary that reuses the fake needs no hook of its own).
#![allow(clippy::duplicate_mod)]

#[path = "common/afserver_rules.rs"]
mod afserver_rules;
mod common;

use afpool::job::{self, Inventory, Rejection, RouteSettings, ShieldRule};
use afserver_rules::{judge, Harm};
use common::{farm, pool, reply_json, send, spawn_proxy, FakeAfserver};
use rstest::rstest;
use serde_json::{json, Value};

/// afpool's answer for a job without a pool: `Ok(forwarded job)` or the refusing rule.
fn afpool(job: &Value) -> Result<Value, Option<ShieldRule>> {
    let body = serde_json::to_vec(&json!({ "job": job })).unwrap();
    let inv = Inventory::new(Vec::new(), Vec::new());
    let outcome = job::route(&body, &RouteSettings::default(), &inv).map_err(|e| e.rule())?;
    let out = outcome.body.unwrap_or(body);
    Ok(serde_json::from_slice::<Value>(&out).unwrap()["job"].take())
}

fn tasks() -> Value {
    json!([{"name": "sh010", "command": "comp sh010"}])
}

fn with(extra: Value) -> Value {
    let mut j = json!({"name": "shot", "user_name": "artist", "host_name": "ws1", "blocks": [{"name": "comp", "tasks": tasks()}]});
    j.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    j
}

fn block(b: Value) -> Value {
    with(json!({ "blocks": [b] }))
}

fn numeric(frames: Value) -> Value {
    let mut b = json!({"name": "frames", "flags": 1, "command": "r @#@"});
    b.as_object_mut()
        .unwrap()
        .extend(frames.as_object().unwrap().clone());
    block(b)
}

/// Jobs afserver 3.4.1 accepts and keeps intact, and jobs that crash or corrupt it.
#[rstest]
#[case::plain(with(json!({})))]
#[case::clamped_frames(numeric(json!({"frame_first": 10, "frame_last": 1})))]
#[case::clamped_steps(numeric(json!({"frame_last": 9, "frames_per_task": 0, "frames_inc": -3})))]
#[case::blank_user(with(json!({"user_name": " "})))]
#[case::windows_branch(with(json!({"branch": "\\show\\sq01\\\"x\""})))]
#[case::escaped_fields(with(json!({"description": "a\n\"b\"\t", "project": "C:\\p", "hosts_mask": "r\\d"})))]
#[case::tasks_num_below(block(json!({"tasks_num": 1, "tasks": [{}, {}]})))]
#[case::id_zero(with(json!({"id": 0})))]
#[case::id_not_int32(with(json!({"id": 4294967296_i64})))]
#[case::int32_tasks(numeric(json!({"frame_last": 2147483646})))]
#[case::no_user(json!({"blocks": [{"tasks": tasks()}]}))]
#[case::nul_user(with(json!({"user_name": "\u{0}artist"})))]
#[case::no_blocks(with(json!({"blocks": []})))]
#[case::null_block(with(json!({"blocks": [null]})))]
#[case::no_tasks(block(json!({"tasks": []})))]
#[case::tasks_not_array(block(json!({"tasks": {"a": {}}})))]
#[case::task_number(block(json!({"tasks": [{}, 7]})))]
#[case::task_array(block(json!({"tasks": [[1, 2]]})))]
#[case::tasks_num_zero(block(json!({"tasks_num": 0, "tasks": tasks()})))]
#[case::tasks_num_past(block(json!({"tasks_num": 2, "tasks": tasks()})))]
#[case::tasks_num_negative(block(json!({"tasks_num": -1, "tasks": tasks()})))]
#[case::tasks_2p31(numeric(json!({"frame_last": 2147483647})))]
#[case::tasks_2p32(numeric(json!({"frame_last": 4294967295_i64})))]
#[case::frames_overflow(numeric(json!({"frame_first": i64::MIN, "frame_last": i64::MAX})))]
#[case::sequential_overflow(numeric(json!({"frame_last": 9, "sequential": i64::MAX - 2})))]
#[case::job_id(with(json!({"id": 1})))]
#[case::quote_user(with(json!({"user_name": "art\"ist"})))]
#[case::backslash_host(with(json!({"host_name": "CORP\\ws01"})))]
#[case::quote_name(with(json!({"name": "shot \"a\""})))]
#[case::control_annotation(with(json!({"annotation": "\u{1b}[1m"})))]
#[case::folders_key(with(json!({"folders": {"in\"put": "/x"}})))]
#[case::pools_key(with(json!({"pools": {"gpu\\": 10}})))]
#[case::block_mask(block(json!({"tasks": tasks(), "hosts_mask": "gpu\\..*"})))]
#[case::block_name(block(json!({"tasks": tasks(), "name": "co\"mp"})))]
#[case::block_env_key(block(json!({"tasks": tasks(), "environment": {"A\\": "1"}})))]
#[case::block_tickets_key(block(json!({"tasks": tasks(), "tickets": {"lic\"": 1}})))]
#[case::task_name(block(json!({"tasks": [{"name": "sh\\010"}]})))]
#[case::task_command(block(json!({"tasks": [{"command": "a\u{1}b"}]})))]
#[case::task_files_nul(block(json!({"tasks": [{"files": ["a\u{0}"]}]})))]
fn afpool_refuses_exactly_what_harms_afserver(#[case] job: Value) {
    let harm = judge(&job);
    match afpool(&job) {
        Ok(forwarded) => {
            assert_eq!(harm, None, "afpool forwards a harmful job: {job}");
            assert_eq!(judge(&forwarded), None, "forwarded: {forwarded}");
        }
        Err(rule) => {
            assert!(
                harm.is_some(),
                "afpool refuses ({rule:?}) what afserver accepts: {job}"
            );
        }
    }
}

/// Where afpool is stricter than afserver on purpose: values rapidjson reads as objects only by
/// the luck of their bit patterns (afserver makes an empty task of them).
#[rstest]
#[case(json!(null))]
#[case(json!(false))]
#[case(json!(0))]
#[case(json!(""))]
fn tasks_that_are_not_objects_are_refused_even_when_afserver_survives(#[case] task: Value) {
    let job = block(json!({ "tasks": [task, {}] }));
    assert_eq!(judge(&job), None);
    assert_eq!(afpool(&job), Err(Some(ShieldRule::TaskNotObject)));
}

/// Every job fixture: what afpool forwards is harmless; what the shield refuses is harmful.
#[test]
fn every_fixture_is_judged_like_afserver() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jobs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let input = entry.unwrap().path().join("input.json");
        let Ok(body) = std::fs::read(&input) else {
            continue;
        };
        let job: Value = serde_json::from_slice::<Value>(&body).unwrap()["job"].take();
        match afpool(&job) {
            Ok(forwarded) => assert_eq!(judge(&forwarded), None, "{}", input.display()),
            // Regex masks afserver would ignore are checked with libstdc++ in tests/std_regex.rs.
            Err(Some(ShieldRule::InvalidRegex)) | Err(None) => {} // ... and None is a policy
            Err(Some(_)) => assert!(judge(&job).is_some(), "{}", input.display()),
        }
    }
}

/// Submit `job` through the proxy in text framing; afserver's (or afpool's) JSON reply.
async fn submit(proxy: std::net::SocketAddr, job: &Value) -> Value {
    let body = serde_json::to_vec(&json!({ "job": job })).unwrap();
    let request = [format!("AFANASY {} JSON", body.len()).as_bytes(), &body].concat();
    reply_json(&send(proxy, &request).await)
}

#[tokio::test]
async fn nothing_harmful_reaches_afserver_through_the_proxy() {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![pool("gpu", &["gpu.node3"])];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    let harmful = [
        with(json!({"id": 1})),
        numeric(json!({"frame_last": 4294967295_i64})),
        block(json!({"tasks": [5]})),
        block(json!({"tasks_num": 3, "tasks": tasks()})),
        with(json!({"user_name": "\u{0}x"})),
        with(json!({"host_name": "CORP\\ws01", "pool": "gpu"})),
        with(json!({"user_name": "a\"b", "pool": "gpu"})),
        block(json!({"tasks": [{"command": "a\u{1}b"}]})),
    ];
    for job in &harmful {
        let reply = submit(proxy.addr, job).await;
        let text = reply["error"].as_str().unwrap_or_default();
        assert!(text.starts_with("afpool: "), "{job} -> {reply}");
        assert!(!fake.crashed(), "{job}");
    }
    let accepted = [
        numeric(json!({"frame_first": 10, "frame_last": 1, "frames_per_task": 0})),
        with(json!({"user_name": " ", "branch": "\\show\\x", "pool": "gpu"})),
    ];
    for job in &accepted {
        let reply = submit(proxy.addr, job).await;
        assert!(reply["id"].as_i64().unwrap() > 0, "{job} -> {reply}");
    }
    let jobs = fake.jobs();
    assert_eq!(jobs.len(), accepted.len());
    assert!(jobs.iter().all(|j| judge(j).is_none()), "{jobs:?}");
    let first = &jobs[0]["blocks"][0]["frame_first"];
    assert_eq!(first, 10, "clamped frames forwarded unchanged");
    proxy.shutdown.cancel();
}

#[test]
fn the_fake_reads_jobs_like_afserver() {
    let crash = |j: Value| matches!(judge(&j), Some(Harm::Crash(_)));
    let corrupt = |j: Value| matches!(judge(&j), Some(Harm::Corrupt(_)));
    assert!(crash(json!("not an object")));
    assert!(crash(with(json!({"user_name": 5}))));
    assert!(crash(block(json!({"tasks": [{}], "tasks_num": 0}))));
    assert!(corrupt(numeric(json!({"frame_last": 2147483647}))));
    assert!(corrupt(block(json!({"tasks": [{}], "tasks_num": -1}))));
    assert!(corrupt(block(
        json!({"tasks": tasks(), "srv_info": "a\"b"})
    )));
    assert_eq!(
        judge(&block(
            json!({"tasks": tasks(), "environment": {"K\\": ""}})
        )),
        None,
        "empty values are not stored"
    );
    assert_eq!(
        judge(&with(json!({"pools": {"a\"": 1, "b": "x"}}))),
        None,
        "a pools map with a non-integer is dropped"
    );
    assert!(corrupt(with(json!({"pools": {"a\"": 1}}))));
    assert!(corrupt(block(
        json!({"tasks": tasks(), "tickets": {"l\"": 1, "m": "x"}})
    )));
    assert_eq!(judge(&with(json!({"command_pre": "a\n\"b\"\\"}))), None);
}

#[test]
fn rejections_say_afpool_first() {
    let body = br#"{"job":{"user_name":"u","id":7,"blocks":[{"tasks":[{}]}]}}"#;
    let inv = Inventory::new(Vec::new(), Vec::new());
    let err: Rejection = job::route(body, &RouteSettings::default(), &inv).unwrap_err();
    assert_eq!(err.rule(), Some(ShieldRule::JobId));
    assert!(err
        .to_string()
        .starts_with("afpool: job (unnamed) sets \"id\" 7"));
}
