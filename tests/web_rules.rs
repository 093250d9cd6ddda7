//! The "Default pool rules" tab of the web page in headless Chromium (see `web_page.rs`): a
//! condition that does not compile is refused beside the form with its line and column and
//! nothing is stored; rules added through the page (one at a position) are listed in order and
//! stored as `GET /api/v1/rules` reads them; a remove button removes its rule; what jobs
//! matching no rule get is set to held, then to a pool. Waits poll the DOM until a deadline.

mod api_common;
mod common;
mod web_common;

use api_common::*;
use serde_json::{json, Value};
use web_common::Browser;

/// `(number, pool)` of the rows the page lists, as `"1:comp"`, joined by `|`.
const ROWS: &str = "return [...document.querySelectorAll('#dr-rows tr[data-index]')] \
    .map(r => r.cells[0].textContent + ':' + r.cells[2].textContent).join('|')";

/// What `GET /api/v1/rules` answers.
async fn rules(s: &Served) -> Value {
    let (status, body) = json_of(client().get(s.url("/api/v1/rules")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the page lists `rows` (see [`ROWS`]).
async fn rows_are(b: &Browser, rows: &str) {
    let script = format!("{ROWS} === {}", json!(rows));
    b.wait_for(&script, &format!("the rules {rows:?}")).await;
}

/// Waits for the message line to say `text` as an `ok` message.
async fn ok_message(b: &Browser, text: &str) {
    let script = format!(
        "const m = document.getElementById('message'); \
         return m.className === 'ok' && m.textContent.includes({})",
        json!(text)
    );
    b.wait_for(&script, &format!("ok message {text:?}")).await;
}

#[tokio::test]
async fn default_pool_rules_are_edited_in_the_page() {
    if !web_common::available("default_pool_rules_are_edited_in_the_page") {
        return;
    }
    let s = serve(&[], farm()).await;
    let (ok, out) = s.pool_cli(&["create", "comp", "r1"]).await;
    assert!(ok, "{out}");
    let b = Browser::start(1400, 900).await;
    b.client.goto(&s.url("/")).await.unwrap();
    b.wait_for("return app.loaded", "the page loaded").await;
    b.click("[data-tab=rules]").await;
    b.wait_for(
        "return document.getElementById('dr-rows').textContent.includes('no rules')",
        "no rules yet",
    )
    .await;

    // A condition that does not compile: the reason beside the form, nothing stored.
    b.type_into("#dr-when", "user_name ==").await;
    b.type_into("#dr-pool", "comp").await;
    b.click("#dr-add").await;
    let refused = b
        .wait_for(
            "const t = document.getElementById('dr-error').textContent; \
             return t.includes('rule 1:') && t.includes('column') && t",
            "the refusal beside the form",
        )
        .await;
    assert!(
        refused.as_str().unwrap().contains("user_name =="),
        "{refused}"
    );
    assert_eq!(rules(&s).await["stored"], json!(false));

    // Two rules, the second put first.
    b.type_into("#dr-when", "'nuke' in services").await;
    b.click("#dr-add").await;
    rows_are(&b, "1:comp").await;
    ok_message(&b, "added default rule 1: 'nuke' in services → comp").await;
    b.wait_for(
        "return document.getElementById('dr-error').textContent === ''",
        "the refusal cleared",
    )
    .await;
    b.type_into("#dr-when", "project == \"ocean\"").await;
    b.type_into("#dr-pool", "ocean").await;
    b.type_into("#dr-at", "1").await;
    b.click("#dr-add").await;
    rows_are(&b, "1:ocean|2:comp").await;
    let got = rules(&s).await;
    assert_eq!(
        (&got["stored"], &got["rules"]),
        (
            &json!(true),
            &json!([{"index": 1, "when": "project == \"ocean\"", "pool": "ocean"},
                {"index": 2, "when": "'nuke' in services", "pool": "comp"}])
        )
    );

    // Remove rule 1.
    b.click("#dr-rows button[data-index='1']").await;
    rows_are(&b, "1:comp").await;
    assert_eq!(rules(&s).await["rules"][0]["pool"], "comp");

    // Jobs matching no rule: held, then the pool comp.
    assert!(b
        .js("return document.getElementById('dr-otherwise-none').checked")
        .await
        .as_bool()
        .unwrap());
    b.click("#dr-otherwise-hold").await;
    b.click("#dr-otherwise-save").await;
    ok_message(&b, "otherwise held").await;
    assert_eq!(rules(&s).await["otherwise"], json!("hold"));
    b.type_into("#dr-otherwise-name", "comp").await;
    b.click("#dr-otherwise-save").await;
    ok_message(&b, "otherwise pool 'comp'").await;
    let got = rules(&s).await;
    assert_eq!(got["otherwise"], json!({"pool": "comp"}));
    assert_eq!(
        got["summary"],
        json!([
            "rule 1: 'nuke' in services → comp",
            "otherwise: pool 'comp'"
        ])
    );
    let status = b
        .js("return document.getElementById('dr-status').textContent")
        .await;
    assert_eq!(status, json!("1 rules; otherwise: pool 'comp'"));
    b.close().await;
}
