//! The legacy Pool Server against a client that behaves exactly like the old ones
//! (`af.PoolsSupportAPI.get_pools_poolserver_call`: send the request, one `recv(1024)` for the
//! header, one `recv(size)` for the body), with 50 clients at once, a pool list over 64 KiB,
//! garbage, and pools from the file store and from MongoDB documents written in the old shape.

mod common_store;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use afpool::legacy::server::{self, Settings};
use afpool::store::live::LivePools;
use afpool::store::{Pool, SharedStore};
use bson::{doc, oid::ObjectId};
use rstest::rstest;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// The old clients' request, with Python's `json.dumps` spacing.
const REQUEST: &[u8] = br#"{"type": "request", "command": "GET POOLS"}"#;
/// A bound on every blocking read, so a broken server fails the test instead of hanging it.
const STUCK: Duration = Duration::from_secs(20);

/// Starts the server on 127.0.0.1:0 over `pools`.
async fn start(pools: Arc<LivePools>, settings: Settings) -> (SocketAddr, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(server::run(listener, pools, settings, shutdown.clone()));
    (addr, shutdown)
}

async fn start_fixed(pools: Vec<Pool>) -> SocketAddr {
    start(Arc::new(LivePools::new(pools)), Settings::default())
        .await
        .0
}

/// The old client, step by step: connect, send, one recv(1024), one recv(size); the socket stays
/// open for writing throughout, as in the old code. Returns the parsed body.
fn old_client(addr: SocketAddr) -> Value {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(STUCK)).unwrap();
    socket.write_all(REQUEST).unwrap();
    let mut header = [0u8; 1024];
    let n = socket.read(&mut header).unwrap();
    let header: Value = serde_json::from_slice(&header[..n]).expect("header alone, valid JSON");
    assert_eq!(header["type"], "response");
    let size = header["size"].as_u64().unwrap() as usize;
    let mut body = vec![0u8; size];
    let n = socket.read(&mut body).unwrap();
    assert_eq!(n, size, "one recv(size) got the whole body");
    serde_json::from_slice(&body).expect("body is JSON")
}

/// A careful client: the same request, the header's 1024 bytes, then everything to the end.
fn full_client(addr: SocketAddr) -> (Value, Vec<u8>) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(STUCK)).unwrap();
    socket.write_all(REQUEST).unwrap();
    let mut header = [0u8; 1024];
    socket.read_exact(&mut header).unwrap();
    let mut body = Vec::new();
    socket.read_to_end(&mut body).unwrap();
    (serde_json::from_slice(&header).unwrap(), body)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

fn with_id(name: &str, hosts: &[&str], id: &str) -> Pool {
    let mut pool = Pool::new(name, hosts);
    pool.legacy_id = Some(id.to_string());
    pool
}

fn client(hostname: &str) -> Value {
    json!({"hostname": hostname, "engine": "", "ip": "", "port": ""})
}

#[tokio::test]
async fn the_old_client_gets_the_pool_documents() {
    let pools = vec![
        with_id("comp", &["pc-1", "PC-2"], "5cf4e2a1b2c3d4e5f6a7b8c9"),
        with_id("gpu", &[], "5cf4e2a1b2c3d4e5f6a7b8ca"),
    ];
    let addr = start_fixed(pools).await;
    let body = blocking(move || old_client(addr)).await;
    let expected = json!([
        {"_id": {"$oid": "5cf4e2a1b2c3d4e5f6a7b8c9"}, "name": "comp",
         "clients": [client("pc-1"), client("PC-2")]},
        {"_id": {"$oid": "5cf4e2a1b2c3d4e5f6a7b8ca"}, "name": "gpu", "clients": []},
    ]);
    assert_eq!(body, expected);
}

#[tokio::test]
async fn fifty_clients_at_once_are_all_answered() {
    let pools = Arc::new(LivePools::new(vec![Pool::new("comp", ["pc-1"])]));
    let settings = Settings {
        max_clients: 8,
        ..Settings::default()
    };
    let (addr, _shutdown) = start(pools, settings).await;
    let clients: Vec<_> = (0..50)
        .map(|_| std::thread::spawn(move || old_client(addr)))
        .collect();
    for client in clients {
        let body = blocking(move || client.join().unwrap()).await;
        assert_eq!(body[0]["name"], "comp");
        assert_eq!(body[0]["clients"][0]["hostname"], "pc-1");
    }
}

#[tokio::test]
async fn a_pool_list_over_64_kib_arrives_whole() {
    let pools: Vec<Pool> = (0..40)
        .map(|p| {
            let hosts: Vec<String> = (0..40).map(|h| format!("render-{p:02}-{h:03}")).collect();
            Pool::new(format!("pool{p:02}"), hosts)
        })
        .collect();
    let addr = start_fixed(pools).await;
    let (header, body) = blocking(move || full_client(addr)).await;
    assert!(body.len() > 64 * 1024, "{}", body.len());
    assert_eq!(header["size"].as_u64().unwrap() as usize, body.len());
    let docs: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(docs.as_array().unwrap().len(), 40);
    assert_eq!(docs[39]["clients"][39]["hostname"], "render-39-039");
}

#[rstest]
#[case::garbage(&b"hello\r\n"[..])]
#[case::http(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..])]
#[case::unknown_command(&br#"{"type": "request", "command": "DROP POOLS"}"#[..])]
#[case::wrong_type(&br#"{"type": "response", "size": 3}"#[..])]
#[case::bad_json(&b"{\"type\" 1}"[..])]
#[case::binary(&[0u8, 159, 146, 150, 255][..])]
#[tokio::test]
async fn bad_requests_are_closed_without_a_reply(#[case] request: &'static [u8]) {
    let addr = start_fixed(vec![Pool::new("comp", ["pc-1"])]).await;
    let got = blocking(move || {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(STUCK)).unwrap();
        socket.write_all(request).unwrap();
        let mut got = Vec::new();
        // A reset is a close too.
        let _ = socket.read_to_end(&mut got);
        got
    })
    .await;
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    // The server still answers the next client.
    let body = blocking(move || old_client(addr)).await;
    assert_eq!(body[0]["name"], "comp");
}

#[tokio::test]
async fn a_silent_client_is_closed_at_the_read_deadline() {
    let pools = Arc::new(LivePools::new(Vec::new()));
    let settings = Settings {
        read_timeout: Duration::from_millis(200),
        ..Settings::default()
    };
    let (addr, _shutdown) = start(pools, settings).await;
    let got = blocking(move || {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(STUCK)).unwrap();
        socket.write_all(b"{\"type\": ").unwrap();
        let mut got = Vec::new();
        socket.read_to_end(&mut got).map(|_| got)
    })
    .await;
    assert!(got.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn a_request_in_pieces_is_answered_once_complete() {
    let addr = start_fixed(vec![Pool::new("comp", ["pc-1"])]).await;
    let (header, body) = blocking(move || {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket.set_nodelay(true).unwrap();
        socket.set_read_timeout(Some(STUCK)).unwrap();
        for piece in REQUEST.chunks(5) {
            socket.write_all(piece).unwrap();
        }
        let mut reply = Vec::new();
        socket.read_to_end(&mut reply).unwrap();
        let body = reply.split_off(1024);
        (serde_json::from_slice::<Value>(&reply).unwrap(), body)
    })
    .await;
    assert_eq!(header["size"].as_u64().unwrap() as usize, body.len());
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()[0]["name"],
        "comp"
    );
}

/// Serves `store` through a live view, as `afpool serve` does.
async fn serve_store(store: SharedStore) -> (SocketAddr, Arc<LivePools>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let pools = LivePools::start(store, shutdown.clone()).await;
    let (addr, _) = start(pools.clone(), Settings::default()).await;
    (addr, pools, shutdown)
}

#[tokio::test]
async fn the_file_store_gets_stable_ids_and_live_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(afpool::store::file::FileStore::new(
        dir.path().join("pools.json"),
    ));
    store.create("comp", &["pc-1".to_string()]).await.unwrap();
    let (addr, pools, shutdown) = serve_store(store.clone()).await;
    let first = blocking(move || old_client(addr)).await;
    let id = first[0]["_id"]["$oid"].as_str().unwrap().to_string();
    assert_eq!(id, afpool::legacy::object_id::synthesise("comp"));
    store
        .add_hosts("comp", &["pc-2".to_string()])
        .await
        .unwrap();
    let wait = pools.wait_for(|p| p.first().is_some_and(|p| p.hosts.len() == 2));
    tokio::time::timeout(STUCK, wait).await.unwrap();
    let second = blocking(move || old_client(addr)).await;
    assert_eq!(second[0]["_id"]["$oid"], id.as_str());
    assert_eq!(
        second[0]["clients"],
        json!([client("pc-1"), client("pc-2")])
    );
    shutdown.cancel();
}

/// The old tools' whole sequence on MongoDB documents they wrote: the Pool Manager's inserts
/// and `$push`es, then the Blender addon (at import) and AfStarter asking the Pool Server, each
/// with one connection, one request, one recv(1024), one recv(size).
#[tokio::test]
async fn old_clients_read_pools_the_old_tool_wrote_to_mongodb() {
    let Some(backend) = common_store::Backend::mongo("legacy_pool_server") else {
        return;
    };
    let raw = backend.raw().await;
    let (comp, gpu) = (ObjectId::new(), ObjectId::new());
    let old_client_doc = |h: &str| doc! {"hostname": h, "engine": "", "ip": "", "port": ""};
    raw.insert_one(doc! {"_id": comp, "name": "comp", "clients": []})
        .await
        .unwrap();
    raw.insert_one(doc! {"_id": gpu, "name": "gpu", "clients": [old_client_doc("gpu.node3")]})
        .await
        .unwrap();
    for host in ["pc-1", "pc-2", "pc-1"] {
        let push = doc! {"$push": {"clients": old_client_doc(host)}};
        raw.update_one(doc! {"name": "comp"}, push).await.unwrap();
    }
    let (addr, _pools, shutdown) = serve_store(backend.store().await).await;
    for _tool in ["blender", "afstarter"] {
        let body = blocking(move || old_client(addr)).await;
        let expected = json!([
            {"_id": {"$oid": comp.to_hex()}, "name": "comp",
             "clients": [client("pc-1"), client("pc-2")]},
            {"_id": {"$oid": gpu.to_hex()}, "name": "gpu", "clients": [client("gpu.node3")]},
        ]);
        assert_eq!(body, expected);
    }
    shutdown.cancel();
    backend.cleanup().await;
}

/// Old clients get the resolved members in `clients`: a member outside its window is left out
/// until the window opens (time from a manual clock).
#[tokio::test]
async fn old_clients_get_the_members_of_the_moment() {
    use afpool::routing::{PoolFeed, RendersCache};
    use afpool::select::{clock::Clock, feed::ResolvedPools, resolve::Resolver};
    let mut night = Pool::new("night", ["ws-1", "ws-2"]);
    let windows = vec!["Mon 19:00-20:00".to_string()];
    night.selection.during.insert("ws-1".into(), windows);
    night.selection.time_zone = Some("Europe/Berlin".into());
    // Monday 2026-12-07, 18:00 in Berlin.
    let clock = Clock::manual("2026-12-07T17:00:00Z".parse().unwrap());
    let shutdown = CancellationToken::new();
    let stored = Arc::new(LivePools::new(vec![night]));
    let renders = RendersCache::fixed(Vec::new());
    let resolved = ResolvedPools::start_with(
        stored,
        renders,
        clock.clone(),
        Resolver::new(),
        shutdown.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let feed: Arc<dyn PoolFeed> = resolved.clone();
    tokio::spawn(server::run(
        listener,
        feed,
        Settings::default(),
        shutdown.clone(),
    ));
    let clients = || async move { blocking(move || old_client(addr)).await[0]["clients"].clone() };
    assert_eq!(clients().await, json!([client("ws-2")]));
    let mut changes = resolved.changes().unwrap();
    clock.set("2026-12-07T18:00:00Z".parse().unwrap());
    changes.changed().await.unwrap();
    assert_eq!(clients().await, json!([client("ws-1"), client("ws-2")]));
    shutdown.cancel();
}
