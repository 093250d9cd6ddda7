//! The default pool rules over the HTTP API of a running `afpool serve`: GET on an empty store
//! shows the `default_pool` the proxy runs with; a PUT with a condition that does not compile is
//! a 400 `invalid_rules` naming the rule (from 1), line and column, and stores nothing; a good
//! PUT is stored (the file store's `default_rules`), shown by GET, audited with before and after,
//! and followed by the running proxy (a Nuke job naming no pool lands in `comp`); rules are added
//! at a position, removed by number, the otherwise set, and `null` brings `default_pool` back.
//! With a token file, a write without a known token is refused and stores nothing.

mod api_common;
mod common;

use afpool::protocol::encode;
use api_common::*;
use serde_json::{json, Value};

/// The rules in the store's file (`null` when none are stored).
fn stored(s: &Served) -> Value {
    let path = s.store.strip_prefix("file:").unwrap();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let document: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    document["default_rules"].clone()
}

/// A Nuke job that names no pool.
fn nuke_job() -> Vec<u8> {
    let job = json!({"job": {"name": "comp_v3", "user_name": "u", "blocks": [{"name": "w",
        "service": "nuke", "flags": 1, "frame_first": 1, "frame_last": 2, "command": "x"}]}});
    encode::text_request(job.to_string().as_bytes())
}

#[tokio::test]
async fn rules_are_set_over_the_api_audited_and_followed_by_the_proxy() {
    let s = serve(&["--default-pool", "farm"], farm()).await;
    let http = client();
    let url = s.url("/api/v1/rules");
    let (status, empty) = json_of(http.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        empty,
        json!({"stored": false, "rules": [], "otherwise": {"pool": "farm"}, "default_pool": "farm",
            "summary": ["otherwise: pool 'farm' (no rules stored: default_pool applies)"]})
    );

    // A condition that does not compile: which rule (from 1), where, and nothing stored.
    let bad = json!({"rules": [{"when": "true", "pool": "comp"},
        {"when": "priority > 1 && rm", "pool": "comp"}]});
    let (status, refused) = json_of(http.put(&url).json(&bad).send().await.unwrap()).await;
    assert_eq!(
        (status, refused["kind"].as_str()),
        (400, Some("invalid_rules")),
        "{refused}"
    );
    let text = refused["error"].as_str().unwrap();
    assert!(
        text.contains("rule 2:") && text.contains("line 1, column 17"),
        "{text}"
    );
    assert_eq!(stored(&s), Value::Null);

    let created = s.log_len();
    let (ok, out) = s.pool_cli(&["create", "comp", "render01"]).await;
    assert!(ok, "{out}");
    s.wait_log(created, |l| {
        l.contains("routing inventory rebuilt") && l.contains("pools=1")
    })
    .await;
    let rules = json!({"rules": [{"when": "'nuke' in services", "pool": "comp"}],
        "otherwise": "hold"});
    let before_edit = s.log_len();
    let (status, set) = json_of(http.put(&url).json(&rules).send().await.unwrap()).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        set["change"],
        "default pool rules replaced; now 1 rule, otherwise held"
    );
    assert_eq!(stored(&s), rules);
    let (_, got) = json_of(http.get(&url).send().await.unwrap()).await;
    assert_eq!(
        (&got["stored"], &got["otherwise"], &got["summary"]),
        (
            &json!(true),
            &json!("hold"),
            &json!(["rule 1: 'nuke' in services → comp", "otherwise: held"])
        )
    );
    assert_eq!(
        got["rules"],
        json!([{"index": 1, "when": "'nuke' in services", "pool": "comp"}])
    );

    // The running proxy follows: the Nuke job is fenced into comp.
    s.wait_log(before_edit, |l| l.contains("routing inventory rebuilt"))
        .await;
    let reply = common::reply_json(&common::send(s.proxy, &nuke_job()).await);
    assert!(reply["id"].as_i64().is_some_and(|id| id > 0), "{reply}");
    let job = &s.fake.jobs()[0];
    let mask = job["hosts_mask_exclude"].as_str().unwrap();
    assert!(
        !common::full_match(mask, "render01") && common::full_match(mask, "gpu.node3"),
        "{mask}"
    );

    // POST /api/v1/explain says which rule the job hits, and one that matches none is held.
    let explain = s.url("/api/v1/explain");
    let nuke: Value =
        serde_json::from_slice(&nuke_job()[nuke_job().iter().position(|&b| b == b'{').unwrap()..])
            .unwrap();
    let (status, e) = json_of(http.post(&explain).json(&nuke).send().await.unwrap()).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(
        e["explain"]["rule"],
        json!({"kind": "rule", "number": 1, "when": "'nuke' in services", "pool": "comp"})
    );
    assert_eq!(e["explain"]["pool"]["source"], "default_rule");
    let mut maya = nuke.clone();
    maya["job"]["blocks"][0]["service"] = json!("maya");
    let (_, e) = json_of(http.post(&explain).json(&maya).send().await.unwrap()).await;
    assert_eq!(
        (&e["verdict"], &e["explain"]["rule"]),
        (
            &json!("held"),
            &json!({"kind": "otherwise", "otherwise": "hold"})
        ),
        "{e}"
    );

    let (_, log) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    let entries = log.as_array().cloned().unwrap_or_default();
    let changed = entries.iter().find(|e| e["kind"] == "rules_changed");
    let changed = changed.unwrap_or_else(|| panic!("no rules_changed entry: {log}"));
    assert_eq!(
        (&changed["who"], &changed["before"], &changed["after"]),
        (&json!("loopback"), &Value::Null, &rules)
    );

    // null: no rules stored, default_pool applies again.
    let (status, removed) = json_of(http.put(&url).json(&Value::Null).send().await.unwrap()).await;
    assert_eq!(
        (status, &removed["stored"]),
        (200, &json!(false)),
        "{removed}"
    );
    assert_eq!(removed["otherwise"], json!({"pool": "farm"}));
    assert_eq!(stored(&s), Value::Null);
}

#[tokio::test]
async fn rules_are_added_at_a_position_removed_by_number_and_the_otherwise_set() {
    let s = serve(&["--default-pool", "farm"], farm()).await;
    let http = client();
    let url = s.url("/api/v1/rules");
    let add = |body: Value| http.post(&url).json(&body).send();

    // The first rule starts from what default_pool stood for: the otherwise stays farm.
    let (status, one) = json_of(
        add(json!({"when": "'nuke' in services", "pool": "comp"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{one}");
    assert_eq!(one["otherwise"], json!({"pool": "farm"}));
    let (status, two) = json_of(
        add(json!({"when": "project == 'ocean'", "pool": "ocean", "at": 1}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{two}");
    assert_eq!(
        two["change"],
        "added default rule 1: project == 'ocean' → ocean; now 2 rules, otherwise pool 'farm'"
    );
    let pools = |v: &Value| -> Vec<String> {
        (v["rules"].as_array().unwrap().iter())
            .map(|r| format!("{}:{}", r["index"], r["pool"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(pools(&two), ["1:ocean", "2:comp"]);

    let (status, far) = json_of(
        add(json!({"when": "true", "pool": "x", "at": 9}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, far["kind"].as_str()),
        (400, Some("invalid_rules")),
        "{far}"
    );
    let (status, bad) = json_of(
        add(json!({"when": "user_name ==", "pool": "x"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, bad["kind"].as_str()),
        (400, Some("invalid_rules")),
        "{bad}"
    );
    assert!(bad["error"].as_str().unwrap().contains("rule 3:"), "{bad}");

    let (status, left) = json_of(http.delete(s.url("/api/v1/rules/1")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(pools(&left), ["1:comp"]);
    let (status, gone) = json_of(http.delete(s.url("/api/v1/rules/5")).send().await.unwrap()).await;
    assert_eq!(
        (status, gone["kind"].as_str()),
        (400, Some("invalid_rules")),
        "{gone}"
    );
    let (status, word) = json_of(
        http.delete(s.url("/api/v1/rules/first"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, word["kind"].as_str()),
        (400, Some("bad_request")),
        "{word}"
    );

    let otherwise = s.url("/api/v1/rules/otherwise");
    let (status, held) = json_of(
        http.put(&otherwise)
            .json(&json!("hold"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &held["otherwise"]),
        (200, &json!("hold")),
        "{held}"
    );
    let (status, empty) = json_of(
        http.put(&otherwise)
            .json(&json!({"pool": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, empty["kind"].as_str()),
        (400, Some("invalid_rules")),
        "{empty}"
    );
    assert_eq!(
        stored(&s),
        json!({"rules": [{"when": "'nuke' in services", "pool": "comp"}], "otherwise": "hold"})
    );
}

#[tokio::test]
async fn rule_writes_need_a_known_token_when_a_token_file_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "ann tok-ann-7f3a\n").unwrap();
    let s = serve_in(dir, &["--api-tokens", tokens.to_str().unwrap()], farm()).await;
    let http = client();
    let url = s.url("/api/v1/rules");
    let rules = json!({"rules": [{"when": "true", "pool": "comp"}]});

    let (status, none) = json_of(http.put(&url).json(&rules).send().await.unwrap()).await;
    assert_eq!(
        (status, none["kind"].as_str()),
        (401, Some("unauthorized")),
        "{none}"
    );
    let wrong = http
        .post(&url)
        .bearer_auth("tok-bob")
        .json(&rules["rules"][0]);
    let (status, body) = json_of(wrong.send().await.unwrap()).await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, _) = json_of(http.delete(s.url("/api/v1/rules/1")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(stored(&s), Value::Null, "refused writes write nothing");
    let (status, read) = json_of(http.get(&url).send().await.unwrap()).await;
    assert_eq!(
        (status, &read["stored"]),
        (200, &json!(false)),
        "reads are open"
    );

    let ok = http.put(&url).bearer_auth("tok-ann-7f3a").json(&rules);
    let (status, set) = json_of(ok.send().await.unwrap()).await;
    assert_eq!(status, 200, "{set}");
    let (_, audit) = json_of(http.get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    let changed = (audit.as_array().unwrap().iter()).find(|e| e["kind"] == "rules_changed");
    assert_eq!(changed.map(|e| &e["who"]), Some(&json!("ann")), "{audit}");
}
