//! `LivePools` picks up changes by itself: from the file store (metadata polling), from MongoDB
//! (change streams), and after MongoDB was stopped and started again, while keeping the last
//! pools in between. Tests await the change signal with a bounded timeout; they never sleep.
//!
//! Run everything with `scripts/dev-mongo.sh run cargo test --test store_live`.

mod common_store;

use std::sync::Arc;
use std::time::Duration;

use afpool::store::live::LivePools;
use afpool::store::mongo::MongoStore;
use afpool::store::{ChangeFeed, Pool, SharedStore};
use common_store::{Backend, Secantus};
use tokio_util::sync::CancellationToken;

/// Upper bound for any single wait.
const WAIT: Duration = Duration::from_secs(30);

fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|h| h.to_string()).collect()
}

fn has_host(pools: &[Pool], pool: &str, host: &str) -> bool {
    pools.iter().any(|p| p.name == pool && p.contains(host))
}

async fn wait_for_host(live: &LivePools, pool: &str, host: &str) {
    let waited = tokio::time::timeout(WAIT, live.wait_for(|p| has_host(p, pool, host))).await;
    assert!(
        waited.is_ok(),
        "{pool}/{host} not seen; pools now {:?}",
        live.current()
    );
}

/// A change made through another store instance shows up in a running `LivePools`.
async fn change_is_picked_up(backend: &Backend) {
    let writer = backend.store().await;
    writer.create("p", &hosts(&["h1"])).await.unwrap();
    let shutdown = CancellationToken::new();
    let live = LivePools::start(backend.store().await, shutdown.clone()).await;
    assert!(has_host(&live.current(), "p", "h1"));
    assert!(live.is_available());
    let version = live.version();

    writer.add_hosts("p", &hosts(&["h2"])).await.unwrap();
    wait_for_host(&live, "p", "h2").await;
    assert!(live.version() > version);

    writer.create("q", &[]).await.unwrap();
    let waited =
        tokio::time::timeout(WAIT, live.wait_for(|p| p.iter().any(|p| p.name == "q"))).await;
    assert!(waited.is_ok(), "new pool not seen");
    assert_eq!(live.get("q").unwrap().hosts, Vec::<String>::new());
    shutdown.cancel();
}

#[tokio::test]
async fn file_change_is_picked_up() {
    change_is_picked_up(&Backend::file()).await;
}

#[tokio::test]
async fn mongo_change_is_picked_up() {
    let Some(backend) = Backend::mongo("mongo_change_is_picked_up") else {
        return;
    };
    change_is_picked_up(&backend).await;
    backend.cleanup().await;
}

/// A file that is briefly unreadable keeps the last pools; a good file is picked up again.
#[tokio::test]
async fn file_store_recovers_from_a_broken_file() {
    let backend = Backend::file();
    let writer = backend.store().await;
    writer.create("p", &hosts(&["h1"])).await.unwrap();
    let live = LivePools::start(backend.store().await, CancellationToken::new()).await;

    std::fs::write(backend.path(), "{ truncated").unwrap();
    tokio::time::timeout(WAIT, live.wait_available(false))
        .await
        .expect("outage noticed");
    assert!(has_host(&live.current(), "p", "h1"), "last pools kept");

    std::fs::write(backend.path(), "").unwrap(); // empty file = no pools
    writer.create("p", &hosts(&["h2"])).await.unwrap();
    wait_for_host(&live, "p", "h2").await;
    assert!(live.is_available());
}

/// An unreachable store at start gives no pools, then the pools once it is reachable.
#[tokio::test]
async fn starts_empty_when_the_store_is_unreachable() {
    let Some(binary) = common_store::secantusd("starts_empty_when_the_store_is_unreachable") else {
        return;
    };
    let mut server = Secantus::start(binary).await;
    server.stop().await;
    let store: SharedStore = Arc::new(
        MongoStore::connect(&server.uri(), "afp", "pools")
            .await
            .unwrap(),
    );
    let live = LivePools::start(store.clone(), CancellationToken::new()).await;
    assert!(live.current().is_empty());
    assert!(!live.is_available());

    server.restart().await;
    store.create("late", &hosts(&["h"])).await.unwrap();
    wait_for_host(&live, "late", "h").await;
    tokio::time::timeout(WAIT, live.wait_available(true))
        .await
        .expect("recovered");
    server.stop().await;
}

/// The proxy's view survives a MongoDB outage and follows changes again after it.
#[tokio::test]
async fn keeps_pools_while_mongodb_is_down_and_recovers() {
    let Some(binary) = common_store::secantusd("keeps_pools_while_mongodb_is_down_and_recovers")
    else {
        return;
    };
    let mut server = Secantus::start(binary).await;
    let store: SharedStore = Arc::new(
        MongoStore::connect(&server.uri(), "afp", "pools")
            .await
            .unwrap(),
    );
    store.create("p", &hosts(&["h1"])).await.unwrap();
    let shutdown = CancellationToken::new();
    let feed = store.changes().await.unwrap();
    assert!(
        matches!(feed, ChangeFeed::Stream(_)),
        "SecantusDB offers change streams: {feed:?}"
    );
    drop(feed);
    let live = LivePools::start(store.clone(), shutdown.clone()).await;
    assert!(has_host(&live.current(), "p", "h1"));

    server.stop().await;
    tokio::time::timeout(WAIT, live.wait_available(false))
        .await
        .expect("outage noticed");
    assert!(
        has_host(&live.current(), "p", "h1"),
        "last pools kept while down"
    );

    server.restart().await;
    store.add_hosts("p", &hosts(&["h2"])).await.unwrap();
    wait_for_host(&live, "p", "h2").await;
    assert!(live.is_available());
    assert!(has_host(&live.current(), "p", "h1"));
    shutdown.cancel();
    server.stop().await;
}

/// A MongoDB without change streams (a standalone `mongod`, the common studio set-up): the
/// refresher falls back to polling and still follows changes.
#[tokio::test]
async fn polls_a_mongodb_without_change_streams() {
    let Some(binary) = common_store::secantusd("polls_a_mongodb_without_change_streams") else {
        return;
    };
    let mut server = Secantus::start_with(binary, &["--standalone"]).await;
    let store: SharedStore = Arc::new(
        MongoStore::connect(&server.uri(), "afp", "pools")
            .await
            .unwrap(),
    );
    store.create("p", &hosts(&["h1"])).await.unwrap();
    let feed = store.changes().await.unwrap();
    assert!(
        matches!(feed, ChangeFeed::Poll(_)),
        "a standalone server has no change streams: {feed:?}"
    );
    drop(feed);
    let shutdown = CancellationToken::new();
    let live = LivePools::start(store.clone(), shutdown.clone()).await;
    assert!(has_host(&live.current(), "p", "h1"));
    store.add_hosts("p", &hosts(&["h2"])).await.unwrap();
    wait_for_host(&live, "p", "h2").await;
    shutdown.cancel();
    server.stop().await;
}
