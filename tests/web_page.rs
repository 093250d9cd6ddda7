//! The web page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! driven over WebDriver (fantoccini) against `afpool serve` in front of the fake afserver. A
//! wrangler creates a pool, adds a render picked from afserver's list and a typed host, renames the
//! pool, removes a host and deletes the pool with confirmation; after each step the page, the store
//! (`afpool pool list`) and `afpool pool show` agree. An invalid name shows the API's error, and a
//! pool written by the CLI appears without a reload (server-sent events). Waits poll the DOM until a
//! deadline; nothing sleeps a fixed time.

mod api_common;
mod common;
mod web_common;

use api_common::*;
use serde_json::{json, Value};
use web_common::Browser;

/// The page's member rows of the chosen pool.
const MEMBERS: &str =
    "return [...document.querySelectorAll('#member-rows tr')].map(r => r.dataset.host)";

/// The store (`afpool pool list --json`) holds exactly `pools`, `afpool pool show` shows each, and
/// the page lists the same pool names.
async fn agree(s: &Served, b: &Browser, pools: Value) {
    assert_eq!(s.cli_pools().await, pools, "the store");
    for pool in pools.as_array().unwrap() {
        let name = pool["name"].as_str().unwrap();
        let (ok, shown) = s.pool_cli(&["show", name, "--json"]).await;
        assert!(ok, "pool show {name}: {shown}");
        assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), *pool);
    }
    let names: Vec<&str> = pools
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let script = format!(
        "return JSON.stringify([...document.querySelectorAll('#pool-rows tr')].map(r => r.dataset.pool)) \
         === JSON.stringify({})",
        json!(names)
    );
    b.wait_for(&script, &format!("the page to list {names:?}"))
        .await;
}

/// Waits until the chosen pool's members on the page are `hosts`.
async fn members_are(b: &Browser, hosts: &[&str]) {
    let script = format!("{MEMBERS}.join('|') === {}", json!(hosts.join("|")));
    b.wait_for(&script, &format!("members {hosts:?}")).await;
}

/// Waits for the message line to say `text` (an `ok` or `error` message).
async fn message(b: &Browser, class: &str, text: &str) {
    let script = format!(
        "const m = document.getElementById('message'); \
         return m.className === {} && m.textContent.includes({})",
        json!(class),
        json!(text)
    );
    b.wait_for(&script, &format!("{class} message {text:?}"))
        .await;
}

#[tokio::test]
async fn a_wrangler_manages_a_pool_in_the_page() {
    if !web_common::available("a_wrangler_manages_a_pool_in_the_page") {
        return;
    }
    let s = serve(&[], farm()).await;
    let b = Browser::start(1400, 900).await;
    b.client.goto(&s.url("/")).await.unwrap();
    b.wait_for(
        "return document.getElementById('live').textContent === 'live'",
        "live updates",
    )
    .await;

    // Create (Enter submits).
    b.type_into("#new-pool-name", "gpu\n").await;
    message(&b, "ok", "created pool 'gpu'").await;
    b.wait_for(
        "return document.getElementById('pool-title').textContent === 'gpu'",
        "gpu chosen",
    )
    .await;
    agree(&s, &b, json!([{"name": "gpu", "hosts": []}])).await;

    // Add a render picked from afserver's list, found by searching.
    b.type_into("#render-filter", "render0").await;
    b.wait_for(
        "return document.querySelectorAll('#render-rows tr').length === 2",
        "two renders found",
    )
    .await;
    b.click("#render-rows button[data-add='render01']").await;
    members_are(&b, &["render01"]).await;
    agree(&s, &b, json!([{"name": "gpu", "hosts": ["render01"]}])).await;

    // Add a typed host afserver does not know: flagged unknown.
    b.type_into("#add-typed", "typed-host\n").await;
    members_are(&b, &["render01", "typed-host"]).await;
    let state = b
        .js("return document.querySelector(\"#member-rows tr[data-host='typed-host'] .st\").textContent")
        .await;
    assert_eq!(state, "unknown");
    agree(
        &s,
        &b,
        json!([{"name": "gpu", "hosts": ["render01", "typed-host"]}]),
    )
    .await;

    // Rename.
    b.type_into("#rename-input", "gpu farm\n").await;
    message(&b, "ok", "renamed pool 'gpu' to 'gpu farm'").await;
    let pool = json!([{"name": "gpu farm", "hosts": ["render01", "typed-host"]}]);
    agree(&s, &b, pool).await;

    // Remove a host.
    b.click("#member-rows button[data-remove='render01']").await;
    members_are(&b, &["typed-host"]).await;
    agree(
        &s,
        &b,
        json!([{"name": "gpu farm", "hosts": ["typed-host"]}]),
    )
    .await;

    // Delete, cancelled first, then confirmed.
    b.click("#delete-pool").await;
    b.wait_for(
        "return document.getElementById('confirm-delete').open",
        "the confirmation",
    )
    .await;
    b.click("#confirm-no").await;
    b.wait_for(
        "return !document.getElementById('confirm-delete').open",
        "cancelled",
    )
    .await;
    agree(
        &s,
        &b,
        json!([{"name": "gpu farm", "hosts": ["typed-host"]}]),
    )
    .await;
    b.click("#delete-pool").await;
    b.click("#confirm-yes").await;
    message(&b, "ok", "deleted pool 'gpu farm'").await;
    b.wait_for(
        "return document.getElementById('pool-detail').hidden",
        "no pool chosen",
    )
    .await;
    agree(&s, &b, json!([])).await;

    // An invalid name: the API's error, nothing written.
    b.type_into("#new-pool-name", "a|b\n").await;
    message(&b, "error", "must not contain '|'").await;
    agree(&s, &b, json!([])).await;

    // Another writer: the page follows without a reload.
    let (ok, out) = s.pool_cli(&["create", "from-cli", "r1"]).await;
    assert!(ok, "{out}");
    agree(&s, &b, json!([{"name": "from-cli", "hosts": ["r1"]}])).await;
    b.close().await;
}

#[tokio::test]
async fn writes_need_the_token_and_a_dropped_job_is_explained() {
    if !web_common::available("writes_need_the_token_and_a_dropped_job_is_explained") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "ann tok-ann-7f3a\n").unwrap();
    let s = serve_in(dir, &["--api-tokens", tokens.to_str().unwrap()], farm()).await;
    let b = Browser::start(1400, 900).await;
    b.client.goto(&s.url("/")).await.unwrap();
    b.wait_for("return app.loaded", "the page loaded").await;

    // No token: refused, with the API's words and a hint.
    b.type_into("#new-pool-name", "gpu\n").await;
    message(&b, "error", "API token").await;
    agree(&s, &b, json!([])).await;

    // With the token (kept for the tab): written, audited as its name.
    b.type_into("#token-input", "tok-ann-7f3a\n").await;
    message(&b, "ok", "API token set").await;
    b.type_into("#new-pool-name", "gpu\n").await;
    message(&b, "ok", "created pool 'gpu'").await;
    agree(&s, &b, json!([{"name": "gpu", "hosts": []}])).await;
    let stored = b.js("return sessionStorage.getItem('afpool.token')").await;
    assert_eq!(stored, "tok-ann-7f3a");
    let (_, audit) = json_of(client().get(s.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(audit[0]["who"], "ann", "{audit}");

    // A job file chosen in "Where would this job run?", routed into the chosen pool.
    b.click("[data-tab=explain]").await;
    b.wait_for(
        "return document.querySelectorAll('#explain-pool option').length === 2",
        "the pool choice",
    )
    .await;
    b.js("document.getElementById('explain-pool').value = 'gpu'")
        .await;
    let job = std::fs::canonicalize("fixtures/jobs/01-afpy-numeric/input.json").unwrap();
    b.type_into_file("#explain-file", job.to_str().unwrap())
        .await;
    let shown = b
        .wait_for(
            "return document.getElementById('explain-out').textContent",
            "the explanation",
        )
        .await;
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("verdict") && shown.contains("gpu"),
        "{shown}"
    );
    assert!(shown.contains("numeric_frames"), "{shown}");
    b.close().await;
}

#[tokio::test]
async fn the_page_orders_names_naturally_as_the_cli_does() {
    if !web_common::available("the_page_orders_names_naturally_as_the_cli_does") {
        return;
    }
    let s = serve(&[], farm()).await;
    for args in [
        &["create", "pool10", "render10", "render9", "render01"][..],
        &["create", "pool2"],
        &["create", "pool1"],
    ] {
        let (ok, out) = s.pool_cli(args).await;
        assert!(ok, "pool {args:?}: {out}");
    }
    let b = Browser::start(1400, 900).await;
    b.client.goto(&s.url("/")).await.unwrap();
    b.wait_for("return app.loaded", "the page loaded").await;
    b.wait_for(
        "return [...document.querySelectorAll('#pool-rows tr')].map(r => r.dataset.pool).join('|') \
         === 'pool1|pool2|pool10'",
        "pools in natural order",
    )
    .await;
    b.click("#pool-rows tr[data-pool='pool10'] button").await;
    // Stored as typed (render10, render9, render01), shown in natural order.
    members_are(&b, &["render01", "render9", "render10"]).await;

    // The page's rule is the CLI's, pair by pair.
    let names = [
        "pool2",
        "pool10",
        "render9",
        "render10",
        "render010",
        "render01",
        "render1",
        "a1b",
        "a10",
        "gpu",
        "gpu1",
        "Pool",
        "pool",
        "ws-12-3",
        "ws-12-10",
        "",
        "99999999999999999999",
        "100000000000000000000",
    ];
    let script = format!(
        "const n = {}; return n.map(a => n.map(b => naturalCompare(a, b)))",
        json!(names)
    );
    let page = b.js(&script).await;
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let rust = afpool::natural::cmp(a, b) as i64;
            assert_eq!(page[i][j].as_i64(), Some(rust), "{a:?} vs {b:?}");
        }
    }
    b.close().await;
}

/// The member rows of the rule editor's preview.
const RESOLVED: &str =
    "return [...document.querySelectorAll('#resolved-rows tr')].map(r => r.dataset.member).join('|')";

/// Replaces the text of the rule editor's rule with `rule` (typed, so each key is an input event).
async fn retype_rule(b: &Browser, rule: &str) {
    b.type_into("#rule-input", rule).await;
}

#[tokio::test]
async fn a_rule_is_previewed_live_and_saved_in_the_page() {
    if !web_common::available("a_rule_is_previewed_live_and_saved_in_the_page") {
        return;
    }
    let s = serve(&[], farm()).await;
    let (ok, out) = s.pool_cli(&["create", "gpu", "ws-anna"]).await;
    assert!(ok, "{out}");
    let b = Browser::start(1400, 900).await;
    b.client.goto(&s.url("/")).await.unwrap();
    b.wait_for(
        "return app.loaded && app.renders.length === 5",
        "the page and its renders",
    )
    .await;
    b.click("#pool-rows tr[data-pool='gpu'] button").await;
    b.wait_for(&format!("{RESOLVED} === 'ws-anna'"), "the typed member")
        .await;

    // A rule that names no render field: the API's reason, with its column.
    retype_rule(&b, "ram > 4").await;
    b.wait_for(
        "const s = document.getElementById('rule-status'); \
         return s.className.includes('bad') && s.textContent.includes('column 1')",
        "the rule refused with its column",
    )
    .await;

    // A rule over the hardware afserver reports (asked for by the preview): r1 and r10 have two
    // cores in the fake's farm; previewed, not stored.
    retype_rule(&b, "cpu_num >= 2 && name.startsWith(\"r1\")").await;
    b.wait_for(
        &format!("{RESOLVED} === 'ws-anna|r1|r10'"),
        "the previewed members",
    )
    .await;
    let status = b
        .js("return document.getElementById('rule-status').textContent")
        .await;
    assert!(
        status.as_str().unwrap().contains("2 selected by the rule")
            && status.as_str().unwrap().contains("not saved"),
        "{status}"
    );
    let why = b
        .js("return document.querySelector(\"#resolved-rows tr[data-member='r10']\").textContent")
        .await;
    assert!(why.as_str().unwrap().contains("cpu_num=2"), "{why}");
    assert_eq!(
        s.cli_pools().await,
        json!([{"name": "gpu", "hosts": ["ws-anna"]}])
    );

    // Saved: the store holds the rule, and `afpool pool show` agrees.
    b.type_into("#except-input", "r10").await;
    b.wait_for(&format!("{RESOLVED} === 'ws-anna|r1'"), "r10 excepted")
        .await;
    b.click("#rule-save").await;
    message(&b, "ok", "pool 'gpu' selects").await;
    let rule = "cpu_num >= 2 && name.startsWith(\"r1\")";
    let want = json!([{"name": "gpu", "hosts": ["ws-anna"], "select": rule, "except": ["r10"]}]);
    assert_eq!(s.cli_pools().await, want);
    b.wait_for(
        "return !document.getElementById('rule-status').textContent.includes('not saved')",
        "the saved rule shown as saved",
    )
    .await;
    b.close().await;
}

#[tokio::test]
async fn a_policy_and_spill_over_are_set_in_the_page() {
    if !web_common::available("a_policy_and_spill_over_are_set_in_the_page") {
        return;
    }
    let s = serve(&[], farm()).await;
    for pool in [["create", "lighting", "r1"], ["create", "cpu", "r10"]] {
        let (ok, out) = s.pool_cli(&pool).await;
        assert!(ok, "{out}");
    }
    let b = Browser::start(1400, 900).await;
    b.client.goto(&s.url("/")).await.unwrap();
    b.wait_for("return app.loaded", "the page loaded").await;
    b.click("#pool-rows tr[data-pool='lighting'] button").await;
    b.wait_for(
        "return document.getElementById('policy-input').value === '{}'",
        "no policy yet",
    )
    .await;

    // Not JSON, then a network that is none: nothing written, the reason shown.
    b.type_into("#policy-input", "{allow").await;
    b.click("#policy-save").await;
    message(&b, "error", "not JSON").await;
    b.type_into(
        "#policy-input",
        r#"{"allow": {"networks": ["10.1.0.0/33"]}}"#,
    )
    .await;
    b.click("#policy-save").await;
    message(&b, "error", "10.1.0.0/33").await;
    let stored = s.cli_pools().await;
    assert!(stored[1].get("policy").is_none(), "{stored}");

    // A policy the API takes: stored, and shown line by line as afpool reads it.
    let policy = json!({"allow": {"users": ["anna", "ben"]},
        "limits": {"priority": {"default": 50, "max": 150}}});
    b.type_into("#policy-input", &policy.to_string()).await;
    b.click("#policy-save").await;
    message(&b, "ok", "pool 'lighting' policy").await;
    let stored = s.cli_pools().await;
    assert_eq!(stored[1]["policy"], policy, "{stored}");
    let rows = b
        .wait_for(
            "const t = document.getElementById('policy-rows').textContent; \
             return t.includes('anna') && t.includes('150') && t",
            "the policy's lines",
        )
        .await;
    assert!(rows.as_str().unwrap().contains("priority"), "{rows}");

    // Spill-over into cpu below two members.
    b.type_into("#spill-fallback", "cpu").await;
    b.type_into("#spill-below", "2").await;
    b.click("#spill-save").await;
    message(&b, "ok", "spills into cpu").await;
    let stored = s.cli_pools().await;
    assert_eq!(
        (&stored[1]["fallback"], &stored[1]["spill_below"]),
        (&json!(["cpu"]), &json!(2)),
        "{stored}"
    );
    b.close().await;
}
