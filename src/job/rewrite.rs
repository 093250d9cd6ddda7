//! Rewriting a job for its pool: switch it to regex masks (translating find-mode masks so they keep
//! their meaning), exclude every known host outside the pool and/or limit `hosts_mask` to the
//! pool's hosts, and annotate. Also the `hold` and `pass` policy edits.

use std::sync::Arc;

use super::envelope::{Fields, Job};
use super::inventory::{HostList, HostState, Inventory, PoolPlan};
use super::rejection::{Rejection, ShieldRule};
use super::settings::{MaskMode, MaskType, RouteSettings};
use super::shield::{job_label, JOB_MASKS};
use super::{compact, mask};

/// Does afserver read this job's masks as regexes? A job's own `hosts_mask_type` decides; without
/// one, the settings' assumption about the user's mode does.
pub(crate) fn job_is_regex(job: &Job<'_>, assume: MaskType) -> bool {
    match job.str_of("hosts_mask_type").as_deref() {
        Some(kind) => kind == "regex",
        None => assume == MaskType::Regex,
    }
}

/// The new job-level masks, computed before anything is changed.
#[derive(Debug)]
pub(crate) struct MaskPlan {
    translate: bool,
    hosts_mask: Option<String>,
    hosts_mask_exclude: Option<String>,
    /// Known renders the job may run on after the rewrite.
    pub can_run: Arc<Vec<HostState>>,
    /// Known renders the job is kept off.
    pub cannot_run: HostList,
    /// Known hosts the job is kept off.
    pub hosts_excluded: usize,
}

/// Why a pool cannot take the job although it has hosts.
#[derive(Debug)]
pub(crate) enum PlanError {
    /// The job's own `hosts_mask` matches none of the pool's hosts.
    NoHostLeft,
    /// A mask could not be evaluated.
    Rejected(Rejection),
    /// A mask afserver's `std::regex` would refuse as too large (and then ignore).
    TooLarge {
        /// `hosts_mask` or `hosts_mask_exclude`.
        key: &'static str,
        /// Estimated NFA states.
        states: usize,
    },
}

/// Plans the masks for `pool` without touching the job.
pub(crate) fn plan(
    job: &Job<'_>,
    pool: &PoolPlan,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Result<MaskPlan, PlanError> {
    let translate = !job_is_regex(job, settings.assume_mask_type);
    let read = |key| {
        job.str_of(key).map(|m| {
            if translate {
                mask::find_to_regex(&m)
            } else {
                m
            }
        })
    };
    let (mut hosts_mask, mut hosts_mask_exclude) = (read("hosts_mask"), read("hosts_mask_exclude"));
    let label = job_label(job);
    for m in hosts_mask.iter().chain(&hosts_mask_exclude) {
        mask::check_regex(m).map_err(|e| internal(&label, m, e))?;
    }
    let mut plan = MaskPlan {
        translate,
        hosts_mask: None,
        hosts_mask_exclude: None,
        can_run: pool.can_run.clone(),
        cannot_run: pool.cannot_run.clone(),
        hosts_excluded: 0,
    };
    let exclude = pool.exclude();
    if settings.mask_mode != MaskMode::Include && !exclude.is_empty() {
        hosts_mask_exclude = Some(mask::merge(
            hosts_mask_exclude.as_deref().unwrap_or(""),
            exclude,
        ));
        plan.hosts_excluded = pool.excluded;
    }
    if settings.mask_mode != MaskMode::Exclude {
        hosts_mask = Some(include(
            &mut plan,
            pool,
            hosts_mask.as_deref().unwrap_or(""),
            inv,
            &label,
        )?);
    }
    for (key, value) in JOB_MASKS
        .into_iter()
        .zip([&hosts_mask, &hosts_mask_exclude])
    {
        let states = value.as_deref().map_or(0, mask::afserver_states);
        if states > mask::AFSERVER_STATE_LIMIT {
            return Err(PlanError::TooLarge { key, states });
        }
    }
    plan.hosts_mask = hosts_mask;
    plan.hosts_mask_exclude = hosts_mask_exclude;
    Ok(plan)
}

/// The include mask: the pool's hosts that the job's own include mask (a regex by now) lets through.
fn include(
    plan: &mut MaskPlan,
    pool: &PoolPlan,
    user_mask: &str,
    inv: &Inventory,
    label: &str,
) -> Result<String, PlanError> {
    if user_mask.is_empty() {
        plan.hosts_excluded = inv.known_hosts() - pool.hosts.len();
        return Ok(pool.include().to_string());
    }
    let re = mask::full_match(user_mask).map_err(|e| internal(label, user_mask, e))?;
    let allowed: Vec<&str> = pool
        .hosts
        .iter()
        .map(String::as_str)
        .filter(|h| re.is_match(h))
        .collect();
    if allowed.is_empty() {
        return Err(PlanError::NoHostLeft);
    }
    let (can, cannot): (Vec<HostState>, Vec<HostState>) = pool
        .can_run
        .iter()
        .cloned()
        .partition(|h| allowed.contains(&h.name.as_str()));
    plan.can_run = Arc::new(can);
    plan.cannot_run = pool.cannot_run.with_extra(cannot);
    plan.hosts_excluded = inv.known_hosts() - allowed.len();
    Ok(compact::alternation(allowed.iter().copied()))
}

fn internal(label: &str, mask: &str, err: String) -> PlanError {
    let msg = format!("job {label}: hosts mask '{mask}' cannot be used ({err})");
    PlanError::Rejected(Rejection::shield(ShieldRule::InvalidRegex, msg))
}

/// Applies a plan: translate block masks, set `hosts_mask_type` and the job masks, annotate.
pub(crate) fn apply(
    job: &mut Job<'_>,
    plan: &MaskPlan,
    pool: &str,
    settings: &RouteSettings,
) -> Result<(), Rejection> {
    if plan.translate {
        translate_blocks(job)?;
    }
    job.set_str("hosts_mask_type", "regex");
    for (key, value) in JOB_MASKS
        .into_iter()
        .zip([&plan.hosts_mask, &plan.hosts_mask_exclude])
    {
        if let Some(v) = value {
            if job.str_of(key).as_ref() != Some(v) {
                job.set_str(key, v);
            }
        }
    }
    if settings.annotate {
        prefix_annotation(job, &format!("[pool: {pool}]"));
    }
    Ok(())
}

/// Translates every block's find-mode masks into regexes; the result is validated.
fn translate_blocks(job: &mut Job<'_>) -> Result<(), Rejection> {
    let label = job_label(job);
    for block in job.blocks_mut() {
        for key in JOB_MASKS {
            let Some(old) = block.str_of(key) else {
                continue;
            };
            let new = mask::find_to_regex(&old);
            if let Err(e) = mask::check_regex(&new) {
                let msg = format!("job {label}: block mask '{old}' cannot be translated ({e})");
                return Err(Rejection::shield(ShieldRule::InvalidRegex, msg));
            }
            if new != old {
                block.set_str(key, &new);
            }
        }
    }
    Ok(())
}

/// `hold` policy: forward paused, saying why.
pub(crate) fn hold(job: &mut Job<'_>, reason: &str) {
    job.set_bool("offline", true);
    prefix_annotation(job, &format!("[afpool: held: {reason}]"));
}

/// `pass` policy: forward unrouted, saying why.
pub(crate) fn pass(job: &mut Job<'_>, reason: &str) {
    prefix_annotation(job, &format!("[afpool: passed: {reason}]"));
}

/// Prefixes the annotation with `tag` (and a space) unless it already starts with it.
fn prefix_annotation(job: &mut Job<'_>, tag: &str) {
    let old = job.str_of("annotation").unwrap_or_default();
    if old.starts_with(tag) {
        return;
    }
    let new = if old.is_empty() {
        tag.to_string()
    } else {
        format!("{tag} {old}")
    };
    job.set_str("annotation", &new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::envelope::Envelope;
    use rstest::rstest;

    fn annotated(job: &str, f: impl Fn(&mut Job<'_>)) -> Option<String> {
        let body = format!(r#"{{"job":{job}}}"#);
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        let job = env.job_mut().unwrap();
        f(job);
        job.str_of("annotation")
    }

    #[rstest]
    #[case(r#"{}"#, "[afpool: held: why]")]
    #[case(r#"{"annotation":"mine"}"#, "[afpool: held: why] mine")]
    #[case(
        r#"{"annotation":"[afpool: held: why] mine"}"#,
        "[afpool: held: why] mine"
    )]
    fn hold_annotates_once(#[case] job: &str, #[case] want: &str) {
        assert_eq!(annotated(job, |j| hold(j, "why")).as_deref(), Some(want));
    }

    #[test]
    fn hold_sets_offline_and_pass_does_not() {
        let body = br#"{"job":{"offline":false,"name":"x"}}"#;
        let mut env = Envelope::parse(body).unwrap();
        hold(env.job_mut().unwrap(), "r");
        assert_eq!(
            env.to_vec(),
            br#"{"job":{"offline":true,"name":"x","annotation":"[afpool: held: r]"}}"#
        );
        let mut env = Envelope::parse(body).unwrap();
        pass(env.job_mut().unwrap(), "r");
        assert_eq!(
            env.to_vec(),
            br#"{"job":{"offline":false,"name":"x","annotation":"[afpool: passed: r]"}}"#
        );
    }

    #[rstest]
    #[case(r#"{"hosts_mask_type":"regex"}"#, MaskType::Find, true)]
    #[case(r#"{"hosts_mask_type":"find"}"#, MaskType::Regex, false)]
    #[case(r#"{"hosts_mask_type":"Regex"}"#, MaskType::Regex, false)]
    #[case(r#"{}"#, MaskType::Regex, true)]
    #[case(r#"{}"#, MaskType::Find, false)]
    fn mask_type(#[case] job: &str, #[case] assume: MaskType, #[case] regex: bool) {
        let body = format!(r#"{{"job":{job}}}"#);
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        assert_eq!(job_is_regex(env.job_mut().unwrap(), assume), regex);
    }
}
