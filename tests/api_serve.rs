//! The HTTP API of `afpool serve` beyond the pool routes: bearer tokens, TLS with a test
//! certificate, render states and unknown members, explain, health, metrics, server-sent events,
//! the page, and `--http off`.

mod api_common;
mod common;

use std::time::Duration;

use api_common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};

#[tokio::test]
async fn writes_need_a_known_token_when_a_token_file_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# wranglers\nann tok-ann-7f3a\nbob tok-bob-c4d2\n").unwrap();
    let s = serve_in(dir, &["--api-tokens", tokens.to_str().unwrap()], farm()).await;
    let http = client();
    let pools = s.url("/api/v1/pools");
    let create = json!({"name": "gpu"});

    let response = http.post(&pools).json(&create).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = json_of(response).await;
    assert_eq!((status, &body["kind"]), (401, &json!("unauthorized")));
    let wrong = http
        .post(&pools)
        .bearer_auth("tok-ann")
        .json(&create)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(wrong).await;
    assert_eq!((status, &body["kind"]), (403, &json!("forbidden")));
    assert_eq!(
        s.cli_pools().await,
        json!([]),
        "refused writes write nothing"
    );

    let ok = http
        .post(&pools)
        .bearer_auth("tok-bob-c4d2")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let (status, listed) = json_of(http.get(&pools).send().await.unwrap()).await;
    assert_eq!(
        (status, listed),
        (200, json!([{"name": "gpu", "hosts": []}])),
        "reads are open"
    );
    let (_, audit) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(audit[0]["who"], "bob");
    let log = s.log().join("\n");
    assert!(
        !log.contains("tok-ann") && !log.contains("tok-bob"),
        "{log}"
    );
}

/// A non-loopback address of this machine, if it has one.
fn outside_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("10.255.255.255:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

#[tokio::test]
async fn without_a_token_file_only_loopback_may_write() {
    let s = serve(&["--http", "0.0.0.0:0"], farm()).await;
    let port = s.http.rsplit(':').next().unwrap().to_string();
    let http = client();
    let local = format!("http://127.0.0.1:{port}/api/v1/pools");
    let made = http
        .post(&local)
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let rebound = http
        .post(&local)
        .header("host", "evil.example:80")
        .json(&json!({"name": "c"}));
    let (status, body) = json_of(rebound.send().await.unwrap()).await;
    assert_eq!(
        (status, &body["kind"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    let Some(ip) = outside_ip() else {
        return eprintln!("no non-loopback address here; the remote half is skipped");
    };
    let remote = format!("http://{ip}:{port}/api/v1/pools");
    let (status, body) = json_of(
        http.post(&remote)
            .json(&json!({"name": "b"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["kind"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    assert_eq!(http.get(&remote).send().await.unwrap().status(), 200);
    assert_eq!(s.cli_pools().await, json!([{"name": "a", "hosts": []}]));
}

#[tokio::test]
async fn tls_with_a_test_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let args = [
        "--tls-cert",
        cert_file.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
    ];
    let s = serve_in(dir, &args, farm()).await;
    assert!(s.http.starts_with("https://127.0.0.1:"), "{}", s.http);

    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .build()
        .unwrap();
    let made = https
        .post(s.url("/api/v1/pools"))
        .json(&json!({"name": "tls"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    assert_eq!(s.cli_pools().await, json!([{"name": "tls", "hosts": []}]));
    let plain = s.url("/healthz").replace("https://", "http://");
    assert!(
        client().get(plain).send().await.is_err(),
        "no plain HTTP on the TLS port"
    );
    assert!(
        client().get(s.url("/healthz")).send().await.is_err(),
        "an unknown certificate is refused"
    );
}

#[tokio::test]
async fn bad_tls_files_and_token_files_stop_serve_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "ann secret-one extra\n").unwrap();
    let store = format!("file:{}", dir.path().join("pools.json").display());
    let junk = junk.to_str().unwrap();
    for args in [
        vec!["--tls-cert", junk, "--tls-key", junk],
        vec!["--api-tokens", tokens.to_str().unwrap()],
        vec!["--tls-cert", junk],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_afpool"))
            .env_clear()
            .env("AFPOOL_STORE", &store)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                "127.0.0.1:9",
            ])
            .args(["--http", "127.0.0.1:0"])
            .args(&args)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("secret-one"), "{err}");
    }
}

/// A render list with every state: busy (st 9), NIMBY (st 5), nimby (st 3), offline (st 0).
fn states_farm() -> FakeConfig {
    let renders = [
        ("r-busy", 9),
        ("r-nimby", 5),
        ("r-nimby2", 3),
        ("r-off", 0),
        ("r-on", 1),
    ];
    let items: Vec<String> = renders
        .iter()
        .map(|(n, st)| format!(r#"{{"name":"{n}","st":{st},"pool":"/"}}"#))
        .collect();
    FakeConfig {
        renders_reply: Some(format!(r#"{{"renders":[{}]}}"#, items.join(",")).into_bytes()),
        ..FakeConfig::default()
    }
}

#[tokio::test]
async fn hosts_show_render_states_pools_and_unknown_members() {
    let s = serve(&[], states_farm()).await;
    let (ok, _) = s
        .pool_cli(&["create", "gpu", "R-BUSY", "r-off", "typo01"])
        .await;
    assert!(ok);
    let (status, hosts) = json_of(client().get(s.url("/api/v1/hosts")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let states: Vec<(&str, &str, Value)> = hosts["renders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
                r["pools"].clone(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("r-busy", "busy", json!(["gpu"])),
            ("r-nimby", "nimby", json!([])),
            ("r-nimby2", "nimby", json!([])),
            ("r-off", "offline", json!(["gpu"])),
            ("r-on", "online", json!([])),
        ]
    );
    assert_eq!(
        hosts["unknown_members"],
        json!([{"host": "typo01", "pools": ["gpu"]}])
    );
    assert!(hosts["render_list_age_secs"].as_f64().is_some());

    let (status, health) = json_of(client().get(s.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((status, &health["ok"]), (200, &json!(true)), "{health}");
    assert_eq!(health["afserver"]["renders"], 5);
    let metrics = client().get(s.url("/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = metrics.text().await.unwrap();
    for line in ["afpool_store_available 1", "afpool_renders 5"] {
        assert!(text.lines().any(|l| l == line), "{line}: {text}");
    }
    assert!(
        text.contains(
            r#"afpool_http_request_duration_seconds_count{route="/api/v1/hosts",method="GET"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn explain_answers_what_afpool_explain_json_prints() {
    let s = serve(&[], farm()).await;
    let (ok, _) = s.pool_cli(&["create", "gpu", "gpu.node3"]).await;
    assert!(ok);
    let job = json!({"name": "shot", "user_name": "artist",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "c"}]});
    let http = client();
    // Explanations use the proxy's routing inventory: wait until it has the new pool.
    s.wait_log(0, |l| {
        l.contains("routing inventory rebuilt") && l.contains("pools=1")
    })
    .await;
    let (status, e) = json_of(
        http.post(s.url("/api/v1/explain?pool=gpu"))
            .json(&job)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &e["verdict"], &e["pool"]),
        (200, &json!("routed"), &json!("gpu")),
        "{e}"
    );
    assert_eq!(e["explain"]["pool_hosts"], json!(["gpu.node3"]));
    assert_eq!((&e["file"], &e["dry_run"]), (&json!("job"), &json!(true)));
    let crash = json!({"job": {"name": "x", "user_name": "u", "blocks": []}});
    let (status, body) = json_of(
        http.post(s.url("/api/v1/explain"))
            .json(&crash)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &body["kind"]), (422, &json!("rejected")), "{body}");
    let (status, body) = json_of(
        http.post(s.url("/api/v1/explain"))
            .body("[1,")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["kind"]),
        (400, &json!("bad_request")),
        "{body}"
    );
    assert!(s.fake.jobs().is_empty(), "explain sends nothing");
}

/// Reads server-sent events until one named `name` passes `test`; returns its data.
async fn next_event<B: AsRef<[u8]>>(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    buffer: &mut String,
    name: &str,
    test: impl Fn(&Value) -> bool,
) -> Value {
    let wait = async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let field = |key: &str| {
                    event
                        .lines()
                        .find_map(|l| l.strip_prefix(key))
                        .map(str::to_string)
                };
                if field("event: ").as_deref() == Some(name) {
                    let data: Value = serde_json::from_str(&field("data: ").unwrap()).unwrap();
                    if test(&data) {
                        return data;
                    }
                }
            }
            let chunk = stream.next().await.expect("the stream stays open").unwrap();
            buffer.push_str(&String::from_utf8_lossy(chunk.as_ref()));
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("event within 20 s")
}

#[tokio::test]
async fn events_announce_pool_changes_and_the_page_is_served() {
    let s = serve(&[], farm()).await;
    let http = client();
    let response = http.get(s.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (mut stream, mut buffer) = (response.bytes_stream(), String::new());
    next_event(&mut stream, &mut buffer, "ready", |_| true).await;
    let made = http
        .post(s.url("/api/v1/pools"))
        .json(&json!({"name": "live"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let has_live = |d: &Value| {
        d["pools"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("live")))
    };
    next_event(&mut stream, &mut buffer, "pools", has_live).await;

    let page = http.get(s.url("/")).send().await.unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("afpool"));
}

#[tokio::test]
async fn http_off_serves_no_api() {
    let s = serve(&["--http", "off"], farm()).await;
    assert_eq!(s.http, "off");
    let reply = common::send(
        s.proxy,
        &afpool::protocol::encode::text_request(br#"{"get":{"type":"renders"}}"#),
    )
    .await;
    assert!(!reply.is_empty(), "the proxy still serves");
}
