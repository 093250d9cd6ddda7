//! Table tests of the guard on job edits.

use super::*;
use crate::job::MaskMode;
use crate::store::Pool;
use rstest::rstest;
use serde_json::json;

fn inventory() -> Inventory {
    let pools = vec![
        Pool::new("gpu", ["gpu.node3", "render01"]),
        Pool::new("cpu", ["r1", "r10"]),
    ];
    Inventory::new(pools, Vec::new())
}

fn registered(id: i64) -> Option<PoolJob> {
    (id < 10).then(|| PoolJob {
        job_id: id,
        pool: "gpu".into(),
        user: "ann".into(),
        job_name: format!("shot{id}"),
        submitted_at: bson::DateTime::from_millis(0),
        masks_written: JobMasks::default(),
        user_masks: JobMasks::default(),
        mask_mode: MaskMode::Exclude,
        serial: None,
        held: None,
    })
}

fn edit(ids: &[i64], params: Value) -> Vec<u8> {
    let action = json!({"action": {"type": "jobs", "ids": ids, "user_name": "ann",
        "host_name": "ws1", "params": params}});
    serde_json::to_vec(&action).unwrap()
}

fn run(body: &[u8]) -> Guarded {
    guard(body, registered, &RouteSettings::default(), &inventory())
}

fn rewritten(g: Guarded) -> (Value, Vec<Vec<u8>>, Vec<Change>) {
    match g {
        Guarded::Rewrite {
            body,
            extra,
            changes,
            ..
        } => (serde_json::from_slice(&body).unwrap(), extra, changes),
        other => panic!("not rewritten: {other:?}"),
    }
}

#[rstest]
#[case::not_a_mask_edit(edit(&[1], json!({"priority": 10})))]
#[case::not_registered(edit(&[11, 12], json!({"hosts_mask": ".*"})))]
#[case::a_get(br#"{"get":{"type":"jobs","hosts_mask":"x"}}"#.to_vec())]
#[case::renders(br#"{"action":{"type":"renders","ids":[1],"params":{"hosts_mask":"x"}}}"#.to_vec())]
#[case::block_level(br#"{"action":{"type":"jobs","ids":[1],"block_ids":[0],"params":{"hosts_mask":".*"}}}"#.to_vec())]
fn other_requests_are_relayed(#[case] body: Vec<u8>) {
    assert_eq!(run(&body), Guarded::Relay);
}

#[test]
fn a_widening_edit_stays_in_the_pool() {
    let (body, extra, changes) = rewritten(run(&edit(
        &[1],
        json!({"hosts_mask_exclude": "", "hosts_mask_type": "regex", "priority": 5}),
    )));
    let params = &body["action"]["params"];
    let exclude = params["hosts_mask_exclude"].as_str().unwrap();
    assert!(exclude.contains("gpu"), "{exclude}");
    assert_eq!(
        (
            params["hosts_mask_type"].as_str(),
            params["priority"].as_i64()
        ),
        (Some("regex"), Some(5))
    );
    assert_eq!(body["action"]["user_name"], "ann");
    assert!(extra.is_empty());
    assert!(matches!(&changes[..], [Change::Keep(j)] if j.pool == "gpu"));
}

#[test]
fn a_pool_token_moves_and_pool_none_releases() {
    let (body, _, changes) = rewritten(run(&edit(&[1], json!({"hosts_mask": "pool:cpu"}))));
    let exclude = body["action"]["params"]["hosts_mask_exclude"]
        .as_str()
        .unwrap();
    assert!(
        exclude.contains("r1") && !exclude.contains("gpu"),
        "{exclude}"
    );
    assert!(
        matches!(&changes[..], [Change::Keep(j)] if j.pool == "cpu" && j.user_masks.hosts_mask.as_deref() == Some(""))
    );
    let (body, _, changes) = rewritten(run(&edit(&[2], json!({"hosts_mask": "pool:none"}))));
    assert_eq!(body["action"]["params"]["hosts_mask_exclude"], "");
    assert!(matches!(&changes[..], [Change::Release(j)] if j.job_id == 2));
}

#[test]
fn unregistered_jobs_of_an_edit_keep_it_in_a_second_action() {
    let (body, extra, changes) =
        rewritten(run(&edit(&[1, 20, 2], json!({"hosts_mask_exclude": "x"}))));
    assert_eq!(body["action"]["ids"], json!([1, 2]));
    assert_eq!(changes.len(), 2);
    let second: Value = serde_json::from_slice(&extra[0]).unwrap();
    assert_eq!(
        (
            second["action"]["ids"].clone(),
            second["action"]["params"].clone()
        ),
        (json!([20]), json!({"hosts_mask_exclude": "x"}))
    );
}

#[rstest]
#[case::unknown_pool(edit(&[1], json!({"hosts_mask": "pool:nope"})))]
#[case::outside_the_pool(edit(&[1], json!({"hosts_mask": "r1", "hosts_mask_type": "regex"})))]
#[case::token_in_a_block(br#"{"action":{"type":"jobs","ids":[1],"block_ids":[0],"params":{"hosts_mask":"pool:cpu"}}}"#.to_vec())]
fn impossible_edits_are_refused(#[case] body: Vec<u8>) {
    assert!(matches!(run(&body), Guarded::Refuse(_)));
}

/// The web GUI's priority edit (capture 29: job 7 to priority 120) of a job of pool gpu, whose
/// maximum is 100: lowered to 100; mask edits are clamped too; a block's capacity as well.
#[test]
fn an_edit_raising_a_clamped_value_is_clamped() {
    let policy = serde_json::from_value(json!({"limits": {
        "priority": {"max": 100}, "capacity": {"max": 2000}}}))
    .unwrap();
    let pools = vec![Pool {
        policy,
        ..Pool::new("gpu", ["gpu.node3", "render01"])
    }];
    let inv = Inventory::new(pools, Vec::new());
    let run = |body: &[u8]| guard(body, registered, &RouteSettings::default(), &inv);
    let capture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/captures/29-text-action-jobs-priority.request.bin"
    ))
    .unwrap();
    let body = &capture[capture.iter().position(|b| *b == b'{').unwrap()..];
    let (sent, extra, changes) = rewritten(run(body));
    assert_eq!(sent["action"]["params"], json!({"priority": 100}));
    assert_eq!(sent["action"]["ids"], json!([7]));
    assert!(extra.is_empty() && changes.is_empty());
    // Jobs outside any registered pool keep the edit in their own action.
    let (sent, extra, _) = rewritten(run(&edit(&[1, 11], json!({"priority": 250}))));
    assert_eq!(sent["action"]["params"]["priority"], 100);
    let other: Value = serde_json::from_slice(&extra[0]).unwrap();
    assert_eq!(
        (
            &other["action"]["ids"],
            &other["action"]["params"]["priority"]
        ),
        (&json!([11]), &json!(250))
    );
    // What was lowered, for the audit and `afpool_clamped_total`.
    let Guarded::Rewrite { clamped, .. } = run(&edit(&[1, 11], json!({"priority": 250}))) else {
        panic!("not rewritten");
    };
    let want = EditClamp {
        job_id: 1,
        job_name: "shot1".into(),
        pool: "gpu".into(),
        clamps: vec!["priority 250→100".into()],
    };
    assert_eq!(clamped, [want]);
    assert_eq!(clamped[0].keys().collect::<Vec<_>>(), ["priority"]);
    // Under the maximum: relayed byte for byte.
    assert_eq!(run(&edit(&[1], json!({"priority": 90}))), Guarded::Relay);
    // With a mask edit.
    let (sent, _, _) = rewritten(run(&edit(
        &[1],
        json!({"hosts_mask_exclude": "", "hosts_mask_type": "regex", "priority": 200}),
    )));
    assert_eq!(sent["action"]["params"]["priority"], 100);
    // A block's capacity.
    let block =
        br#"{"action":{"type":"jobs","ids":[1],"block_ids":[0],"params":{"capacity":5000}}}"#;
    let (sent, _, _) = rewritten(run(block));
    assert_eq!(sent["action"]["params"]["capacity"], 2000);
    assert_eq!(sent["action"]["block_ids"], json!([0]));
}

/// A `pool:` token may not move a job into a pool that checks who submits: the edit is routed as
/// a live job, around the check. Within its own pool the edit still goes through.
#[test]
fn an_edit_does_not_move_a_job_around_a_pool_acl() {
    let policy = serde_json::from_value(json!({"allow": {"users": ["ann"]}})).unwrap();
    let pools = vec![
        Pool {
            policy,
            ..Pool::new("gpu", ["gpu.node3", "render01"])
        },
        Pool {
            policy: serde_json::from_value(json!({"deny": {"hosts": ["kiosk"]}})).unwrap(),
            ..Pool::new("cpu", ["r1", "r10"])
        },
    ];
    let inv = Inventory::new(pools, Vec::new());
    let run = |body: &[u8]| guard(body, registered, &RouteSettings::default(), &inv);
    let Guarded::Refuse(why) = run(&edit(&[1], json!({"hosts_mask": "pool:cpu"}))) else {
        panic!("moved around cpu's ACL");
    };
    assert!(why.contains("checks who submits"), "{why}");
    let (sent, _, _) = rewritten(run(&edit(&[1], json!({"hosts_mask": "render"}))));
    assert!(
        sent["action"]["params"]["hosts_mask_exclude"].is_string(),
        "{sent}"
    );
}
