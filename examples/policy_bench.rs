//! Times what a pool's policy costs routing (issue 28): the af.py capture routed into a pool
//! without a policy and into the same pool with 5 ACL entries (allow users, deny hosts, allow
//! networks, deny networks, allow if) and 6 defaults and clamps, alternating in one process, from
//! a client address; and the same job naming no pool, sent into that pool by the last of 20
//! default pool rules (the 19 before it read services, users, hosts, names and `custom_data`).
//! Prints `{"plain_us":..,"policy_us":..,"extra_us":..,"rules_us":..,"rules_extra_us":..,
//! "jobs":..}` (time per job on one thread, best of 5 rounds); `scripts/bench.sh` reports it.

use std::net::IpAddr;
use std::time::Instant;

use afpool::job::policy::PoolPolicy;
use afpool::job::rules::{DefaultRules, Otherwise, Rule};
use afpool::job::{route_submission_from, Inventory, RouteSettings};
use afpool::renders::RenderInfo;
use afpool::store::Pool;
use anyhow::Context;
use serde_json::json;

fn inventory() -> anyhow::Result<Inventory> {
    let hosts: Vec<String> = (1..=50).map(|i| format!("render{i:02}")).collect();
    let policy: PoolPolicy = serde_json::from_value(json!({
        "allow": {"users": ["artist", "anna", "ben"], "networks": ["127.0.0.0/8", "10.1.0.0/16"],
                  "if": "priority <= 250 && !name.startsWith(\"test\")"},
        "deny": {"hosts": ["kiosk01"], "networks": ["10.9.0.0/16"]},
        "limits": {
            "priority": {"max": 150}, "max_running_tasks": {"max": 40},
            "max_running_tasks_per_host": {"default": 2}, "capacity": {"max": 800},
            "need_memory": {"default": 2048}, "time_life": {"max": 86400}}
    }))?;
    let renders = hosts.iter().map(|h| RenderInfo::named(h)).collect();
    let pools = vec![
        Pool::new("plain", &hosts),
        Pool {
            policy: policy.validated()?,
            ..Pool::new("limited", &hosts)
        },
    ];
    Ok(Inventory::new(pools, renders).with_rules(Some(&rules()?)))
}

/// 20 rules; only the last holds for the af.py job.
fn rules() -> anyhow::Result<DefaultRules> {
    let mut rules = Vec::new();
    for i in 0..19 {
        let when = match i % 5 {
            0 => format!("'nuke{i}' in services"),
            1 => format!("user_name == \"student{i}\""),
            2 => format!("host_name.startsWith(\"kiosk{i}\")"),
            3 => format!("name.contains(\"_comp{i}_\")"),
            _ => format!("project == \"show{i}\""),
        };
        rules.push(Rule {
            when,
            pool: format!("pool{i}"),
        });
    }
    rules.push(Rule {
        when: "'generic' in services && user_name == \"artist\"".into(),
        pool: "limited".into(),
    });
    let rules = DefaultRules {
        rules,
        otherwise: Otherwise::Hold,
    };
    rules.compile().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(rules)
}

/// The af.py job into `pool` (`None`: naming none).
fn body(pool: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/jobs/01-afpy-numeric/input.json"
    );
    let mut job: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    if let Some(pool) = pool {
        job["job"]["pool"] = json!(pool);
    }
    job["job"]["hosts_mask"] = json!("render.*");
    Ok(serde_json::to_vec(&job)?)
}

/// Time per job (µs, one thread) of `n` routings of `body`.
fn time(body: &[u8], n: usize, inv: &Inventory, peer: IpAddr) -> anyhow::Result<f64> {
    let settings = RouteSettings {
        assume_mask_type: afpool::job::MaskType::Regex,
        ..RouteSettings::default()
    };
    let started = Instant::now();
    for _ in 0..n {
        let routed = route_submission_from(body, &settings, inv, Some(peer))
            .context("a submission")?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        std::hint::black_box(routed.body.len());
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / n as f64)
}

fn main() -> anyhow::Result<()> {
    let jobs: usize = std::env::args()
        .skip_while(|a| a != "--jobs")
        .nth(1)
        .map_or(Ok(20_000), |n| n.parse())?;
    let inv = inventory()?;
    let peer: IpAddr = "127.0.0.1".parse()?;
    let (plain, limited) = (body(Some("plain"))?, body(Some("limited"))?);
    let unnamed = body(None)?;
    time(&plain, 1000, &inv, peer)?;
    time(&limited, 1000, &inv, peer)?;
    time(&unnamed, 1000, &inv, peer)?;
    let (mut best_plain, mut best_policy, mut best_rules) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..5 {
        best_plain = best_plain.min(time(&plain, jobs, &inv, peer)?);
        best_policy = best_policy.min(time(&limited, jobs, &inv, peer)?);
        best_rules = best_rules.min(time(&unnamed, jobs, &inv, peer)?);
    }
    println!(
        "{}",
        json!({
            "plain_us": (best_plain * 100.0).round() / 100.0,
            "policy_us": (best_policy * 100.0).round() / 100.0,
            "extra_us": ((best_policy - best_plain) * 100.0).round() / 100.0,
            "rules_us": (best_rules * 100.0).round() / 100.0,
            "rules_extra_us": ((best_rules - best_plain) * 100.0).round() / 100.0,
            "jobs": jobs,
        })
    );
    Ok(())
}
