//! Shared test helpers: the fake afserver, a proxy started in-process on 127.0.0.1:0, and a client
//! that sends one message and reads one reply.
#![allow(dead_code)]

pub mod fake_afserver;
pub mod real_afserver;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use afpool::job::RouteSettings;
use afpool::protocol::codec::{read_message, ReadOutcome, Side};
use afpool::proxy::{self, Limits, Shared};
use afpool::routing::{FixedPools, RendersCache, Router};
use afpool::store::Pool;
use afpool::upstream::Upstream;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub use fake_afserver::{FakeAfserver, FakeConfig};

/// Where the byte captures live.
pub const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/captures");

/// Read one capture file.
pub fn capture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{CAPTURES}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A proxy running in this process.
pub struct TestProxy {
    /// Its address.
    pub addr: SocketAddr,
    /// Cancel to stop it.
    pub shutdown: CancellationToken,
    /// Finishes when the proxy has stopped.
    pub task: tokio::task::JoinHandle<()>,
}

/// A short upstream timeout so failing tests fail fast.
pub fn upstream(addr: SocketAddr) -> Upstream {
    let mut up = Upstream::new(addr.to_string());
    up.connect_timeout = Duration::from_secs(2);
    up.reply_timeout = Duration::from_secs(10);
    up
}

/// Start a proxy in front of `upstream_addr` with fixed pools; waits for the first render list
/// unless the upstream is down.
pub async fn spawn_proxy(
    upstream_addr: SocketAddr,
    pools: Vec<Pool>,
    settings: RouteSettings,
) -> TestProxy {
    let limits = Limits {
        max_connections: 512,
        first_message_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    spawn_proxy_with(upstream_addr, pools, settings, limits).await
}

/// [`spawn_proxy`] with explicit service limits.
pub async fn spawn_proxy_with(
    upstream_addr: SocketAddr,
    pools: Vec<Pool>,
    settings: RouteSettings,
    limits: Limits,
) -> TestProxy {
    spawn_proxy_to(upstream(upstream_addr), pools, settings, limits).await
}

/// [`spawn_proxy_with`] with explicit afserver settings.
pub async fn spawn_proxy_to(
    up: Upstream,
    pools: Vec<Pool>,
    settings: RouteSettings,
    limits: Limits,
) -> TestProxy {
    let shutdown = CancellationToken::new();
    let renders = RendersCache::spawn(up.clone(), Duration::from_secs(3600), shutdown.clone());
    let _ = tokio::time::timeout(Duration::from_secs(2), renders.wait_refreshes(1)).await;
    let router = Arc::new(Router::new(
        settings,
        Arc::new(FixedPools(Arc::new(pools))),
        renders,
    ));
    let shared = Arc::new(Shared::new(up, router, limits));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(proxy::run(listener, shared, shutdown.clone()));
    TestProxy {
        addr,
        shutdown,
        task,
    }
}

/// Send `request` to a proxy that may still be closed because afserver was down when it started
/// (it reopens within its health interval once afserver answers): connections refused, or reset
/// as the listener closes, are tried again for up to 20 s.
#[allow(dead_code)]
pub async fn send_when_open(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    use std::io::ErrorKind::{ConnectionRefused, ConnectionReset};
    let start = std::time::Instant::now();
    loop {
        let attempt = async {
            let mut s = TcpStream::connect(addr).await?;
            s.write_all(request).await?;
            let mut buf = Vec::new();
            read_message(&mut s, &mut buf, Side::Reply).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match attempt.await {
            Ok(reply) => return reply,
            Err(e) if matches!(e.kind(), ConnectionRefused | ConnectionReset) => {
                assert!(start.elapsed() < Duration::from_secs(20), "never open: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Send `request` in one write and read one framed reply (empty if the server closed without one).
pub async fn send(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    read_reply(&mut s).await
}

/// Read one framed reply from `s`, bounded in time.
pub async fn read_reply(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        read_message(s, &mut buf, Side::Reply),
    )
    .await
    .expect("reply within 20 s")
    .unwrap();
    if let ReadOutcome::Message(f) = out {
        buf.truncate(f.len);
    }
    buf
}

/// The JSON body of a framed reply.
pub fn reply_json(reply: &[u8]) -> serde_json::Value {
    let frame = afpool::protocol::frame::parse_reply(reply).expect("a framed reply");
    serde_json::from_slice(&reply[frame.body]).expect("JSON reply")
}

/// Standard test farm: five renders, like the captures plus prefix traps; `r10` runs as the
/// Windows user `CORP\util`, which afserver writes unescaped (its render list is not valid JSON).
pub fn farm() -> FakeConfig {
    let renders = ["render01", "render02", "gpu.node3", "r1", "r10"]
        .iter()
        .map(|n| (n.to_string(), *n != "render02"))
        .collect();
    let render_users = [("r10".to_string(), r"CORP\util".to_string())].into();
    FakeConfig {
        renders,
        render_users,
        ..FakeConfig::default()
    }
}

/// A pool.
pub fn pool(name: &str, hosts: &[&str]) -> Pool {
    Pool::new(name, hosts)
}

/// A loopback address where nothing listens (bound on port 0, then released).
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Assert that the peer closes `s` without sending anything, within 5 s.
pub async fn assert_closed_without_reply(mut s: TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(
        matches!(n, Ok(Ok(0))),
        "closed without a reply: {n:?} {rest:?}"
    );
}

/// Whether `pattern` matches all of `name` (as afserver's `regex_match`), read by fancy-regex, an
/// engine with look-ahead written independently of afpool (the libstdc++ reading is in
/// tests/std_regex.rs).
pub fn full_match(pattern: &str, name: &str) -> bool {
    fancy_regex::Regex::new(&format!("^(?:{pattern})$"))
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .is_match(name)
        .unwrap()
}
