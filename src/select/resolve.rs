//! Resolution (pure): a pool's members are its typed hosts, plus the renders its `select` rule
//! selects, less its `except` hosts. [`Resolver`] turns stored pools into resolved ones (the
//! members in `hosts`, everything else as stored), which routing and re-targeting use exactly
//! like typed lists; [`members`] says why each member is one, for `pool show` and the API.
//!
//! Fail-closed: only renders afserver lists can be selected, so a render afpool has not seen is
//! no member; a rule that fails on a render (`int(properties)` of a text) does not select it; a
//! stored rule that does not compile (a hand-edited document) selects nothing.
//!
//! Resolving again after a refresh evaluates only the renders whose facts changed (or rules that
//! are new): a farm's busy and online flags flip on every refresh, its hardware does not.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::rule::Rule;
use crate::renders::RenderInfo;
use crate::store::names::same_host;
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
#[derive(Default)]
pub struct Resolver {
    rules: HashMap<String, Compiled>,
    seen: HashMap<String, Seen>,
}

impl Resolver {
    /// A resolver that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pools with their members in `hosts`; a typed list without `except` is returned as
    /// stored.
    pub fn resolve(&mut self, pools: &[Pool], renders: &[RenderInfo]) -> Vec<Pool> {
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
        pools.iter().map(|p| self.resolve_one(p)).collect()
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

    fn resolve_one(&self, pool: &Pool) -> Pool {
        let selection = &pool.selection;
        if selection.is_empty() {
            return pool.clone();
        }
        let mut hosts: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut add = |host: &str| {
            if !selection.excepts(host) && seen.insert(host.to_ascii_lowercase()) {
                hosts.push(host.to_string());
            }
        };
        pool.hosts.iter().for_each(|h| add(h));
        if let Some(compiled) = selection.select.as_ref().and_then(|s| self.rules.get(s)) {
            compiled.selected.values().for_each(|h| add(h));
        }
        Pool {
            hosts,
            ..pool.clone()
        }
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

/// Why a host is a member of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The host, as typed or as afserver spells it.
    pub host: String,
    /// `static` (typed into the pool), or the values the rule read (`gpu_mem_total_mb=24576`).
    pub why: String,
    /// Whether afserver lists it.
    pub listed: bool,
}

/// Each member of `pool` (as stored) over `renders`, with why; the typed hosts first, then the
/// selected renders by name. Excepted hosts are left out.
pub fn members(pool: &Pool, renders: &[RenderInfo]) -> Vec<Member> {
    let resolved = Resolver::new().resolve(std::slice::from_ref(pool), renders);
    let rule = pool
        .selection
        .select
        .as_deref()
        .and_then(|s| Rule::compile(s).ok());
    let listed = |host: &str| renders.iter().find(|r| same_host(&r.name, host));
    let resolved_hosts = resolved.into_iter().next().map_or(Vec::new(), |p| p.hosts);
    resolved_hosts
        .into_iter()
        .map(|host| {
            let render = listed(&host);
            let why = match (pool.contains(&host), &rule, render) {
                (true, _, _) => "static".to_string(),
                (false, Some(rule), Some(r)) => {
                    rule.values(&r.name, r.af_pool.as_deref().unwrap_or(""), &r.facts)
                }
                _ => "selected".to_string(),
            };
            Member {
                listed: render.is_some(),
                host,
                why,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
