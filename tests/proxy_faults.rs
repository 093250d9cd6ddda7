//! Faults between the submitter, afpool and afserver, each answered promptly and visibly: afserver
//! down (the proxy's port refuses, as afserver's would, and reopens when it is back), afserver
//! silent or closing mid-reply (JSON senders get an error that says whether the request may have
//! arrived; binary senders see a close), clients that never take their reply, the in-flight byte
//! budget, unrecognised messages, and the drain deadline on shutdown.

mod common;

use std::time::{Duration, Instant};

use afpool::job::RouteSettings;
use afpool::protocol::encode;
use afpool::proxy::Limits;
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn job_request(name: &str, pad: usize) -> Vec<u8> {
    let job = json!({
        "name": name, "user_name": "artist", "host_name": "ws01", "description": "x".repeat(pad),
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 4, "command": "x @#@"}]
    });
    encode::text_request(&serde_json::to_vec(&json!({ "job": job })).unwrap())
}

fn limits() -> Limits {
    Limits {
        max_connections: 64,
        first_message_timeout: Duration::from_secs(5),
        health_interval: Duration::from_millis(50),
        ..Limits::default()
    }
}

/// Poll `check` until it holds, for at most 20 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn refused(addr: std::net::SocketAddr) -> bool {
    matches!(TcpStream::connect(addr).await, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[tokio::test]
async fn while_afserver_is_down_the_port_refuses_and_it_reopens_when_afserver_is_back() {
    let afserver = free_addr();
    let proxy = spawn_proxy_to(
        upstream(afserver),
        vec![],
        RouteSettings::default(),
        limits(),
    )
    .await;
    eventually("the proxy refuses connections", || refused(proxy.addr)).await;

    let fake = FakeAfserver::serve(TcpListener::bind(afserver).await.unwrap(), farm());
    let request = job_request("back", 0);
    eventually("the proxy accepts again", || answered(proxy.addr, &request)).await;
    let jobs = fake.jobs();
    assert_eq!(jobs.len(), 1, "the job reached afserver once");
    assert!(fake.probes() > 0, "afserver was probed while it was down");
}

/// Did a job sent to `addr` get an answer?
async fn answered(addr: std::net::SocketAddr, request: &[u8]) -> bool {
    match TcpStream::connect(addr).await {
        Ok(mut s) => {
            s.write_all(request).await.unwrap();
            !read_reply(&mut s).await.is_empty()
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn an_afserver_named_by_host_name_is_reached_and_followed_through_a_restart() {
    let afserver = free_addr();
    let mut up = upstream(afserver);
    up.addr = format!("localhost:{}", afserver.port());
    let proxy = spawn_proxy_to(up, vec![], RouteSettings::default(), limits()).await;
    eventually("the proxy refuses connections", || refused(proxy.addr)).await;
    let fake = FakeAfserver::serve(TcpListener::bind(afserver).await.unwrap(), farm());
    let request = job_request("by-name", 0);
    eventually("afserver is reached by name", || {
        answered(proxy.addr, &request)
    })
    .await;
    fake.set_down(true);
    eventually("the proxy refuses while afserver is down", || {
        refused(proxy.addr)
    })
    .await;
    fake.set_down(false);
    eventually("afserver is reached again", || {
        answered(proxy.addr, &request)
    })
    .await;
    assert_eq!(fake.jobs().len(), 2, "each job reached afserver once");
}

/// An afserver that takes connections and requests but answers with `reply` (maybe nothing)
/// and then closes or holds.
async fn broken_afserver(reply: &'static [u8], hold: bool) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
                if hold {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_silent_afserver_gets_json_senders_an_error_that_says_it_may_have_the_job() {
    let addr = broken_afserver(b"", true).await;
    let mut up = upstream(addr);
    up.reply_timeout = Duration::from_millis(300);
    let proxy = spawn_proxy_to(up, vec![], RouteSettings::default(), limits()).await;
    let reply = send(proxy.addr, &job_request("silent", 0)).await;
    let text = reply_json(&reply)["error"].as_str().unwrap().to_string();
    assert!(text.contains("did not reply"), "{text}");
    assert!(text.contains("may or may not"), "{text}");

    let heartbeat = capture("24-afrender-heartbeat.request.bin");
    let s = TcpStream::connect(proxy.addr).await.unwrap();
    let mut s = s;
    s.write_all(&heartbeat).await.unwrap();
    assert_closed_without_reply(s).await;
}

#[tokio::test]
async fn afserver_closing_mid_reply_is_an_error_not_a_short_reply() {
    let addr = broken_afserver(b"AFANASY 40 JSON{\"id\":", false).await;
    let proxy = spawn_proxy_to(upstream(addr), vec![], RouteSettings::default(), limits()).await;
    let reply = send(proxy.addr, &job_request("cut", 0)).await;
    let text = reply_json(&reply)["error"].as_str().unwrap().to_string();
    assert!(
        text.contains("closed the connection after 21 bytes"),
        "{text}"
    );
}

#[tokio::test]
async fn a_client_that_never_takes_its_reply_gives_its_slot_back() {
    let big = format!(
        r#"{{"renders":[{}]}}"#,
        vec![r#"{"name":"n"}"#; 2_000_000].join(",")
    );
    let fake = FakeAfserver::start(FakeConfig {
        renders_reply: Some(big.into_bytes()),
        ..farm()
    })
    .await;
    let limits = Limits {
        max_connections: 1,
        client_write_timeout: Duration::from_millis(300),
        ..limits()
    };
    let proxy = spawn_proxy_with(fake.addr, vec![], RouteSettings::default(), limits).await;
    let get = capture("08-text-get-renders.request.bin");
    let mut hog = TcpStream::connect(proxy.addr).await.unwrap();
    hog.write_all(&get).await.unwrap(); // and never reads
    let reply = send(proxy.addr, &job_request("after", 0)).await;
    assert!(reply_json(&reply)["id"].is_number(), "served after the hog");
    drop(hog);
}

#[tokio::test]
async fn large_messages_past_the_byte_budget_are_answered_not_taken() {
    let fake = FakeAfserver::start(farm()).await;
    let limits = Limits {
        max_inflight_bytes: 3 << 20,
        ..limits()
    };
    let proxy = spawn_proxy_with(fake.addr, vec![], RouteSettings::default(), limits).await;
    let big = job_request("big", 2_500_000);
    let mut holder = TcpStream::connect(proxy.addr).await.unwrap();
    holder.write_all(&big[..2_200_000]).await.unwrap();
    eventually("the holder's bytes are read", || async {
        let reply = send(proxy.addr, &job_request("second", 2_500_000)).await;
        reply_json(&reply)["error"]
            .as_str()
            .is_some_and(|t| t.contains("too many large messages in flight"))
    })
    .await;
    assert!(
        fake.jobs().is_empty(),
        "nothing over the budget was forwarded"
    );
    holder.write_all(&big[2_200_000..]).await.unwrap();
    assert!(reply_json(&read_reply(&mut holder).await)["id"].is_number());
    let reply = send(proxy.addr, &job_request("third", 2_500_000)).await;
    assert!(reply_json(&reply)["id"].is_number(), "the budget came back");
}

#[tokio::test]
async fn an_unrecognised_reply_is_relayed_as_it_comes_and_ends_at_its_frame() {
    let addr = broken_afserver(b"AFANASY 2 JSON{} and then nothing", true).await;
    let proxy = spawn_proxy_to(upstream(addr), vec![], RouteSettings::default(), limits()).await;
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(b"GARBAGE that is no Afanasy message\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got)).await;
    assert!(matches!(n, Ok(Ok(_))), "closed by the proxy: {n:?}");
    assert!(got.starts_with(b"AFANASY 2 JSON{}"), "{got:?}");
}

#[tokio::test]
async fn shutdown_cuts_what_is_still_open_at_the_drain_deadline() {
    let fake = FakeAfserver::start(farm()).await;
    let limits = Limits {
        first_message_timeout: Duration::from_secs(120),
        drain_timeout: Duration::from_millis(200),
        ..limits()
    };
    let proxy = spawn_proxy_with(fake.addr, vec![], RouteSettings::default(), limits).await;
    let mut slow = TcpStream::connect(proxy.addr).await.unwrap();
    slow.write_all(b"AFANASY 26 JS").await.unwrap();
    let _ = send(proxy.addr, &job_request("accepted", 0)).await; // the slow one is in flight now
    proxy.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), proxy.task)
        .await
        .expect("the proxy stops at its drain deadline")
        .unwrap();
    assert_closed_without_reply(slow).await;
}

#[tokio::test]
async fn a_bom_counted_in_the_size_is_answered_at_once_not_forwarded() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    let body = br#"{"job":{"name":"j"}}"#;
    let mut request = format!("AFANASY {} JSON", body.len() + 3).into_bytes();
    request.extend_from_slice(b"\xEF\xBB\xBF");
    request.extend_from_slice(body);
    let reply = send(proxy.addr, &request).await;
    let error = reply_json(&reply)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("BOM") && error.contains("3 bytes"),
        "{error}"
    );
    let forwarded = fake.requests().iter().any(|r| r.ends_with(body));
    assert!(!forwarded, "nothing forwarded");
}
