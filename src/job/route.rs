//! [`route`]: one job submission in, an [`Outcome`] or a [`Rejection`] out. Order: parse, shield,
//! find and strip the pool reference (or, naming none, the default pool rules: [`super::unnamed`]),
//! resolve it (a pool or an expression), the pools' policy
//! (ACL, then defaults and clamps: [`super::policy`]), the masks (or the unusable-pool policy),
//! write the body back.

use std::net::IpAddr;
use std::sync::Arc;

pub use super::admit::Admission;
use super::decision::{unusable, Decision, FENCE_ALL};
use super::envelope::{checked, utf8_text, Envelope, Fields, Job, Parts};
use super::explain::{Masks, Outcome, Verdict};
use super::inventory::{Inventory, PoolPlan};
use super::policy::{self, OnRefused};
use super::poolref::{self, PoolChoice, PoolSource, ROUTED_KEY};
use super::rejection::{Rejection, ShieldRule};
use super::rewrite::{self, PlanError};
use super::settings::{Policy, RouteSettings};
use super::{admit, job_keys, poolexpr, shield, spill, unnamed};

/// Route one job submission body (the whole `{"job":{...}}` envelope bytes). A body afpool cannot
/// read strictly (not UTF-8, duplicate keys, not a JSON object) is rejected as malformed.
pub fn route(body: &[u8], settings: &RouteSettings, inv: &Inventory) -> Result<Outcome, Rejection> {
    route_as(body, settings, inv, Admission::Submitted(None))
}

/// [`route`], with the pools' policy applied as `admission` says.
pub fn route_as(
    body: &[u8],
    settings: &RouteSettings,
    inv: &Inventory,
    admission: Admission,
) -> Result<Outcome, Rejection> {
    let mut env = Envelope::parse(body).map_err(|e| malformed(e.to_string()))?;
    let (mut outcome, changed) = route_envelope(&mut env, settings, inv, admission)?;
    outcome.body = changed.then(|| env.to_vec());
    Ok(outcome)
}

/// A submission [`route_submission`] routed: what routing decided, and the body to forward.
#[derive(Debug)]
pub struct Routed<'a> {
    /// The decision and its explanation; its `body` is `None`, the body is [`Routed::body`].
    pub outcome: Outcome,
    /// afpool's own re-serialisation of the envelope, always (so that afserver reads exactly
    /// what afpool checked), with long stretches of request text borrowed from the request.
    pub body: Parts<'a>,
}

/// Check any JSON message body and route it if afserver would read it as a job submission:
/// - `Some(Err(_))`: afpool cannot read it the way afserver will (not UTF-8, duplicate keys, not
///   a JSON object), or the job is refused; nothing may be forwarded;
/// - `None`: a readable message that is not a submission (a `get`, an `action`...), to be
///   forwarded as it is;
/// - `Some(Ok(routed))`: a submission, with the body to forward ([`Routed`]).
pub fn route_submission<'a>(
    body: &'a [u8],
    settings: &RouteSettings,
    inv: &Inventory,
) -> Option<Result<Routed<'a>, Rejection>> {
    route_submission_from(body, settings, inv, None)
}

/// [`route_submission`] of a body sent from `peer` (the client's address, which pool ACLs check).
pub fn route_submission_from<'a>(
    body: &'a [u8],
    settings: &RouteSettings,
    inv: &Inventory,
    peer: Option<IpAddr>,
) -> Option<Result<Routed<'a>, Rejection>> {
    let admission = Admission::Submitted(peer);
    let route = |mut env: Envelope<'a>| {
        if !env.is_submission() {
            return None;
        }
        let routed =
            route_envelope(&mut env, settings, inv, admission).map(|(outcome, _)| Routed {
                outcome,
                body: env.to_parts(),
            });
        Some(routed)
    };
    let read = utf8_text(body).and_then(|text| {
        match super::envelope::might_be_submission(text.as_bytes()) {
            true => Envelope::read(text, route),
            false => checked(text).map(|()| None),
        }
    });
    read.unwrap_or_else(|e| Some(Err(malformed(e.to_string()))))
}

/// Routes the job in `env`; the outcome (its `body` left `None`) and whether the envelope changed.
fn route_envelope(
    env: &mut Envelope<'_>,
    settings: &RouteSettings,
    inv: &Inventory,
    admission: Admission,
) -> Result<(Outcome, bool), Rejection> {
    let job = env
        .job_mut()
        .map_err(|kind| malformed(format!("the request's 'job' is {kind}, not a job object")))?;
    shield::check_structure(job)?;
    if rewrite::job_is_regex(job, settings.assume_mask_type) {
        shield::check_regex_masks(job)?;
    }
    let masks_before = Masks::of(job);
    let found = poolref::take(job)?;
    let unnamed = match found.choice {
        Some(_) => None,
        None => Some(unnamed::choose(job, settings, inv, admission.peer())),
    };
    let choice = found.choice.or_else(|| unnamed.as_ref()?.choice.clone());
    let serial_dropped = job_keys::drop_serial(job);
    let submitted_paused = job_keys::submitted_paused(job);
    let mut decision = match &unnamed {
        Some(u) if u.is_hold() => unusable(
            job,
            settings,
            Policy::Hold,
            "",
            HOLD_UNMATCHED.into(),
            FENCE_ALL,
        )?,
        _ => decide(job, choice.as_ref(), settings, inv, admission)?,
    };
    decision.rule = unnamed.and_then(|u| u.rule);
    if let (Some(choice), true) = (&choice, decision.verdict != Verdict::NoPool) {
        let spilled = decision.spilled.as_ref().map(|s| s.to.as_str());
        job.set_str(ROUTED_KEY, spilled.unwrap_or(&choice.name));
    }
    let changed = found.stripped || serial_dropped || decision.changed;
    let spilled = decision.spilled.clone();
    let explain = decision.explanation(job, choice.clone(), masks_before);
    let outcome = Outcome {
        verdict: decision.verdict,
        pool: choice,
        body: None,
        explain,
        submitted_paused,
        spilled,
    };
    Ok((outcome, changed))
}

fn malformed(message: String) -> Rejection {
    Rejection::shield(ShieldRule::Malformed, message)
}

fn decide(
    job: &mut Job<'_>,
    choice: Option<&PoolChoice>,
    settings: &RouteSettings,
    inv: &Inventory,
    admission: Admission,
) -> Result<Decision, Rejection> {
    let choice = match choice {
        None => return Ok(Decision::no_pool("no pool reference")),
        Some(c) if c.is_no_pool() => {
            return Ok(Decision::no_pool("the pool reference says no pool"))
        }
        Some(c) => c,
    };
    let name = &choice.name;
    let plan = match inv.plan(name) {
        Some(plan) => plan.clone(),
        None if poolexpr::is_expression(name) => match inv.plan_expr(name) {
            Ok(plan) => plan,
            Err(refusal) => {
                let problem = refusal.to_string();
                let on = settings.on_unknown_pool;
                return unusable(job, settings, on, name, problem, FENCE_ALL);
            }
        },
        None => {
            let problem = format!("unknown pool '{name}'");
            let on = settings.on_unknown_pool;
            return unusable(job, settings, on, name, problem, FENCE_ALL);
        }
    };
    // Spill-over is for submissions: a job afpool routed before (a live job's masks, a second
    // pass) keeps the set its mark names.
    let (plan, spilled) = match choice.source {
        PoolSource::RoutedMark => (plan, None),
        _ => spill::plan(inv, name, plan),
    };
    let plan = &plan;
    let mut decided = Vec::new();
    let peer = match admission {
        Admission::Submitted(peer) | Admission::Explained(peer) => Some(peer),
        Admission::Live => None,
    };
    // A spilled job takes hosts from its fallbacks too: their policies apply as well.
    let into = spilled.as_ref().map_or(name.as_str(), |s| s.to.as_str());
    let tag = spilled.as_ref().map(|s| format!("{name} → {}", s.to));
    let tag = tag.as_deref().unwrap_or(name);
    if let Some(peer) = peer {
        if let Some((refusal, on)) = admit::admit(job, into, inv, peer, &mut decided) {
            let on = match admission {
                Admission::Explained(_) => OnRefused::Hold,
                _ => on,
            };
            let mut d = refused_by_policy(job, settings, name, (refusal, on))?;
            d.policy = decided;
            return Ok(d);
        }
    }
    let mut d = masks(job, (name, tag), plan, settings, inv)?;
    d.spilled = spilled;
    let clamps = policy::Evaluation {
        decisions: decided,
        refused: None,
    };
    if let Some(text) = clamps.clamps_text() {
        d.reason = format!("{}; clamped: {text}", d.reason);
        if d.verdict == Verdict::Routed && settings.annotate {
            admit::annotate_clamps(job, tag, &text);
        }
    }
    d.policy = clamps.decisions;
    Ok(d)
}

/// A job a pool's policy refused: an error naming the rule (`reject`), or held and fenced off
/// every host (`hold`).
fn refused_by_policy(
    job: &mut Job<'_>,
    settings: &RouteSettings,
    name: &str,
    (refusal, on): (policy::Decision, OnRefused),
) -> Result<Decision, Rejection> {
    let verdict = match on {
        OnRefused::Reject => Policy::Reject,
        OnRefused::Hold => Policy::Hold,
    };
    unusable(job, settings, verdict, name, refusal.to_string(), FENCE_ALL)
}

/// The masks for pool `name`, annotated `[pool: TAG]` (or the unusable-pool policy).
fn masks(
    job: &mut Job<'_>,
    (name, tag): (&str, &str),
    plan: &Arc<PoolPlan>,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Result<Decision, Rejection> {
    if let Err(e) = &plan.valid {
        let msg = format!("pool '{name}' has a host name afpool cannot write as a mask ({e})");
        return Err(Rejection::shield(ShieldRule::InvalidRegex, msg));
    }
    if plan.hosts.is_empty() {
        let problem = format!("pool '{name}' has no hosts");
        return unusable(
            job,
            settings,
            settings.on_empty_pool,
            name,
            problem,
            FENCE_ALL,
        );
    }
    match rewrite::plan(job, plan, settings, inv) {
        Ok(masks) => {
            rewrite::apply(job, &masks, tag, settings)?;
            let mut reason = routed_reason(name, plan, &masks);
            let pools = inv.pools();
            let trigger = pools.iter().find(|p| p.name == name);
            if let Some(said) = trigger.and_then(|p| spill::would(p, pools, inv.renders())) {
                reason = format!("{reason}; spill-over: {said}");
            }
            Ok(Decision {
                verdict: Verdict::Routed,
                reason,
                changed: true,
                plan: Some(plan.clone()),
                routed: Some(masks),
                spilled: None,
                policy: Vec::new(),
                rule: None,
            })
        }
        Err(PlanError::Rejected(r)) => Err(r),
        Err(e) => unplannable(job, settings, name, plan, e),
    }
}

/// The empty-pool policy for a pool that has hosts but cannot take the job. A held job is fenced
/// by the pool's own exclusion when no host was left, else (a mask too large) by every host.
fn unplannable(
    job: &mut Job<'_>,
    settings: &RouteSettings,
    name: &str,
    plan: &PoolPlan,
    e: PlanError,
) -> Result<Decision, Rejection> {
    let fence = match e {
        PlanError::NoHostLeft(_) => plan.exclude(),
        _ => FENCE_ALL,
    };
    let problem = e.unusable(name);
    unusable(job, settings, settings.on_empty_pool, name, problem, fence)
}

fn routed_reason(name: &str, plan: &PoolPlan, masks: &rewrite::MaskPlan) -> String {
    format!(
        "routed to pool '{name}' ({} hosts, {} known renders may run it, {} known hosts and any \
         new host kept off)",
        plan.hosts.len(),
        masks.can_run.len(),
        masks.hosts_excluded
    )
}

/// Why a job naming no pool and matching no default pool rule is held.
const HOLD_UNMATCHED: &str = "it names no pool and no default pool rule matched (otherwise: hold)";

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
