//! The full reconcile reads afserver's job list in parts (afserver caps a message at 64 MiB, and
//! a large farm's whole `get jobs` reply is larger): it counts afserver's jobs from `get users`
//! and asks for ids in ranges of 500 until it has seen them all. Against the fake afserver: a
//! tagged job far past the first range, behind a gap of deleted ids, is still adopted, every
//! request is a `get jobs` of at most 500 ids, and the scan stops once it has seen every job.

mod common;
mod live_common;

use afpool::live::reconcile::{Scan, IDS_PER_GET};
use common::{farm, FakeAfserver};
use live_common::*;
use serde_json::{json, Value};

fn job(name: &str, annotation: &str) -> Value {
    json!({"name": name, "user_name": "artist", "annotation": annotation,
        "blocks": [{"name": "b", "tasks": [{"name": "t"}]}]})
}

/// The `get jobs` requests afserver received (their `ids` lists).
fn job_gets(fake: &FakeAfserver) -> Vec<Vec<i64>> {
    let bodies = fake.requests().into_iter().filter_map(|r| {
        let at = r.iter().position(|b| *b == b'{')?;
        serde_json::from_slice::<Value>(&r[at..]).ok()
    });
    bodies
        .filter(|v| v["get"]["type"] == "jobs")
        .map(|v| {
            let ids = v["get"]["ids"]
                .as_array()
                .expect("a get jobs names its ids");
            ids.iter().filter_map(Value::as_i64).collect()
        })
        .collect()
}

#[tokio::test]
async fn a_full_scan_reads_the_job_list_in_parts_and_adopts_past_a_gap() {
    let fake = FakeAfserver::start(farm()).await;
    let (_dir, spec, _store) = file_store().await;
    // 1,300 jobs afserver holds (ids 1..=1300), of which 700 are deleted again (ids 301..=1000):
    // the tagged pool job at id 1,200 is far past the first range and behind the gap.
    for i in 1..=1300 {
        let annotation = if i == 1200 { "[pool: cpu] late" } else { "" };
        let (id, _) = fake.keep(&job(&format!("j{i}"), annotation));
        assert_eq!(id, i);
    }
    for id in 301..=1000 {
        fake.delete_job(id);
    }
    let proxy = start_proxy(&spec, fake.addr).await;
    let before = job_gets(&fake).len();
    proxy.live.reconcile(Scan::Full).await;
    assert_eq!(
        proxy.live.index().get(1200).map(|j| j.pool),
        Some("cpu".into()),
        "the tagged job past the gap is adopted"
    );
    let gets = job_gets(&fake);
    let scan = &gets[before..];
    assert!(
        scan.iter()
            .all(|ids| !ids.is_empty() && ids.len() <= IDS_PER_GET),
        "{scan:?}"
    );
    // 600 jobs held, the last at id 1,300: the ranges up to 1,500, and one empty range past
    // them (the count alone does not end a scan), no more.
    let firsts: Vec<i64> = scan.iter().map(|ids| ids[0]).collect();
    assert_eq!(firsts, [1, 501, 1001, 1501]);
}
