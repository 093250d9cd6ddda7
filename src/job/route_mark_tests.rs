//! Routing twice: the `afpool_routed` mark keeps a job in the pool the first pass chose, and a
//! forged mark is a pool reference, never a pass.

use rstest::rstest;
use serde_json::Value;

use super::{job, routed, run, with};
use crate::job::poolref::{PoolSource, NO_POOL_SENTINEL, ROUTED_KEY};
use crate::job::route::route;
use crate::job::settings::{MaskMode, RouteSettings};
use crate::job::Verdict;

// Found by fuzzing (fixtures/fuzz/route/): the job key outranks custom_data and is stripped, so
// on a second pass the mark written in its place must outrank custom_data too.
#[rstest]
#[case::key_over_custom_data(
    r#""pool":"cpu","custom_data":"{\"pool\":\"gpu\"}","#,
    Verdict::Routed
)]
#[case::unknown_key_over_custom_data(
    r#""pool":"nope","custom_data":"{\"pool\":\"cpu\"}","#,
    Verdict::Held
)]
fn a_second_pass_keeps_the_pool_the_first_chose(#[case] extra: &str, #[case] verdict: Verdict) {
    let settings = RouteSettings::default();
    let (first, job1) = routed(&job(extra), &settings);
    assert_eq!(first.verdict, verdict);
    let second = route(first.body.as_ref().unwrap(), &settings, &super::inv()).unwrap();
    assert_eq!(second.verdict, verdict);
    assert_eq!(second.pool.as_ref().unwrap().source, PoolSource::RoutedMark);
    let job2: Value = serde_json::from_slice(&second.body.unwrap()).unwrap();
    assert_eq!(job2["job"], job1);
}

#[rstest]
#[case(MaskMode::Exclude, r#""pool":"gpu","hosts_mask_exclude":"gpu.node9","#)]
#[case(MaskMode::Include, r#""pool":"cpu","hosts_mask":"render01","#)]
#[case(
    MaskMode::Both,
    r#""hosts_mask":"pool:cpu render0","hosts_mask_exclude":"x","#
)]
fn routing_twice_writes_the_same_masks(#[case] mode: MaskMode, #[case] extra: &str) {
    let settings = with(|s| s.mask_mode = mode);
    let (first, job1) = routed(&job(extra), &settings);
    assert_eq!(first.verdict, Verdict::Routed);
    // A second afpool (afsubmit into a proxy, two proxies) routes it again: same masks. Its
    // default pool does not apply: the mark names the pool.
    let again = with(|s| {
        s.mask_mode = mode;
        s.default_pool = Some("r".into());
    });
    let second = route(first.body.as_ref().unwrap(), &again, &super::inv()).unwrap();
    assert_eq!(second.verdict, Verdict::Routed);
    assert_eq!(second.pool.as_ref().unwrap().source, PoolSource::RoutedMark);
    let job2: Value = serde_json::from_slice(&second.body.unwrap()).unwrap();
    assert_eq!(job2["job"], job1);
}

#[test]
fn a_forged_mark_is_a_pool_reference_not_a_pass() {
    let forged = job(r#""afpool_routed":"gpu","hosts_mask_exclude":"x","#);
    let (outcome, routed_job) = routed(&forged, &RouteSettings::default());
    assert_eq!(outcome.verdict, Verdict::Routed);
    assert_eq!(
        routed_job["hosts_mask_exclude"],
        "(x.*)|((?!(?:gpu[.]node3)$).*)"
    );
    let nothing = job_with_mark(NO_POOL_SENTINEL);
    let out = run(&nothing, &with(|s| s.default_pool = Some("r".into()))).unwrap();
    assert_eq!(
        out.pool.unwrap().source,
        PoolSource::Default,
        "the sentinel names nothing"
    );
    // Held jobs carry the mark too; a job without a pool does not.
    let (_, held) = routed(&job(r#""pool":"nope","#), &RouteSettings::default());
    assert_eq!(held[ROUTED_KEY], "nope");
    let plain = run(&job(""), &RouteSettings::default()).unwrap();
    assert!(plain.body.is_none());
}

fn job_with_mark(mark: &str) -> String {
    job(&format!(r#""afpool_routed":{},"#, Value::from(mark)))
}
