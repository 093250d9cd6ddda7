//! Spill-over settings in the `PoolStore` contract, on both backends (MongoDB when
//! `MONGODB_URI` is set: `scripts/dev-mongo.sh run cargo test --test store_spill`), and the
//! MongoDB document shape: `fallback`, `spill_below` and `spill_after` beside `name` and
//! `clients`, only when set, so the older tool keeps reading the document.

mod common_store;

use afpool::store::{Spill, StoreError};
use bson::{doc, Bson};
use common_store::{contract, Backend};

contract!(spill_is_stored_beside_the_hosts);

fn spill(fallback: &[&str], below: Option<u32>, after: Option<&str>) -> Spill {
    Spill {
        fallback: fallback.iter().map(|s| s.to_string()).collect(),
        spill_below: below,
        spill_after: after.map(str::to_string),
    }
}

async fn spill_is_stored_beside_the_hosts(b: &Backend) {
    let store = b.store().await;
    let new = store.create("gpu", &["ws-1".into()]).await.unwrap();
    assert!(new.spill.is_empty(), "a new pool never spills");
    let wanted = spill(&["cpu", "cloud"], Some(2), Some("30m"));
    let set = store.set_spill("gpu", &wanted).await.unwrap();
    assert_eq!(set.spill, wanted);
    assert_eq!(b.store().await.get("gpu").await.unwrap(), set);
    // Host edits and renames keep it.
    store.add_hosts("gpu", &["ws-2".into()]).await.unwrap();
    store.rename("gpu", "gpu24").await.unwrap();
    let moved = b.store().await.get("gpu24").await.unwrap();
    assert_eq!((moved.hosts.len(), &moved.spill), (2, &wanted));
    // Refused settings change nothing.
    for bad in [
        spill(&["gpu24"], Some(1), None),
        spill(&[], Some(1), None),
        spill(&["cpu"], None, Some("soon")),
    ] {
        let refused = store.set_spill("gpu24", &bad).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidSpill(_))),
            "{refused:?}"
        );
    }
    assert_eq!(store.get("gpu24").await.unwrap(), moved);
    let cleared = store.set_spill("gpu24", &Spill::default()).await.unwrap();
    assert!(cleared.spill.is_empty());
    assert_eq!(b.store().await.get("gpu24").await.unwrap(), cleared);
    let missing = store.set_spill("nope", &Spill::default()).await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
}

#[tokio::test]
async fn mongo_keeps_spill_keys_beside_name_and_clients() {
    let Some(b) = Backend::mongo("mongo_keeps_spill_keys") else {
        return;
    };
    let store = b.store().await;
    store.create("gpu", &["pc-1".into()]).await.unwrap();
    let raw = b.raw().await;
    store
        .set_spill("gpu", &spill(&["cpu"], Some(2), Some("1h")))
        .await
        .unwrap();
    let doc = raw.find_one(doc! {"name": "gpu"}).await.unwrap().unwrap();
    assert_eq!(
        doc.get_array("fallback").unwrap(),
        &vec![Bson::String("cpu".into())]
    );
    assert_eq!(doc.get_i64("spill_below").unwrap(), 2);
    assert_eq!(doc.get_str("spill_after").unwrap(), "1h");
    assert_eq!(doc.get_array("clients").unwrap().len(), 1);
    // A legacy-written number (a double) reads; clearing removes the keys.
    raw.update_one(doc! {"name": "gpu"}, doc! {"$set": {"spill_below": 3.0}})
        .await
        .unwrap();
    assert_eq!(store.get("gpu").await.unwrap().spill.spill_below, Some(3));
    store.set_spill("gpu", &Spill::default()).await.unwrap();
    let doc = raw.find_one(doc! {"name": "gpu"}).await.unwrap().unwrap();
    for key in ["fallback", "spill_below", "spill_after"] {
        assert!(!doc.contains_key(key), "{key} left: {doc}");
    }
    b.cleanup().await;
}
