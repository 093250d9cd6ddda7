//! A pool's policy in the store, on both backends (MongoDB when `MONGODB_URI` is set: run with
//! `scripts/dev-mongo.sh run cargo test --test store_policy`): stored beside `name` only when
//! set, validated on write (a bad network or condition changes nothing), kept through host
//! edits and renames, cleared by an empty policy; documents without one, and the legacy shape,
//! keep working.

mod common_store;

use afpool::job::policy::{LimitKey, PoolPolicy};
use afpool::store::StoreError;
use bson::doc;
use common_store::{contract, Backend};
use serde_json::json;

contract!(policy_is_stored_beside_the_name);

fn policy(v: serde_json::Value) -> PoolPolicy {
    serde_json::from_value(v).unwrap()
}

async fn policy_is_stored_beside_the_name(b: &Backend) {
    let store = b.store().await;
    let created = store.create("lighting", &["ws-1".into()]).await.unwrap();
    assert!(created.policy.is_empty(), "a new pool has no policy");
    let wanted = policy(json!({
        "allow": {"users": [" anna ", "ben", "anna"], "networks": ["10.1.0.0/16"],
                  "if": "project == \"lighting\""},
        "deny": {"hosts": ["kiosk"]},
        "on_refused": "hold",
        "services": ["maya"],
        "limits": {"priority": {"default": 50, "max": 150}, "capacity": {"max": 2000}},
        "depend_mask_global": "lighting_.*"
    }));
    let set = store.set_policy("lighting", &wanted).await.unwrap();
    assert_eq!(
        set.policy.allow.users,
        ["anna", "ben"],
        "trimmed, once each"
    );
    assert_eq!(set.policy.limits[&LimitKey::Priority].max, Some(150));
    assert_eq!(set.hosts, ["ws-1"], "the hosts stay");
    assert_eq!(b.store().await.get("lighting").await.unwrap(), set);
    // Host edits and renames keep it.
    store.add_hosts("lighting", &["ws-2".into()]).await.unwrap();
    store.rename("lighting", "light").await.unwrap();
    let moved = b.store().await.get("light").await.unwrap();
    assert_eq!(moved.policy, set.policy);
    // What cannot work is refused, saying why, and changes nothing.
    for (bad, why) in [
        (
            json!({"allow": {"networks": ["10.1.2.3/16"]}}),
            "10.1.0.0/16",
        ),
        (json!({"deny": {"if": "projct == \"x\""}}), "column 1"),
        (
            json!({"limits": {"priority": {"default": 200, "max": 150}}}),
            "over max",
        ),
    ] {
        let refused = store.set_policy("light", &policy(bad.clone())).await;
        assert!(
            matches!(&refused, Err(StoreError::InvalidPolicy(w)) if w.contains(why)),
            "{bad}: {refused:?}"
        );
    }
    assert_eq!(store.get("light").await.unwrap(), moved);
    // An empty policy clears it.
    let cleared = store
        .set_policy("light", &PoolPolicy::default())
        .await
        .unwrap();
    assert!(cleared.policy.is_empty());
    assert_eq!(b.store().await.get("light").await.unwrap(), cleared);
    let missing = store.set_policy("nope", &PoolPolicy::default()).await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
    if let Backend::Mongo { .. } = b {
        mongo_shape(b).await;
    }
}

/// In MongoDB the policy is one `policy` document beside `name`, numbers as numbers; cleared,
/// the key is gone; a document another tool wrote without it reads as no policy.
async fn mongo_shape(b: &Backend) {
    let store = b.store().await;
    let raw = b.raw().await;
    let p = policy(json!({"deny": {"users": ["carl"]}, "limits": {"time_life": {"max": 3600}}}));
    store.set_policy("light", &p).await.unwrap();
    let doc = raw.find_one(doc! {"name": "light"}).await.unwrap().unwrap();
    let stored = doc.get_document("policy").unwrap();
    assert_eq!(
        stored.get_document("deny").unwrap(),
        &doc! {"users": ["carl"]}
    );
    let max = stored
        .get_document("limits")
        .and_then(|l| l.get_document("time_life"))
        .unwrap()
        .get("max")
        .and_then(bson::Bson::as_i64);
    assert_eq!(max, Some(3600));
    assert!(doc.get_array("clients").is_ok());
    store
        .set_policy("light", &PoolPolicy::default())
        .await
        .unwrap();
    let doc = raw.find_one(doc! {"name": "light"}).await.unwrap().unwrap();
    assert!(!doc.contains_key("policy"));
    raw.insert_one(doc! {"name": "old", "clients": []})
        .await
        .unwrap();
    assert!(store.get("old").await.unwrap().policy.is_empty());
}
