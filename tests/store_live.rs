//! `LivePools` picks up changes by itself: from the file store (metadata polling), from MongoDB
//! (change streams), and after MongoDB was stopped and started again, while keeping the last
//! pools in between, and through a pools file that is deleted, truncated or corrupted. Tests
//! await the change signal with a bounded timeout; they never sleep in real time (one lets polls
//! pass in paused time).
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

/// The pools file as an editor writes it: truncated, then the new text.
fn write_pools_file(path: &std::path::Path, host: &str) {
    let doc = serde_json::json!({"pools": [{"name": "p", "clients": [{"hostname": host}]}]});
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// Breaks the pools file in one of the ways it breaks in practice.
fn break_file(path: &std::path::Path, how: &str) {
    match how {
        "deleted" => std::fs::remove_file(path).unwrap(),
        "truncated" => std::fs::write(path, "").unwrap(),
        "half written" => {
            std::fs::write(path, "{\n  \"pools\": [\n    {\"name\": \"p\", \"cli").unwrap()
        }
        "corrupted" => std::fs::write(path, "pools = [p]\n").unwrap(),
        other => panic!("no way to break a file: {other}"),
    }
}

/// A pools file deleted, truncated, half written or corrupted keeps the last good pools (the
/// proxy never routes with "no pools" because of it), and a valid file is picked up again.
#[rstest::rstest]
#[tokio::test]
async fn file_store_keeps_the_last_pools_through_a_broken_file(
    #[values("deleted", "truncated", "half written", "corrupted")] how: &str,
) {
    let backend = Backend::file();
    write_pools_file(&backend.path(), "h1");
    let shutdown = CancellationToken::new();
    let live = LivePools::start(backend.store().await, shutdown.clone()).await;
    assert!(has_host(&live.current(), "p", "h1") && live.is_available());

    break_file(&backend.path(), how);
    tokio::time::timeout(WAIT, live.wait_available(false))
        .await
        .expect("the broken file is noticed");
    assert!(has_host(&live.current(), "p", "h1"), "last pools kept");

    write_pools_file(&backend.path(), "h2");
    wait_for_host(&live, "p", "h2").await;
    tokio::time::timeout(WAIT, live.wait_available(true))
        .await
        .expect("recovered");
    shutdown.cancel();
}

/// A pools file that does not exist yet means no pools, with no fault; it is picked up once
/// `afpool pool create` writes it.
#[tokio::test]
async fn a_missing_file_at_start_is_no_pools() {
    let backend = Backend::file();
    let shutdown = CancellationToken::new();
    let live = LivePools::start(backend.store().await, shutdown.clone()).await;
    assert!(live.current().is_empty());
    assert!(live.is_available());
    let writer = backend.store().await;
    writer.create("p", &hosts(&["h1"])).await.unwrap();
    wait_for_host(&live, "p", "h1").await;
    assert!(live.is_available());
    shutdown.cancel();
}

/// A `Write` into a shared buffer, for capturing logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn lines_with(&self, level: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines()
            .filter(|l| l.contains(level))
            .map(String::from)
            .collect()
    }
}

/// Each bad state of the file is reported once, however many polls see it. Time is paused, so
/// letting ten polls pass costs nothing and is exact (the file reads run on blocking threads,
/// during which paused time does not advance).
#[tokio::test(start_paused = true)]
async fn each_bad_state_is_logged_once_not_per_poll() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let backend = Backend::file();
    write_pools_file(&backend.path(), "h1");
    let shutdown = CancellationToken::new();
    let live = LivePools::start(backend.store().await, shutdown.clone()).await;
    let ten_polls = afpool::store::file::POLL_INTERVAL * 10;
    for how in ["truncated", "corrupted", "half written", "deleted"] {
        break_file(&backend.path(), how);
        tokio::time::sleep(ten_polls).await;
        assert!(
            has_host(&live.current(), "p", "h1"),
            "{how}: last pools kept"
        );
        assert!(!live.is_available(), "{how}");
    }
    write_pools_file(&backend.path(), "h2");
    wait_for_host(&live, "p", "h2").await;
    tokio::time::sleep(ten_polls).await;
    shutdown.cancel();

    // truncated, then unreadable (corrupted and half written are one fault), then deleted.
    let warnings = logs.lines_with("WARN");
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(warnings[0].contains("is empty") && warnings[0].contains("kept=1"));
    assert!(warnings[1].contains("unreadable") && warnings[1].contains("invalid pools file"));
    assert!(warnings[2].contains("is missing"));
    let recovered = logs.lines_with("pool store valid again");
    assert_eq!(recovered.len(), 1, "{recovered:#?}");
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
