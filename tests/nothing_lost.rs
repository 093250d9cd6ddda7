//! Nothing lost: under concurrent load, with afserver going down and coming back mid-way, every
//! submission either gets afserver's acknowledgement (and afserver holds that job exactly once)
//! or fails visibly to its sender (refused connection, or afpool's error reply); none is
//! silently closed, and none lands twice.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use afpool::job::RouteSettings;
use afpool::protocol::codec::{read_message, ReadOutcome, Side};
use afpool::protocol::encode;
use afpool::proxy::Limits;
use common::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const JOBS: usize = 400;
const SUBMITTERS: usize = 16;

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// afserver's reply with this job id.
    Acknowledged(i64),
    /// afpool's error reply.
    Error(String),
    /// The connection was refused or reset before any reply (afserver down, as without afpool).
    Refused,
    /// Accepted, then closed with no reply at all: what must never happen.
    Silent,
}

async fn submit(proxy: std::net::SocketAddr, name: &str) -> Seen {
    use std::io::ErrorKind::{BrokenPipe, ConnectionRefused, ConnectionReset};
    let body = json!({"job": {"name": name, "user_name": "artist", "host_name": "ws01", "pool": "gpu",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x @#@"}]}});
    let request = encode::text_request(&serde_json::to_vec(&body).unwrap());
    let mut s = match TcpStream::connect(proxy).await {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ConnectionRefused | ConnectionReset) => return Seen::Refused,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = s.write_all(&request).await {
        assert!(matches!(e.kind(), ConnectionReset | BrokenPipe), "{e}");
        return Seen::Refused;
    }
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(30),
        read_message(&mut s, &mut buf, Side::Reply),
    );
    match read.await.expect("an answer within 30 s") {
        Err(e) if e.kind() == ConnectionReset && buf.is_empty() => Seen::Refused,
        Err(e) => panic!("{e}"),
        Ok(ReadOutcome::Message(_)) => {
            let reply = reply_json(&buf);
            match (reply["id"].as_i64(), reply["error"].as_str()) {
                (Some(id), _) if id > 0 => Seen::Acknowledged(id),
                (_, Some(text)) => Seen::Error(text.to_string()),
                _ => panic!("unexpected reply {reply}"),
            }
        }
        Ok(_) if buf.is_empty() => Seen::Silent,
        Ok(other) => panic!("{other:?}: {buf:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_submission_is_acknowledged_once_or_fails_visibly_while_afserver_goes_and_comes() {
    let fake = Arc::new(FakeAfserver::start(farm()).await);
    let limits = Limits {
        health_interval: Duration::from_millis(50),
        ..Limits::default()
    };
    let pools = vec![pool("gpu", &["gpu.node3"])];
    let proxy = spawn_proxy_with(fake.addr, pools, RouteSettings::default(), limits).await;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SUBMITTERS {
        let (next, fake, addr) = (next.clone(), fake.clone(), proxy.addr);
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= JOBS {
                    return seen;
                }
                // afserver goes down a quarter of the way in and comes back at half way
                if i == JOBS / 4 {
                    fake.set_down(true);
                }
                if i == JOBS / 2 {
                    fake.set_down(false);
                }
                let name = format!("nothing-lost-{i}");
                seen.push((name.clone(), submit(addr, &name).await));
            }
        }));
    }
    let mut seen: HashMap<String, Seen> = HashMap::new();
    for task in tasks {
        seen.extend(task.await.unwrap());
    }
    assert_eq!(seen.len(), JOBS);
    let silent: Vec<_> = seen.iter().filter(|(_, s)| **s == Seen::Silent).collect();
    assert!(silent.is_empty(), "closed without a word: {silent:?}");

    let mut held: HashMap<String, usize> = HashMap::new();
    for job in fake.jobs() {
        *held
            .entry(job["name"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = held.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "held more than once: {twice:?}");
    let acked: Vec<&String> = seen
        .iter()
        .filter(|(_, s)| matches!(s, Seen::Acknowledged(_)))
        .map(|(n, _)| n)
        .collect();
    for name in &acked {
        assert!(held.contains_key(*name), "{name} acknowledged but not held");
    }
    for name in held.keys() {
        assert!(
            matches!(seen[name], Seen::Acknowledged(_)),
            "{name} held, but its sender saw {:?}",
            seen[name]
        );
    }
    assert!(!acked.is_empty(), "jobs landed before afserver went down");
    assert!(acked.len() < JOBS, "afserver was down for part of the run");
    // afserver is back: the proxy reopens and the next job lands
    let body = json!({"job": {"name": "after", "user_name": "artist", "host_name": "ws01",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
    let request = encode::text_request(&serde_json::to_vec(&body).unwrap());
    let reply = send_when_open(proxy.addr, &request).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
}
