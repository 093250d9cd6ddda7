//! The masks afpool writes, read by the regex engine afserver 3.4 uses on Linux: libstdc++'s
//! `std::regex` (ECMAScript, `regex_match`), through a small C++ harness compiled with the
//! machine's C++ compiler (`$CXX`, else `c++`). Each mask must compile (libstdc++ refuses more than
//! 100,000 NFA states, and afserver then ignores the mask) and keep off exactly the hosts outside
//! the pool, case-sensitively and, as afserver 3.3 read masks, case-insensitively. The last test
//! goes through the proxy to the fake afserver and reads the mask the fake received.

mod common;
#[path = "common/std_regex_harness.rs"]
mod std_regex_harness;

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use afpool::job::{route, Inventory, MaskMode, RouteSettings, Verdict};
use afpool::protocol::encode;
use afpool::renders::RenderInfo;
use afpool::store::Pool;
use serde_json::Value;
use std_regex_harness::harness;

/// For each name, whether libstdc++ matches the whole name; `Err` when it refuses the pattern.
fn std_regex(pattern: &str, names: &[String], icase: bool) -> Result<Vec<bool>, String> {
    let mut child = Command::new(harness())
        .args(icase.then_some("icase"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("harness runs");
    let mut input = format!("{pattern}\n");
    for n in names {
        input.push_str(n);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "harness crashed on a {} byte pattern",
        pattern.len()
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if let Some(err) = text.strip_prefix("ERROR ") {
        return Err(err.trim().to_string());
    }
    Ok(text.lines().map(|l| l == "1").collect())
}

/// Routes a job for `pool` in the farm and returns the job mask afpool wrote under `key`.
fn written_mask(farm: &[String], pool: &[String], settings: &RouteSettings, key: &str) -> String {
    let pools = vec![Pool::new("p", pool)];
    let renders = farm.iter().map(|n| RenderInfo::named(n)).collect();
    let inv = Inventory::new(pools, renders);
    let body =
        br#"{"job":{"name":"j","user_name":"u","pool":"p","blocks":[{"tasks":[{"name":"t"}]}]}}"#;
    let out = route(body, settings, &inv).expect("routes");
    assert_eq!(out.verdict, Verdict::Routed, "{}", out.explain.reason);
    let job: Value = serde_json::from_slice(&out.body.unwrap()).unwrap();
    job["job"][key].as_str().unwrap().to_string()
}

/// The mask must compile in libstdc++ and match exactly the names `hit` says, case-sensitively
/// (afserver 3.4) and case-insensitively (afserver 3.3: `hit` is asked about the name with ASCII
/// letters lowercased; libstdc++ folds byte by byte in the C locale).
fn check(pattern: &str, names: &[String], hit: impl Fn(&str) -> bool) {
    let exact = std_regex(pattern, names, false)
        .unwrap_or_else(|e| panic!("std::regex refuses the {} byte mask: {e}", pattern.len()));
    let icase = std_regex(pattern, names, true).unwrap();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(exact[i], hit(name), "{name} in {pattern}");
        let folded = name.to_ascii_lowercase();
        assert_eq!(icase[i], hit(&folded), "{name} (icase) in {pattern}");
    }
}

/// `farm` plus near misses (every name upper-cased, cut short by one and extended by one, which
/// afserver never listed: hosts that register later) and names of other shapes.
fn with_near_misses(farm: &[String]) -> Vec<String> {
    let mut names = farm.to_vec();
    for n in farm.iter().step_by(7) {
        names.push(n.to_uppercase());
        names.push(n.chars().take(n.chars().count() - 1).collect());
        names.push(format!("{n}0"));
        names.push(format!("x{n}"));
    }
    names.extend(["", "a", "new-render", "render", "héte", "ü"].map(String::from));
    names
}

/// Routes a pool job and checks its exclude mask: every name that is not a member (listed or
/// not, any spelling) is excluded, and no member (afserver's spelling, lowercase pool names).
fn check_exclude(farm: Vec<String>, pool: Vec<String>) -> String {
    let mask = written_mask(
        &farm,
        &pool,
        &RouteSettings::default(),
        "hosts_mask_exclude",
    );
    let members: HashSet<String> = pool.iter().cloned().collect();
    check(&mask, &with_near_misses(&farm), |n| !members.contains(n));
    mask
}

#[test]
fn numbered_farm_exclude_mask() {
    let farm: Vec<String> = (1..=5000).map(|i| format!("render{i:05}")).collect();
    let pool = farm[2000..2025].to_vec();
    let mask = check_exclude(farm, pool);
    assert!(mask.len() < 200, "{mask}");
}

#[test]
fn farm_larger_than_a_plain_alternation_can_be() {
    // 12,000 names of 26 characters: a plain alternation would need ~350,000 states.
    let farm: Vec<String> = (0..300)
        .flat_map(|rack| (0..40).map(move |n| format!("node-{rack:03}-{n:02}.farm.example")))
        .collect();
    let pool = farm[400..520].to_vec();
    check_exclude(farm, pool);
}

#[test]
fn irregular_names_exclude_mask() {
    let mut rng = fastrand::Rng::with_seed(0x1234_5678_9abc_def1);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-._";
    let farm: Vec<String> = (0..3000)
        .map(|i| {
            let len = 3 + i % 10;
            (0..len)
                .map(|_| char::from(alphabet[rng.usize(..alphabet.len())]))
                .collect::<String>()
        })
        .collect::<HashSet<String>>()
        .into_iter()
        .collect();
    let pool = farm.iter().step_by(30).cloned().collect();
    check_exclude(farm, pool);
}

#[test]
fn merged_user_exclude_and_non_ascii_members() {
    let mut farm: Vec<String> = (1..=400).map(|i| format!("render{i:04}")).collect();
    farm.extend(["hôte-01", "hôte-02", "rendü", "gpu.node3"].map(String::from));
    let mut pool: Vec<String> = farm[..200].to_vec();
    pool.extend(["hôte-01", "rendü"].map(String::from));
    let renders = farm.iter().map(|n| RenderInfo::named(n)).collect();
    let inv = Inventory::new(vec![Pool::new("p", &pool)], renders);
    let body = br#"{"job":{"name":"j","user_name":"u","pool":"p","hosts_mask_type":"regex","hosts_mask_exclude":"render00[0-4][0-9]|h.te-0[2-9]","blocks":[{"tasks":[{"name":"t"}]}]}}"#;
    let out = route(body, &RouteSettings::default(), &inv).expect("routes");
    assert_eq!(out.verdict, Verdict::Routed, "{}", out.explain.reason);
    let job: Value = serde_json::from_slice(&out.body.unwrap()).unwrap();
    let mask = job["job"]["hosts_mask_exclude"].as_str().unwrap();
    assert!(
        mask.starts_with("(render00[0-4][0-9]|h.te-0[2-9])|((?!(?:"),
        "{mask}"
    );
    let members: HashSet<&str> = pool.iter().map(String::as_str).collect();
    let user = regex::Regex::new("^(?:render00[0-4][0-9]|h.te-0[2-9])$").unwrap();
    let mut names = with_near_misses(&farm);
    names.extend(["HÔTE-01", "rendÜ", "hôte-1", "hote-01"].map(String::from));
    check(mask, &names, |n| !members.contains(n) || user.is_match(n));
}

#[test]
fn include_mask_for_a_large_pool() {
    let farm: Vec<String> = (1..=3000).map(|i| format!("gpu{i:04}.render")).collect();
    let pool: Vec<String> = farm[100..1700].to_vec();
    let include = RouteSettings {
        mask_mode: MaskMode::Include,
        ..RouteSettings::default()
    };
    let mask = written_mask(&farm, &pool, &include, "hosts_mask");
    let hit: HashSet<String> = pool.iter().cloned().collect();
    check(&mask, &with_near_misses(&farm), |n| hit.contains(n));
}

#[test]
fn plain_alternations_past_the_limit_are_what_afserver_refuses() {
    // Why masks are written as trees: the plain alternation of 8,000 numbered renders is refused.
    let farm: Vec<String> = (1..=8000).map(|i| format!("render{i:05}")).collect();
    let err = std_regex(&farm.join("|"), &farm[..1], false).unwrap_err();
    assert!(err.contains("NFA states"), "{err}");
    let small: Vec<String> = farm[..5000].to_vec();
    assert_eq!(
        std_regex(&small.join("|"), &small[..1], false),
        Ok(vec![true])
    );
}

#[tokio::test]
async fn through_the_proxy_a_farm_too_large_for_a_plain_mask() {
    // 9,000 renders: a plain exclude mask would need ~117,000 states and afserver would ignore it.
    let farm: Vec<String> = (1..=9000).map(|i| format!("render{i:04}")).collect();
    let fake = common::FakeAfserver::start(common::FakeConfig {
        renders: farm.iter().map(|n| (n.clone(), true)).collect(),
        ..common::FakeConfig::default()
    })
    .await;
    let members = &farm[99..199];
    let pool = common::pool("p", &members.iter().map(String::as_str).collect::<Vec<_>>());
    let proxy = common::spawn_proxy(fake.addr, vec![pool], RouteSettings::default()).await;
    let body = br#"{"job": {"name": "j", "user_name": "u", "pool": "p", "blocks": [{"tasks": [{"name": "t"}]}]}}"#;
    let reply = common::send(proxy.addr, &encode::text_request(body)).await;
    assert!(common::reply_json(&reply)["id"].as_i64().unwrap() > 0);
    let jobs = fake.jobs();
    let mask = jobs[0]["hosts_mask_exclude"].as_str().unwrap();
    assert!(mask.len() < 200, "{mask}");
    let members: HashSet<&String> = members.iter().collect();
    check(mask, &with_near_misses(&farm), |n| {
        !members.contains(&n.to_string())
    });
}
