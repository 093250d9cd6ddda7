//! `afpool hosts`: every render afserver knows, with the afpool pools it belongs to, plus pool
//! members afserver does not know (flagged: a typo there silently shrinks a pool).

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use serde::Serialize;

use crate::cli::HostsArgs;
use crate::config::Config;
use crate::natural;
use crate::renders::{self, RenderInfo};
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
    /// afpool pools the host is a member of.
    pub pools: Vec<String>,
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
    let list = renders::fetch(&upstream)
        .await
        .context("cannot list afserver's renders")?;
    let pools = super::open_store(&config).await?.list().await?;
    let report = report(&list, &pools);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", human(&report));
    }
    Ok(())
}

/// Join renders and pools (host names compared case-insensitively).
pub fn report(renders: &[RenderInfo], pools: &[Pool]) -> HostsReport {
    let mut pools_by_host: HashMap<String, Vec<String>> = HashMap::new();
    for pool in pools {
        for host in &pool.hosts {
            let names = pools_by_host.entry(host.to_ascii_lowercase()).or_default();
            if names.last() != Some(&pool.name) {
                names.push(pool.name.clone());
            }
        }
    }
    let pools_of = |host: &str| {
        let found = pools_by_host.get(&host.to_ascii_lowercase());
        found.cloned().unwrap_or_default()
    };
    let mut rows: Vec<HostRow> = renders
        .iter()
        .map(|r| HostRow {
            name: r.name.clone(),
            online: r.online,
            busy: r.busy,
            nimby: r.nimby,
            state: state_word(r),
            af_pool: r.af_pool.clone(),
            pools: pools_of(&r.name),
        })
        .collect();
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
                r.pools.join(","),
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
        let r = report(&renders, &pools);
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
    }
}
