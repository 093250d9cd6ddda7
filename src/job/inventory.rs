//! The routing snapshot: pools and afserver's renders, with each pool's masks computed once per
//! snapshot (never per job). Known hosts are every render name plus every pool member; names are
//! compared case-insensitively and written as afserver spells them (a render's spelling wins over a
//! pool's; two renders differing only in case are both kept).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::mask;
use crate::renders::RenderInfo;
use crate::store::Pool;

/// A render host as the explanation shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostState {
    /// Name as afserver spells it.
    pub name: String,
    /// Online in afserver's render list.
    pub online: bool,
}

/// One pool, ready to route to.
#[derive(Debug)]
pub(crate) struct PoolPlan {
    /// Members as afserver spells them (pool spelling for never-seen hosts), sorted.
    pub hosts: Arc<Vec<String>>,
    /// Known renders in the pool.
    pub can_run: Arc<Vec<HostState>>,
    /// Known renders outside the pool.
    pub cannot_run: Arc<Vec<HostState>>,
    /// Exact alternation of the pool's hosts.
    pub include: String,
    /// Exact alternation of every known host outside the pool (`""` when none).
    pub exclude: String,
    /// How many known hosts `exclude` names.
    pub excluded: usize,
    /// `Err` when an emitted alternation failed validation (never expected; blocks routing).
    pub valid: Result<(), String>,
}

/// Precomputed once per pools/renders snapshot: pools by exact name, known hosts, and each pool's
/// masks. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Inventory {
    pools: Vec<Pool>,
    renders: Vec<RenderInfo>,
    plans: HashMap<String, Arc<PoolPlan>>,
    known: usize,
}

/// Lowercase name → every spelling seen (renders first), in insertion order.
type Spellings = HashMap<String, Vec<String>>;

impl Inventory {
    /// Builds the snapshot; the first pool of a duplicated name wins.
    pub fn new(pools: Vec<Pool>, renders: Vec<RenderInfo>) -> Self {
        let (spellings, order) = known_hosts(&pools, &renders);
        let online: HashMap<&str, bool> = renders
            .iter()
            .map(|r| (r.name.as_str(), r.online))
            .collect();
        let mut plans = HashMap::new();
        for pool in &pools {
            if !plans.contains_key(&pool.name) {
                let plan = plan_pool(pool, &spellings, &order, &online);
                plans.insert(pool.name.clone(), Arc::new(plan));
            }
        }
        Inventory {
            pools,
            renders,
            plans,
            known: order.len(),
        }
    }

    /// The pools of this snapshot.
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// afserver's renders of this snapshot.
    pub fn renders(&self) -> &[RenderInfo] {
        &self.renders
    }

    /// How many distinct host names (render names and pool members, by spelling) are known.
    pub fn known_hosts(&self) -> usize {
        self.known
    }

    pub(crate) fn plan(&self, name: &str) -> Option<&Arc<PoolPlan>> {
        self.plans.get(name)
    }
}

/// Lowercase → spellings, and every spelling sorted (the order masks are written in).
fn known_hosts(pools: &[Pool], renders: &[RenderInfo]) -> (Spellings, Vec<String>) {
    let mut map: Spellings = HashMap::new();
    for r in renders.iter().filter(|r| !r.name.is_empty()) {
        let names = map.entry(r.name.to_lowercase()).or_default();
        if !names.contains(&r.name) {
            names.push(r.name.clone());
        }
    }
    for host in pools
        .iter()
        .flat_map(|p| &p.hosts)
        .filter(|h| !h.is_empty())
    {
        map.entry(host.to_lowercase())
            .or_insert_with(|| vec![host.clone()]);
    }
    let mut order: Vec<String> = map.values().flatten().cloned().collect();
    order.sort();
    (map, order)
}

fn plan_pool(
    pool: &Pool,
    spellings: &Spellings,
    order: &[String],
    online: &HashMap<&str, bool>,
) -> PoolPlan {
    let members: HashSet<String> = pool.hosts.iter().map(|h| h.to_lowercase()).collect();
    let member = |name: &str| members.contains(&name.to_lowercase());
    let mut hosts: Vec<String> = pool
        .hosts
        .iter()
        .filter_map(|h| spellings.get(&h.to_lowercase()))
        .flatten()
        .cloned()
        .collect();
    hosts.sort();
    hosts.dedup();
    let outside: Vec<&str> = order
        .iter()
        .map(String::as_str)
        .filter(|h| !member(h))
        .collect();
    let state = |h: &str| {
        online.get(h).map(|&online| HostState {
            name: h.to_string(),
            online,
        })
    };
    let can_run = Arc::new(hosts.iter().filter_map(|h| state(h)).collect());
    let cannot_run = Arc::new(outside.iter().filter_map(|h| state(h)).collect());
    let exclude = mask::alternation(outside.iter().copied());
    let include = mask::alternation(hosts.iter().map(String::as_str));
    let valid = mask::check_regex(&exclude).and(mask::check_regex(&include));
    let hosts = Arc::new(hosts);
    PoolPlan {
        hosts,
        can_run,
        cannot_run,
        include,
        excluded: outside.len(),
        exclude,
        valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(name: &str, hosts: &[&str]) -> Pool {
        Pool {
            name: name.into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        }
    }

    fn inventory() -> Inventory {
        let mut off = RenderInfo::named("r10");
        off.online = false;
        let renders = vec![
            RenderInfo::named("render01"),
            RenderInfo::named("gpu.node3"),
            RenderInfo::named("r1"),
            off,
        ];
        let pools = vec![
            pool("cpu", &["Render01", "r1", "spare9"]),
            pool("gpu", &["gpu.node3"]),
            pool("cpu", &[]),
        ];
        Inventory::new(pools, renders)
    }

    #[test]
    fn members_take_afservers_spelling() {
        let inv = inventory();
        let cpu = inv.plan("cpu").unwrap();
        assert_eq!(*cpu.hosts, ["r1", "render01", "spare9"]);
        assert_eq!(cpu.include, "r1|render01|spare9");
        assert_eq!(cpu.exclude, "gpu[.]node3|r10");
        assert_eq!(cpu.excluded, 2);
        assert!(cpu.valid.is_ok());
        let names: Vec<&str> = cpu.can_run.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["r1", "render01"]);
        assert_eq!(
            cpu.cannot_run[1],
            HostState {
                name: "r10".into(),
                online: false
            }
        );
    }

    #[test]
    fn pool_only_hosts_are_known_and_excluded_elsewhere() {
        let inv = inventory();
        assert_eq!(inv.known_hosts(), 5);
        let gpu = inv.plan("gpu").unwrap();
        assert_eq!(gpu.exclude, "r1|r10|render01|spare9");
        let re = mask::full_match(&gpu.exclude).unwrap();
        assert!(re.is_match("r1") && re.is_match("r10") && !re.is_match("gpu.node3"));
    }

    #[test]
    fn lookups_are_exact_and_first_duplicate_wins() {
        let inv = inventory();
        assert!(inv.plan("CPU").is_none());
        assert_eq!(inv.plan("cpu").unwrap().hosts.len(), 3);
        assert_eq!(inv.pools().len(), 3);
        assert_eq!(inv.renders().len(), 4);
    }

    #[test]
    fn renders_differing_in_case_are_both_written() {
        let renders = vec![
            RenderInfo::named("Render01"),
            RenderInfo::named("render01"),
            RenderInfo::named("x"),
        ];
        let inv = Inventory::new(vec![pool("p", &["RENDER01"])], renders);
        let p = inv.plan("p").unwrap();
        assert_eq!(*p.hosts, ["Render01", "render01"]);
        assert_eq!(p.exclude, "x");
    }
}
