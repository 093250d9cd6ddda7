//! The pools against afserver's renders and the routing settings, pure: members afserver does not
//! know (with the render probably meant), empty pools, masks afserver's regex engine would refuse
//! (the routing core's own check, [`Inventory::masks_fit`]), the default pool, and pools that
//! share hosts (information only).

use std::collections::HashSet;

use super::afserver::shorten;
use super::similar::{suggest, Suggestion};
use super::Check;
use crate::job::{Inventory, Policy, RouteSettings};
use crate::renders::RenderInfo;
use crate::store::Pool;

/// Every pool check; `renders` is `None` when afserver's render list could not be read.
pub fn checks(
    pools: &[Pool],
    renders: Option<&[RenderInfo]>,
    settings: &RouteSettings,
) -> Vec<Check> {
    let mut checks = vec![summary(pools)];
    checks.extend(default_pool(pools, settings));
    checks.extend(members(pools, renders));
    checks.push(empty(pools));
    checks.extend(masks(pools, renders.unwrap_or_default(), settings));
    checks.push(overlaps(pools));
    checks
}

fn summary(pools: &[Pool]) -> Check {
    if pools.is_empty() {
        return Check::warn(
            "pools",
            "the store holds no pools: every job naming a pool follows on_unknown_pool",
            "create one: afpool pool create NAME HOST...",
        );
    }
    let members: usize = pools.iter().map(|p| p.hosts.len()).sum();
    Check::ok("pools", format!("{} pools, {members} members", pools.len()))
}

fn default_pool(pools: &[Pool], settings: &RouteSettings) -> Option<Check> {
    let name = settings.default_pool.as_deref()?;
    Some(if pools.iter().any(|p| p.name == name) {
        Check::ok("default pool", format!("'{name}' exists"))
    } else {
        Check::fail(
            "default pool",
            format!(
                "default_pool '{name}' is not a pool: every job naming no pool follows \
                 on_unknown_pool ({})",
                policy_word(settings.on_unknown_pool)
            ),
            format!("afpool pool create {name} HOST..., or set default_pool to an existing pool"),
        )
    })
}

fn policy_word(policy: Policy) -> &'static str {
    match policy {
        Policy::Hold => "hold",
        Policy::Reject => "reject",
        Policy::Pass => "pass",
    }
}

/// One warning per pool with members afserver does not know, else one ok line.
fn members(pools: &[Pool], renders: Option<&[RenderInfo]>) -> Vec<Check> {
    let Some(renders) = renders else {
        return vec![Check::warn(
            "pool members",
            "not checked: afserver's render list could not be read",
            "see the afserver lines above",
        )];
    };
    let known: HashSet<String> = renders.iter().map(|r| r.name.to_lowercase()).collect();
    let names: Vec<&str> = renders.iter().map(|r| r.name.as_str()).collect();
    let mut checks = Vec::new();
    for pool in pools {
        let unknown: Vec<&String> = pool
            .hosts
            .iter()
            .filter(|h| !known.contains(&h.to_lowercase()))
            .collect();
        if !unknown.is_empty() {
            checks.push(unknown_members(pool, &unknown, &names));
        }
    }
    if checks.is_empty() {
        let detail = format!(
            "every member of {} pools is a render afserver knows",
            pools.len()
        );
        checks.push(Check::ok("pool members", detail));
    }
    checks
}

fn unknown_members(pool: &Pool, unknown: &[&String], renders: &[&str]) -> Check {
    let mut described = Vec::new();
    let (mut wrong, mut right) = (Vec::new(), Vec::new());
    for member in unknown {
        match suggest(member, renders) {
            Some(s) => {
                let why = match &s {
                    Suggestion::Qualified(r) => format!("{member} (afserver knows it as {r})"),
                    Suggestion::Typo(r) => format!("{member} (did you mean {r}?)"),
                };
                described.push(why);
                wrong.push(member.as_str());
                right.push(s.name().to_string());
            }
            None => described.push(member.to_string()),
        }
    }
    let described: Vec<&str> = described.iter().map(String::as_str).collect();
    let detail = format!(
        "{} of {} members are not renders afserver knows: {}",
        unknown.len(),
        pool.hosts.len(),
        shorten(&described, 10)
    );
    let fix = if wrong.is_empty() {
        "check the spelling (afserver names renders by their short hostname, as afrender \
         registers); a machine that never ran afrender is unknown until it does"
            .to_string()
    } else {
        format!(
            "afpool pool remove {name} {} && afpool pool add {name} {}",
            wrong.join(" "),
            right.join(" "),
            name = pool.name
        )
    };
    Check::warn(format!("pool {}: members", pool.name), detail, fix)
}

fn empty(pools: &[Pool]) -> Check {
    let empty: Vec<&str> = pools
        .iter()
        .filter(|p| p.hosts.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    if empty.is_empty() {
        return Check::ok("empty pools", "none");
    }
    Check::warn(
        "empty pools",
        format!(
            "{} without hosts (their jobs follow on_empty_pool): {}",
            empty.len(),
            shorten(&empty, 10)
        ),
        format!(
            "afpool pool add {} HOST..., or afpool pool delete {}",
            empty[0], empty[0]
        ),
    )
}

/// One failure per pool whose masks afserver would refuse, else one ok line.
fn masks(pools: &[Pool], renders: &[RenderInfo], settings: &RouteSettings) -> Vec<Check> {
    let inventory = Inventory::new(pools.to_vec(), renders.to_vec());
    let mut checks = Vec::new();
    let mut seen = HashSet::new();
    for pool in pools.iter().filter(|p| seen.insert(p.name.as_str())) {
        if let Some(Err(why)) = inventory.masks_fit(&pool.name, settings.mask_mode) {
            checks.push(Check::fail(
                format!("pool {}: mask", pool.name),
                format!("afserver would refuse the mask written for this pool, and ignore it ({why}); its jobs follow on_empty_pool"),
                "split the pool into smaller ones, or name its hosts so they share prefixes \
                 (render0001...render0500 fits in a few dozen bytes)",
            ));
        }
    }
    if checks.is_empty() {
        checks.push(Check::ok(
            "pool masks",
            "every pool's mask fits afserver's regex engine",
        ));
    }
    checks
}

/// Pairs of pools sharing hosts (information: a host may well be in several pools).
fn overlaps(pools: &[Pool]) -> Check {
    let mut pairs = Vec::new();
    for (i, a) in pools.iter().enumerate() {
        let hosts: HashSet<String> = a.hosts.iter().map(|h| h.to_lowercase()).collect();
        for b in &pools[i + 1..] {
            let shared = b
                .hosts
                .iter()
                .filter(|h| hosts.contains(&h.to_lowercase()))
                .count();
            if shared > 0 {
                pairs.push(format!("{} & {} ({shared})", a.name, b.name));
            }
        }
    }
    if pairs.is_empty() {
        return Check::ok("overlapping pools", "none");
    }
    let pairs: Vec<&str> = pairs.iter().map(String::as_str).collect();
    Check::ok(
        "overlapping pools",
        format!(
            "{} pairs share hosts (fine when meant): {}",
            pairs.len(),
            shorten(&pairs, 10)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn renders(names: &[&str]) -> Vec<RenderInfo> {
        names.iter().map(|n| RenderInfo::named(n)).collect()
    }

    fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}: {checks:#?}"))
    }

    #[test]
    fn a_healthy_farm_is_all_ok() {
        let pools = [
            Pool::new("gpu", ["GPU01", "gpu02"]),
            Pool::new("cpu", ["render01"]),
        ];
        let list = renders(&["gpu01", "gpu02", "render01"]);
        let checks = checks(&pools, Some(&list), &RouteSettings::default());
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        assert_eq!(find(&checks, "overlapping pools").detail, "none");
    }

    #[test]
    fn strangers_empties_overlaps_and_a_missing_default() {
        let pools = [
            Pool::new("gpu", ["gpu01.studio.lan", "gpu.nod3", "ghost", "gpu01"]),
            Pool::new("all", ["gpu.node3", "gpu01"]),
            Pool::new("night", Vec::<String>::new()),
        ];
        let list = renders(&["gpu01", "gpu.node3"]);
        let settings = RouteSettings {
            default_pool: Some("day".into()),
            ..RouteSettings::default()
        };
        let checks = checks(&pools, Some(&list), &settings);
        let members = find(&checks, "pool gpu: members");
        assert_eq!(members.status, Status::Warn);
        assert!(
            members
                .detail
                .contains("gpu01.studio.lan (afserver knows it as gpu01)"),
            "{members:?}"
        );
        assert!(members
            .detail
            .contains("gpu.nod3 (did you mean gpu.node3?)"));
        assert_eq!(
            members.fix.as_deref(),
            Some("afpool pool remove gpu gpu01.studio.lan gpu.nod3 && afpool pool add gpu gpu01 gpu.node3")
        );
        assert!(checks.iter().all(|c| c.name != "pool all: members"));
        assert_eq!(find(&checks, "empty pools").status, Status::Warn);
        assert!(find(&checks, "empty pools").detail.ends_with(": night"));
        assert_eq!(find(&checks, "default pool").status, Status::Fail);
        assert_eq!(
            find(&checks, "overlapping pools").detail,
            "1 pairs share hosts (fine when meant): gpu & all (1)"
        );
    }

    #[test]
    fn without_a_render_list_members_are_not_checked() {
        let checks = checks(&[Pool::new("gpu", ["x"])], None, &RouteSettings::default());
        assert_eq!(find(&checks, "pool members").status, Status::Warn);
        assert_eq!(find(&checks, "pool masks").status, Status::Ok);
    }

    #[test]
    fn a_pool_too_large_for_afserver_fails() {
        // Names that share little compress badly: 10,000 of them make a mask longer than
        // afpool lets through (64 KiB; about as far as afserver's 100,000 regex states go).
        let hosts: Vec<String> = (0..10_000u64)
            .map(|i| format!("{:x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32))
            .collect();
        let checks = checks(
            &[Pool::new("huge", &hosts)],
            Some(&[]),
            &RouteSettings::default(),
        );
        let mask = find(&checks, "pool huge: mask");
        assert_eq!(mask.status, Status::Fail);
        assert!(mask.detail.contains("bytes afpool allows"), "{mask:?}");
    }
}
