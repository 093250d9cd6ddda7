//! Resolution (pure): a pool's members are its typed hosts, plus the renders its `select` rule
//! selects, less its `except` hosts, less those outside their windows at `now` (scheduled
//! members, [`super::window`], read in the pool's `time_zone` or the server's). [`Resolver`] turns stored pools into resolved ones (the
//! members in `hosts`, everything else as stored), which routing and re-targeting use exactly
//! like typed lists; [`members`] says why each member is one, for `pool show` and the API.
//!
//! Fail-closed: only renders afserver lists can be selected, so a render afpool has not seen is
//! no member; a rule that fails on a render (`int(properties)` of a text) does not select it; a
//! stored rule that does not compile (a hand-edited document) selects nothing.
//!
//! Each resolution also reports the next window edge across all pools ([`Resolver::next_edge`]),
//! at which the caller resolves again. A stored window or zone that cannot be read (a
//! hand-edited document) keeps its member out.
//!
//! Resolving again after a refresh evaluates only the renders whose facts changed (or rules that
//! are new): a farm's busy and online flags flip on every refresh, its hardware does not.

use std::collections::{BTreeMap, HashMap};

use jiff::tz::TimeZone;
use jiff::Timestamp;

pub use super::member::Member;
use super::rule::Rule;
use super::window::{self, Schedule};
use crate::renders::RenderInfo;
use crate::store::selection::ALL_SELECTED;
use crate::store::Pool;

/// One rule, compiled once, and the renders it selected at the last resolution.
struct Compiled {
    /// `None`: the stored rule does not compile; it selects nothing.
    rule: Option<Rule>,
    /// Selected render names (as afserver spells them), by their lower-case name.
    selected: BTreeMap<String, String>,
}

/// What a render was, for telling whether a rule must look at it again.
type Seen = (Option<String>, crate::select::facts::RenderFacts);

/// Resolves pools over render lists, remembering each rule's verdicts between calls.
pub struct Resolver {
    rules: HashMap<String, Compiled>,
    seen: HashMap<String, Seen>,
    /// The zone of pools without a `time_zone`.
    zone: TimeZone,
    /// The next window edge after the last resolution's `now`.
    next_edge: Option<Timestamp>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::with_zone(TimeZone::system())
    }
}

impl Resolver {
    /// A resolver that has seen nothing yet, reading windows in the server's local zone unless
    /// a pool names its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// A resolver whose default zone is `zone`.
    pub fn with_zone(zone: TimeZone) -> Self {
        Resolver {
            rules: HashMap::new(),
            seen: HashMap::new(),
            zone,
            next_edge: None,
        }
    }

    /// The zone of pools without a `time_zone`.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The first instant after the last resolution's `now` at which some scheduled member
    /// joins or leaves (`None`: no pool has windows that change within a week).
    pub fn next_edge(&self) -> Option<Timestamp> {
        self.next_edge
    }

    /// The pools with their members at `now` in `hosts`; a typed list without `except` or
    /// windows is returned as stored.
    pub fn resolve(&mut self, pools: &[Pool], renders: &[RenderInfo], now: Timestamp) -> Vec<Pool> {
        let changed = self.changed(renders);
        self.rules.retain(|source, _| {
            pools
                .iter()
                .any(|p| p.selection.select.as_ref() == Some(source))
        });
        for source in pools.iter().filter_map(|p| p.selection.select.as_ref()) {
            match self.rules.get_mut(source) {
                Some(compiled) => compiled.update(renders, &changed),
                None => {
                    let compiled = Compiled::new(source, renders);
                    self.rules.insert(source.clone(), compiled);
                }
            }
        }
        let mut next_edge = None;
        let resolved = pools
            .iter()
            .map(|p| self.resolve_one(p, now, &mut next_edge))
            .collect();
        self.next_edge = next_edge;
        resolved
    }

    /// The lower-case names of renders that are new, gone, or whose facts changed since the
    /// last call (every render on the first call).
    fn changed(&mut self, renders: &[RenderInfo]) -> Changed {
        let mut now = HashMap::with_capacity(renders.len());
        let mut changed = Changed::default();
        for r in renders {
            let key = r.name.to_ascii_lowercase();
            let seen = (r.af_pool.clone(), r.facts.clone());
            if self.seen.get(&key) != Some(&seen) {
                changed.names.insert(key.clone());
            }
            now.insert(key, seen);
        }
        changed
            .names
            .extend(self.seen.keys().filter(|k| !now.contains_key(*k)).cloned());
        self.seen = now;
        changed
    }

    fn resolve_one(&self, pool: &Pool, now: Timestamp, edge: &mut Option<Timestamp>) -> Pool {
        if pool.selection.is_empty() {
            return pool.clone();
        }
        let windows = Windows::at(pool, &self.zone, now);
        if let Some(next) = windows.next {
            *edge = Some(edge.map_or(next, |e: Timestamp| e.min(next)));
        }
        let hosts = self
            .candidates(pool)
            .into_iter()
            .filter(|(host, selected)| windows.open(host, *selected))
            .map(|(host, _)| host)
            .collect();
        Pool {
            hosts,
            ..pool.clone()
        }
    }

    /// The typed hosts, then the selected renders (`true`), less excepted hosts, each once.
    fn candidates(&self, pool: &Pool) -> Vec<(String, bool)> {
        let selection = &pool.selection;
        let mut hosts = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut add = |host: &str, selected: bool| {
            if !selection.excepts(host) && seen.insert(host.to_ascii_lowercase()) {
                hosts.push((host.to_string(), selected));
            }
        };
        pool.hosts.iter().for_each(|h| add(h, false));
        if let Some(compiled) = selection.select.as_ref().and_then(|s| self.rules.get(s)) {
            compiled.selected.values().for_each(|h| add(h, true));
        }
        hosts
    }
}

/// One pool's windows at an instant: which `during` keys are open, and the next edge.
struct Windows {
    /// Lower-case key (a host or `*`) -> open now, and its next change.
    keys: HashMap<String, (bool, Option<Timestamp>)>,
    next: Option<Timestamp>,
    zone: Option<TimeZone>,
}

impl Windows {
    fn at(pool: &Pool, default: &TimeZone, now: Timestamp) -> Windows {
        let selection = &pool.selection;
        let zone = match selection.time_zone.as_deref() {
            None => Some(default.clone()),
            Some(name) => window::zone(name)
                .inspect_err(|e| tracing::warn!(pool = %pool.name, "its windows stay shut: {e}"))
                .ok(),
        };
        let mut keys = HashMap::new();
        let mut next: Option<Timestamp> = None;
        for (key, specs) in &selection.during {
            let state = match (&zone, Schedule::parse(specs)) {
                (Some(zone), Ok(schedule)) => {
                    let change = schedule.next_change(now, zone);
                    (schedule.contains(now, zone), change)
                }
                (_, Err(e)) => {
                    tracing::warn!(pool = %pool.name, "a stored window keeps {key} out: {e}");
                    (false, None)
                }
                (None, _) => (false, None),
            };
            if let Some(change) = state.1 {
                next = Some(next.map_or(change, |n| n.min(change)));
            }
            keys.insert(key.to_ascii_lowercase(), state);
        }
        Windows { keys, next, zone }
    }

    /// The windows that apply to `host` (its own key, else `*` for a selected render).
    fn state(&self, host: &str, selected: bool) -> Option<(bool, Option<Timestamp>)> {
        let own = self.keys.get(&host.to_ascii_lowercase());
        let all = || selected.then(|| self.keys.get(ALL_SELECTED)).flatten();
        own.or_else(all).copied()
    }

    fn open(&self, host: &str, selected: bool) -> bool {
        self.state(host, selected).is_none_or(|(open, _)| open)
    }
}

/// Renders a rule must look at again.
#[derive(Default)]
struct Changed {
    names: std::collections::HashSet<String>,
}

impl Compiled {
    fn new(source: &str, renders: &[RenderInfo]) -> Compiled {
        let rule = Rule::compile(source)
            .inspect_err(|e| tracing::warn!("a stored pool rule selects nothing: {e}"))
            .ok();
        let mut compiled = Compiled {
            rule,
            selected: BTreeMap::new(),
        };
        for r in renders {
            compiled.look_at(r);
        }
        compiled
    }

    fn update(&mut self, renders: &[RenderInfo], changed: &Changed) {
        if changed.names.is_empty() {
            return;
        }
        self.selected.retain(|key, _| !changed.names.contains(key));
        for r in renders {
            if changed.names.contains(&r.name.to_ascii_lowercase()) {
                self.look_at(r);
            }
        }
    }

    fn look_at(&mut self, r: &RenderInfo) {
        let Some(rule) = &self.rule else { return };
        if selects(rule, r) {
            self.selected
                .insert(r.name.to_ascii_lowercase(), r.name.clone());
        }
    }
}

fn selects(rule: &Rule, r: &RenderInfo) -> bool {
    let native = r.af_pool.as_deref().unwrap_or("");
    rule.selects(&r.name, native, &r.facts).unwrap_or(false)
}

/// Each member of `pool` (as stored) over `renders` at `now`, with why and when; the typed
/// hosts first, then the selected renders by name. Excepted hosts are left out; members
/// outside their windows are listed with `member_now` false.
pub fn members(pool: &Pool, renders: &[RenderInfo], now: Timestamp) -> Vec<Member> {
    members_in(&Resolver::new(), pool, renders, now)
}

/// [`members`] with `resolver`'s default zone.
pub fn members_in(
    resolver: &Resolver,
    pool: &Pool,
    renders: &[RenderInfo],
    now: Timestamp,
) -> Vec<Member> {
    let mut resolver = Resolver::with_zone(resolver.zone.clone());
    resolver.resolve(std::slice::from_ref(pool), renders, now);
    described(&resolver, pool, &listed_index(renders), now)
}

/// [`members`] of each of `pools`, in order, resolved together once (what `afpool hosts` and
/// `GET /api/v1/hosts` need for a whole farm: one pass over the renders, not one per pool).
pub fn members_of_all(pools: &[Pool], renders: &[RenderInfo], now: Timestamp) -> Vec<Vec<Member>> {
    let mut resolver = Resolver::new();
    resolver.resolve(pools, renders, now);
    let index = listed_index(renders);
    (pools.iter())
        .map(|pool| described(&resolver, pool, &index, now))
        .collect()
}

/// The renders by lower-case name (the first of a name wins, as a search from the start would).
fn listed_index(renders: &[RenderInfo]) -> HashMap<String, &RenderInfo> {
    let mut index = HashMap::with_capacity(renders.len());
    for r in renders {
        index.entry(r.name.to_ascii_lowercase()).or_insert(r);
    }
    index
}

/// The members of `pool`, which `resolver` has resolved, with why and when.
fn described(
    resolver: &Resolver,
    pool: &Pool,
    index: &HashMap<String, &RenderInfo>,
    now: Timestamp,
) -> Vec<Member> {
    let windows = Windows::at(pool, &resolver.zone, now);
    let rule = pool
        .selection
        .select
        .as_deref()
        .and_then(|s| Rule::compile(s).ok());
    let listed = |host: &str| index.get(&host.to_ascii_lowercase()).copied();
    let member = |(host, selected): (String, bool)| {
        let render = listed(&host);
        let why = match (selected, &rule, render) {
            (false, _, _) => "static".to_string(),
            (true, Some(rule), Some(r)) => {
                rule.values(&r.name, r.af_pool.as_deref().unwrap_or(""), &r.facts)
            }
            _ => "selected".to_string(),
        };
        let (member_now, next) = windows.state(&host, selected).unwrap_or((true, None));
        let during = pool
            .selection
            .windows_for(&host, selected)
            .map_or(Vec::new(), <[String]>::to_vec);
        let zoned = next
            .zip(windows.zone.clone())
            .map(|(t, z)| t.to_zoned_datetime(z));
        Member {
            listed: render.is_some(),
            host,
            why,
            during,
            member_now,
            next_change: zoned.as_ref().map(|z| z.to_string()),
            next_change_short: zoned.map(|z| z.strftime("%a %H:%M %Z").to_string()),
        }
    };
    resolver.candidates(pool).into_iter().map(member).collect()
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "resolve_window_tests.rs"]
mod window_tests;
