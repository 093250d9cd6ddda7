//! Spill-over at submission (pure): a pool with `spill_below = K` whose members online and not
//! NIMBY are fewer than K routes its new jobs to the pool ∪ its first fallback (`gpu|cpu`), then
//! ∪ the next while still short, planned like any pool expression. Fallbacks that are no pool
//! yet are skipped. Without a render list (afpool has not read one yet) nothing is known to be
//! short, and nothing spills. [`Spilled`] says what fired, for the annotation
//! (`[pool: gpu → gpu|cpu]`), the explanation, the registry and the audit log.

use std::collections::HashSet;

use std::sync::Arc;

use super::inventory::{Inventory, PoolPlan};
use crate::renders::RenderInfo;
use crate::store::Pool;

/// A job spilled at submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spilled {
    /// The pool the job named.
    pub from: String,
    /// Where it goes: the pool and the fallbacks taken, `gpu|cpu`.
    pub to: String,
    /// The pool's members online and not NIMBY.
    pub ready: usize,
    /// Its `spill_below`.
    pub below: u32,
    /// Members online and not NIMBY of `to`.
    pub ready_after: usize,
}

impl Spilled {
    /// Why, in words, for the explanation and the audit log.
    pub fn words(&self) -> String {
        format!(
            "spill_below fired: pool '{}' has {} members online and not NIMBY, fewer than {}; \
             spilled to '{}' ({} online and not NIMBY)",
            self.from, self.ready, self.below, self.to, self.ready_after
        )
    }
}

/// Hosts of `names` (lowercase) that are online and not NIMBY in `renders`.
fn ready(names: &HashSet<String>, renders: &[RenderInfo]) -> usize {
    renders
        .iter()
        .filter(|r| r.online && !r.nimby && names.contains(&r.name.to_ascii_lowercase()))
        .count()
}

/// Where a job naming `pool` goes by its `spill_below` trigger (`None`: it stays in the pool).
pub fn below(pool: &Pool, pools: &[Pool], renders: &[RenderInfo]) -> Option<Spilled> {
    let k = pool.spill.spill_below?;
    if renders.is_empty() {
        return None;
    }
    let lower = |p: &Pool| {
        p.hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let mut names: HashSet<String> = lower(pool).into_iter().collect();
    let before = ready(&names, renders);
    let mut now = before;
    let mut to = pool.name.clone();
    for name in &pool.spill.fallback {
        if now >= k as usize {
            break;
        }
        let Some(fallback) = pools.iter().find(|p| &p.name == name) else {
            continue;
        };
        names.extend(lower(fallback));
        to = format!("{to}|{name}");
        now = ready(&names, renders);
    }
    (to != pool.name).then(|| Spilled {
        from: pool.name.clone(),
        to,
        ready: before,
        below: k,
        ready_after: now,
    })
}

/// The plan a job naming pool `name` (planned as `plan`) is routed with: the spilled set's when
/// the pool's `spill_below` fires (and the set can be planned), else `plan`.
pub(crate) fn plan(
    inv: &Inventory,
    name: &str,
    plan: Arc<PoolPlan>,
) -> (Arc<PoolPlan>, Option<Spilled>) {
    let Some(pool) = inv.pools().iter().find(|p| p.name == name) else {
        return (plan, None);
    };
    let Some(spilled) = below(pool, inv.pools(), inv.renders()) else {
        return (plan, None);
    };
    match inv.plan_expr(&spilled.to) {
        Ok(wider) => (wider, Some(spilled)),
        Err(e) => {
            tracing::warn!(
                pool = name,
                "spill-over to '{}' cannot be planned: {e}",
                spilled.to
            );
            (plan, None)
        }
    }
}

/// A live job's next step by its pool's `spill_after`: the job names `reference` (its pool, or
/// the pool and the fallbacks taken so far, `gpu|cpu`) and has had ready tasks and started none
/// for `queued` since it was submitted. Step n fires n × `spill_after` after the submission, so
/// each step fires once; the next fallback is the first that is a pool and not taken yet. The
/// new reference and the fallback added.
pub fn after(
    reference: &str,
    pools: &[Pool],
    queued: std::time::Duration,
) -> Option<(String, String)> {
    let plain = |c: char| !matches!(c, '&' | '!' | '(' | ')');
    if !reference.chars().all(plain) {
        return None;
    }
    let taken: Vec<&str> = reference.split('|').map(str::trim).collect();
    let pool = pools.iter().find(|p| p.name == taken[0])?;
    let every = pool.spill.after()?;
    let due = every.checked_mul(u32::try_from(taken.len()).ok()?)?;
    if queued < due {
        return None;
    }
    let next = pool
        .spill
        .fallback
        .iter()
        .find(|f| !taken.contains(&f.as_str()) && pools.iter().any(|p| &p.name == *f))?;
    Some((format!("{}|{next}", taken.join("|")), next.clone()))
}

/// What the pool's triggers would do now, for `explain` (`None` for a pool that never spills).
pub fn would(pool: &Pool, pools: &[Pool], renders: &[RenderInfo]) -> Option<String> {
    if pool.spill.is_empty() {
        return None;
    }
    let mut said = Vec::new();
    if let Some(k) = pool.spill.spill_below {
        let names: HashSet<String> = pool.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        said.push(match below(pool, pools, renders) {
            Some(s) => s.words(),
            None if renders.is_empty() => {
                format!("spill_below {k}: no render list yet, so it does not fire")
            }
            None => format!(
                "spill_below {k} does not fire: {} members online and not NIMBY",
                ready(&names, renders)
            ),
        });
    }
    if let (Some(after), Some(first)) = (&pool.spill.spill_after, pool.spill.fallback.first()) {
        said.push(format!(
            "spill_after {after}: a queued job that starts no task for {after} gets '{first}' added"
        ));
    }
    Some(said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Spill;
    use rstest::rstest;

    fn render(name: &str, online: bool, nimby: bool) -> RenderInfo {
        RenderInfo {
            online,
            nimby,
            ..RenderInfo::named(name)
        }
    }

    fn gpu(below: Option<u32>, fallback: &[&str]) -> Pool {
        let mut pool = Pool::new("gpu", ["g1", "G2", "g3"]);
        pool.spill = Spill {
            fallback: fallback.iter().map(|s| s.to_string()).collect(),
            spill_below: below,
            spill_after: None,
        };
        pool
    }

    fn farm() -> Vec<RenderInfo> {
        vec![
            render("g1", true, false),
            render("g2", true, true),   // NIMBY: not counted
            render("g3", false, false), // offline
            render("c1", true, false),
            render("c2", true, false),
            render("x1", true, false),
        ]
    }

    fn pools() -> Vec<Pool> {
        vec![Pool::new("cpu", ["c1"]), Pool::new("cloud", ["x1", "c2"])]
    }

    #[rstest]
    // One of gpu's members is ready: not below 1.
    #[case(gpu(Some(1), &["cpu"]), farm(), None)]
    // Below 2: cpu brings c1, enough.
    #[case(gpu(Some(2), &["cpu", "cloud"]), farm(), Some(("gpu|cpu", 1, 2)))]
    // Below 3: cpu is not enough, cloud too.
    #[case(gpu(Some(3), &["cpu", "cloud"]), farm(), Some(("gpu|cpu|cloud", 1, 4)))]
    // Below 9: every fallback, still short.
    #[case(gpu(Some(9), &["cpu", "cloud"]), farm(), Some(("gpu|cpu|cloud", 1, 4)))]
    // A fallback that is no pool yet is skipped.
    #[case(gpu(Some(2), &["later", "cloud"]), farm(), Some(("gpu|cloud", 1, 3)))]
    #[case(gpu(Some(2), &["later"]), farm(), None)]
    // No trigger, or no render list: nothing spills.
    #[case(gpu(None, &["cpu"]), farm(), None)]
    #[case(gpu(Some(2), &["cpu"]), vec![], None)]
    fn spill_below_takes_fallbacks_in_order_until_enough(
        #[case] pool: Pool,
        #[case] renders: Vec<RenderInfo>,
        #[case] want: Option<(&str, usize, usize)>,
    ) {
        let got = below(&pool, &pools(), &renders);
        let got = got
            .as_ref()
            .map(|s| (s.to.as_str(), s.ready, s.ready_after));
        assert_eq!(got, want);
    }

    #[test]
    fn a_submission_to_a_short_pool_is_routed_to_the_pool_and_its_fallback() {
        use crate::job::{route, RouteSettings};
        let mut all = pools();
        all.push(gpu(Some(2), &["cpu"]));
        let inv = Inventory::new(all, farm());
        let body = br#"{"job":{"name":"j","user_name":"u","pool":"gpu","blocks":[{"name":"b","flags":1,"frame_first":1,"frame_last":1,"command":"x"}]}}"#;
        let outcome = route(body, &RouteSettings::default(), &inv).unwrap();
        let spilled = outcome.spilled.clone().expect("spilled");
        assert_eq!(
            (spilled.from.as_str(), spilled.to.as_str()),
            ("gpu", "gpu|cpu")
        );
        let after = &outcome.explain.masks_after;
        let sent: serde_json::Value =
            serde_json::from_slice(outcome.body.as_ref().unwrap()).unwrap();
        assert_eq!(sent["job"]["annotation"], "[pool: gpu → gpu|cpu]");
        let exclude = after.hosts_mask_exclude.clone().unwrap();
        assert!(
            exclude.contains("c1") && exclude.contains("g1"),
            "{exclude}"
        );
        assert!(!exclude.contains("x1"), "{exclude}");
        // Its mark names the set, so a second pass (or a live job's masks) keeps it, unspilled.
        assert_eq!(sent["job"]["afpool_routed"], "gpu|cpu");
        let body2 = outcome.body.clone().unwrap();
        let again = route(&body2, &RouteSettings::default(), &inv).unwrap();
        assert_eq!(again.spilled, None);
        assert_eq!(again.explain.masks_after, outcome.explain.masks_after);
        assert!(
            outcome.explain.reason.contains("spill_below fired"),
            "{}",
            outcome.explain.reason
        );
        // Enough members ready: it stays, and explain says the trigger does not fire.
        let mut all = pools();
        all.push(gpu(Some(1), &["cpu"]));
        let inv = Inventory::new(all, farm());
        let outcome = route(body, &RouteSettings::default(), &inv).unwrap();
        assert_eq!(outcome.spilled, None);
        assert!(
            outcome.explain.reason.contains("does not fire"),
            "{}",
            outcome.explain.reason
        );
    }

    #[rstest]
    #[case("gpu", 29, None)]
    #[case("gpu", 30, Some("gpu|cpu"))]
    #[case("gpu|cpu", 59, None)]
    #[case("gpu|cpu", 60, Some("gpu|cpu|cloud"))]
    // Every fallback taken: no more steps.
    #[case("gpu|cpu|cloud", 600, None)]
    // Spilled below at submission into cloud only: cpu is next.
    #[case("gpu|cloud", 60, Some("gpu|cloud|cpu"))]
    // Not a spilling pool's job, or an expression of another shape.
    #[case("cpu", 600, None)]
    #[case("gpu&!cpu", 600, None)]
    fn spill_after_adds_the_next_fallback_once_per_step(
        #[case] reference: &str,
        #[case] minutes: u64,
        #[case] want: Option<&str>,
    ) {
        let mut all = pools();
        let mut pool = gpu(None, &["cpu", "later", "cloud"]);
        pool.spill.spill_after = Some("30m".into());
        all.push(pool);
        let queued = std::time::Duration::from_secs(minutes * 60);
        let got = after(reference, &all, queued);
        assert_eq!(got.as_ref().map(|(r, _)| r.as_str()), want);
    }

    #[test]
    fn explain_says_which_trigger_would_fire() {
        let mut pool = gpu(Some(2), &["cpu"]);
        pool.spill.spill_after = Some("30m".into());
        let said = would(&pool, &pools(), &farm()).unwrap();
        assert!(
            said.contains("spill_below fired") && said.contains("'gpu|cpu'"),
            "{said}"
        );
        assert!(
            said.contains("spill_after 30m") && said.contains("'cpu' added"),
            "{said}"
        );
        let calm = would(&gpu(Some(1), &["cpu"]), &pools(), &farm()).unwrap();
        assert!(calm.contains("does not fire: 1 members"), "{calm}");
        assert_eq!(would(&Pool::new("p", ["a"]), &pools(), &farm()), None);
    }
}
