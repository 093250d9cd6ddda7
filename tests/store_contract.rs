//! The `PoolStore` contract, run against both backends: the file store (always) and MongoDB
//! (when `MONGODB_URI` is set; each test uses its own database). Plus the legacy MongoDB
//! document shape, both ways.
//!
//! Run everything with `scripts/dev-mongo.sh run cargo test --test store_contract`.

mod common_store;

use std::time::{Duration, Instant};

use afpool::store::mongo::MongoStore;
use afpool::store::{PoolStore, Selection, StoreError};
use bson::{doc, oid::ObjectId, Bson, Document};
use common_store::{contract, Backend};
use futures_util::TryStreamExt;

fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|h| h.to_string()).collect()
}

contract!(
    create_get_list,
    create_rejects_bad_input,
    rename,
    delete,
    add_hosts_never_twice,
    remove_hosts_case_insensitively,
    concurrent_writers_lose_nothing,
    selection_is_stored_beside_the_hosts,
);

fn selection(select: Option<&str>, except: &[&str]) -> Selection {
    Selection {
        select: select.map(str::to_string),
        except: hosts(except),
        ..Selection::default()
    }
}

async fn selection_is_stored_beside_the_hosts(b: &Backend) {
    let store = b.store().await;
    let typed = store.create("gpu", &hosts(&["ws-1"])).await.unwrap();
    assert!(typed.selection.is_empty(), "a new pool is a typed list");
    let rule = "gpu_mem_total_mb >= 20000 && os.contains(\"linux\")";
    let set = store
        .set_selection("gpu", &selection(Some(rule), &["old-1", "OLD-1"]))
        .await
        .unwrap();
    assert_eq!(set.selection, selection(Some(rule), &["old-1"]));
    assert_eq!(set.hosts, ["ws-1"], "the typed hosts stay");
    let read = b.store().await.get("gpu").await.unwrap();
    assert_eq!(read, set);
    // Host edits and renames keep the selection.
    store.add_hosts("gpu", &hosts(&["ws-2"])).await.unwrap();
    store.rename("gpu", "gpu24").await.unwrap();
    let moved = b.store().await.get("gpu24").await.unwrap();
    assert_eq!((moved.hosts.len(), &moved.selection), (2, &set.selection));
    // A bad rule or host changes nothing.
    let bad = store
        .set_selection("gpu24", &selection(Some("ram > 4"), &[]))
        .await;
    assert!(
        matches!(&bad, Err(StoreError::InvalidRule(why)) if why.contains("column 1")),
        "{bad:?}"
    );
    let bad_host = store
        .set_selection("gpu24", &selection(None, &["a b"]))
        .await;
    assert!(matches!(bad_host, Err(StoreError::InvalidHost(..))));
    assert_eq!(store.get("gpu24").await.unwrap(), moved);
    // Clearing makes it a typed list again.
    let cleared = store
        .set_selection("gpu24", &Selection::default())
        .await
        .unwrap();
    assert!(cleared.selection.is_empty());
    assert_eq!(b.store().await.get("gpu24").await.unwrap(), cleared);
    let missing = store.set_selection("nope", &Selection::default()).await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
}

async fn create_get_list(b: &Backend) {
    let store = b.store().await;
    assert!(store.list().await.unwrap().is_empty());
    let created = store
        .create("lighting", &hosts(&[" PC-1 ", "pc-2", "pc-1"]))
        .await
        .unwrap();
    assert_eq!(created.hosts, ["PC-1", "pc-2"]);
    store.create("comp", &[]).await.unwrap();
    store.create("comp10", &[]).await.unwrap();
    store.create("comp9", &[]).await.unwrap();
    let names: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        ["comp", "comp9", "comp10", "lighting"],
        "natural order"
    );
    let pool = b.store().await.get("lighting").await.unwrap();
    assert_eq!(pool, created);
    assert!(pool.contains("pc-1") && !pool.contains("pc-3"));
    assert_eq!(
        store.get("Lighting").await,
        Err(StoreError::NotFound("Lighting".into()))
    );
}

async fn create_rejects_bad_input(b: &Backend) {
    let store = b.store().await;
    store.create("a", &[]).await.unwrap();
    assert_eq!(
        store.create("a", &[]).await,
        Err(StoreError::AlreadyExists("a".into()))
    );
    for bad in ["", " a", "a ", "x|y", "Don't use pool."] {
        let got = store.create(bad, &[]).await;
        assert!(
            matches!(got, Err(StoreError::InvalidName(..))),
            "{bad:?}: {got:?}"
        );
    }
    let got = store.create("b", &hosts(&["ok", "not ok"])).await;
    assert!(matches!(got, Err(StoreError::InvalidHost(..))), "{got:?}");
    assert_eq!(
        store.list().await.unwrap().len(),
        1,
        "nothing created from bad input"
    );
}

async fn rename(b: &Backend) {
    let store = b.store().await;
    store.create("old", &hosts(&["h1"])).await.unwrap();
    store.create("taken", &[]).await.unwrap();
    store.rename("old", "new").await.unwrap();
    assert_eq!(store.get("new").await.unwrap().hosts, ["h1"]);
    assert_eq!(
        store.get("old").await,
        Err(StoreError::NotFound("old".into()))
    );
    assert_eq!(
        store.rename("old", "x").await,
        Err(StoreError::NotFound("old".into()))
    );
    assert_eq!(
        store.rename("new", "taken").await,
        Err(StoreError::AlreadyExists("taken".into()))
    );
    assert!(matches!(
        store.rename("new", "a|b").await,
        Err(StoreError::InvalidName(..))
    ));
    store.rename("new", "new").await.unwrap();
    assert_eq!(
        store.rename("nope", "nope").await,
        Err(StoreError::NotFound("nope".into()))
    );
}

async fn delete(b: &Backend) {
    let store = b.store().await;
    store.create("gone", &hosts(&["h"])).await.unwrap();
    store.delete("gone").await.unwrap();
    assert_eq!(
        store.get("gone").await,
        Err(StoreError::NotFound("gone".into()))
    );
    assert_eq!(
        store.delete("gone").await,
        Err(StoreError::NotFound("gone".into()))
    );
    store.create("gone", &[]).await.unwrap();
}

async fn add_hosts_never_twice(b: &Backend) {
    let store = b.store().await;
    store.create("p", &hosts(&["PC-1"])).await.unwrap();
    let pool = store
        .add_hosts("p", &hosts(&["pc-1", " pc-2 ", "PC-2", "pc-3"]))
        .await
        .unwrap();
    assert_eq!(pool.hosts, ["PC-1", "pc-2", "pc-3"]);
    let again = store.add_hosts("p", &hosts(&["PC-3"])).await.unwrap();
    assert_eq!(again.hosts, pool.hosts);
    assert_eq!(b.store().await.get("p").await.unwrap().hosts, pool.hosts);
    let bad = store.add_hosts("p", &hosts(&["pc-4", "pc 5"])).await;
    assert!(matches!(bad, Err(StoreError::InvalidHost(..))), "{bad:?}");
    assert_eq!(
        store.get("p").await.unwrap().hosts,
        pool.hosts,
        "no partial add"
    );
    let missing = store.add_hosts("nope", &hosts(&["h"])).await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
}

async fn remove_hosts_case_insensitively(b: &Backend) {
    let store = b.store().await;
    store
        .create("p", &hosts(&["PC-1", "pc-2", "pc-3"]))
        .await
        .unwrap();
    let pool = store
        .remove_hosts("p", &hosts(&["pc-1", "PC-3", "unknown"]))
        .await
        .unwrap();
    assert_eq!(pool.hosts, ["pc-2"]);
    assert_eq!(b.store().await.get("p").await.unwrap().hosts, ["pc-2"]);
    let same = store.remove_hosts("p", &hosts(&["unknown"])).await.unwrap();
    assert_eq!(same.hosts, ["pc-2"]);
    let missing = store.remove_hosts("nope", &hosts(&["h"])).await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
}

/// 8 writers, each with its own store instance, add 20 distinct hosts one at a time.
async fn concurrent_writers_lose_nothing(b: &Backend) {
    b.store().await.create("busy", &[]).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let store = b.store().await;
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                store
                    .add_hosts("busy", &[format!("w{writer}-h{i}")])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let pool = b.store().await.get("busy").await.unwrap();
    assert_eq!(pool.hosts.len(), 160, "lost updates: {:?}", pool.hosts);
}

/// Pool documents exactly as the legacy Python tool writes them, plus the variations it can
/// leave behind (duplicates from plain `$push`, hand-edited documents).
#[tokio::test]
async fn mongo_reads_legacy_documents() {
    let Some(b) = Backend::mongo("mongo_reads_legacy_documents") else {
        return;
    };
    let client = |h: &str| doc! { "hostname": h, "engine": "", "ip": "", "port": "" };
    let docs = [
        doc! { "_id": ObjectId::new(), "name": "comp", "clients": [client("PC-1"), client("pc-1"), client("pc-2")] },
        doc! { "_id": ObjectId::new(), "name": "no clients" },
        doc! { "_id": ObjectId::new(), "name": "odd", "owner": "x", "clients": [{ "hostname": "h1" }, 5, { "ip": "" }] },
        doc! { "_id": ObjectId::new(), "name": "empty", "clients": [] },
    ];
    b.raw().await.insert_many(docs).await.unwrap();
    let store = b.store().await;
    let pools = store.list().await.unwrap();
    let summary: Vec<(&str, Vec<&str>)> = pools
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.hosts.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("comp", vec!["PC-1", "pc-2"]),
            ("empty", vec![]),
            ("no clients", vec![]),
            ("odd", vec!["h1"])
        ]
    );
    // Changing a pool without `clients` repairs it into the legacy shape.
    store.add_hosts("no clients", &hosts(&["h"])).await.unwrap();
    let raw = b
        .raw()
        .await
        .find_one(doc! { "name": "no clients" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.get_array("clients").unwrap(),
        &vec![Bson::Document(client("h"))]
    );
    // Removing a host pulls every stored spelling.
    store.remove_hosts("comp", &hosts(&["pc-1"])).await.unwrap();
    let raw = b
        .raw()
        .await
        .find_one(doc! { "name": "comp" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.get_array("clients").unwrap(),
        &vec![Bson::Document(client("pc-2"))]
    );
    b.cleanup().await;
}

/// What afpool writes is what the legacy Pool Manager can read.
#[tokio::test]
async fn mongo_writes_legacy_shape() {
    let Some(b) = Backend::mongo("mongo_writes_legacy_shape") else {
        return;
    };
    let store = b.store().await;
    store.create("empty", &[]).await.unwrap();
    store.create("full", &hosts(&["pc-1"])).await.unwrap();
    let raw = b.raw().await;
    let empty = raw
        .find_one(doc! { "name": "empty" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(empty.get_array("clients").unwrap(), &Vec::<Bson>::new());
    assert!(empty.get_object_id("_id").is_ok());
    let full = raw
        .find_one(doc! { "name": "full" })
        .await
        .unwrap()
        .unwrap();
    let expected = doc! { "hostname": "pc-1", "engine": "", "ip": "", "port": "" };
    assert_eq!(
        full.get_array("clients").unwrap(),
        &vec![Bson::Document(expected.clone())]
    );

    let indexes: Vec<_> = raw
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let name_1 = indexes
        .iter()
        .find(|i| i.options.as_ref().and_then(|o| o.name.as_deref()) == Some("name_1"));
    let name_1 = name_1.expect("index name_1");
    assert_eq!(name_1.keys, doc! { "name": 1 });
    assert_eq!(name_1.options.as_ref().unwrap().unique, Some(true));

    let before = raw
        .find_one(doc! { "name": "full" })
        .await
        .unwrap()
        .unwrap();
    raw.update_one(
        doc! { "name": "full" },
        doc! { "$set": { "note": "keep", "clients.0.extra": 1 } },
    )
    .await
    .unwrap();
    store.add_hosts("full", &hosts(&["pc-2"])).await.unwrap();
    store.remove_hosts("full", &hosts(&["pc-2"])).await.unwrap();
    store.rename("full", "renamed").await.unwrap();
    let after = raw
        .find_one(doc! { "name": "renamed" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.get("_id"), before.get("_id"));
    assert_eq!(after.get_str("note").unwrap(), "keep");
    let clients = after.get_array("clients").unwrap();
    let first: &Document = clients[0].as_document().unwrap();
    assert_eq!(first.get_i32("extra").unwrap(), 1);
    assert_eq!(clients.len(), 1);

    // A selector pool's keys sit beside `name` and `clients`; clearing them removes them.
    let rule = "cpu_num >= 16";
    store
        .set_selection("renamed", &selection(Some(rule), &["pc-9"]))
        .await
        .unwrap();
    let selected = raw
        .find_one(doc! { "name": "renamed" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(selected.get_str("select").unwrap(), rule);
    assert_eq!(
        selected.get_array("except").unwrap(),
        &vec![Bson::String("pc-9".into())]
    );
    assert_eq!(selected.get_array("clients").unwrap(), clients);
    store
        .set_selection("renamed", &Selection::default())
        .await
        .unwrap();
    let cleared = raw
        .find_one(doc! { "name": "renamed" })
        .await
        .unwrap()
        .unwrap();
    assert!(!cleared.contains_key("select") && !cleared.contains_key("except"));
    assert_eq!(cleared.get_str("note").unwrap(), "keep");
    b.cleanup().await;
}

/// An unreachable server is reported as `Unavailable` within a few seconds.
#[tokio::test]
async fn mongo_unreachable_is_unavailable_quickly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("mongodb://127.0.0.1:{port}/");
    let store = MongoStore::connect(&uri, "afpools", "pools").await.unwrap();
    let started = Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(20), store.list())
        .await
        .unwrap();
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let got = store.create("p", &[]).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
}
