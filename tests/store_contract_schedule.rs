//! The `PoolStore` contract for scheduled members (`during` windows and `time_zone`), run
//! against both backends, plus the stored shape each backend writes: beside `name` and
//! `clients`, only when set, so the older tool still reads the pool.
//!
//! Run everything with `scripts/dev-mongo.sh run cargo test --test store_contract_schedule`.

mod common_store;

use std::collections::BTreeMap;

use afpool::store::{Selection, StoreError};
use bson::{doc, Bson};
use common_store::{contract, Backend};
use serde_json::{json, Value};

contract!(
    windows_are_stored_beside_the_hosts,
    bad_windows_change_nothing
);

fn during(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    let specs = |s: &[&str]| s.iter().map(|w| w.to_string()).collect();
    pairs
        .iter()
        .map(|(k, s)| (k.to_string(), specs(s)))
        .collect()
}

fn scheduled() -> Selection {
    Selection {
        select: Some("cpu_num >= 16".into()),
        during: during(&[
            ("gpu.node3", &["mon-fri 19:00-07:00, Sat,Sun"]),
            ("*", &["Sat,Sun"]),
        ]),
        time_zone: Some("Europe/Berlin".into()),
        ..Selection::default()
    }
}

async fn windows_are_stored_beside_the_hosts(b: &Backend) {
    let store = b.store().await;
    store.create("night", &["gpu.node3".into()]).await.unwrap();
    let set = store.set_selection("night", &scheduled()).await.unwrap();
    let want = during(&[
        ("*", &["Sat,Sun"]),
        ("gpu.node3", &["Mon-Fri 19:00-07:00", "Sat,Sun"]),
    ]);
    assert_eq!(
        set.selection.during, want,
        "canonical, one window per string"
    );
    assert_eq!(set.selection.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(b.store().await.get("night").await.unwrap(), set);
    // Host edits and renames keep the windows.
    store.add_hosts("night", &["ws-2".into()]).await.unwrap();
    store.rename("night", "nights").await.unwrap();
    let moved = b.store().await.get("nights").await.unwrap();
    assert_eq!(moved.selection, set.selection);
    // Clearing them leaves the rule.
    let rule_only = Selection {
        select: set.selection.select.clone(),
        ..Selection::default()
    };
    let cleared = store.set_selection("nights", &rule_only).await.unwrap();
    assert_eq!(cleared.selection, rule_only);
    assert_eq!(b.store().await.get("nights").await.unwrap(), cleared);
}

async fn bad_windows_change_nothing(b: &Backend) {
    let store = b.store().await;
    store.create("p", &[]).await.unwrap();
    let before = store.set_selection("p", &scheduled()).await.unwrap();
    let bad_window = Selection {
        during: during(&[("ws-1", &["Mon-Fri 19:00-7:00"])]),
        ..Selection::default()
    };
    let bad_zone = Selection {
        time_zone: Some("Europe/Berln".into()),
        ..scheduled()
    };
    for (bad, why) in [
        (bad_window, "'7:00' is not a time"),
        (bad_zone, "Europe/Berln"),
    ] {
        match store.set_selection("p", &bad).await {
            Err(StoreError::InvalidSchedule(e)) => assert!(e.contains(why), "{e}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(b.store().await.get("p").await.unwrap(), before);
}

#[tokio::test]
async fn file_writes_windows_as_a_list_beside_clients() {
    let b = Backend::file();
    let store = b.store().await;
    store.create("night", &["ws-1".into()]).await.unwrap();
    let read = || -> Value {
        let text = std::fs::read_to_string(b.path()).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let typed = read();
    store.set_selection("night", &scheduled()).await.unwrap();
    let doc = &read()["pools"][0];
    assert_eq!(
        doc["during"],
        json!([
            {"hostname": "*", "windows": ["Sat,Sun"]},
            {"hostname": "gpu.node3", "windows": ["Mon-Fri 19:00-07:00", "Sat,Sun"]},
        ])
    );
    assert_eq!(doc["time_zone"], "Europe/Berlin");
    assert_eq!(doc["clients"][0]["hostname"], "ws-1");
    store
        .set_selection("night", &Selection::default())
        .await
        .unwrap();
    assert_eq!(read(), typed, "cleared, the document is a typed list again");
}

#[tokio::test]
async fn mongo_writes_windows_as_a_list_beside_clients() {
    let Some(b) = Backend::mongo("mongo_writes_windows_as_a_list_beside_clients") else {
        return;
    };
    let store = b.store().await;
    store.create("night", &["ws-1".into()]).await.unwrap();
    store.set_selection("night", &scheduled()).await.unwrap();
    let raw = b.raw().await;
    let found = raw
        .find_one(doc! { "name": "night" })
        .await
        .unwrap()
        .unwrap();
    let entry = |host: &str, windows: &[&str]| {
        Bson::Document(doc! { "hostname": host, "windows": windows.to_vec() })
    };
    assert_eq!(
        found.get_array("during").unwrap(),
        &vec![
            entry("*", &["Sat,Sun"]),
            entry("gpu.node3", &["Mon-Fri 19:00-07:00", "Sat,Sun"]),
        ]
    );
    assert_eq!(found.get_str("time_zone").unwrap(), "Europe/Berlin");
    assert_eq!(found.get_array("clients").unwrap().len(), 1);
    store
        .set_selection("night", &Selection::default())
        .await
        .unwrap();
    let cleared = raw
        .find_one(doc! { "name": "night" })
        .await
        .unwrap()
        .unwrap();
    assert!(!cleared.contains_key("during") && !cleared.contains_key("time_zone"));
    b.cleanup().await;
}
