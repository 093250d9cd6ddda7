//! The PROXY protocol behind HAProxy: with HAProxy's `send-proxy` (version 1) and `send-proxy-v2`
//! in front of afpool, submissions are read and routed as if they came straight from the client;
//! a PROXY header from an address afpool does not trust is refused and nothing reaches afserver;
//! a trusted relay may still connect without a header; and a pool's network ACL sees the client
//! HAProxy relayed, not HAProxy.
//!
//! The client connects from 127.0.0.2 (any 127/8 address is this machine's), HAProxy from
//! 127.0.0.1, so the two addresses differ. HAProxy comes from Debian's `haproxy` package
//! (scripts/test.sh installs it); without it the HAProxy test is skipped, except under `CI=true`.

mod common;
mod common_store;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use afpool::job::policy::PoolPolicy;
use afpool::job::RouteSettings;
use afpool::protocol::encode;
use afpool::proxy::proxy_header::TrustedRelays;
use afpool::proxy::{self, Limits, Shared};
use afpool::routing::{FixedPools, RendersCache, Router};
use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// A proxy in front of `fake` with the pool `gpu` = render01, gpu.node3, trusting `relays`.
async fn proxy_trusting(fake: SocketAddr, relays: &[&str]) -> (SocketAddr, CancellationToken) {
    proxy_with_policy(fake, relays, serde_json::json!({})).await
}

/// [`proxy_trusting`] with `policy` on the pool `gpu`.
async fn proxy_with_policy(
    fake: SocketAddr,
    relays: &[&str],
    policy: serde_json::Value,
) -> (SocketAddr, CancellationToken) {
    let shutdown = CancellationToken::new();
    let up = upstream(fake);
    let renders = RendersCache::spawn(up.clone(), Duration::from_secs(3600), shutdown.clone());
    tokio::time::timeout(Duration::from_secs(5), renders.wait_refreshes(1))
        .await
        .expect("a first render list");
    let mut gpu = pool("gpu", &["render01", "gpu.node3"]);
    gpu.policy = serde_json::from_value::<PoolPolicy>(policy).unwrap();
    let pools = vec![gpu];
    let router = Router::new(
        RouteSettings::default(),
        Arc::new(FixedPools(Arc::new(pools))),
        renders,
    );
    let shared = Shared::new(up, Arc::new(router), Limits::default())
        .with_relays(TrustedRelays::parse(relays).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(proxy::run(listener, Arc::new(shared), shutdown.clone()));
    (addr, shutdown)
}

fn job_request(name: &str) -> Vec<u8> {
    let body = serde_json::json!({"job": {
        "name": name, "user_name": "artist", "host_name": "workstation01",
        "hosts_mask": "pool:gpu",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 4,
                    "frames_per_task": 1, "command": "render @#@"}]
    }});
    encode::text_request(&serde_json::to_vec(&body).unwrap())
}

/// A connection to `to` from 127.0.0.2.
async fn connect_from_2(to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Submit `request` over `s` and read the one reply.
async fn submit_over(mut s: TcpStream, request: &[u8]) -> Vec<u8> {
    s.write_all(request).await.unwrap();
    read_reply(&mut s).await
}

/// The job afserver received under `name`, with its exclude mask.
fn forwarded(fake: &FakeAfserver, name: &str) -> Option<String> {
    let jobs = fake.jobs();
    let job = jobs.iter().find(|j| j["name"] == name)?;
    Some(job["hosts_mask_exclude"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn headers_are_refused_unless_the_relay_is_trusted() {
    let fake = FakeAfserver::start(farm()).await;
    // Trusts 127.0.0.9 only: the test's own connections come from elsewhere.
    let (addr, _stop) = proxy_trusting(fake.addr, &["127.0.0.9"]).await;
    let forged = [
        b"PROXY TCP4 10.9.9.9 10.0.0.1 40000 51100\r\n".as_slice(),
        &job_request("forged"),
    ]
    .concat();
    let s = TcpStream::connect(addr).await.unwrap();
    let mut s = s;
    s.write_all(&forged).await.unwrap();
    assert_closed_without_reply(s).await;
    assert!(forwarded(&fake, "forged").is_none());
    assert!(fake.requests().iter().all(|r| !r.starts_with(b"PROXY")));

    // Without a header, the same connection is an ordinary client, routed.
    let reply = submit_over(
        TcpStream::connect(addr).await.unwrap(),
        &job_request("plain"),
    )
    .await;
    assert!(reply_json(&reply)["id"].is_i64(), "{reply:?}");
    let mask = forwarded(&fake, "plain").expect("forwarded");
    assert!(
        !full_match(&mask, "render01") && full_match(&mask, "r1"),
        "{mask}"
    );
}

#[tokio::test]
async fn a_trusted_relay_may_connect_without_a_header() {
    let fake = FakeAfserver::start(farm()).await;
    let (addr, _stop) = proxy_trusting(fake.addr, &["127.0.0.0/8"]).await;
    let reply = submit_over(
        TcpStream::connect(addr).await.unwrap(),
        &job_request("direct"),
    )
    .await;
    assert!(reply_json(&reply)["id"].is_i64(), "{reply:?}");
    let mask = forwarded(&fake, "direct").expect("forwarded");
    assert!(
        !full_match(&mask, "gpu.node3") && full_match(&mask, "render02"),
        "{mask}"
    );
}

fn haproxy_present() -> bool {
    let found = std::process::Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !common_store::in_ci(),
            "CI=true but `haproxy` is not installed (scripts/test.sh installs it)"
        );
        println!("haproxy not installed: skipped (apt-get install haproxy)");
    }
    found
}

/// HAProxy with two frontends, on the already bound `v1` (fd 3) and `v2` (fd 4) listeners,
/// relaying to `afpool` with `send-proxy` and `send-proxy-v2`.
fn haproxy(
    dir: &std::path::Path,
    afpool: SocketAddr,
    v1: &std::net::TcpListener,
    v2: &std::net::TcpListener,
) -> Child {
    use std::os::fd::AsRawFd;
    let config = format!(
        "global\n  maxconn 256\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  \
         timeout server 30s\n\
         frontend v1\n  bind fd@3\n  default_backend send_v1\n\
         frontend v2\n  bind fd@4\n  default_backend send_v2\n\
         backend send_v1\n  server afpool {afpool} send-proxy\n\
         backend send_v2\n  server afpool {afpool} send-proxy-v2\n"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let (fd3, fd4) = (v1.as_raw_fd(), v2.as_raw_fd());
    let mut cmd = Command::new("haproxy");
    cmd.arg("-db").arg("-f").arg(&path);
    // SAFETY: dup2 is async-signal-safe; the new fds 3 and 4 are inherited (dup2 clears CLOEXEC).
    unsafe {
        cmd.pre_exec(move || {
            for (from, to) in [(fd3, 3), (fd4, 4)] {
                if libc::dup2(from, to) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("haproxy starts")
}

/// HAProxy in front of afpool: `v1` relays with `send-proxy`, `v2` with `send-proxy-v2`.
struct Relay {
    v1: SocketAddr,
    v2: SocketAddr,
    _haproxy: Child,
    _dir: tempfile::TempDir,
}

impl Relay {
    fn start(afpool: SocketAddr) -> Relay {
        let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (v1, v2) = (bind(), bind());
        let dir = tempfile::tempdir().unwrap();
        let haproxy = haproxy(dir.path(), afpool, &v1, &v2);
        // HAProxy holds its own copies of the listeners: clients queue in their backlog until
        // it accepts, so there is nothing to wait for.
        Relay {
            v1: v1.local_addr().unwrap(),
            v2: v2.local_addr().unwrap(),
            _haproxy: haproxy,
            _dir: dir,
        }
    }
}

#[tokio::test]
async fn jobs_through_haproxy_send_proxy_v1_and_v2_are_routed() {
    if !haproxy_present() {
        return;
    }
    let fake = FakeAfserver::start(farm()).await;
    let (addr, _stop) = proxy_trusting(fake.addr, &["127.0.0.1"]).await;
    let relay = Relay::start(addr);
    let (at_v1, at_v2) = (relay.v1, relay.v2);
    for (front, name) in [(at_v1, "via-v1"), (at_v2, "via-v2")] {
        let reply = submit_over(connect_from_2(front).await, &job_request(name)).await;
        assert!(reply_json(&reply)["id"].is_i64(), "{name}: {reply:?}");
        let mask = forwarded(&fake, name).expect("forwarded");
        assert!(
            !full_match(&mask, "render01") && full_match(&mask, "r10"),
            "{name}: {mask}"
        );
    }
    assert!(fake
        .requests()
        .iter()
        .all(|r| !r.starts_with(b"PROXY") && !r.starts_with(b"\r\n\r\n\0\r\nQUIT\n")));
}

#[tokio::test]
async fn a_pool_acl_sees_the_client_haproxy_relays() {
    if !haproxy_present() {
        return;
    }
    let fake = FakeAfserver::start(farm()).await;
    // The pool refuses 127.0.0.2, the client; HAProxy itself (127.0.0.1) would be allowed.
    let policy = serde_json::json!({"deny": {"networks": ["127.0.0.2/32"]}});
    let (addr, _stop) = proxy_with_policy(fake.addr, &["127.0.0.1"], policy).await;
    let relay = Relay::start(addr);
    let (at_v1, at_v2) = (relay.v1, relay.v2);
    for (front, name) in [(at_v1, "acl-v1"), (at_v2, "acl-v2")] {
        let reply = submit_over(connect_from_2(front).await, &job_request(name)).await;
        let text = String::from_utf8_lossy(&reply);
        assert!(
            text.contains("policy refuses it") && text.contains("127.0.0.2"),
            "{name}: {text}"
        );
        assert!(forwarded(&fake, name).is_none(), "{name} was forwarded");
    }
    // Straight from 127.0.0.1 (a trusted relay address without a header) the pool takes the job.
    let reply = submit_over(
        TcpStream::connect(addr).await.unwrap(),
        &job_request("local"),
    )
    .await;
    assert!(reply_json(&reply)["id"].is_i64(), "{reply:?}");
}
