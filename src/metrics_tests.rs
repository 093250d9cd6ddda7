//! Table tests of the metrics: labels, reasons and gauges.

use super::*;
use rstest::rstest;

#[rstest]
#[case("held (paused): unknown pool 'gpu'", "unknown_pool")]
#[case(
    "held (paused): it names no pool and no default pool rule matched (otherwise: hold)",
    "no_rule"
)]
#[case(
    "held (paused): pool 'gpu' policy refuses it: allow users (a): user_name 'b'",
    "acl"
)]
#[case(
    "job 'x' not accepted: pool 'unknown pool 'a'' policy refuses it: deny if",
    "acl"
)]
#[case("job 'j' of u not accepted: pool 'gpu' has no hosts", "empty_pool")]
#[case(
    "held (paused): the hosts masks of block 'comp' leave no host of pool 'gpu'",
    "no_host_left"
)]
#[case(
    "passed without routing: pool 'x' needs ... ; split the pool",
    "mask_too_large"
)]
#[case("something new", "other")]
fn reasons_are_bounded(#[case] text: &str, #[case] reason: &str) {
    assert_eq!(reason_of(text), reason);
}

#[test]
fn unknown_pools_share_one_label_and_gauges_follow_the_state() {
    let m = Metrics::new();
    let policy = |pool: &str| Rejection::Policy {
        pool: pool.into(),
        message: format!("job 'j' not accepted: unknown pool '{pool}'"),
    };
    m.job_rejected(&policy("typo1"));
    m.job_rejected(&policy("typo2"));
    m.upstream_error();
    let renders = [
        RenderInfo::named("a"),
        RenderInfo {
            online: false,
            ..RenderInfo::named("b")
        },
    ];
    let pools = [Pool::new("gpu", ["A", "b", "c"])];
    m.set_state(StateView {
        store_available: true,
        pools: &pools,
        renders: &renders,
        render_list_age: None,
    });
    let text = m.encode();
    let has = |line: &str| text.lines().any(|l| l == line);
    assert!(
        has(r#"afpool_jobs_total{pool="(unknown)",verdict="rejected",reason="unknown_pool"} 2"#),
        "{text}"
    );
    assert!(has("afpool_upstream_errors_total 1"), "{text}");
    assert!(has(r#"afpool_pool_hosts{pool="gpu"} 3"#), "{text}");
    assert!(has(r#"afpool_pool_hosts_online{pool="gpu"} 1"#), "{text}");
    assert!(
        has("afpool_store_available 1") && has("afpool_pools 1"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}
