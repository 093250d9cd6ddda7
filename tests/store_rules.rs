//! The default pool rules in the store, on both backends (MongoDB when `MONGODB_URI` is set: run
//! with `scripts/dev-mongo.sh run cargo test --test store_rules`): none until set, checked on
//! write (a bad condition changes nothing and says where), kept through pool edits, removed
//! again; in MongoDB one document in the `rules` collection, so `pools` holds only pools; in the
//! file store the top-level key `default_rules`, kept through pool edits.

mod common_store;

use afpool::store::rules::{DefaultRules, Otherwise, Rule};
use afpool::store::StoreError;
use bson::doc;
use common_store::{contract, Backend};

contract!(rules_are_stored_beside_the_pools);

fn nuke(otherwise: Otherwise) -> DefaultRules {
    DefaultRules {
        rules: vec![
            Rule {
                when: "'nuke' in services".into(),
                pool: "comp".into(),
            },
            Rule {
                when: "project == \"lighting\"".into(),
                pool: "lighting".into(),
            },
        ],
        otherwise,
    }
}

async fn rules_are_stored_beside_the_pools(b: &Backend) {
    let store = b.store().await;
    assert_eq!(store.rules().await.unwrap(), None, "none until set");
    store.create("comp", &["ws-1".into()]).await.unwrap();
    let wanted = nuke(Otherwise::Pool("farm".into()));
    store.set_rules(Some(&wanted)).await.unwrap();
    assert_eq!(b.store().await.rules().await.unwrap(), Some(wanted.clone()));
    // Pool edits keep them, and they are no pool.
    store.add_hosts("comp", &["ws-2".into()]).await.unwrap();
    store.rename("comp", "compositing").await.unwrap();
    assert_eq!(b.store().await.rules().await.unwrap(), Some(wanted.clone()));
    let names: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["compositing"]);
    // A bad condition is refused, saying which rule and where, and nothing changes.
    let mut bad = nuke(Otherwise::Hold);
    bad.rules[1].when = "projct == \"x\"".into();
    let refused = store.set_rules(Some(&bad)).await;
    assert!(
        matches!(&refused, Err(StoreError::InvalidRules(w)) if w.starts_with("rule 2:") && w.contains("column 1")),
        "{refused:?}"
    );
    assert_eq!(store.rules().await.unwrap(), Some(wanted));
    // Replaced, then removed.
    store.set_rules(Some(&nuke(Otherwise::Hold))).await.unwrap();
    assert_eq!(
        b.store().await.rules().await.unwrap().map(|r| r.otherwise),
        Some(Otherwise::Hold)
    );
    store.set_rules(None).await.unwrap();
    assert_eq!(b.store().await.rules().await.unwrap(), None);
    match b {
        Backend::Mongo { .. } => mongo_shape(b).await,
        Backend::File(_) => file_shape(b).await,
    }
}

/// One document `{_id: "default", rules, otherwise}` in `rules`; `pools` holds only pools.
async fn mongo_shape(b: &Backend) {
    let store = b.store().await;
    store.set_rules(Some(&nuke(Otherwise::None))).await.unwrap();
    let raw = b.raw_named("rules").await;
    let stored = raw.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(stored.get_str("_id").unwrap(), "default");
    assert_eq!(stored.get_str("otherwise").unwrap(), "none");
    assert_eq!(
        stored.get_array("rules").unwrap()[0],
        bson::Bson::Document(doc! {"when": "'nuke' in services", "pool": "comp"})
    );
    assert_eq!(b.raw().await.count_documents(doc! {}).await.unwrap(), 1);
    // A document another tool wrote badly holds every job naming no pool.
    raw.replace_one(doc! {"_id": "default"}, doc! {"rules": 7})
        .await
        .unwrap();
    let read = store.rules().await.unwrap().unwrap();
    assert_eq!((read.rules.len(), read.otherwise), (0, Otherwise::Hold));
}

/// The top-level `default_rules` key, next to `pools`, kept when pools change.
async fn file_shape(b: &Backend) {
    let store = b.store().await;
    store.set_rules(Some(&nuke(Otherwise::None))).await.unwrap();
    store.create("farm", &["r1".into()]).await.unwrap();
    let text = std::fs::read_to_string(b.path()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["default_rules"]["rules"][0]["pool"], "comp");
    assert_eq!(doc["pools"].as_array().unwrap().len(), 2);
}
