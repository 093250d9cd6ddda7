//! Table tests for [`super::super::route`]: policies for unusable pools and the shield's texts.

use rstest::rstest;

use super::*;

#[rstest]
#[case("nope", "unknown pool 'nope'")]
#[case("empty", "pool 'empty' has no hosts")]
fn policies(#[case] pool: &str, #[case] problem: &str) {
    let body = job(&format!(
        r#""pool":"{pool}","annotation":"mine","hosts_mask":"r1","#
    ));
    let set = |p: Policy| with(|s| (s.on_unknown_pool, s.on_empty_pool) = (p, p));
    let (held, job) = routed(&body, &set(Policy::Hold));
    assert_eq!(held.verdict, Verdict::Held);
    assert_eq!(job["offline"], true);
    assert_eq!(job["annotation"], format!("[afpool: held: {problem}] mine"));
    // Fenced: find masks translated, every host excluded, so resuming it runs it nowhere.
    assert_eq!(
        (&job["hosts_mask"], &job["hosts_mask_type"]),
        (&Value::from("r1.*"), &Value::from("regex"))
    );
    assert_eq!(job["hosts_mask_exclude"], ".*");
    let (passed, job) = routed(&body, &set(Policy::Pass));
    assert_eq!(job["hosts_mask"], "r1", "passed jobs are not touched");
    assert_eq!(passed.verdict, Verdict::Passed);
    assert!(job.get("offline").is_none() && job.get("pool").is_none());
    assert_eq!(
        job["annotation"],
        format!("[afpool: passed: {problem}] mine")
    );
    let err = run(&body, &set(Policy::Reject)).unwrap_err();
    assert!(matches!(&err, Rejection::Policy { pool: p, .. } if p == pool));
    assert_eq!(
        err.to_string(),
        format!("afpool: job 'j' not accepted: {problem}")
    );
}

#[rstest]
#[case(
    r#"{"job":{"name":"x","user_name":"u","blocks":[]}}"#,
    "afpool: job 'x' has no blocks (afserver 3.4.1 crashes on such a job)"
)]
#[case(
    r#"{"job":{"name":"x","blocks":[{"tasks":[1]}]}}"#,
    "afpool: job 'x' has no user_name (afserver 3.4.1 crashes on such a job)"
)]
#[case(
    r#"{"job":[]}"#,
    "afpool: the request's 'job' is an array, not a job object"
)]
fn shield_texts(#[case] body: &str, #[case] text: &str) {
    assert_eq!(
        run(body, &RouteSettings::default())
            .unwrap_err()
            .to_string(),
        text
    );
}

#[test]
fn shield_applies_without_a_pool() {
    let capture = include_str!("../../fixtures/jobs/02-afpy-tasklist/input.json");
    let err = run(capture, &RouteSettings::default()).unwrap_err();
    assert_eq!(err.rule(), Some(ShieldRule::Backslash));
    let bad = job(r#""hosts_mask_type":"regex","hosts_mask":"render(","#);
    assert_eq!(
        run(&bad, &RouteSettings::default()).unwrap_err().rule(),
        Some(ShieldRule::InvalidRegex)
    );
    assert!(run("{\"job\":", &RouteSettings::default()).is_err());
}

/// 8,000 renders whose names share nothing past their first letters, as a farm of hand-named
/// workstations might: even as a prefix tree a mask naming all of them is past afserver's limit.
fn unshareable_farm() -> Inventory {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let names: Vec<String> = (0..8000)
        .map(|_| (0..14).map(|_| rng.lowercase()).collect())
        .collect();
    let pools = vec![Pool::new("one", &names[..1]), Pool::new("all", &names)];
    Inventory::new(pools, names.iter().map(|n| RenderInfo::named(n)).collect())
}

#[rstest::rstest]
#[case(MaskMode::Exclude, "hosts_mask_exclude")]
#[case(MaskMode::Include, "hosts_mask")]
fn a_mask_too_large_for_afserver_follows_the_empty_pool_policy(
    #[case] mode: MaskMode,
    #[case] key: &str,
) {
    let inv = unshareable_farm();
    let settings = with(|s| s.mask_mode = mode);
    let small = route(job(r#""pool":"one","#).as_bytes(), &settings, &inv).unwrap();
    assert_eq!(small.verdict, Verdict::Routed, "masks name members only");
    let out = route(job(r#""pool":"all","#).as_bytes(), &settings, &inv).unwrap();
    assert_eq!(out.verdict, Verdict::Held);
    let held: Value = serde_json::from_slice(&out.body.unwrap()).unwrap();
    let note = held["job"]["annotation"].as_str().unwrap();
    assert!(note.contains(&format!("{key} ")), "{note}");
    assert!(note.ends_with("split the pool]"), "{note}");
    assert_eq!(
        held["job"]["hosts_mask_exclude"], ".*",
        "fenced off every host"
    );
    assert!(held["job"].get("hosts_mask").is_none());
}
