//! Table tests for [`super::route`]: pool sources, masks, policies, shield, byte preservation.

use rstest::rstest;
use serde_json::Value;

use super::*;
use crate::job::poolref::{PoolSource, NO_POOL_SENTINEL};
use crate::job::settings::{MaskMode, MaskType};
use crate::renders::RenderInfo;
use crate::store::Pool;

#[path = "route_policy_tests.rs"]
mod policy;

#[path = "route_mark_tests.rs"]
mod mark;

#[path = "route_expr_tests.rs"]
mod expr;

#[path = "route_acl_tests.rs"]
mod acl;

#[path = "route_rules_tests.rs"]
mod rules;

const BLOCK: &str = r#"{"name":"b","tasks":[{"name":"t","command":"c"}]}"#;

fn inv() -> Inventory {
    let pool = |name: &str, hosts: &[&str]| Pool::new(name, hosts);
    let mut r10 = RenderInfo::named("r10");
    r10.online = false;
    let renders = ["render01", "render02", "gpu.node3", "r1"]
        .map(RenderInfo::named)
        .into_iter()
        .chain([r10]);
    let pools = vec![
        pool("cpu", &["Render01", "render02"]),
        pool("gpu", &["gpu.node3"]),
        pool("r", &["r1"]),
        pool("empty", &[]),
        pool("all", &["render01", "render02", "gpu.node3", "r1", "r10"]),
    ];
    Inventory::new(pools, renders.collect())
}

/// A job envelope with `extra` job keys (each followed by a comma) and one task block.
fn job(extra: &str) -> String {
    format!(r#"{{"job":{{"name":"j","user_name":"u",{extra}"blocks":[{BLOCK}]}}}}"#)
}

fn run(body: &str, settings: &RouteSettings) -> Result<Outcome, Rejection> {
    route(body.as_bytes(), settings, &inv())
}

fn routed(body: &str, settings: &RouteSettings) -> (Outcome, Value) {
    let outcome = run(body, settings).unwrap();
    let bytes = outcome.body.clone().expect("a rewritten body");
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    (outcome, v["job"].clone())
}

/// Whether `pattern` matches all of `name`, read by an engine with look-ahead (fancy-regex).
fn full(pattern: &Value, name: &str) -> bool {
    let pattern = pattern.as_str().unwrap();
    fancy_regex::Regex::new(&format!("^(?:{pattern})$"))
        .unwrap()
        .is_match(name)
        .unwrap()
}

const CPU_EXCLUDE: &str = "(?!(?:render01|render02)$).*";

fn with(f: impl FnOnce(&mut RouteSettings)) -> RouteSettings {
    let mut s = RouteSettings::default();
    f(&mut s);
    s
}

#[rstest]
#[case(
    r#""pool":"r","custom_data":"{\"pool\":\"gpu\"}","#,
    PoolSource::JobKey
)]
#[case(
    r#""custom_data":"{\"pool\":\"r\"}","hosts_mask":"pool:gpu","#,
    PoolSource::CustomData
)]
#[case(
    r#""hosts_mask":"pool:r","hosts_mask_exclude":"pool:gpu","#,
    PoolSource::HostsMaskToken
)]
#[case(r#""hosts_mask_exclude":"pool:r","#, PoolSource::HostsMaskExcludeToken)]
#[case("", PoolSource::Default)]
fn each_pool_source_routes(#[case] extra: &str, #[case] source: PoolSource) {
    let settings = with(|s| s.default_pool = Some("r".into()));
    let (outcome, job) = routed(&job(extra), &settings);
    assert_eq!(outcome.verdict, Verdict::Routed);
    assert_eq!(
        outcome.pool,
        Some(PoolChoice {
            name: "r".into(),
            source
        })
    );
    assert!(job.get("pool").is_none());
    for key in ["hosts_mask", "hosts_mask_exclude"] {
        assert!(!job[key].to_string().contains("pool:"), "{job}");
    }
    assert_eq!(job["hosts_mask_type"], "regex");
    let ex = &job["hosts_mask_exclude"];
    assert!(full(ex, "r10") && full(ex, "never-seen") && !full(ex, "r1"));
}

#[rstest]
#[case("", None, false)]
#[case(r#""pool":"","#, Some("r"), true)]
#[case(r#""pool":"Don't use pool.","#, Some("r"), true)]
#[case(r#""custom_data":"{\"pool\":\"Don't use pool.\"}","#, Some("r"), false)]
#[case(
    r#""hosts_mask":"render01|pool:gpu","custom_data":"{\"pool\":\"\"}","#,
    None,
    true
)]
fn no_pool_forwards_unrouted(
    #[case] extra: &str,
    #[case] default: Option<&str>,
    #[case] rewritten: bool,
) {
    let settings = with(|s| s.default_pool = default.map(str::to_string));
    let body = job(extra);
    let outcome = run(&body, &settings).unwrap();
    assert_eq!(outcome.verdict, Verdict::NoPool);
    assert_eq!(outcome.body.is_some(), rewritten);
    assert_eq!(outcome.explain.hosts_excluded, 0);
    if let Some(out) = outcome.body {
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(v["job"].get("pool").is_none() && v["job"].get("hosts_mask_type").is_none());
        assert!(!v.to_string().contains("pool:"));
    }
    assert_eq!(NO_POOL_SENTINEL, "Don't use pool.");
}

#[test]
fn exclude_is_exact_dots_case_and_prefix_safe() {
    let (outcome, job) = routed(&job(r#""pool":"r","#), &RouteSettings::default());
    assert_eq!(job["hosts_mask_exclude"], "(?!(?:r1)$).*");
    let ex = &job["hosts_mask_exclude"];
    assert!(!full(ex, "r1"), "r1 is in the pool");
    assert!(full(ex, "r10"), "r10 is not, despite the shared prefix");
    assert!(full(ex, "xr1") && full(ex, "R1") && full(ex, ""));
    assert!(
        full(ex, "render99"),
        "a render afserver never listed is excluded too"
    );
    assert_eq!(outcome.explain.hosts_excluded, 4);
    let names =
        |hs: &[crate::job::HostState]| hs.iter().map(|h| h.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&outcome.explain.can_run.0), ["r1"]);
    assert_eq!(
        names(&outcome.explain.cannot_run.to_vec()),
        ["gpu.node3", "r10", "render01", "render02"]
    );
    assert!(!outcome.explain.cannot_run.to_vec()[1].online);
}

#[test]
fn pool_spelling_differs_from_afservers() {
    let (outcome, job) = routed(&job(r#""pool":"cpu","#), &RouteSettings::default());
    assert_eq!(job["hosts_mask_exclude"], CPU_EXCLUDE);
    assert_eq!(*outcome.explain.pool_hosts.0, ["render01", "render02"]);
}

#[rstest]
#[case(r#""hosts_mask_exclude":"render02","#, "(render02.*)|(CPU)")]
#[case(r#""hosts_mask_exclude":"r1,gpu","#, "(r1.*|gpu.*)|(CPU)")]
#[case(
    r#""hosts_mask_type":"regex","hosts_mask_exclude":"render02","#,
    "(render02)|(CPU)"
)]
#[case(r#""hosts_mask_exclude":"","#, "CPU")]
fn user_exclude_is_translated_and_merged(#[case] extra: &str, #[case] want: &str) {
    let (_, job) = routed(
        &job(&format!(r#""pool":"cpu",{extra}"#)),
        &RouteSettings::default(),
    );
    assert_eq!(job["hosts_mask_exclude"], want.replace("CPU", CPU_EXCLUDE));
}

#[test]
fn assumed_regex_mode_keeps_user_masks() {
    let settings = with(|s| s.assume_mask_type = MaskType::Regex);
    let (_, job) = routed(
        &job(r#""pool":"cpu","hosts_mask":"render0[12]","hosts_mask_exclude":"r1.*","#),
        &settings,
    );
    assert_eq!(job["hosts_mask"], "render0[12]");
    assert_eq!(job["hosts_mask_exclude"], format!("(r1.*)|({CPU_EXCLUDE})"));
}

#[test]
fn a_pool_of_every_known_host_still_excludes_new_hosts() {
    let body = job(r#""pool":"all","hosts_mask_type":"regex","hosts_mask_exclude":"r1","#);
    let (outcome, job) = routed(&body, &RouteSettings::default());
    let ex = &job["hosts_mask_exclude"];
    assert_eq!(ex, "(r1)|((?!(?:gpu[.]node3|r1|r10|render01|render02)$).*)");
    assert!(full(ex, "r1") && full(ex, "new01") && !full(ex, "r10"));
    assert_eq!(outcome.explain.hosts_excluded, 0);
}

#[test]
fn block_masks_are_translated_and_other_blocks_kept_verbatim() {
    let masked =
        r#"{"name":"m", "hosts_mask":"render0", "hosts_mask_exclude":"r1;gpu.n","tasks":[{}]}"#;
    let plain = r#"{"name":"p",  "tasks": [ {"command":"x"} ]}"#;
    let body = format!(r#"{{"job":{{"user_name":"u","pool":"cpu","blocks":[{masked},{plain}]}}}}"#);
    let out =
        String::from_utf8(run(&body, &RouteSettings::default()).unwrap().body.unwrap()).unwrap();
    assert!(out.contains(r#"{"name":"m","hosts_mask":"render0.*","hosts_mask_exclude":"r1.*|gpu[.]n.*","tasks":[{}]}"#), "{out}");
    assert!(out.contains(plain), "{out}");
    let regex_body = body.replace(
        r#""pool":"cpu""#,
        r#""pool":"cpu","hosts_mask_type":"regex""#,
    );
    let out = String::from_utf8(
        run(&regex_body, &RouteSettings::default())
            .unwrap()
            .body
            .unwrap(),
    )
    .unwrap();
    assert!(
        out.contains(masked),
        "regex-mode blocks stay byte-identical: {out}"
    );
}

#[rstest]
#[case(MaskMode::Include, "", Some("render01|render02"), None)]
#[case(
    MaskMode::Include,
    r#""hosts_mask":"render01","#,
    Some("render01"),
    None
)]
#[case(
    MaskMode::Both,
    r#""hosts_mask":"render0","#,
    Some("render01|render02"),
    Some(CPU_EXCLUDE)
)]
fn include_modes(
    #[case] mode: MaskMode,
    #[case] extra: &str,
    #[case] inc: Option<&str>,
    #[case] exc: Option<&str>,
) {
    let settings = with(|s| s.mask_mode = mode);
    let (outcome, job) = routed(&job(&format!(r#""pool":"cpu",{extra}"#)), &settings);
    assert_eq!(job.get("hosts_mask").and_then(Value::as_str), inc);
    assert_eq!(job.get("hosts_mask_exclude").and_then(Value::as_str), exc);
    let allowed = inc.unwrap().split('|').count();
    assert_eq!(outcome.explain.hosts_excluded, 5 - allowed);
    assert_eq!(outcome.explain.can_run.0.len(), allowed);
}

#[test]
fn include_with_no_matching_pool_host_follows_empty_pool_policy() {
    let settings = with(|s| s.mask_mode = MaskMode::Include);
    let (outcome, job) = routed(&job(r#""pool":"cpu","hosts_mask":"gpu","#), &settings);
    assert_eq!(outcome.verdict, Verdict::Held);
    assert_eq!(job["offline"], true);
    assert_eq!(
        job["hosts_mask"], "gpu.*",
        "held jobs keep their masks, as regexes"
    );
    assert_eq!(
        job["hosts_mask_exclude"], CPU_EXCLUDE,
        "and are fenced in their pool"
    );
}

#[test]
fn key_order_is_kept_and_new_keys_appended() {
    let body = job(
        r#""priority":5,"pool":"r","annotation":"[pool: r] mine","hosts_mask_exclude":"x","folders":{},"#,
    );
    let (_, job) = routed(&body, &RouteSettings::default());
    let keys: Vec<&str> = job
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "user_name",
            "priority",
            "annotation",
            "hosts_mask_exclude",
            "folders",
            "blocks",
            "hosts_mask_type",
            "afpool_routed"
        ]
    );
    assert_eq!(job["annotation"], "[pool: r] mine", "no double prefix");
}

#[test]
fn annotation_is_optional() {
    let body = job(r#""pool":"r","#);
    let (_, plain) = routed(&body, &with(|s| s.annotate = false));
    assert!(plain.get("annotation").is_none());
    let (_, tagged) = routed(&body, &RouteSettings::default());
    assert_eq!(tagged["annotation"], "[pool: r]");
}

#[test]
fn summary_and_explanation() {
    let (outcome, _) = routed(
        &job(r#""custom_data":"{\"pool\":\"gpu\"}","#),
        &RouteSettings::default(),
    );
    let line = outcome.summary();
    assert!(
        line.starts_with("job 'j' of user 'u': pool 'gpu' (custom_data): routed, 4 hosts excluded"),
        "{line}"
    );
    let e = serde_json::to_value(&outcome.explain).unwrap();
    assert_eq!(e["pool"]["source"], "custom_data");
    assert_eq!(e["masks_before"]["hosts_mask_type"], Value::Null);
    assert_eq!(e["masks_after"]["hosts_mask_type"], "regex");
    assert_eq!(e["pool_hosts"], serde_json::json!(["gpu.node3"]));
}

/// A big task-list job (timings are in scripts/bench.sh): routed, and its block written back byte
/// for byte.
#[test]
fn big_job_keeps_its_block_verbatim() {
    let task = r#"{"name":"f","command":"render --frame 1 --out /show/sq01/render"}"#;
    let block = format!(
        r#"{{"name":"b", "tasks":[{}]}}"#,
        vec![task; 20_000].join(", ")
    );
    let body =
        format!(r#"{{"job":{{"name":"big","user_name":"u","pool":"cpu","blocks":[{block}]}}}}"#);
    let outcome = route(body.as_bytes(), &RouteSettings::default(), &inv()).unwrap();
    assert_eq!(outcome.verdict, Verdict::Routed);
    let out = String::from_utf8(outcome.body.unwrap()).unwrap();
    assert!(out.contains(&block), "the block is copied verbatim");
}

#[rstest]
#[case(r#""pool":"gpu","serial":7,"#, Verdict::Routed)]
#[case(r#""serial":"7","#, Verdict::NoPool)]
#[case(r#""pool":"nosuch","serial":{"x":1},"#, Verdict::Held)]
fn a_jobs_own_serial_is_dropped(#[case] extra: &str, #[case] verdict: Verdict) {
    let (outcome, job) = routed(&job(extra), &RouteSettings::default());
    assert_eq!(outcome.verdict, verdict);
    assert!(job.get("serial").is_none(), "{job}");
    assert_eq!(job["name"], "j", "the rest is kept: {job}");
}
