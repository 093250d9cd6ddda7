//! Routing does not depend on afserver's render list: a job is routed while the list request
//! hangs, and with a list afpool cannot read at all the masks are the same as with a good one. A
//! list with a Windows-style user (`CORP\util`, written raw by afserver) is still read, and a
//! proxy started before afserver routes its first job fully.

mod common;

use std::sync::Arc;
use std::time::Duration;

use afpool::job::RouteSettings;
use afpool::protocol::encode;
use afpool::routing::{FixedPools, RendersCache, Router};
use common::*;
use tokio_util::sync::CancellationToken;

const JOB: &[u8] =
    br#"{"job":{"name":"j","user_name":"u","pool":"gpu","blocks":[{"tasks":[{"name":"t"}]}]}}"#;

/// Routes one gpu job through a proxy in front of `fake`; returns the masks afserver received.
async fn routed_masks(fake: &FakeAfserver) -> (String, String) {
    let pools = vec![pool("gpu", &["gpu.node3", "gpu01"])];
    let proxy = spawn_proxy(fake.addr, pools, RouteSettings::default()).await;
    let reply = send(proxy.addr, &encode::text_request(JOB)).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0, "{reply:?}");
    let job = fake.jobs().pop().expect("the job reached afserver");
    let text = |k: &str| job[k].as_str().unwrap_or_default().to_string();
    (text("hosts_mask_type"), text("hosts_mask_exclude"))
}

#[tokio::test]
async fn a_job_is_routed_while_the_render_list_hangs() {
    let fake = FakeAfserver::start(FakeConfig {
        renders_stall: true,
        ..farm()
    })
    .await;
    let masks = routed_masks(&fake).await;
    // The render list was asked for and is still unanswered: the job did not wait for it.
    assert!(fake.stalled() >= 1);
    assert_eq!(masks.0, "regex");
    assert_eq!(masks.1, "(?!(?:gpu[.]node3|gpu01)$).*");
    for host in ["render01", "r10", "a-render-never-listed"] {
        assert!(full_match(&masks.1, host), "{host}");
    }
}

#[tokio::test]
async fn an_unreadable_render_list_changes_no_mask() {
    let good = FakeAfserver::start(farm()).await;
    let garbage = FakeAfserver::start(FakeConfig {
        renders_reply: Some(b"{\"renders\":[{\"name\":\"r1\",\"st\":1".to_vec()),
        ..farm()
    })
    .await;
    assert_eq!(routed_masks(&good).await, routed_masks(&garbage).await);
}

#[tokio::test]
async fn a_render_list_with_a_windows_user_is_read() {
    let fake = FakeAfserver::start(farm()).await; // r10 runs as CORP\util
    let shutdown = CancellationToken::new();
    let renders = RendersCache::spawn(upstream(fake.addr), Duration::from_secs(3600), shutdown);
    tokio::time::timeout(Duration::from_secs(10), renders.wait_refreshes(1))
        .await
        .expect("the render list is read");
    let pools = Arc::new(FixedPools(Arc::new(vec![pool("gpu", &["gpu.node3"])])));
    let router = Router::new(RouteSettings::default(), pools, renders);
    let inventory = router.inventory();
    let mut names: Vec<&str> = inventory
        .renders()
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["gpu.node3", "r1", "r10", "render01", "render02"]);
}

#[tokio::test]
async fn a_proxy_started_before_afserver_routes_its_first_job_fully() {
    let addr = free_addr();
    // The proxy starts while afserver is down: it has no render list, and needs none.
    let proxy = spawn_proxy(
        addr,
        vec![pool("gpu", &["gpu.node3", "gpu01"])],
        RouteSettings::default(),
    )
    .await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let fake = FakeAfserver::serve(listener, farm());
    let reply = send_when_open(proxy.addr, &encode::text_request(JOB)).await;
    assert!(reply_json(&reply)["id"].as_i64().unwrap() > 0);
    let mask = fake.jobs()[0]["hosts_mask_exclude"]
        .as_str()
        .unwrap()
        .to_string();
    for host in ["render01", "render02", "r1", "r10", "never-listed"] {
        assert!(full_match(&mask, host), "{host}: {mask}");
    }
    assert!(!full_match(&mask, "gpu.node3") && !full_match(&mask, "gpu01"));
}
