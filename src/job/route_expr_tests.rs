//! Table tests for [`super::super::route`] with pool expressions: the hosts they name, their
//! refusals through the unknown-pool policy, and exact pool names that win over the syntax.

use rstest::rstest;

use super::*;

#[rstest]
#[case("cpu|gpu", &["render01", "render02", "gpu.node3"])]
#[case("all&!cpu", &["gpu.node3", "r1", "r10"])]
#[case("(cpu|gpu)&!r", &["render01", "render02", "gpu.node3"])]
#[case(" all & ! ( cpu | gpu ) ", &["r1", "r10"])]
#[case("all&!all|r", &["r1"])]
fn an_expression_routes_to_exactly_the_hosts_it_names(#[case] text: &str, #[case] hosts: &[&str]) {
    let body = job(&format!(r#""pool":"{text}","#));
    let (outcome, job) = routed(&body, &RouteSettings::default());
    assert_eq!(
        outcome.verdict,
        Verdict::Routed,
        "{}",
        outcome.explain.reason
    );
    let everyone = ["render01", "render02", "gpu.node3", "r1", "r10", "new7"];
    for host in everyone {
        let runs = !full(&job["hosts_mask_exclude"], host);
        assert_eq!(runs, hosts.contains(&host), "{text}: {host}");
    }
    assert_eq!(
        job[ROUTED_KEY], text,
        "the mark keeps the reference as written"
    );
    // Read again (the mark), the job gets the same masks.
    let again = serde_json::json!({ "job": job }).to_string();
    let (_, twice) = routed(&again, &RouteSettings::default());
    assert_eq!(twice["hosts_mask_exclude"], job["hosts_mask_exclude"]);
}

#[rstest]
#[case("gpu|nope", "pool expression 'gpu|nope': unknown pool 'nope'")]
#[case(
    "gpu|",
    "'gpu|' is neither a pool nor a valid pool expression: a pool name is missing at the end at column 5"
)]
#[case(
    "!gpu",
    "pool expression '!gpu': it names every host outside some pools; start from a pool, as in 'gpu&!old'"
)]
fn a_refused_expression_follows_the_unknown_pool_policy(#[case] text: &str, #[case] problem: &str) {
    let body = job(&format!(r#""pool":"{text}","#));
    let hold = with(|s| s.on_unknown_pool = Policy::Hold);
    let (held, job) = routed(&body, &hold);
    assert_eq!(held.verdict, Verdict::Held);
    assert_eq!(job["annotation"], format!("[afpool: held: {problem}]"));
    assert_eq!(job["hosts_mask_exclude"], ".*");
    let reject = with(|s| s.on_unknown_pool = Policy::Reject);
    let err = run(&body, &reject).unwrap_err();
    assert!(matches!(&err, Rejection::Policy { pool, .. } if pool == text));
    assert!(err.to_string().ends_with(problem), "{err}");
}

#[test]
fn a_pool_named_like_an_expression_is_that_pool() {
    let pools = vec![
        Pool::new("a&b", ["r1"]),
        Pool::new("a", ["render01"]),
        Pool::new("b", ["render01"]),
    ];
    let inv = Inventory::new(
        pools,
        vec![RenderInfo::named("r1"), RenderInfo::named("render01")],
    );
    let body = job(r#""pool":"a&b","#);
    let outcome = route(body.as_bytes(), &RouteSettings::default(), &inv).unwrap();
    let v: Value = serde_json::from_slice(&outcome.body.unwrap()).unwrap();
    assert!(!full(&v["job"]["hosts_mask_exclude"], "r1"));
    assert!(full(&v["job"]["hosts_mask_exclude"], "render01"));
}
