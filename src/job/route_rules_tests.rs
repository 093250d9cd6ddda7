//! Table tests for the default pool rules in [`super::route`]: a job naming no pool gets the
//! first rule that holds (then routed as if it had named that pool: policy, masks), else the
//! otherwise; with no rules stored, `default_pool`; a job naming a pool never reads the rules.

use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

use super::*;
use crate::job::policy::PoolPolicy;
use crate::job::rules::DefaultRules;
use crate::renders::RenderInfo;
use crate::store::Pool;

/// af.py's job, afcmd's, the web GUI's, and af.py's with its block service `nuke`, without
/// their own hosts masks (read in find mode they leave no host of these pools) and without the
/// pool afcmd's names in `custom_data`: here they name none.
fn captured() -> [(&'static str, String); 4] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let read = |p: &str| {
        let text = String::from_utf8(std::fs::read(root.join(p)).unwrap()).unwrap();
        // The web GUI's capture is an HTTP request: its body starts at the first brace.
        let mut v: Value = serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
        let job = v["job"].as_object_mut().unwrap();
        for key in ["hosts_mask", "hosts_mask_exclude", "custom_data"] {
            job.remove(key);
        }
        for block in job["blocks"].as_array_mut().unwrap() {
            block.as_object_mut().unwrap().remove("hosts_mask");
        }
        v.to_string()
    };
    let afpy = read("jobs/01-afpy-numeric/input.json");
    let nuke = afpy.replace("\"generic\"", "\"nuke\"");
    assert_ne!(afpy, nuke);
    [
        ("af.py", afpy),
        ("afcmd", read("jobs/04-afcmd-send/input.json")),
        ("web gui", read("captures/06-http-submit-job.request.bin")),
        ("nuke", nuke),
    ]
}

fn inv(rules: Option<&str>) -> Inventory {
    let renders = ["render01", "render02", "comp1", "gpu1"].map(RenderInfo::named);
    let students = PoolPolicy {
        deny: crate::job::policy::Acl {
            networks: vec!["10.9.0.0/16".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let pools = vec![
        Pool::new("farm", ["render01", "render02"]),
        Pool::new("comp", ["comp1"]),
        Pool {
            policy: students,
            ..Pool::new("gpu", ["gpu1"])
        },
    ];
    let rules = rules.map(|r| serde_json::from_str::<DefaultRules>(r).unwrap());
    Inventory::new(pools, renders.into()).with_rules(rules.as_ref())
}

fn route_from(
    body: &str,
    inv: &Inventory,
    settings: &RouteSettings,
    peer: &str,
) -> Result<(Outcome, Value), Rejection> {
    let peer: IpAddr = peer.parse().unwrap();
    let routed = route_submission_from(body.as_bytes(), settings, inv, Some(peer)).unwrap()?;
    let v: Value = serde_json::from_slice(&routed.body.to_vec()).unwrap();
    Ok((routed.outcome, v["job"].clone()))
}

/// `verdict pool (source)` for a job.
fn show(o: &Outcome) -> String {
    let pool = o.pool.as_ref().map_or("-".into(), |p| {
        let source = serde_json::to_value(p.source).unwrap();
        format!("{} ({})", p.name, source.as_str().unwrap())
    });
    let verdict = serde_json::to_value(o.verdict).unwrap();
    format!("{} {pool}", verdict.as_str().unwrap())
}

const NUKE: &str = r#"{"when":"'nuke' in services","pool":"comp"}"#;

#[test]
fn rules_route_the_captured_jobs() {
    // (stored rules, default_pool, what [af.py, afcmd, web gui, nuke] get)
    let rows: Vec<(Option<String>, Option<&str>, [&str; 4])> = vec![
        (None, None, ["no_pool -"; 4]),
        (None, Some("farm"), ["routed farm (default)"; 4]),
        (
            Some(format!(r#"{{"rules":[{NUKE}]}}"#)),
            None,
            [
                "no_pool -",
                "no_pool -",
                "no_pool -",
                "routed comp (default_rule)",
            ],
        ),
        (
            // Stored rules replace default_pool, even an empty list saying "none".
            Some(r#"{"rules":[],"otherwise":"none"}"#.into()),
            Some("farm"),
            ["no_pool -"; 4],
        ),
        (
            Some(format!(
                r#"{{"rules":[{NUKE}],"otherwise":{{"pool":"farm"}}}}"#
            )),
            Some("gpu"),
            [
                "routed farm (default)",
                "routed farm (default)",
                "routed farm (default)",
                "routed comp (default_rule)",
            ],
        ),
        (
            Some(format!(r#"{{"rules":[{NUKE}],"otherwise":"hold"}}"#)),
            None,
            ["held -", "held -", "held -", "routed comp (default_rule)"],
        ),
    ];
    for (rules, default, want) in rows {
        let inv = inv(rules.as_deref());
        let settings = RouteSettings {
            default_pool: default.map(str::to_string),
            ..Default::default()
        };
        for ((who, body), want) in captured().iter().zip(want) {
            let (outcome, _) = route_from(body, &inv, &settings, "127.0.0.1").unwrap();
            assert_eq!(
                show(&outcome),
                want,
                "{who} with {rules:?}, default {default:?}"
            );
        }
    }
}

#[test]
fn a_matched_rule_routes_as_if_named_and_is_explained() {
    let rules = format!(r#"{{"rules":[{{"when":"user_name == 'nobody'","pool":"farm"}},{NUKE}]}}"#);
    let inv = inv(Some(&rules));
    let nuke = &captured()[3].1;
    let (outcome, job) = route_from(nuke, &inv, &RouteSettings::default(), "127.0.0.1").unwrap();
    let exclude = &job["hosts_mask_exclude"];
    assert!(full(exclude, "render01") && full(exclude, "never-seen") && !full(exclude, "comp1"));
    assert_eq!(
        job[ROUTED_KEY], "comp",
        "marked, so a second pass keeps it in comp"
    );
    assert!(
        job["annotation"]
            .as_str()
            .unwrap()
            .starts_with("[pool: comp]"),
        "{job}"
    );
    let rule = outcome.explain.rule.as_ref().unwrap();
    assert_eq!(rule.words(), "default rule 2 ('nuke' in services) → comp");
    assert!(outcome.explain.reason.starts_with("routed to pool 'comp'"));
    let line = outcome.summary();
    assert!(
        line.contains("pool 'comp' (default rule 2 ('nuke' in services) → comp): routed"),
        "{line}"
    );
    // Read again (a second proxy, a live re-target), the mark wins over changed rules.
    let again = serde_json::json!({ "job": job }).to_string();
    let other = inv_with(r#"{"rules":[],"otherwise":{"pool":"farm"}}"#);
    let (second, _) = route_from(&again, &other, &RouteSettings::default(), "127.0.0.1").unwrap();
    assert_eq!(show(&second), "routed comp (routed_mark)");
    assert_eq!(second.explain.rule, None);
}

fn inv_with(rules: &str) -> Inventory {
    inv(Some(rules))
}

#[test]
fn the_chosen_pools_policy_applies_and_address_is_a_fact() {
    let rules = r#"{"rules":[{"when":"address.startsWith('10.9.')","pool":"gpu"}]}"#;
    let inv = inv_with(rules);
    let afpy = &captured()[0].1;
    let settings = RouteSettings::default();
    // The rule sends students' addresses to gpu, whose policy refuses 10.9.0.0/16.
    let err = route_from(afpy, &inv, &settings, "10.9.1.2").unwrap_err();
    assert!(err.to_string().contains("10.9.0.0/16"), "{err}");
    let (outcome, _) = route_from(afpy, &inv, &settings, "10.1.1.2").unwrap();
    assert_eq!(show(&outcome), "no_pool -");
    assert_eq!(
        outcome.explain.rule.as_ref().map(|r| r.words()),
        Some("no default rule matched → no pool".into())
    );
}

#[test]
fn a_job_naming_a_pool_never_reads_the_rules_and_unknown_rule_pools_follow_the_policy() {
    let inv = inv_with(r#"{"rules":[{"when":"true","pool":"nope"}],"otherwise":"hold"}"#);
    let named = captured()[0]
        .1
        .replacen("\"name\":", "\"pool\": \"farm\", \"name\":", 1);
    let settings = RouteSettings::default();
    let (outcome, _) = route_from(&named, &inv, &settings, "127.0.0.1").unwrap();
    assert_eq!(
        (show(&outcome), outcome.explain.rule),
        ("routed farm (job_key)".into(), None)
    );
    let (outcome, job) = route_from(&captured()[0].1, &inv, &settings, "127.0.0.1").unwrap();
    assert_eq!(show(&outcome), "held nope (default_rule)");
    assert!(
        full(&job["hosts_mask_exclude"], "render01"),
        "fenced off every host"
    );
    assert!(outcome.explain.reason.contains("unknown pool 'nope'"));
}

#[test]
fn held_by_otherwise_is_paused_fenced_and_says_why() {
    let inv = inv_with(r#"{"rules":[],"otherwise":"hold"}"#);
    let (outcome, job) = route_from(
        &captured()[1].1,
        &inv,
        &RouteSettings::default(),
        "127.0.0.1",
    )
    .unwrap();
    assert_eq!(outcome.verdict, Verdict::Held);
    assert_eq!(job["offline"], true);
    let fence = &job["hosts_mask_exclude"];
    assert!(
        full(fence, "render01") && full(fence, "comp1"),
        "fenced off every host"
    );
    assert!(job.get(ROUTED_KEY).is_none());
    let annotation = job["annotation"].as_str().unwrap();
    assert!(
        annotation.starts_with("[afpool: held: it names no pool and no default pool rule matched"),
        "{annotation}"
    );
}

#[test]
fn rules_that_do_not_compile_hold() {
    let broken = DefaultRules {
        rules: vec![crate::job::rules::Rule {
            when: "services.exists(".into(),
            pool: "comp".into(),
        }],
        otherwise: Default::default(),
    };
    let inv =
        Inventory::new(vec![Pool::new("comp", ["comp1"])], Vec::new()).with_rules(Some(&broken));
    let (outcome, _) = route_from(
        &captured()[3].1,
        &inv,
        &RouteSettings::default(),
        "127.0.0.1",
    )
    .unwrap();
    assert_eq!(outcome.verdict, Verdict::Held);
}
