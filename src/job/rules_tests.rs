//! Table tests of [`choose`] over the captured af.py, afcmd and web GUI jobs.

use std::path::Path;

use super::*;
use crate::job::envelope::Envelope;

/// af.py, afcmd, web GUI, and af.py's job with its block service `nuke`.
fn captured() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let read = |p: &str| String::from_utf8(std::fs::read(root.join(p)).unwrap()).unwrap();
    let gui = read("captures/06-http-submit-job.request.bin");
    let afpy = read("jobs/01-afpy-numeric/input.json");
    let nuke = afpy.replace("\"generic\"", "\"nuke\"");
    assert_ne!(afpy, nuke);
    vec![
        afpy,
        read("jobs/04-afcmd-send/input.json"),
        gui[gui.find('{').unwrap()..].to_string(),
        nuke,
    ]
}

fn facts(body: &str) -> JobFacts {
    let mut env = Envelope::parse(body.as_bytes()).unwrap();
    JobFacts::of(env.job_mut().unwrap(), None)
}

fn rules(json: &str) -> CompiledRules {
    serde_json::from_str::<DefaultRules>(json)
        .unwrap()
        .compile()
        .unwrap()
}

/// What each job got: `#N pool`, `pool` (otherwise), `none` or `hold`.
fn show(c: &Choice) -> String {
    match c {
        Choice::Rule { number, pool, .. } => format!("#{number} {pool}"),
        Choice::Otherwise {
            otherwise: Otherwise::Pool(p),
        } => p.clone(),
        Choice::Otherwise {
            otherwise: Otherwise::None,
        } => "none".into(),
        Choice::Otherwise {
            otherwise: Otherwise::Hold,
        } => "hold".into(),
    }
}

#[test]
fn rules_route_the_captured_jobs() {
    // (rules, what [af.py, afcmd, web gui, af.py as nuke] get)
    let nuke = r#"{"when":"'nuke' in services","pool":"comp"}"#;
    let rows: Vec<(String, [&str; 4])> = vec![
        ("{}".into(), ["none"; 4]),
        (
            format!(r#"{{"rules":[{nuke}]}}"#),
            ["none", "none", "none", "#1 comp"],
        ),
        (
            format!(r#"{{"rules":[{nuke}],"otherwise":"hold"}}"#),
            ["hold", "hold", "hold", "#1 comp"],
        ),
        (
            format!(r#"{{"rules":[{nuke}],"otherwise":{{"pool":"farm"}}}}"#),
            ["farm", "farm", "farm", "#1 comp"],
        ),
        (
            format!(
                r#"{{"rules":[{{"when":"host_name == 'browser-pc'","pool":"web"}},{nuke},
                {{"when":"user_name == 'artist'","pool":"lighting"}}]}}"#
            ),
            ["#3 lighting", "#3 lighting", "#1 web", "#2 comp"],
        ),
        (
            // a condition erring on a job (no such custom_data key) does not match
            r#"{"rules":[{"when":"custom_data.show == 'x'","pool":"a"},
                {"when":"host_name.startsWith('work')","pool":"b"}]}"#
                .into(),
            ["#2 b", "#2 b", "none", "#2 b"],
        ),
    ];
    let jobs: Vec<JobFacts> = captured().iter().map(|b| facts(b)).collect();
    for (json, want) in rows {
        let r = rules(&json);
        let got: Vec<String> = jobs.iter().map(|f| show(&choose(f, &r))).collect();
        assert_eq!(got, want, "{json}");
    }
}

#[test]
fn the_legacy_default_pool_is_the_trivial_list() {
    let f = facts(&captured()[0]);
    let c = choose(
        &f,
        &DefaultRules::from_default_pool(Some("farm"))
            .compile()
            .unwrap(),
    );
    assert_eq!(c.pool(), Some("farm"));
    let c = choose(
        &f,
        &DefaultRules::from_default_pool(None).compile().unwrap(),
    );
    assert_eq!((c.pool(), c.is_hold()), (None, false));
}

#[test]
fn bad_rules_are_refused_with_where() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"rules":[{"when":"true","pool":"a"},{"when":"ram > 4","pool":"b"}]}"#,
            "rule 2: condition \"ram > 4\": no job variable \"ram\"",
        ),
        (
            r#"{"rules":[{"when":"priority >= 10 && ram > 4","pool":"b"}]}"#,
            "column 19",
        ),
        (
            r#"{"rules":[{"when":"true","pool":" "}]}"#,
            "rule 1: the pool name is empty",
        ),
        (
            r#"{"otherwise":{"pool":""}}"#,
            "otherwise: the pool name is empty",
        ),
    ];
    for (json, want) in cases {
        let e = serde_json::from_str::<DefaultRules>(json)
            .unwrap()
            .compile()
            .expect_err(json);
        assert!(e.to_string().contains(want), "{json}: {e}");
    }
}
