//! The routing snapshot: pools and afserver's renders, with each pool's masks computed once per
//! snapshot (never per job). Known hosts are every render name plus every pool member; names are
//! compared case-insensitively and written as afserver spells them (a render's spelling wins over a
//! pool's; two renders differing only in case are both kept).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::mask;
use crate::renders::RenderInfo;
use crate::store::Pool;

/// A render host as the explanation shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostState {
    /// Name as afserver spells it.
    pub name: String,
    /// Online in afserver's render list.
    pub online: bool,
}

/// Known renders, optionally leaving out a set of names, plus a few extra ones. Listed on demand,
/// so a pool's outsiders (most of the farm) are never copied per pool or per job.
#[derive(Debug, Clone, Default)]
pub struct HostList {
    all: Arc<Vec<HostState>>,
    /// Lowercase names left out of `all`.
    except: Option<Arc<HashSet<String>>>,
    /// Listed after the rest of `all`.
    extra: Arc<Vec<HostState>>,
}

impl HostList {
    /// Every host of the list, in order.
    pub fn iter(&self) -> impl Iterator<Item = &HostState> {
        let except = self.except.as_deref();
        self.all
            .iter()
            .filter(move |h| except.is_none_or(|e| !e.contains(&h.name.to_lowercase())))
            .chain(self.extra.iter())
    }
    /// The list as a vector.
    pub fn to_vec(&self) -> Vec<HostState> {
        self.iter().cloned().collect()
    }
    /// How many hosts are listed.
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    /// True when nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
    /// The same list with `extra` hosts appended.
    pub(crate) fn with_extra(&self, extra: Vec<HostState>) -> HostList {
        HostList {
            extra: Arc::new(extra),
            ..self.clone()
        }
    }
}

impl Serialize for HostList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for h in self.iter() {
            seq.serialize_element(h)?;
        }
        seq.end()
    }
}

/// One pool, ready to route to. Its masks are written on first use, then kept for the snapshot.
#[derive(Debug)]
pub(crate) struct PoolPlan {
    /// Members as afserver spells them (pool spelling for never-seen hosts), sorted.
    pub hosts: Arc<Vec<String>>,
    /// Known renders in the pool.
    pub can_run: Arc<Vec<HostState>>,
    /// Known renders outside the pool.
    pub cannot_run: HostList,
    /// How many known hosts the exclude mask names.
    pub excluded: usize,
    /// `Err` when a known host name cannot be written as a mask (never expected; blocks routing).
    pub valid: Result<(), String>,
    /// Lowercase member names.
    members: Arc<HashSet<String>>,
    /// Every known spelling, sorted (shared by all pools of the snapshot).
    order: Arc<Vec<String>>,
    include: OnceLock<String>,
    exclude: OnceLock<String>,
}

impl PoolPlan {
    /// Exact alternation of the pool's hosts.
    pub fn include(&self) -> &str {
        self.include
            .get_or_init(|| mask::alternation(self.hosts.iter().map(String::as_str)))
    }

    /// Exact alternation of every known host outside the pool (`""` when none).
    pub fn exclude(&self) -> &str {
        self.exclude.get_or_init(|| {
            let outside = self
                .order
                .iter()
                .filter(|h| !self.members.contains(&h.to_lowercase()));
            mask::alternation(outside.map(String::as_str))
        })
    }
}

/// Precomputed once per pools/renders snapshot: pools by exact name, known hosts, and each pool's
/// plan. Cheap to share behind an `Arc`.
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
        let all: Vec<HostState> = order
            .iter()
            .filter_map(|h| {
                online.get(h.as_str()).map(|&online| HostState {
                    name: h.clone(),
                    online,
                })
            })
            .collect();
        let shared = Shared {
            all: Arc::new(all),
            order: Arc::new(order),
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
            known: shared.order.len(),
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

/// What every pool of a snapshot shares.
struct Shared {
    all: Arc<Vec<HostState>>,
    order: Arc<Vec<String>>,
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

fn plan_pool(pool: &Pool, spellings: &Spellings, shared: &Shared) -> PoolPlan {
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
    let member_spellings: usize = members
        .iter()
        .filter_map(|h| spellings.get(h))
        .map(Vec::len)
        .sum();
    let members = Arc::new(members);
    PoolPlan {
        hosts: Arc::new(hosts),
        can_run: Arc::new(can_run),
        cannot_run: HostList {
            all: shared.all.clone(),
            except: Some(members.clone()),
            extra: Arc::default(),
        },
        excluded: shared.order.len() - member_spellings,
        valid: shared.valid.clone(),
        members,
        order: shared.order.clone(),
        include: OnceLock::new(),
        exclude: OnceLock::new(),
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
        assert_eq!(cpu.include(), "r1|render01|spare9");
        assert_eq!(cpu.exclude(), "gpu[.]node3|r10");
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
        assert_eq!(gpu.exclude(), "r1|r10|render01|spare9");
        let re = mask::full_match(gpu.exclude()).unwrap();
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
        assert_eq!(p.exclude(), "x");
    }
}
