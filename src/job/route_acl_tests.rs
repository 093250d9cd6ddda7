//! Table tests for the pools' policies in [`super::route`]: ACL verdicts, defaults and clamps
//! between the pool reference and the masks, expressions, and live jobs left alone.

use std::net::IpAddr;

use serde_json::Value;

use super::*;
use crate::job::policy::PoolPolicy;
use crate::renders::RenderInfo;
use crate::store::Pool;

const BLOCK: &str =
    r#"{"name":"b","service":"nuke","capacity":4000,"tasks":[{"name":"t","command":"c"}]}"#;

fn inv(cpu: &str, gpu: &str) -> Inventory {
    let policy = |json: &str| serde_json::from_str::<PoolPolicy>(json).unwrap();
    let renders = ["render01", "render02", "gpu1"].map(RenderInfo::named);
    let pools = vec![
        Pool {
            policy: policy(cpu),
            ..Pool::new("cpu", ["render01", "render02"])
        },
        Pool {
            policy: policy(gpu),
            ..Pool::new("gpu", ["gpu1"])
        },
    ];
    Inventory::new(pools, renders.into())
}

fn body(pool: &str, extra: &str) -> String {
    format!(
        r#"{{"job":{{"name":"j","user_name":"carl","host_name":"ws9","pool":"{pool}",{extra}"blocks":[{BLOCK}]}}}}"#
    )
}

fn route_from(body: &str, inv: &Inventory, peer: &str) -> Result<(Outcome, Value), Rejection> {
    let peer: IpAddr = peer.parse().unwrap();
    let settings = RouteSettings::default();
    let routed = route_submission_from(body.as_bytes(), &settings, inv, Some(peer)).unwrap()?;
    let v: Value = serde_json::from_slice(&routed.body.to_vec()).unwrap();
    Ok((routed.outcome, v["job"].clone()))
}

#[test]
fn refused_jobs_are_rejected_naming_the_rule_or_held_fenced() {
    // (cpu's policy, peer, the rejection's text or the verdict)
    let rows: &[(&str, &str, Result<Verdict, &str>)] = &[
        ("{}", "127.0.0.1", Ok(Verdict::Routed)),
        (
            r#"{"allow":{"users":["anna"]}}"#,
            "127.0.0.1",
            Err("allow users (anna): user_name 'carl' is not listed"),
        ),
        (
            r#"{"deny":{"hosts":["WS9"]}}"#,
            "127.0.0.1",
            Err("deny hosts (WS9): host_name 'ws9'"),
        ),
        (
            r#"{"allow":{"networks":["127.0.0.0/8"]}}"#,
            "127.0.0.1",
            Ok(Verdict::Routed),
        ),
        (
            r#"{"allow":{"networks":["10.0.0.0/8"]}}"#,
            "127.0.0.1",
            Err("client address 127.0.0.1 is in none"),
        ),
        (
            r#"{"deny":{"networks":["127.0.0.0/8"]}}"#,
            "::ffff:127.0.0.1",
            Err("deny networks (127.0.0.0/8): client address 127.0.0.1"),
        ),
        (
            r#"{"services":["maya"]}"#,
            "127.0.0.1",
            Err("services (maya): block 'b' has service 'nuke'"),
        ),
        (
            r#"{"allow":{"users":["anna"]},"on_refused":"hold"}"#,
            "127.0.0.1",
            Ok(Verdict::Held),
        ),
    ];
    for (policy, peer, want) in rows {
        let inv = inv(policy, "{}");
        let got = route_from(&body("cpu", ""), &inv, peer);
        match (got, want) {
            (Ok((outcome, job)), Ok(verdict)) => {
                assert_eq!(outcome.verdict, *verdict, "{policy}");
                if *verdict == Verdict::Held {
                    assert_eq!(job["offline"], true);
                    assert!(job["hosts_mask_exclude"].as_str().unwrap().contains(".*"));
                    let reason = &outcome.explain.reason;
                    assert!(
                        reason.contains("pool 'cpu' policy refuses it: allow users"),
                        "{reason}"
                    );
                    assert!(matches!(
                        outcome.explain.policy.last(),
                        Some(crate::job::policy::Decision::Refused { .. })
                    ));
                }
            }
            (Err(Rejection::Policy { pool, message }), Err(text)) => {
                assert_eq!(pool, "cpu");
                assert!(message.contains(text), "{policy}: {message}");
                assert!(message.starts_with("job 'j' not accepted: pool 'cpu' policy refuses it: "));
            }
            (got, want) => panic!("{policy}: {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn clamps_and_defaults_land_and_the_masks_are_the_same() {
    let clamp = r#"{"limits":{"priority":{"max":150},"capacity":{"max":2000},"max_running_tasks":{"default":5}}}"#;
    let (plain, plain_job) = route_from(
        &body("cpu", r#""priority":250,"#),
        &inv("{}", "{}"),
        "127.0.0.1",
    )
    .unwrap();
    let (outcome, job) = route_from(
        &body("cpu", r#""priority":250,"#),
        &inv(clamp, "{}"),
        "127.0.0.1",
    )
    .unwrap();
    assert_eq!(outcome.verdict, Verdict::Routed);
    assert_eq!(
        (&job["priority"], &job["max_running_tasks"]),
        (&150.into(), &5.into())
    );
    assert_eq!(job["blocks"][0]["capacity"], 2000);
    assert_eq!(
        job["annotation"],
        "[pool: cpu] priority 250→150, block 0 capacity 4000→2000"
    );
    assert_eq!(plain_job["annotation"], "[pool: cpu]");
    for key in ["hosts_mask", "hosts_mask_exclude", "hosts_mask_type"] {
        assert_eq!(job[key], plain_job[key], "{key}");
    }
    assert_eq!(outcome.explain.masks_after, plain.explain.masks_after);
    assert!(outcome
        .explain
        .reason
        .ends_with("; clamped: priority 250→150, block 0 capacity 4000→2000"));
    let kinds: Vec<String> = outcome
        .explain
        .policy
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "priority 250→150",
            "max_running_tasks 5 (default)",
            "block 0 capacity 4000→2000"
        ]
    );
    // A second pass (afsubmit into a proxy) finds nothing more to clamp and keeps one tag.
    let again = serde_json::to_string(&serde_json::json!({ "job": job })).unwrap();
    let (_, twice) = route_from(&again, &inv(clamp, "{}"), "127.0.0.1").unwrap();
    assert_eq!(twice["annotation"], job["annotation"]);
}

#[test]
fn expressions_pass_the_policy_of_every_pool_they_take_hosts_from() {
    let deny = r#"{"deny":{"users":["carl"]}}"#;
    let inv = inv("{}", deny);
    let refused = |reference: &str| match route_from(&body(reference, ""), &inv, "127.0.0.1") {
        Err(Rejection::Policy { pool, .. }) => Some(pool),
        Ok(_) => None,
        Err(e) => panic!("{reference}: {e}"),
    };
    assert_eq!(refused("cpu"), None);
    assert_eq!(refused("gpu"), Some("gpu".into()));
    assert_eq!(refused("cpu|gpu"), Some("cpu|gpu".into()));
    assert_eq!(refused("(gpu|cpu)&cpu"), Some("(gpu|cpu)&cpu".into()));
    assert_eq!(refused("cpu&!gpu"), None, "no host of gpu is taken");
}

#[test]
fn live_jobs_and_explanations_without_a_client() {
    let inv = inv(
        r#"{"allow":{"networks":["10.0.0.0/8"]},"deny":{"users":["anna"]}}"#,
        "{}",
    );
    let settings = RouteSettings::default();
    let b = body("cpu", "");
    // No client address: the network rule is noted as not checked, the user rule applies.
    let o = route(b.as_bytes(), &settings, &inv).unwrap();
    assert_eq!(o.verdict, Verdict::Routed);
    assert!(o
        .explain
        .policy
        .iter()
        .any(|d| d.to_string().contains("not checked (no client address)")));
    let anna = b.replace("carl", "anna");
    assert!(route(anna.as_bytes(), &settings, &inv).is_err());
    // A live job's masks computed again: no policy at all.
    let o = route_as(anna.as_bytes(), &settings, &inv, Admission::Live).unwrap();
    assert_eq!((o.verdict, o.explain.policy.len()), (Verdict::Routed, 0));
}
