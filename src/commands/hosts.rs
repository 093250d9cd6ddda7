//! `afpool hosts`: every render afserver knows, with the afpool pools it belongs to and why
//! (`static`, the values a pool's rule read, a member window and when it next joins or leaves),
//! plus pool members afserver does not know (flagged: a typo there silently shrinks a pool).
//! Pools are resolved as the proxy resolves them, at the time of asking.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use serde::Serialize;

use crate::cli::HostsArgs;
use crate::config::Config;
use crate::natural;
use crate::renders::{self, RenderInfo};
use crate::select::resolve::members_of_all;
use crate::store::Pool;

/// One render with its pools.
#[derive(Debug, Serialize, PartialEq)]
pub struct HostRow {
    /// Render name as afserver spells it.
    pub name: String,
    /// Online in afserver.
    pub online: bool,
    /// Running tasks.
    pub busy: bool,
    /// nimby or NIMBY: takes no new tasks.
    pub nimby: bool,
    /// One word: `offline`, `busy`, `nimby` or `online` (the first that applies).
    pub state: &'static str,
    /// Afanasy's native pool path.
    pub af_pool: Option<String>,
    /// afpool pools the host is a member of now.
    pub pools: Vec<String>,
    /// Each pool naming or selecting it, with why; outside its windows it is listed here but
    /// not in `pools`.
    pub why: Vec<PoolWhy>,
}

/// Why a render is (or, outside its windows, is not now) in one pool.
#[derive(Debug, Serialize, PartialEq)]
pub struct PoolWhy {
    /// The pool.
    pub pool: String,
    /// Whether it is a member now.
    pub member_now: bool,
    /// `static`, the rule's values, plus its windows and next change
    /// ([`crate::select::resolve::Member::describe`]).
    pub why: String,
}

/// A pool member afserver does not know.
#[derive(Debug, Serialize, PartialEq)]
pub struct UnknownMember {
    /// The member as stored in the pool.
    pub host: String,
    /// Pools naming it.
    pub pools: Vec<String>,
}

/// The whole report.
#[derive(Debug, Serialize, PartialEq)]
pub struct HostsReport {
    /// Renders afserver knows.
    pub renders: Vec<HostRow>,
    /// Pool members afserver does not know.
    pub unknown_members: Vec<UnknownMember>,
}

/// Run `afpool hosts`.
pub async fn run(mut config: Config, args: HostsArgs) -> anyhow::Result<()> {
    if let Some(up) = args.upstream {
        config.upstream = Some(up);
    }
    let upstream = config.upstream()?;
    let pools = super::open_store(&config).await?.list().await?;
    let list = match pools.iter().any(|p| p.selection.select.is_some()) {
        true => renders::fetch_with_resources(&upstream).await,
        false => renders::fetch(&upstream).await,
    };
    let list = list.context("cannot list afserver's renders")?;
    let report = report(&list, &pools, jiff::Timestamp::now());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", human(&report));
    }
    Ok(())
}

/// Join renders and pools resolved at `now` (host names compared case-insensitively).
pub fn report(renders: &[RenderInfo], pools: &[Pool], now: jiff::Timestamp) -> HostsReport {
    let mut why_by_host: HashMap<String, Vec<PoolWhy>> = HashMap::new();
    for (pool, members) in pools.iter().zip(members_of_all(pools, renders, now)) {
        for m in members {
            let rows = why_by_host.entry(m.host.to_ascii_lowercase()).or_default();
            if rows.last().is_none_or(|w| w.pool != pool.name) {
                rows.push(PoolWhy {
                    pool: pool.name.clone(),
                    member_now: m.member_now,
                    why: m.describe(),
                });
            }
        }
    }
    let mut why_of = |host: &str| {
        why_by_host
            .remove(&host.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let mut rows: Vec<HostRow> = renders
        .iter()
        .map(|r| {
            let why = why_of(&r.name);
            HostRow {
                name: r.name.clone(),
                online: r.online,
                busy: r.busy,
                nimby: r.nimby,
                state: state_word(r),
                af_pool: r.af_pool.clone(),
                pools: now_in(&why),
                why,
            }
        })
        .collect();
    let mut stored_by_host: HashMap<String, Vec<String>> = HashMap::new();
    for pool in pools {
        for host in &pool.hosts {
            let names = stored_by_host.entry(host.to_ascii_lowercase()).or_default();
            if names.last() != Some(&pool.name) {
                names.push(pool.name.clone());
            }
        }
    }
    let pools_of = |host: &str| {
        let found = stored_by_host.get(&host.to_ascii_lowercase());
        found.cloned().unwrap_or_default()
    };
    natural::sort_by_name(&mut rows, |r| &r.name);
    let mut seen: HashSet<String> = renders
        .iter()
        .map(|r| r.name.to_ascii_lowercase())
        .collect();
    let mut unknown: Vec<UnknownMember> = Vec::new();
    for host in pools.iter().flat_map(|p| &p.hosts) {
        if seen.insert(host.to_ascii_lowercase()) {
            unknown.push(UnknownMember {
                host: host.clone(),
                pools: pools_of(host),
            });
        }
    }
    natural::sort_by_name(&mut unknown, |u| &u.host);
    HostsReport {
        renders: rows,
        unknown_members: unknown,
    }
}

/// The pools of `why` it is a member of now.
fn now_in(why: &[PoolWhy]) -> Vec<String> {
    why.iter()
        .filter(|w| w.member_now)
        .map(|w| w.pool.clone())
        .collect()
}

/// `offline`, `busy`, `nimby` or `online`: the first that applies.
pub fn state_word(render: &RenderInfo) -> &'static str {
    match render {
        r if !r.online => "offline",
        r if r.busy => "busy",
        r if r.nimby => "nimby",
        _ => "online",
    }
}

fn human(report: &HostsReport) -> String {
    let yes_no = |b: bool, y: &str, n: &str| if b { y.to_string() } else { n.to_string() };
    let mut rows: Vec<Vec<String>> = report
        .renders
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                yes_no(r.online, "online", "offline"),
                yes_no(r.busy, "busy", "idle"),
                r.af_pool.clone().unwrap_or_default(),
                r.why
                    .iter()
                    .map(|w| format!("{} ({})", w.pool, w.why))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    for u in &report.unknown_members {
        rows.push(vec![
            u.host.clone(),
            "UNKNOWN to afserver".into(),
            "-".into(),
            "-".into(),
            u.pools.join(","),
        ]);
    }
    let mut out =
        crate::table::render(&["HOST", "STATE", "LOAD", "AF POOL", "AFPOOL POOLS"], &rows);
    if !report.unknown_members.is_empty() {
        out.push_str(&format!(
            "{} pool member(s) unknown to afserver: check the spelling (afserver names renders by short hostname)\n",
            report.unknown_members.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_renders_and_pools_case_insensitively_and_flags_strangers() {
        let renders = vec![
            RenderInfo::named("render01"),
            RenderInfo {
                online: false,
                ..RenderInfo::named("gpu.node3")
            },
        ];
        let pools = vec![
            Pool::new("gpu", ["GPU.node3", "gpu.nod3"]),
            Pool::new("all", ["render01", "gpu.node3"]),
        ];
        let r = report(&renders, &pools, jiff::Timestamp::now());
        assert_eq!(r.renders[0].name, "gpu.node3");
        assert_eq!(r.renders[0].pools, ["gpu", "all"]);
        assert_eq!(r.renders[1].pools, ["all"]);
        assert_eq!(
            r.unknown_members,
            [UnknownMember {
                host: "gpu.nod3".into(),
                pools: vec!["gpu".into()]
            }]
        );
        assert!(human(&r).contains("UNKNOWN to afserver"));
        assert!(
            human(&r).contains("gpu (static); all (static)"),
            "{}",
            human(&r)
        );
    }

    #[test]
    fn says_why_by_rule_and_window() {
        let renders = vec![RenderInfo::named("ws-1"), RenderInfo::named("gpu01")];
        let mut night = Pool::new("night", ["ws-1"]);
        let during = &mut night.selection.during;
        during.insert("ws-1".into(), vec!["Mon-Fri 19:00-07:00".into()]);
        night.selection.time_zone = Some("Europe/Berlin".into());
        night.selection.select = Some("name.startsWith(\"gpu\")".into());
        // Monday 2026-12-07, 12:00 in Berlin.
        let noon: jiff::Timestamp = "2026-12-07T11:00:00Z".parse().unwrap();
        let r = report(&renders, &[night], noon);
        let gpu = &r.renders[0];
        assert_eq!(
            (gpu.name.as_str(), gpu.pools.as_slice()),
            ("gpu01", &["night".to_string()][..])
        );
        assert_eq!(gpu.why[0].why, "name=\"gpu01\"");
        let ws = &r.renders[1];
        assert!(ws.pools.is_empty(), "outside its window");
        assert_eq!(
            ws.why,
            [PoolWhy {
                pool: "night".into(),
                member_now: false,
                why: "static, window Mon-Fri 19:00-07:00 (not a member now; joins Mon 19:00 CET)"
                    .into(),
            }]
        );
        assert!(human(&r).contains("night (static, window Mon-Fri"));
    }
}
