//! A pool's policy over the HTTP API of a running `afpool serve`: PUT validates (400
//! `invalid_policy` saying where) and writes what `afpool pool show` reads, GET returns it, the
//! proxy follows the edit (a job from 127.0.0.1 refused by the new rule), and the change is
//! audited.

mod api_common;
mod common;

use afpool::protocol::encode;
use api_common::*;
use serde_json::json;

#[tokio::test]
async fn a_policy_is_set_with_the_api_and_the_proxy_follows_it() {
    let s = serve(&[], farm()).await;
    let http = client();
    let (ok, _) = s.pool_cli(&["create", "lighting", "render01"]).await;
    assert!(ok);
    let url = s.url("/api/v1/pools/lighting/policy");
    let (status, bad) = json_of(
        http.put(&url)
            .json(&json!({"allow": {"if": "priority > 1 && rm"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, bad["kind"].as_str()),
        (400, Some("invalid_policy")),
        "{bad}"
    );
    assert!(
        bad["error"].as_str().unwrap().contains("column 17"),
        "{bad}"
    );

    let policy =
        json!({"deny": {"networks": ["127.0.0.0/8"]}, "limits": {"priority": {"max": 150}}});
    let before_edit = s.log_len();
    let edited = std::time::Instant::now();
    let (status, set) = json_of(http.put(&url).json(&policy).send().await.unwrap()).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["pool"]["policy"], policy);
    let (status, got) = json_of(http.get(&url).send().await.unwrap()).await;
    assert_eq!((status, &got["policy"]), (200, &policy));
    assert_eq!(s.cli_pools().await[0]["policy"], policy);

    // The running proxy follows: a job from this machine is refused by the new rule.
    let job = json!({"job": {"name": "j", "user_name": "u", "pool": "lighting",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
    let request = encode::text_request(job.to_string().as_bytes());
    s.wait_log(before_edit, |l| l.contains("routing inventory rebuilt"))
        .await;
    assert!(
        edited.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        edited.elapsed()
    );
    let reply = common::reply_json(&common::send(s.proxy, &request).await);
    let text = reply["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not refused: {reply}"));
    assert!(
        text.contains("deny networks (127.0.0.0/8): client address 127.0.0.1"),
        "{text}"
    );

    let (status, log) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let entries = log.as_array().cloned().unwrap_or_default();
    let changed = entries.iter().find(|e| e["kind"] == "policy_changed");
    let changed = changed.unwrap_or_else(|| panic!("no policy_changed entry: {log}"));
    assert_eq!(
        (&changed["before"], &changed["after"]),
        (&json!({}), &policy)
    );
}

/// `afpool_clamped_total{pool,key}` counts each value a pool's maximum lowered, in a submission
/// and in a guarded edit of the job afterwards.
#[tokio::test]
async fn clamps_of_submissions_and_edits_are_counted() {
    let s = serve(&[], farm()).await;
    let (ok, _) = s.pool_cli(&["create", "gpu", "render01"]).await;
    assert!(ok);
    let before_edit = s.log_len();
    let url = s.url("/api/v1/pools/gpu/policy");
    let policy = json!({"limits": {"priority": {"max": 100}}});
    let (status, set) = json_of(client().put(&url).json(&policy).send().await.unwrap()).await;
    assert_eq!(status, 200, "{set}");
    s.wait_log(before_edit, |l| l.contains("routing inventory rebuilt"))
        .await;

    let job = json!({"job": {"name": "j", "user_name": "u", "pool": "gpu", "priority": 250,
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
    let request = encode::text_request(job.to_string().as_bytes());
    let reply = common::reply_json(&common::send(s.proxy, &request).await);
    let id = reply["id"].as_i64().unwrap_or_else(|| panic!("{reply}"));
    let edit = json!({"action": {"type": "jobs", "ids": [id], "user_name": "u",
        "host_name": "ws01", "params": {"priority": 200}}});
    let request = encode::text_request(edit.to_string().as_bytes());
    common::send(s.proxy, &request).await;
    let priorities: Vec<_> = s
        .fake
        .actions()
        .iter()
        .map(|a| a["params"]["priority"].clone())
        .collect();
    assert_eq!(priorities, [json!(100)]);

    let text = client().get(s.url("/metrics")).send().await.unwrap();
    let text = text.text().await.unwrap();
    let line = r#"afpool_clamped_total{pool="gpu",key="priority"} 2"#;
    assert!(text.lines().any(|l| l == line), "{line}: {text}");
}
