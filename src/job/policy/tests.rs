//! Table tests of [`evaluate`] over the captured af.py, afcmd and web GUI jobs.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::job::envelope::Envelope;

/// The job bodies: af.py (numeric block), afcmd `json send` (two blocks), the web GUI (no
/// priority, no capacity).
fn captured() -> Vec<(&'static str, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    let gui = read("captures/06-http-submit-job.request.bin");
    let at = gui.iter().position(|b| *b == b'{').unwrap();
    vec![
        (
            "af.py",
            String::from_utf8(read("jobs/01-afpy-numeric/input.json")).unwrap(),
        ),
        (
            "afcmd",
            String::from_utf8(read("jobs/04-afcmd-send/input.json")).unwrap(),
        ),
        ("web gui", String::from_utf8(gui[at..].to_vec()).unwrap()),
    ]
}

fn policy(json: &str) -> PoolPolicy {
    serde_json::from_str::<PoolPolicy>(json)
        .unwrap()
        .validated()
        .unwrap()
}

/// Evaluates `p` on each captured job; the refusing rule (or `None`) and the job as forwarded.
fn run(p: &PoolPolicy, peer: &str) -> Vec<(&'static str, Evaluation, serde_json::Value)> {
    let compiled = Compiled::new(p);
    captured()
        .into_iter()
        .map(|(who, body)| {
            let mut env = Envelope::parse(body.as_bytes()).unwrap();
            let job = env.job_mut().unwrap();
            let eval = evaluate(job, "lighting", &compiled, Some(peer.parse().unwrap()));
            let after: serde_json::Value = serde_json::from_slice(&env.to_vec()).unwrap();
            (who, eval, after["job"].clone())
        })
        .collect()
}

fn refused_rule(e: &Evaluation) -> Option<String> {
    match &e.refused {
        Some((Decision::Refused { rule, .. }, _)) => Some(rule.clone()),
        _ => None,
    }
}

#[test]
fn acl_table() {
    // (policy, peer, the rule that refuses each of af.py, afcmd, web gui — None: allowed)
    type Row = (&'static str, &'static str, [Option<&'static str>; 3]);
    let rows: &[Row] = &[
        ("{}", "127.0.0.1", [None, None, None]),
        (
            r#"{"allow":{"users":["artist"]}}"#,
            "127.0.0.1",
            [None, None, None],
        ),
        (
            r#"{"allow":{"users":["anna"]}}"#,
            "127.0.0.1",
            [Some("allow users (anna)"); 3],
        ),
        (
            r#"{"deny":{"users":["artist"]}}"#,
            "10.0.0.1",
            [Some("deny users (artist)"); 3],
        ),
        (
            r#"{"deny":{"hosts":["BROWSER-PC"]}}"#,
            "127.0.0.1",
            [None, None, Some("deny hosts (BROWSER-PC)")],
        ),
        (
            r#"{"allow":{"hosts":["workstation01"]}}"#,
            "127.0.0.1",
            [None, None, Some("allow hosts (workstation01)")],
        ),
        (
            r#"{"allow":{"networks":["127.0.0.0/8"]}}"#,
            "127.0.0.1",
            [None, None, None],
        ),
        (
            r#"{"allow":{"networks":["10.0.0.0/8"]}}"#,
            "127.0.0.1",
            [Some("allow networks (10.0.0.0/8)"); 3],
        ),
        (
            r#"{"deny":{"networks":["10.0.0.0/8","127.0.0.0/8"]}}"#,
            "::ffff:127.0.0.1",
            [Some("deny networks (10.0.0.0/8, 127.0.0.0/8)"); 3],
        ),
        (
            r#"{"allow":{"if":"priority <= 60"}}"#,
            "127.0.0.1",
            [
                Some("allow if \"priority <= 60\""),
                None,
                Some("allow if \"priority <= 60\""),
            ],
        ),
        (
            r#"{"deny":{"if":"name.startsWith(\"web\")"}}"#,
            "127.0.0.1",
            [None, None, Some("deny if \"name.startsWith(\\\"web\\\")\"")],
        ),
        (
            r#"{"services":["generic"]}"#,
            "127.0.0.1",
            [None, None, None],
        ),
        (
            r#"{"services":["maya"]}"#,
            "127.0.0.1",
            [Some("services (maya)"); 3],
        ),
    ];
    for (json, peer, want) in rows {
        let got: Vec<Option<String>> = run(&policy(json), peer)
            .iter()
            .map(|(_, e, _)| refused_rule(e))
            .collect();
        let want: Vec<Option<String>> = want.iter().map(|w| w.map(str::to_string)).collect();
        assert_eq!(got, want, "{json} from {peer}");
    }
}

#[test]
fn a_refused_job_is_left_as_it_came_and_the_verdict_is_the_pools() {
    let p = policy(
        r#"{"allow":{"users":["anna"]},"on_refused":"hold","limits":{"priority":{"max":10}}}"#,
    );
    for (who, eval, after) in run(&p, "127.0.0.1") {
        let (refusal, verdict) = eval.refused.clone().unwrap();
        assert_eq!(verdict, OnRefused::Hold, "{who}");
        assert!(
            refusal
                .to_string()
                .contains("user_name 'artist' is not listed"),
            "{refusal}"
        );
        assert_ne!(after["priority"], 10, "{who}: a refused job got a clamp");
    }
}

#[test]
fn defaults_and_clamps_land_in_job_and_blocks() {
    let p = policy(
        r#"{"limits":{
            "priority":{"default":40,"max":45},
            "max_running_tasks":{"max":8},
            "max_running_tasks_per_host":{"default":2},
            "capacity":{"default":500,"max":800},
            "need_memory":{"default":4096},
            "time_life":{"max":86400}},
          "depend_mask_global":"lighting_.*"}"#,
    );
    let results = run(&p, "127.0.0.1");
    for (who, eval, job) in &results {
        assert!(eval.refused.is_none(), "{who}");
        // af.py and afcmd set priority (99, 50): lowered; the web GUI sets none: the default.
        assert_eq!(
            job["priority"],
            if *who == "web gui" { 40 } else { 45 },
            "{who}"
        );
        assert_eq!(
            job["max_running_tasks"], 8,
            "{who}: no limit lowered to the max"
        );
        assert_eq!(job["max_running_tasks_per_host"], 2, "{who}");
        assert_eq!(job["time_life"], 86400, "{who}");
        assert_eq!(job["depend_mask_global"], "lighting_.*", "{who}");
        for block in job["blocks"].as_array().unwrap() {
            // af.py and afcmd write capacity 1000 (lowered to 800), the web GUI none (500).
            let capacity = if *who == "web gui" { 500 } else { 800 };
            assert_eq!(block["capacity"], capacity, "{who}");
            assert_eq!(block["need_memory"], 4096, "{who}");
        }
        // The masks are never touched.
        assert!(job["hosts_mask_type"].is_null() || *who == "af.py", "{who}");
    }
    let (_, afpy, _) = &results[0];
    assert_eq!(
        afpy.clamps_text().unwrap(),
        "priority 99→45, max_running_tasks unset→8, block 0 capacity 1000→800, time_life unset→86400"
    );
}

#[test]
fn clamp_edges() {
    // (limits, job keys, block keys, the job's and first block's values after)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        (&'static str, i64),
        (&'static str, i64),
    );
    let rows: &[Row] = &[
        // a value under the max stays; a string is as good as absent (afserver ignores it)
        (
            r#"{"priority":{"max":150}}"#,
            r#""priority":120"#,
            "",
            ("priority", 120),
            ("capacity", -7),
        ),
        (
            r#"{"priority":{"max":50}}"#,
            r#""priority":"250""#,
            "",
            ("priority", 50),
            ("capacity", -7),
        ),
        (
            r#"{"priority":{"max":150}}"#,
            r#""priority":250.0"#,
            "",
            ("priority", -7),
            ("capacity", -7),
        ),
        // a negative limit means none: lowered; a block's own over the max too, -1 in a block kept
        (
            r#"{"max_running_tasks":{"max":4}}"#,
            r#""max_running_tasks":-1"#,
            r#""max_running_tasks":9"#,
            ("max_running_tasks", 4),
            ("max_running_tasks", 4),
        ),
        (
            r#"{"max_running_tasks":{"max":4}}"#,
            r#""max_running_tasks":3"#,
            r#""max_running_tasks":-1"#,
            ("max_running_tasks", 3),
            ("max_running_tasks", -1),
        ),
        // a default does not replace a value the job set, even one over... nothing: no max
        (
            r#"{"capacity":{"default":10}}"#,
            "",
            r#""capacity":5000"#,
            ("priority", -7),
            ("capacity", 5000),
        ),
        (
            r#"{"capacity":{"max":2000}}"#,
            "",
            "",
            ("priority", -7),
            ("capacity", -7),
        ),
        (
            r#"{"capacity":{"max":900}}"#,
            "",
            "",
            ("priority", -7),
            ("capacity", 900),
        ),
    ];
    for (limits, job_keys, block_keys, (jk, jv), (bk, bv)) in rows {
        let p = policy(&format!(r#"{{"limits":{limits}}}"#));
        let sep = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{s},")
            }
        };
        let body = format!(
            r#"{{"job":{{{}"name":"j","user_name":"u","blocks":[{{{}"name":"b"}}]}}}}"#,
            sep(job_keys),
            sep(block_keys)
        );
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        evaluate(env.job_mut().unwrap(), "p", &Compiled::new(&p), None);
        let after: serde_json::Value = serde_json::from_slice(&env.to_vec()).unwrap();
        let job = &after["job"];
        let value = |v: &serde_json::Value| v.as_i64().unwrap_or(-7);
        assert_eq!(value(&job[jk]), *jv, "{limits} {job_keys}: job {jk}");
        assert_eq!(
            value(&job["blocks"][0][bk]),
            *bv,
            "{limits} {block_keys}: block {bk}"
        );
    }
}

#[test]
fn validation_refuses_what_cannot_work() {
    let cases: &[(&str, &str)] = &[
        (r#"{"allow":{"networks":["10.1.2.3/16"]}}"#, "10.1.0.0/16"),
        (
            r#"{"deny":{"networks":["studio"]}}"#,
            "no IPv4 or IPv6 address",
        ),
        (
            r#"{"allow":{"if":"priority >= 10 && ram > 4"}}"#,
            "column 19",
        ),
        (r#"{"limits":{"priority":{"max":300}}}"#, "outside 0..=250"),
        (
            r#"{"limits":{"priority":{"default":200,"max":150}}}"#,
            "over max 150",
        ),
        (
            r#"{"limits":{"max_running_tasks":{"max":-1}}}"#,
            "clear it instead",
        ),
        (
            r#"{"depend_mask_global":"a(b"}"#,
            "not a regex afserver accepts",
        ),
        (r#"{"depend_mask_global":"a\\.b"}"#, "unescaped"),
    ];
    for (json, why) in cases {
        let p: PoolPolicy = serde_json::from_str(json).unwrap();
        let e = p.validated().expect_err(json).to_string();
        assert!(e.contains(why), "{json}: {e}");
    }
    let p: PoolPolicy = serde_json::from_str(
        r#"{"allow":{"users":[" anna ","anna",""],"hosts":["WS1","ws1"]},"services":[]}"#,
    )
    .unwrap();
    let v = p.validated().unwrap();
    assert_eq!(
        (v.allow.users, v.allow.hosts),
        (vec!["anna".into()], vec!["WS1".into()])
    );
    let empty = PoolPolicy {
        limits: BTreeMap::from([(LimitKey::Capacity, Limit::default())]),
        ..PoolPolicy::default()
    };
    assert!(empty.validated().unwrap().is_empty());
}

#[test]
fn stored_shape_is_small_and_named() {
    let p = policy(r#"{"allow":{"users":["anna"],"if":"true"},"limits":{"priority":{"max":150}}}"#);
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        r#"{"allow":{"users":["anna"],"if":"true"},"limits":{"priority":{"max":150}}}"#
    );
    assert_eq!(serde_json::to_string(&PoolPolicy::default()).unwrap(), "{}");
}

#[test]
fn a_broken_stored_policy_refuses_every_job() {
    let p = PoolPolicy {
        allow: Acl {
            networks: vec!["nope".into()],
            ..Acl::default()
        },
        ..PoolPolicy::default()
    };
    for (who, eval, _) in run(&p, "127.0.0.1") {
        let (d, _) = eval.refused.expect(who);
        assert!(
            d.to_string().contains("stored network 'nope' is invalid"),
            "{d}"
        );
    }
}
