//! The routing snapshot: pools and afserver's renders, with each pool's masks computed once per
//! snapshot (never per job). The masks name only the pool's members; the render list serves the
//! explanations (who can run a job, who is kept off). Known hosts are every render name plus every
//! pool member; names are compared case-insensitively and written as afserver spells them (a
//! render's spelling wins over a pool's; two renders differing only in case are both kept).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use super::ecma::{self, Refusal};
pub use super::hosts::{HostList, HostState};
use super::policy::Compiled;
use super::poolexpr::{EvalError, PoolExpr};
use super::rules::{CompiledRules, DefaultRules};
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
    /// Members, lowercase (what pool expressions combine).
    members: Arc<HashSet<String>>,
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

    /// Takes over the masks `old` (the same pool in the previous snapshot) had written when
    /// its hosts are unchanged, else writes the exclusion now if `old` had been used.
    fn carry(&self, old: &PoolPlan) {
        let Some(mask) = old.include.get() else {
            return;
        };
        if old.hosts != self.hosts {
            self.exclude();
            return;
        }
        let _ = self.include.set(mask.clone());
        if let Some(exclude) = old.exclude.get() {
            let _ = self.exclude.set(exclude.clone());
        }
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
    /// Shared with the routing sources the snapshot was built from (one copy of the lists).
    pools: Arc<Vec<Pool>>,
    renders: Arc<Vec<RenderInfo>>,
    plans: HashMap<String, Arc<PoolPlan>>,
    known: Arc<Vec<String>>,
    exprs: Box<Expressions>,
    /// The policies of pools that have one, compiled.
    policies: HashMap<String, Arc<Compiled>>,
    /// The stored default pool rules, compiled (`None`: none stored).
    rules: Option<Arc<CompiledRules>>,
}

/// What planning a pool expression needs of the snapshot, and the plans made.
#[derive(Debug)]
struct Expressions {
    spellings: Spellings,
    shared: SnapshotHosts,
    /// Plans of the pool expressions jobs named in this snapshot, by reference text.
    plans: Mutex<HashMap<String, Arc<PoolPlan>>>,
}

/// Why a pool expression cannot be routed to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExprRefusal {
    /// Not a valid expression.
    #[error("'{0}' is neither a pool nor a valid pool expression: {1}")]
    Syntax(String, super::poolexpr::ExprError),
    /// A valid expression that names no host set.
    #[error("pool expression '{0}': {1}")]
    Eval(String, EvalError),
}

/// At most this many expressions are kept per snapshot (more are planned per job).
const EXPRESSIONS_KEPT: usize = 1024;

/// Lowercase name → every spelling seen (renders first), in insertion order.
type Spellings = HashMap<String, Vec<String>>;

impl Inventory {
    /// Builds the snapshot; the first pool of a duplicated name wins.
    pub fn new(pools: Vec<Pool>, renders: Vec<RenderInfo>) -> Self {
        Inventory::shared(Arc::new(pools), Arc::new(renders))
    }

    /// [`Inventory::new`] over lists shared with their source, which keeps them (the routing
    /// sources: one copy of a 20,000-render list, not one more per snapshot).
    pub fn shared(pools: Arc<Vec<Pool>>, renders: Arc<Vec<RenderInfo>>) -> Self {
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
        let mut positions: HashMap<String, Vec<usize>> = HashMap::new();
        for (at, host) in all.iter().enumerate() {
            positions
                .entry(host.name.to_lowercase())
                .or_default()
                .push(at);
        }
        let shared = SnapshotHosts {
            all: Arc::new(all),
            positions,
            known: Arc::new(order),
            valid: validate(&spellings),
        };
        let mut plans = HashMap::new();
        let mut policies = HashMap::new();
        for pool in pools.iter().filter(|p| !p.policy.is_empty()) {
            let compiled = Arc::new(Compiled::new(&pool.policy));
            policies.entry(pool.name.clone()).or_insert(compiled);
        }
        for pool in pools.iter() {
            if !plans.contains_key(&pool.name) {
                let plan = plan_pool(pool, &spellings, &shared);
                plans.insert(pool.name.clone(), Arc::new(plan));
            }
        }
        Inventory {
            pools,
            renders,
            plans,
            known: shared.known.clone(),
            exprs: Box::new(Expressions {
                spellings,
                shared,
                plans: Mutex::default(),
            }),
            policies,
            rules: None,
        }
    }

    /// This snapshot with the stored default pool rules (`None`: none stored, the routing
    /// settings' `default_pool` applies). Rules that do not compile (checked on write, so a hand
    /// edit) hold every job that names no pool.
    pub fn with_rules(mut self, rules: Option<&DefaultRules>) -> Self {
        self.rules = rules.map(|r| {
            Arc::new(r.compile().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the default pool rules do not compile; every job naming no pool is held");
                CompiledRules::holding()
            }))
        });
        self
    }

    /// The stored default pool rules, compiled (`None`: none stored).
    pub(crate) fn rules(&self) -> Option<&CompiledRules> {
        self.rules.as_deref()
    }

    /// True when some pool has a policy.
    pub(crate) fn has_policies(&self) -> bool {
        !self.policies.is_empty()
    }

    /// The compiled policy of pool `name`, when it has one.
    pub(crate) fn policy(&self, name: &str) -> Option<&Arc<Compiled>> {
        self.policies.get(name)
    }

    /// The pools whose policies a job routed to `reference` must pass: the pool of that exact
    /// name, else each pool the expression takes hosts from (none outside a `!`).
    pub(crate) fn policy_pools(&self, reference: &str) -> Vec<String> {
        if self.policies.is_empty() {
            return Vec::new();
        }
        if self.plans.contains_key(reference) {
            return vec![reference.to_string()];
        }
        match PoolExpr::parse(reference) {
            Ok(e) => e.positive_names().into_iter().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Builds the snapshot after `previous`: every mask `previous` had written is carried over
    /// when the hosts it names are unchanged, else written now. The render list changes often
    /// (online and busy flags) while names rarely do, and masks take milliseconds to write for
    /// thousands of hosts: this keeps that work off the request path. The default pool rules of
    /// `previous` are kept (see [`Inventory::with_rules`]).
    pub fn after(
        previous: &Inventory,
        pools: impl Into<Arc<Vec<Pool>>>,
        renders: impl Into<Arc<Vec<RenderInfo>>>,
    ) -> Self {
        let mut inv = Inventory::shared(pools.into(), renders.into());
        inv.rules = previous.rules.clone();
        for (name, plan) in &inv.plans {
            if let Some(old) = previous.plans.get(name) {
                plan.carry(old);
            }
        }
        // Expressions jobs used are planned again now, off the request path, like pools.
        let previous = previous.exprs.plans.lock().expect("not poisoned").clone();
        for (text, old) in previous {
            if let Ok(plan) = inv.plan_expr(&text) {
                plan.carry(&old);
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

    /// The plan of pool expression `text` (`gpu|cpu`, `gpu&!old`): its members are the
    /// expression over this snapshot's pools, planned as a pool of that name.
    pub(crate) fn plan_expr(&self, text: &str) -> Result<Arc<PoolPlan>, ExprRefusal> {
        let exprs = &self.exprs;
        if let Some(plan) = exprs.plans.lock().expect("not poisoned").get(text) {
            return Ok(plan.clone());
        }
        let expr = PoolExpr::parse(text).map_err(|e| ExprRefusal::Syntax(text.to_string(), e))?;
        let members = expr
            .eval(&|name| self.plans.get(name).map(|p| &*p.members))
            .map_err(|e| ExprRefusal::Eval(text.to_string(), e))?;
        let pool = Pool::new(text, members);
        let plan = Arc::new(plan_pool(&pool, &exprs.spellings, &exprs.shared));
        let mut kept = exprs.plans.lock().expect("not poisoned");
        if kept.len() < EXPRESSIONS_KEPT {
            kept.insert(text.to_string(), plan.clone());
        }
        Ok(plan)
    }
}

/// What every pool of a snapshot shares.
#[derive(Debug)]
struct SnapshotHosts {
    all: Arc<Vec<HostState>>,
    /// Where each lower-case name stands in `all`: a pool's listed members are found from its
    /// members, not by reading every listed host once per pool.
    positions: HashMap<String, Vec<usize>>,
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
    let mut at: Vec<usize> = members
        .iter()
        .filter_map(|h| shared.positions.get(h))
        .flatten()
        .copied()
        .collect();
    at.sort_unstable();
    let can_run: Vec<HostState> = at.into_iter().map(|i| shared.all[i].clone()).collect();
    let members = Arc::new(members);
    PoolPlan {
        excluded: shared.known.len() - hosts.len(),
        hosts: Arc::new(hosts),
        can_run: Arc::new(can_run),
        cannot_run: HostList::except(shared.all.clone(), members.clone()),
        valid: shared.valid.clone(),
        members,
        include: OnceLock::new(),
        exclude: OnceLock::new(),
        checked: Default::default(),
    }
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
