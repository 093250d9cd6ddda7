//! The routing snapshot: pools and afserver's renders, with each pool's masks computed once per
//! snapshot (never per job). The masks name only the pool's members; the render list serves the
//! explanations (who can run a job, who is kept off). Known hosts are every render name plus every
//! pool member; names are compared case-insensitively and written as afserver spells them (a
//! render's spelling wins over a pool's; two renders differing only in case are both kept).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use super::ecma::{self, Refusal};
pub use super::hosts::{HostList, HostState};
use super::{compact, mask, MaskMode};
use crate::renders::RenderInfo;
use crate::store::Pool;

/// One pool, ready to route to. Its include and exclude masks are written on first use (most
/// pools of a snapshot never see a job) and kept for the snapshot, so a job only copies them.
#[derive(Debug)]
pub(crate) struct PoolPlan {
    /// Members as afserver spells them (pool spelling for never-seen hosts), sorted.
    pub hosts: Arc<Vec<String>>,
    /// Known renders in the pool.
    pub can_run: Arc<Vec<HostState>>,
    /// Known renders outside the pool.
    pub cannot_run: HostList,
    /// How many known hosts are outside the pool (kept off by the exclude mask, with any host
    /// that registers later).
    pub excluded: usize,
    /// `Err` when a known host name cannot be written as a mask (never expected; blocks routing).
    pub valid: Result<(), String>,
    include: OnceLock<String>,
    exclude: OnceLock<String>,
    /// afserver's verdict on `include` and `exclude`, checked once per snapshot.
    checked: [OnceLock<Result<(), Refusal>>; 2],
}

impl PoolPlan {
    /// Exact alternation of the pool's hosts.
    pub fn include(&self) -> &str {
        self.include
            .get_or_init(|| compact::alternation(self.hosts.iter().map(String::as_str)))
    }

    /// The exclusion of every host outside the pool, known or not: a negative look-ahead of the
    /// members (see [`mask::pool_lookahead`]). It needs no render list.
    pub fn exclude(&self) -> &str {
        self.exclude
            .get_or_init(|| mask::pool_lookahead(self.include()))
    }

    /// Whether afserver accepts `mask` (see [`ecma::check_bytes`]); the pool's own two masks are
    /// checked once per snapshot, any other (merged with a user's mask) every time.
    pub(crate) fn check_mask(&self, mask: &str) -> Result<(), Refusal> {
        let check = || ecma::check_bytes(mask.as_bytes()).map(|_| ());
        let cached = if mask == self.include() {
            &self.checked[0]
        } else if mask == self.exclude() {
            &self.checked[1]
        } else {
            return check();
        };
        cached.get_or_init(check).clone()
    }
}

/// Precomputed once per pools/renders snapshot: pools by exact name, known hosts, and each pool's
/// plan. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Inventory {
    pools: Vec<Pool>,
    renders: Vec<RenderInfo>,
    plans: HashMap<String, Arc<PoolPlan>>,
    known: Arc<Vec<String>>,
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
        let all: Vec<HostState> = order
            .iter()
            .filter_map(|h| {
                online.get(h.as_str()).map(|&online| HostState {
                    name: h.clone(),
                    online,
                })
            })
            .collect();
        let shared = SnapshotHosts {
            all: Arc::new(all),
            known: Arc::new(order),
            valid: validate(&spellings),
        };
        let mut plans = HashMap::new();
        for pool in &pools {
            if !plans.contains_key(&pool.name) {
                let plan = plan_pool(pool, &spellings, &shared);
                plans.insert(pool.name.clone(), Arc::new(plan));
            }
        }
        Inventory {
            pools,
            renders,
            plans,
            known: shared.known,
        }
    }

    /// Builds the snapshot after `previous`: every mask `previous` had written is carried over
    /// when the hosts it names are unchanged, else written now. The render list changes often
    /// (online and busy flags) while names rarely do, and masks take milliseconds to write for
    /// thousands of hosts: this keeps that work off the request path.
    pub fn after(previous: &Inventory, pools: Vec<Pool>, renders: Vec<RenderInfo>) -> Self {
        let inv = Inventory::new(pools, renders);
        for (name, plan) in &inv.plans {
            let Some(old) = previous.plans.get(name) else {
                continue;
            };
            if let Some(mask) = old.include.get() {
                if old.hosts == plan.hosts {
                    let _ = plan.include.set(mask.clone());
                    if let Some(exclude) = old.exclude.get() {
                        let _ = plan.exclude.set(exclude.clone());
                    }
                } else {
                    plan.exclude();
                }
            }
        }
        inv
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
        self.known.len()
    }

    /// afserver's verdict on the masks routing writes for pool `name` in `mode` (the exclusion,
    /// the inclusion or both): `Err` says why afserver would refuse, and then ignore, one (too
    /// many regex states, say). `None` for a pool this snapshot does not have.
    pub fn masks_fit(&self, name: &str, mode: MaskMode) -> Option<Result<(), String>> {
        let plan = self.plans.get(name)?;
        if let Err(e) = &plan.valid {
            return Some(Err(e.clone()));
        }
        let exclude = (mode != MaskMode::Include).then(|| ("hosts_mask_exclude", plan.exclude()));
        let include = (mode != MaskMode::Exclude).then(|| ("hosts_mask", plan.include()));
        for (key, mask) in exclude.into_iter().chain(include) {
            if let Err(why) = plan.check_mask(mask) {
                return Some(Err(format!("its {key} of {} bytes: {why}", mask.len())));
            }
        }
        Some(Ok(()))
    }

    pub(crate) fn plan(&self, name: &str) -> Option<&Arc<PoolPlan>> {
        self.plans.get(name)
    }
}

/// What every pool of a snapshot shares.
struct SnapshotHosts {
    all: Arc<Vec<HostState>>,
    known: Arc<Vec<String>>,
    valid: Result<(), String>,
}

/// Every known name, escaped, must be a valid regex (checked once per name, not per mask).
fn validate(spellings: &Spellings) -> Result<(), String> {
    for name in spellings.values().flatten() {
        let escaped = mask::alternation([name.as_str()]);
        mask::check_regex(&escaped).map_err(|e| format!("host '{name}': {e}"))?;
    }
    Ok(())
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

fn plan_pool(pool: &Pool, spellings: &Spellings, shared: &SnapshotHosts) -> PoolPlan {
    let members: HashSet<String> = pool.hosts.iter().map(|h| h.to_lowercase()).collect();
    let mut hosts: Vec<String> = members
        .iter()
        .filter_map(|h| spellings.get(h))
        .flatten()
        .cloned()
        .collect();
    hosts.sort();
    let in_pool = |h: &&HostState| members.contains(&h.name.to_lowercase());
    let can_run: Vec<HostState> = shared.all.iter().filter(in_pool).cloned().collect();
    let members = Arc::new(members);
    PoolPlan {
        excluded: shared.known.len() - hosts.len(),
        hosts: Arc::new(hosts),
        can_run: Arc::new(can_run),
        cannot_run: HostList::except(shared.all.clone(), members.clone()),
        valid: shared.valid.clone(),
        include: OnceLock::new(),
        exclude: OnceLock::new(),
        checked: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Pool::new("cpu", ["Render01", "r1", "spare9"]),
            Pool::new("gpu", ["gpu.node3"]),
            Pool::new("cpu", Vec::<String>::new()),
        ];
        Inventory::new(pools, renders)
    }

    #[test]
    fn members_take_afservers_spelling() {
        let inv = inventory();
        let cpu = inv.plan("cpu").unwrap();
        assert_eq!(*cpu.hosts, ["r1", "render01", "spare9"]);
        assert_eq!(cpu.include(), "r1|render01|spare9");
        assert_eq!(cpu.exclude(), "(?!(?:r1|render01|spare9)$).*");
        assert_eq!(cpu.excluded, 2);
        assert!(cpu.valid.is_ok());
        let names: Vec<&str> = cpu.can_run.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["r1", "render01"]);
        assert_eq!(
            cpu.cannot_run.to_vec()[1],
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
        assert_eq!(gpu.exclude(), "(?!(?:gpu[.]node3)$).*");
        assert_eq!(gpu.excluded, 4, "r1, r10, render01 and spare9 are kept off");
    }

    #[test]
    fn masks_written_before_are_carried_or_rewritten_never_dropped() {
        let first = inventory();
        let cpu_exclude = first.plan("cpu").unwrap().exclude().to_string();
        let gpu_include = first.plan("gpu").unwrap().include().to_string();
        let mut renders = first.renders().to_vec();
        renders[0].online = false; // a flag changed: same names
        renders.push(RenderInfo::named("new9")); // a new render: masks name members only
        let second = Inventory::after(&first, first.pools().to_vec(), renders.clone());
        let (cpu, gpu) = (second.plan("cpu").unwrap(), second.plan("gpu").unwrap());
        assert_eq!(cpu.exclude.get(), Some(&cpu_exclude));
        assert_eq!(gpu.include.get(), Some(&gpu_include));
        assert!(gpu.exclude.get().is_none(), "never asked for");
        let mut pools = first.pools().to_vec();
        pools[0].hosts.push("new9".into()); // a member added: cpu's masks are written again
        let third = Inventory::after(&second, pools, renders);
        let cpu = third.plan("cpu").unwrap();
        assert_eq!(
            cpu.exclude.get().map(String::as_str),
            Some("(?!(?:new9|r1|render01|spare9)$).*")
        );
        assert_eq!(third.plan("gpu").unwrap().include.get(), Some(&gpu_include));
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
        let inv = Inventory::new(vec![Pool::new("p", ["RENDER01"])], renders);
        let p = inv.plan("p").unwrap();
        assert_eq!(*p.hosts, ["Render01", "render01"]);
        assert_eq!(p.exclude(), "(?!(?:Render01|render01)$).*");
        assert_eq!(p.excluded, 1);
    }
}
