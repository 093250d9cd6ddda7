//! Start-up and afserver going away, seen from a submitter: every connection is served (afserver
//! up; or an error reply when afserver left while it waited) or refused (afserver down), never
//! reset. af.py reports "Could not open socket" for a refusal but raises `ConnectionResetError`
//! inside the DCC plugin for a reset.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use afpool::job::RouteSettings;
use afpool::protocol::codec::{read_message, ReadOutcome, Side};
use afpool::protocol::encode;
use afpool::proxy::Limits;
use common::*;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

const AFPOOL: &str = env!("CARGO_BIN_EXE_afpool");

/// What one submitter saw.
#[derive(Debug)]
enum Seen {
    Refused,
    /// A reply (its bytes; empty: closed without one).
    Answered(Vec<u8>),
    Reset(std::io::Error),
}

fn job_request(name: &str) -> Vec<u8> {
    let job = json!({
        "name": name, "user_name": "artist", "host_name": "ws01",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x @#@"}]
    });
    encode::text_request(&serde_json::to_vec(&json!({ "job": job })).unwrap())
}

/// Connect to `addr` and, if taken, send `request` and read to the close.
async fn submit(addr: SocketAddr, request: &[u8]) -> Seen {
    let mut s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Seen::Refused,
        Err(e) => return Seen::Reset(e),
    };
    if let Err(e) = s.write_all(request).await {
        return Seen::Reset(e);
    }
    finish(s).await
}

/// Read the proxy's one framed reply on `s` (empty: closed without one), within 20 s.
async fn finish(mut s: TcpStream) -> Seen {
    let mut buf = Vec::new();
    let read = read_message(&mut s, &mut buf, Side::Reply);
    match tokio::time::timeout(Duration::from_secs(20), read).await {
        Ok(Ok(ReadOutcome::Message(f))) => Seen::Answered(buf[..f.len].to_vec()),
        Ok(Ok(_)) => Seen::Answered(Vec::new()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Seen::Answered(Vec::new()),
        Ok(Err(e)) => Seen::Reset(e),
        Err(_) => panic!("no reply and no close within 20 s"),
    }
}

/// `afpool serve` on `listen` with an empty file store in `dir`; the flag turns true once its
/// log says it serves.
fn serve(
    dir: &std::path::Path,
    listen: SocketAddr,
    upstream: SocketAddr,
) -> (Child, tokio::sync::watch::Receiver<bool>) {
    let mut child = Command::new(AFPOOL)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AFPOOL_STORE", dir.join("pools.json"))
        .env("AFPOOL_LOG", "info")
        .args(["serve", "--http", "off"])
        .args([
            "--listen",
            &listen.to_string(),
            "--upstream",
            &upstream.to_string(),
        ])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (serving, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("afpool serving") {
                serving.send_replace(true);
            }
        }
    });
    (child, rx)
}

#[tokio::test]
async fn started_while_afserver_is_down_every_connection_is_answered_or_refused_never_reset() {
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let (_proxy, serving) = serve(dir.path(), listen, free_addr());
    let request = job_request("early");
    let start = Instant::now();
    let (mut refused_after_start, mut answered) = (0, 0);
    // From before the port is bound until, once afpool serves, it refused a few times in a row.
    while refused_after_start < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the port never closed"
        );
        let started = *serving.borrow();
        match submit(listen, &request).await {
            Seen::Refused if started => refused_after_start += 1,
            Seen::Refused => tokio::task::yield_now().await,
            Seen::Answered(reply) => {
                assert!(!reply.is_empty(), "a JSON sender gets an error reply");
                let text = String::from_utf8_lossy(&reply);
                assert!(text.contains("not delivered"), "{text}");
                (refused_after_start, answered) = (0, answered + 1);
            }
            Seen::Reset(e) => panic!("connection reset after {answered} answers: {e}"),
        }
    }
}

#[tokio::test]
async fn started_with_afserver_up_every_early_connection_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeAfserver::start(farm()).await;
    let listen = free_addr();
    let (_proxy, serving) = serve(dir.path(), listen, fake.addr);
    let (mut served, start) = (0, Instant::now());
    for n in 0.. {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "afpool never served"
        );
        if served == 20 {
            break;
        }
        let request = job_request(&format!("early{n}"));
        match submit(listen, &request).await {
            Seen::Answered(reply) => {
                assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
                served += 1;
            }
            Seen::Refused if !*serving.borrow() => tokio::task::yield_now().await,
            other => panic!("connection {n}: {other:?}"),
        }
    }
    assert_eq!(fake.jobs().len(), 20);
}

#[tokio::test]
async fn connections_waiting_in_the_backlog_when_afserver_goes_down_are_answered_not_reset() {
    let afserver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeAfserver::serve(afserver, farm());
    let limits = Limits {
        max_connections: 1,
        first_message_timeout: Duration::from_secs(20),
        health_interval: Duration::from_secs(3600),
        ..Limits::default()
    };
    let proxy = spawn_proxy_to(
        upstream(fake.addr),
        vec![],
        RouteSettings::default(),
        limits,
    )
    .await;
    let served = submit(proxy.addr, &job_request("before")).await;
    assert!(
        matches!(served, Seen::Answered(ref r) if !r.is_empty()),
        "{served:?}"
    );
    // One connection holds the only slot; two more wait in the backlog with their jobs sent.
    let mut holder = TcpStream::connect(proxy.addr).await.unwrap();
    let mut waiting = Vec::new();
    for n in 0..2 {
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        s.write_all(&job_request(&format!("waiting{n}")))
            .await
            .unwrap();
        waiting.push(s);
    }
    fake.set_down(true);
    for tries in 0.. {
        assert!(tries < 10_000, "the fake afserver never went down");
        if TcpStream::connect(fake.addr).await.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    // The holder's job finds afserver gone: the proxy stops listening and serves the backlog.
    holder.write_all(&job_request("holder")).await.unwrap();
    let held = finish(holder).await;
    assert!(
        matches!(held, Seen::Answered(ref r) if !r.is_empty()),
        "{held:?}"
    );
    for s in waiting {
        match finish(s).await {
            Seen::Answered(reply) => {
                let text = String::from_utf8_lossy(&reply);
                assert!(text.contains("not delivered"), "{text}");
            }
            other => panic!("a connection from the backlog: {other:?}"),
        }
    }
    let after = submit(proxy.addr, &job_request("after")).await;
    assert!(matches!(after, Seen::Refused), "{after:?}");
    assert_eq!(fake.jobs().len(), 1, "only the first job reached afserver");
}
