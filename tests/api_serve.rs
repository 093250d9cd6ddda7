//! The HTTP API of `afpool serve` beyond the pool routes: render states and unknown members,
//! explain, jobs, health, metrics, server-sent events, the page, and `--http off`.

mod api_common;
mod common;

use std::time::Duration;

use api_common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};

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

#[tokio::test]
async fn jobs_come_from_the_registry_beside_the_pools() {
    use afpool::store::registry::{JobRegistry, PoolJob};
    let s = serve(&[], farm()).await;
    let http = client();
    let (status, jobs) = json_of(http.get(s.url("/api/v1/jobs")).send().await.unwrap()).await;
    assert_eq!((status, jobs), (200, json!([])));
    let pools = std::path::PathBuf::from(s.store.strip_prefix("file:").unwrap());
    let registry = afpool::store::registry_file::FileRegistry::beside(&pools);
    let job = |id: i64, pool: &str| PoolJob {
        job_id: id,
        pool: pool.into(),
        user: "artist".into(),
        job_name: "shot".into(),
        submitted_at: bson::DateTime::now(),
        masks_written: Default::default(),
        user_masks: Default::default(),
        mask_mode: afpool::job::MaskMode::Exclude,
        serial: None,
        held: None,
    };
    // Jobs afserver has: the proxy's reconcile, which may run at any time, keeps them.
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let body = json!({"job": {"name": name, "user_name": "artist", "blocks": [
            {"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
        let request = afpool::protocol::encode::text_request(body.to_string().as_bytes());
        let reply = common::send(s.fake.addr, &request).await;
        ids.push(common::reply_json(&reply)["id"].as_i64().expect("a job id"));
    }
    registry.upsert(&job(ids[0], "gpu")).await.unwrap();
    registry.upsert(&job(ids[1], "cpu")).await.unwrap();
    let (status, jobs) = json_of(
        http.get(s.url("/api/v1/jobs?pool=gpu"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let listed: Vec<i64> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [ids[0]]);
}
