//! The HTTP API of `afpool serve` over real HTTP (reqwest): the pool routes write through the same
//! store as `afpool pool` (one store, one truth: what the API writes the CLI reads and the proxy
//! routes with), and bad input is refused with the right status and a clear error, writing nothing.

mod api_common;
mod common;

use api_common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn pool_routes_write_what_the_cli_reads() {
    let s = serve(&[], farm()).await;
    let http = client();
    let create = json!({"name": "gpu", "hosts": ["gpu.node3", "render01"]});
    let (status, body) = json_of(
        http.post(s.url("/api/v1/pools"))
            .json(&create)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.clone()),
        (
            201,
            json!({"name": "gpu", "hosts": ["gpu.node3", "render01"]})
        )
    );
    let (ok, shown) = s.pool_cli(&["show", "gpu", "--json"]).await;
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), body);

    let add = json!({"hosts": ["RENDER01", "r1"]});
    let (status, added) = json_of(
        http.post(s.url("/api/v1/pools/gpu/hosts"))
            .json(&add)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["added"], json!(["r1"]));
    assert_eq!(added["already_members"], json!(["RENDER01"]));
    assert_eq!(added["invalid"], json!([]));
    let remove = json!(["r1", "nobody"]);
    let (status, removed) = json_of(
        http.delete(s.url("/api/v1/pools/gpu/hosts"))
            .json(&remove)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &removed["removed"], &removed["not_members"]),
        (200, &json!(["r1"]), &json!(["nobody"]))
    );

    let (status, renamed) = json_of(
        http.patch(s.url("/api/v1/pools/gpu"))
            .json(&json!({"name": "GPU farm"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &renamed["name"]), (200, &json!("GPU farm")));
    assert_eq!(
        s.cli_pools().await,
        json!([{"name": "GPU farm", "hosts": ["gpu.node3", "render01"]}])
    );
    let (status, listed) = json_of(http.get(s.url("/api/v1/pools")).send().await.unwrap()).await;
    assert_eq!((status, listed), (200, s.cli_pools().await));
    let (status, one) = json_of(
        http.get(s.url("/api/v1/pools/GPU%20farm"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &one["hosts"]),
        (200, &json!(["gpu.node3", "render01"]))
    );

    let (status, deleted) = json_of(
        http.delete(s.url("/api/v1/pools/GPU%20farm"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, deleted), (200, json!({"deleted": "GPU farm"})));
    assert_eq!(s.cli_pools().await, json!([]));

    // Every change is audited like the CLI's, by "loopback" (no token file).
    let (status, audit) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let kinds: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["who"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("pool_created", "loopback"),
            ("hosts_added", "loopback"),
            ("hosts_removed", "loopback"),
            ("pool_renamed", "loopback"),
            ("pool_deleted", "loopback")
        ]
    );
    let (_, renames) = json_of(
        http.get(s.url("/api/v1/audit?pool=GPU%20farm&since=1h"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(renames.as_array().unwrap().len(), 2, "{renames}");
    let (status, bad) = json_of(
        http.get(s.url("/api/v1/audit?since=2y"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &bad["kind"]), (400, &json!("bad_query")));
}

/// Sends `request`, expects `status` and `kind`, returns the error text.
async fn refused(request: reqwest::RequestBuilder, status: u16, kind: &str) -> String {
    let (got, body) = json_of(request.send().await.unwrap()).await;
    assert_eq!((got, body["kind"].as_str()), (status, Some(kind)), "{body}");
    body["error"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_writes_nothing() {
    let s = serve(&[], farm()).await;
    let http = client();
    let (ok, _) = s.pool_cli(&["create", "gpu", "gpu.node3"]).await;
    assert!(ok);
    let before = s.cli_pools().await;
    let pools = s.url("/api/v1/pools");
    let hosts = s.url("/api/v1/pools/gpu/hosts");

    let e = refused(http.get(s.url("/api/v1/pools/nope")), 404, "not_found").await;
    assert_eq!(e, "no pool named 'nope'");
    refused(
        http.patch(s.url("/api/v1/pools/nope"))
            .json(&json!({"name": "x"})),
        404,
        "not_found",
    )
    .await;
    refused(http.delete(s.url("/api/v1/pools/nope")), 404, "not_found").await;
    refused(
        http.post(s.url("/api/v1/pools/nope/hosts"))
            .json(&json!(["a"])),
        404,
        "not_found",
    )
    .await;

    let bad_hosts = json!({"hosts": ["render01", "bad host", "x*"]});
    let e = refused(
        http.post(hosts.clone()).json(&bad_hosts),
        400,
        "invalid_host",
    )
    .await;
    assert!(
        e.contains("'bad host'") && e.contains("'x*'") && !e.contains("render01"),
        "{e}"
    );
    let (_, body) = json_of(
        http.post(hosts.clone())
            .json(&bad_hosts)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["invalid"][0]["host"], "bad host");
    let new_bad = json!({"name": "cpu", "hosts": ["ok", "no|pe"]});
    refused(http.post(pools.clone()).json(&new_bad), 400, "invalid_host").await;
    refused(
        http.post(pools.clone()).json(&json!({"name": " cpu"})),
        400,
        "invalid_name",
    )
    .await;
    refused(
        http.post(pools.clone()).json(&json!({"name": "gpu"})),
        409,
        "already_exists",
    )
    .await;
    refused(
        http.patch(s.url("/api/v1/pools/gpu"))
            .json(&json!({"name": "a|b"})),
        400,
        "invalid_name",
    )
    .await;

    let malformed = http
        .post(pools.clone())
        .header("content-type", "application/json")
        .body("{\"name\": ");
    refused(malformed, 400, "bad_request").await;
    let wrong_shape = http
        .post(pools.clone())
        .json(&json!({"name": "cpu", "hosts": "r1"}));
    refused(wrong_shape, 400, "bad_request").await;
    let not_json = http.post(pools.clone()).body("{\"name\":\"cpu\"}");
    refused(not_json, 415, "unsupported_media_type").await;
    let huge = json!({"name": "big", "hosts": vec!["render01"; 200_000]});
    let e = refused(http.post(pools.clone()).json(&huge), 413, "too_large").await;
    assert!(e.contains("1048576"), "{e}");
    refused(http.get(s.url("/api/v1/nothing")), 404, "no_route").await;
    refused(http.put(pools.clone()), 405, "method_not_allowed").await;

    assert_eq!(s.cli_pools().await, before, "nothing was written");
    let (_, audit) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(
        audit.as_array().unwrap().len(),
        1,
        "only the CLI's create: {audit}"
    );
}

fn job_request(pool: &str) -> Vec<u8> {
    let body = json!({"job": {
        "name": "shot", "user_name": "artist", "hosts_mask": format!("pool:{pool}"),
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "c @#@"}]
    }});
    afpool::protocol::encode::text_request(&serde_json::to_vec(&body).unwrap())
}

#[tokio::test]
async fn a_pool_written_with_the_api_routes_jobs_through_the_proxy() {
    let s = serve(&[], farm()).await;
    let from = s.log_len();
    let create = json!({"name": "gpu", "hosts": ["gpu.node3"]});
    let response = client()
        .post(s.url("/api/v1/pools"))
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    s.wait_log(from, |l| {
        l.contains("routing inventory rebuilt") && l.contains("pools=1")
    })
    .await;

    let reply = common::send(s.proxy, &job_request("gpu")).await;
    assert!(common::reply_json(&reply)["id"].as_i64().unwrap() > 0);
    let job = &s.fake.jobs()[0];
    let mask = job["hosts_mask_exclude"].as_str().unwrap();
    assert!(
        common::full_match(mask, "render01") && !common::full_match(mask, "gpu.node3"),
        "{mask}"
    );

    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let routed = r#"afpool_jobs_total{pool="gpu",verdict="routed",reason=""} 1"#;
    assert!(metrics.lines().any(|l| l == routed), "{metrics}");
}

#[tokio::test]
async fn a_pool_with_live_jobs_is_deleted_only_with_force() {
    let s = serve(&[], farm()).await;
    let http = client();
    let body = json!({"name": "gpu", "hosts": ["gpu.node3"]});
    let created = http
        .post(s.url("/api/v1/pools"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let job = json!({"job": {"name": "live", "user_name": "artist", "host_name": "ws01", "pool": "gpu",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
    let request = afpool::protocol::encode::text_request(&serde_json::to_vec(&job).unwrap());
    // The proxy sees the new pool within its store polling; until then the job is held.
    let start = std::time::Instant::now();
    loop {
        let reply = common::send_when_open(s.proxy, &request).await;
        assert!(common::reply_json(&reply)["id"].as_i64().unwrap() > 0);
        let (_, jobs) = json_of(http.get(s.url("/api/v1/jobs")).send().await.unwrap()).await;
        if jobs.as_array().is_some_and(|j| !j.is_empty()) {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 20,
            "a routed job is registered: {jobs}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = refused(http.delete(s.url("/api/v1/pools/gpu")), 409, "live_jobs").await;
    assert!(text.contains("live jobs"), "{text}");
    assert_eq!(
        s.cli_pools().await.as_array().unwrap().len(),
        1,
        "not deleted"
    );
    let forced = http
        .delete(s.url("/api/v1/pools/gpu?force=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 200);
    assert_eq!(s.cli_pools().await, json!([]));
}

#[tokio::test]
async fn a_selection_is_set_with_the_api_and_members_say_why() {
    let s = serve(&[], farm()).await;
    let http = client();
    let (ok, _) = s.pool_cli(&["create", "gpu", "ws-anna"]).await;
    assert!(ok);
    let selection = s.url("/api/v1/pools/gpu/selection");
    let e = refused(
        http.put(&selection).json(&json!({"select": "ram > 4"})),
        400,
        "invalid_rule",
    )
    .await;
    assert!(e.contains("\"ram\"") && e.contains("column 1"), "{e}");
    let rule = "name.startsWith(\"gpu\")";
    let (status, set) = json_of(
        http.put(&selection)
            .json(&json!({"select": rule, "except": ["ws-old"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["pool"]["select"], rule);
    let cli = s.cli_pools().await;
    assert_eq!(cli[0]["except"], json!(["ws-old"]), "{cli}");
    // Once the proxy has a render list, the members are the typed host and gpu.node3.
    s.wait_log(0, |l| {
        l.contains("routing inventory rebuilt") && !l.contains("renders=0")
    })
    .await;
    let (status, body) = json_of(
        http.get(s.url("/api/v1/pools/gpu/members"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["members"],
        json!([
            {"host": "ws-anna", "why": "static", "listed": false, "member_now": true},
            {"host": "gpu.node3", "why": "name=\"gpu.node3\"", "listed": true, "member_now": true},
        ])
    );
}
