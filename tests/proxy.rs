//! The proxy against the fake afserver: byte-exact relay of every captured non-job message in every
//! framing, job routing in every framing, policies and the shield end to end, split headers, stray
//! reply bytes, and 200 concurrent submissions (afserver down and other faults: proxy_faults.rs).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use afpool::job::{Policy, RouteSettings};
use afpool::protocol::encode;
use common::*;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Captured conversations that are not job submissions (01-06 are jobs) and whose body afpool
/// can read (17 and 20 are malformed JSON, answered by afpool).
fn captured_pairs() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut names: Vec<String> = std::fs::read_dir(CAPTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".request.bin") && n[..2].parse::<u32>().unwrap() > 6)
        .filter(|n| !n.contains("malformed-json"))
        .map(|n| n.trim_end_matches(".request.bin").to_string())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| {
            let reply = std::fs::read(format!("{CAPTURES}/{n}.reply.bin")).ok()?;
            Some((n.clone(), capture(&format!("{n}.request.bin")), reply))
        })
        .collect()
}

#[tokio::test]
async fn every_captured_non_job_message_is_relayed_byte_exact_both_ways() {
    let pairs = captured_pairs();
    assert!(pairs.len() >= 30, "only {} captured pairs", pairs.len());
    let scripted: HashMap<_, _> = pairs
        .iter()
        .map(|(_, q, r)| (q.clone(), r.clone()))
        .collect();
    let fake = FakeAfserver::start(FakeConfig { scripted, ..farm() }).await;
    let proxy = spawn_proxy(
        fake.addr,
        vec![pool("gpu", &["gpu.node3"])],
        RouteSettings::default(),
    )
    .await;
    for (name, request, reply) in &pairs {
        let got = send(proxy.addr, request).await;
        assert_eq!(
            &got, reply,
            "{name}: reply differs (stray bytes must not leak)"
        );
        assert_eq!(
            fake.requests().last(),
            Some(request),
            "{name}: request differs upstream"
        );
    }
    // GET for static files goes through too.
    let get = capture("40-chromium-get-index.request.bin");
    let got = send(proxy.addr, &get).await;
    assert!(
        got.ends_with(b"<html>afanasy</html>"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(fake.requests().last(), Some(&get));
}

fn job(pool: Option<&str>, name: &str) -> Value {
    let mut job = json!({
        "name": name, "user_name": "artist", "host_name": "ws01",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 4, "command": "x @#@"}]
    });
    if let Some(p) = pool {
        job["pool"] = json!(p);
    }
    job
}

fn envelope(job: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "job": job })).unwrap()
}

fn http_request(body: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {n}\r\nAFANASY: {n}\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n",
        n = body.len()
    );
    [head.as_bytes(), body].concat()
}

fn binary_request(body: &[u8]) -> Vec<u8> {
    encode::reply(
        afpool::protocol::Framing::Binary {
            version: 81,
            mtype: 24,
        },
        body,
    )
}

/// Full-match test of an afserver regex mask, the way afserver 3.4 reads it.
fn excludes(mask: &str, host: &str) -> bool {
    full_match(mask, host)
}

#[tokio::test]
async fn jobs_are_routed_in_every_framing() {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![pool("gpu", &["gpu.node3", "R1"])];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    let body = envelope(&job(Some("gpu"), "j"));
    let requests = [
        encode::text_request(&body),
        http_request(&body),
        binary_request(&body),
    ];
    for (i, request) in requests.iter().enumerate() {
        let reply = send(proxy.addr, request).await;
        let parsed = afpool::protocol::frame::parse_reply(&reply).unwrap();
        let sent = afpool::protocol::frame::parse_request(request).unwrap();
        assert_eq!(
            parsed.framing, sent.framing,
            "reply framing follows the request"
        );
        assert_eq!(reply_json(&reply)["id"], json!(i as i64 + 1));
        let got = &fake.jobs()[i];
        assert!(got.get("pool").is_none(), "the pool key is removed: {got}");
        assert_eq!(got["hosts_mask_type"], "regex");
        let mask = got["hosts_mask_exclude"].as_str().unwrap();
        for (host, out) in [
            ("render01", true),
            ("render02", true),
            ("r10", true),
            ("gpu.node3", false),
            ("r1", false),
        ] {
            assert_eq!(excludes(mask, host), out, "{host} vs {mask}");
        }
        assert!(!mask.contains('\\'), "no backslash in {mask}");
        assert!(got["annotation"]
            .as_str()
            .unwrap()
            .starts_with("[pool: gpu]"));
    }
    // The upstream requests carry correct lengths in their own framing.
    for r in fake.requests() {
        let f = afpool::protocol::frame::parse_request(&r).unwrap();
        assert_eq!(f.len, r.len());
    }
}

#[tokio::test]
async fn captured_malformed_json_is_answered_by_afpool_not_forwarded() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    for file in [
        "17-error-text-malformed-json",
        "20-error-http-malformed-json",
    ] {
        let request = capture(&format!("{file}.request.bin"));
        let answer = reply_json(&send(proxy.addr, &request).await);
        let text = answer["info"]["text"].as_str().unwrap();
        assert!(text.contains("not a valid JSON object"), "{file}: {answer}");
    }
    let poll = encode::text_request(afpool::renders::GET_RENDERS);
    assert!(
        fake.requests().iter().all(|r| *r == poll),
        "nothing forwarded"
    );
}

#[tokio::test]
async fn a_job_without_a_pool_is_forwarded_as_afpools_own_serialisation() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(
        fake.addr,
        vec![pool("gpu", &["gpu.node3"])],
        RouteSettings::default(),
    )
    .await;
    for file in ["01-afpy-submit-numeric", "06-http-submit-job"] {
        let request = capture(&format!("{file}.request.bin"));
        let reply = send(proxy.addr, &request).await;
        assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0, "{file}");
        let sent = fake.requests().last().unwrap().clone();
        let (sent_frame, frame) = (
            afpool::protocol::frame::parse_request(&sent).unwrap(),
            afpool::protocol::frame::parse_request(&request).unwrap(),
        );
        assert_eq!(
            sent_frame.len,
            sent.len(),
            "{file}: framed with its byte length"
        );
        let json = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap();
        assert_eq!(
            json(&sent[sent_frame.body]),
            json(&request[frame.body]),
            "{file}: the same job"
        );
    }
}

#[tokio::test]
async fn the_captured_custom_data_jobs_land_in_their_pools() {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![
        pool("gpu", &["gpu.node3"]),
        pool("cpu", &["render01", "render02"]),
    ];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    // 03 (af.py) names gpu; 04 (afcmd json send) and 05 (force_send) name cpu and exclude render02.
    let cases = [
        ("03-afpy-submit-custom-data", vec!["gpu.node3"]),
        ("04-afcmd-json-send", vec!["render01"]),
        ("05-afcmd-json-force-send", vec!["render01"]),
    ];
    for (i, (file, runs_on)) in cases.iter().enumerate() {
        let request = capture(&format!("{file}.request.bin"));
        let reply = send(proxy.addr, &request).await;
        assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0, "{file}");
        let got = &fake.jobs()[i];
        let mask = got["hosts_mask_exclude"].as_str().unwrap();
        for host in ["render01", "render02", "gpu.node3", "r1", "r10"] {
            assert_eq!(
                excludes(mask, host),
                !runs_on.contains(&host),
                "{file}: {host} vs {mask}"
            );
        }
        assert!(
            got["custom_data"].as_str().unwrap().contains("pool"),
            "custom_data kept"
        );
    }
}

#[tokio::test]
async fn policies_for_an_unknown_pool() {
    let fake = FakeAfserver::start(farm()).await;
    for (policy, forwarded) in [
        (Policy::Hold, true),
        (Policy::Pass, true),
        (Policy::Reject, false),
    ] {
        let settings = RouteSettings {
            on_unknown_pool: policy,
            ..RouteSettings::default()
        };
        let proxy = spawn_proxy(fake.addr, vec![], settings).await;
        let before = fake.jobs().len();
        let reply = send(
            proxy.addr,
            &encode::text_request(&envelope(&job(Some("nope"), "u"))),
        )
        .await;
        let answer = reply_json(&reply);
        assert_eq!(fake.jobs().len() - before, forwarded as usize, "{policy:?}");
        if forwarded {
            let got = fake.jobs().pop().unwrap();
            assert_eq!(
                got["offline"] == json!(true),
                policy == Policy::Hold,
                "{policy:?}: {got}"
            );
            assert!(
                got["annotation"].as_str().unwrap().contains("nope"),
                "{policy:?}: {got}"
            );
            assert!(answer["id"].as_i64().unwrap() > 0);
        } else {
            assert_eq!(answer["id"], 0);
            let text = answer["error"].as_str().unwrap();
            assert!(
                text.starts_with("afpool: ") && text.contains("nope"),
                "{text}"
            );
            assert_eq!(answer["info"]["kind"], "error");
        }
    }
}

#[tokio::test]
async fn the_shield_keeps_crashing_jobs_away_from_afserver() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    let no_blocks = json!({"job": {"name": "x", "user_name": "artist"}});
    let no_user =
        json!({"job": {"name": "x", "blocks": [{"tasks": [{"name": "t", "command": "c"}]}]}});
    let no_tasks = json!({"job": {"name": "x", "user_name": "a", "blocks": [{"tasks": []}]}});
    for bad in [no_blocks, no_user, no_tasks] {
        let body = serde_json::to_vec(&bad).unwrap();
        for request in [
            encode::text_request(&body),
            http_request(&body),
            binary_request(&body),
        ] {
            let answer = reply_json(&send(proxy.addr, &request).await);
            assert!(
                answer["error"].as_str().unwrap().starts_with("afpool: "),
                "{answer}"
            );
        }
    }
    assert!(fake
        .requests()
        .iter()
        .all(|r| !String::from_utf8_lossy(r).contains("\"job\"")));
    assert!(!fake.crashed());
    // And the fake really does crash on such a job when sent directly.
    let _ = send(
        fake.addr,
        &encode::text_request(br#"{"job":{"user_name":"a"}}"#),
    )
    .await;
    assert!(fake.crashed());
}

#[tokio::test]
async fn split_headers_are_reassembled_by_the_proxy_but_dropped_by_afserver() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    let request = capture("12-text-get-pools.request.bin");
    for target in [fake.addr, proxy.addr] {
        let judged = fake.headers_judged();
        let mut s = TcpStream::connect(target).await.unwrap();
        s.set_nodelay(true).unwrap();
        s.write_all(&request[..12]).await.unwrap();
        s.flush().await.unwrap();
        if target == fake.addr {
            // The fake judges the header on these 12 bytes alone, like afserver's first read.
            fake.wait_headers_judged(judged + 1).await;
        }
        s.write_all(&request[12..]).await.unwrap();
        let reply = read_reply(&mut s).await;
        if target == fake.addr {
            assert!(reply.is_empty(), "afserver drops a split header");
            assert_eq!(fake.dropped(), 1);
        } else {
            assert!(
                reply.starts_with(b"AFANASY "),
                "{}",
                String::from_utf8_lossy(&reply)
            );
            assert_eq!(fake.requests().last(), Some(&request));
        }
    }
}

#[tokio::test]
async fn two_hundred_concurrent_submissions_each_land_in_their_pool() {
    let fake = FakeAfserver::start(farm()).await;
    let pools = vec![
        pool("a", &["render01"]),
        pool("b", &["render02"]),
        pool("c", &["gpu.node3"]),
        pool("d", &["r1", "r10"]),
    ];
    let proxy = spawn_proxy(fake.addr, pools.clone(), RouteSettings::default()).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let p = ["a", "b", "c", "d"][i % 4];
        let body = envelope(&job(Some(p), &format!("job{i}")));
        tasks.push(tokio::spawn(async move {
            send(proxy.addr, &encode::text_request(&body)).await
        }));
    }
    for t in tasks {
        assert!(reply_json(&t.await.unwrap())["id"].as_i64().unwrap() > 0);
    }
    let jobs = fake.jobs();
    assert_eq!(jobs.len(), 200);
    for got in jobs {
        let i: usize = got["name"].as_str().unwrap()[3..].parse().unwrap();
        let members = &pools[i % 4].hosts;
        let mask = got["hosts_mask_exclude"].as_str().unwrap();
        for host in ["render01", "render02", "gpu.node3", "r1", "r10"] {
            assert_eq!(
                excludes(mask, host),
                !members.iter().any(|m| m == host),
                "job{i} {host} {mask}"
            );
        }
    }
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    let request = capture("08-text-get-renders.request.bin");
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(&request[..10]).await.unwrap();
    // Make sure the proxy has accepted the connection before asking it to stop.
    let mut probe = TcpStream::connect(proxy.addr).await.unwrap();
    probe.write_all(&request).await.unwrap();
    assert!(!read_reply(&mut probe).await.is_empty());
    proxy.shutdown.cancel();
    s.write_all(&request[10..]).await.unwrap();
    let reply = read_reply(&mut s).await;
    assert!(reply.starts_with(b"AFANASY "), "in-flight request answered");
    tokio::time::timeout(Duration::from_secs(5), proxy.task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(proxy.addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn a_message_over_64_mib_is_answered_not_forwarded() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(fake.addr, vec![], RouteSettings::default()).await;
    let before = fake.requests().len();
    let huge: i32 = 64 * 1024 * 1024 + 1;
    let text = format!("AFANASY {huge} JSON{{").into_bytes();
    let mut binary = vec![0, 0, 0, 81, 0, 0, 0, 24];
    binary.extend_from_slice(&huge.to_be_bytes());
    for request in [text, binary] {
        let reply = send(proxy.addr, &request).await;
        let answer = reply_json(&reply);
        assert!(
            answer["error"].as_str().unwrap().contains("64 MiB"),
            "{answer}"
        );
    }
    assert_eq!(fake.requests().len(), before, "nothing forwarded");
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_first_message_timeout() {
    let fake = FakeAfserver::start(farm()).await;
    let limits = afpool::proxy::Limits {
        max_connections: 4,
        first_message_timeout: Duration::from_millis(200),
        ..afpool::proxy::Limits::default()
    };
    let proxy = spawn_proxy_with(fake.addr, vec![], RouteSettings::default(), limits).await;
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(b"AFANASY 26 JS").await.unwrap();
    assert_closed_without_reply(s).await;
}

#[tokio::test]
async fn a_web_gui_job_with_non_ascii_text_is_reframed_with_byte_lengths() {
    let fake = FakeAfserver::start(farm()).await;
    let proxy = spawn_proxy(
        fake.addr,
        vec![pool("gpu", &["gpu.node3"])],
        RouteSettings::default(),
    )
    .await;
    let body = envelope(&job(Some("gpu"), "plan_séquence_été"));
    let body = String::from_utf8(body).unwrap();
    // The browser's AFANASY header counts UTF-16 units; Content-Length counts bytes.
    let js_length = body.encode_utf16().count();
    assert!(js_length < body.len());
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nAFANASY: {js_length}\r\n\r\n",
        body.len()
    );
    let reply = send(proxy.addr, &[head.as_bytes(), body.as_bytes()].concat()).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    assert_eq!(fake.jobs()[0]["name"], "plan_séquence_été");
    let sent = fake.requests().last().unwrap().clone();
    let text = String::from_utf8_lossy(&sent);
    let frame = afpool::protocol::frame::parse_request(&sent).unwrap();
    let n = frame.body.len();
    assert!(
        text.contains(&format!("AFANASY: {n}\r\n"))
            && text.contains(&format!("Content-Length: {n}\r\n")),
        "{text}"
    );
}
