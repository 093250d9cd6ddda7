//! Rewriting a job for its pool: switch it to regex masks (translating find-mode masks so they keep
//! their meaning), exclude every host that is not a member (a negative look-ahead of the members,
//! so hosts that register later are excluded too) and/or limit `hosts_mask` to the pool's hosts,
//! and annotate. A job whose own masks leave none of the pool's hosts is not planned. Routing is
//! idempotent: afpool's pool part of an earlier pass is recognised and written again, not twice.
//! Also the `hold` and `pass` policy edits.

use std::sync::Arc;

use super::ecma::Refusal;
use super::envelope::{Fields, Job};
use super::inventory::{HostList, HostState, Inventory, PoolPlan};
use super::rejection::{Rejection, ShieldRule};
use super::settings::{MaskMode, MaskType, RouteSettings};
use super::shield::{job_label, JOB_MASKS};
use super::{compact, mask};

mod host_filter;
use host_filter::allowed_hosts;

/// Does afserver read this job's masks as regexes? A job's own `hosts_mask_type` decides; without
/// one, the settings' assumption about the user's mode does.
pub(crate) fn job_is_regex(job: &Job<'_>, assume: MaskType) -> bool {
    match job.text_of("hosts_mask_type").as_deref() {
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
    /// The job's own masks (job or block level) leave none of the pool's hosts: whose masks.
    NoHostLeft(String),
    /// A mask could not be evaluated.
    Rejected(Rejection),
    /// A mask afserver's `std::regex` would refuse as too large (and then ignore).
    TooLarge {
        /// `hosts_mask` or `hosts_mask_exclude`.
        key: &'static str,
        /// NFA states libstdc++ would build.
        states: u64,
    },
    /// A written mask afserver would refuse, or could not use safely, for another reason.
    Refused {
        /// `hosts_mask` or `hosts_mask_exclude`.
        key: &'static str,
        /// Why, in one line.
        why: String,
    },
}

/// The job's own masks as regexes (find masks translated), afpool's earlier pool part left out.
struct UserMasks {
    translate: bool,
    hosts_mask: String,
    hosts_mask_exclude: String,
    /// Which of the two job masks the job has (they are written back translated).
    present: [bool; 2],
    /// Per block: its name for messages, and its translated `hosts_mask` and `hosts_mask_exclude`.
    blocks: Vec<(String, String, String)>,
}

impl UserMasks {
    fn read(job: &Job<'_>, settings: &RouteSettings) -> Self {
        let translate = !job_is_regex(job, settings.assume_mask_type);
        let read = |m: Option<String>| {
            let m = m.unwrap_or_default();
            if translate {
                mask::find_to_regex(&m)
            } else {
                m
            }
        };
        let exclude = read(job.str_of("hosts_mask_exclude"));
        let blocks = job.blocks().and_then(Result::ok).unwrap_or(&[]);
        UserMasks {
            translate,
            present: JOB_MASKS.map(|k| job.raw(k).is_some()),
            hosts_mask: read(job.str_of("hosts_mask")),
            hosts_mask_exclude: mask::user_part(&exclude, |u| mask::check_regex(u).is_ok())
                .to_string(),
            blocks: blocks
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let name = b
                        .str_of("name")
                        .map_or(format!("#{i}"), |n| format!("'{n}'"));
                    let (m, x) = (b.str_of("hosts_mask"), b.str_of("hosts_mask_exclude"));
                    (name, read(m), read(x))
                })
                .collect(),
        }
    }
}

/// Plans the masks for `pool` without touching the job.
pub(crate) fn plan(
    job: &Job<'_>,
    pool: &PoolPlan,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Result<MaskPlan, PlanError> {
    let user = UserMasks::read(job, settings);
    let label = job_label(job);
    let allowed = allowed_hosts(&user, pool, label)?;
    let [has_mask, has_exclude] = user.present;
    let mut plan = MaskPlan {
        translate: user.translate,
        hosts_mask: has_mask.then(|| user.hosts_mask.clone()),
        hosts_mask_exclude: has_exclude.then(|| user.hosts_mask_exclude.clone()),
        can_run: pool.can_run.clone(),
        cannot_run: pool.cannot_run.clone(),
        hosts_excluded: pool.excluded,
    };
    if allowed.len() < pool.hosts.len() {
        (plan.can_run, plan.cannot_run) = narrowed(pool, &allowed);
    }
    if settings.mask_mode != MaskMode::Include {
        plan.hosts_mask_exclude = Some(mask::merge(&user.hosts_mask_exclude, pool.exclude()));
    }
    if settings.mask_mode != MaskMode::Exclude {
        plan.hosts_mask = Some(if user.hosts_mask.is_empty() {
            pool.include().to_string()
        } else {
            compact::alternation(allowed.iter().copied())
        });
        plan.hosts_excluded = inv.known_hosts() - allowed.len();
    }
    for (key, value) in JOB_MASKS
        .into_iter()
        .zip([&plan.hosts_mask, &plan.hosts_mask_exclude])
    {
        match value.as_deref().map(|v| pool.check_mask(v)) {
            None | Some(Ok(_)) => {}
            Some(Err(Refusal::TooManyStates(states))) => {
                return Err(PlanError::TooLarge { key, states })
            }
            Some(Err(why)) => {
                let why = why.to_string();
                return Err(PlanError::Refused { key, why });
            }
        }
    }
    Ok(plan)
}

/// The pool's known renders split by whether the job's own masks allow them.
fn narrowed(pool: &PoolPlan, allowed: &[&str]) -> (Arc<Vec<HostState>>, HostList) {
    let (can, cannot): (Vec<HostState>, Vec<HostState>) = pool
        .can_run
        .iter()
        .cloned()
        .partition(|h| allowed.contains(&h.name.as_str()));
    (Arc::new(can), pool.cannot_run.with_extra(cannot))
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
            if job.text_of(key).as_deref() != Some(v.as_str()) {
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
    let mut refused = None;
    'blocks: for block in job.blocks_mut() {
        for key in JOB_MASKS {
            let Some(old) = block.str_of(key) else {
                continue;
            };
            let new = mask::find_to_regex(&old);
            if let Err(e) = mask::check_regex(&new) {
                refused = Some((old, e));
                break 'blocks;
            }
            if new != old {
                block.set_str(key, &new);
            }
        }
    }
    match refused {
        None => Ok(()),
        Some((old, e)) => {
            let label = job_label(job);
            let msg = format!("job {label}: block mask '{old}' cannot be translated ({e})");
            Err(Rejection::shield(ShieldRule::InvalidRegex, msg))
        }
    }
}

/// `hold` policy: forward paused, saying why, and fenced: the job switches to regex masks (find
/// masks translated) and `fence` joins its exclude mask, so resuming it cannot run it outside its
/// pool.
pub(crate) fn hold(
    job: &mut Job<'_>,
    reason: &str,
    fence: &str,
    settings: &RouteSettings,
) -> Result<(), Rejection> {
    let user = UserMasks::read(job, settings);
    if user.translate {
        translate_blocks(job)?;
        if user.present[0] {
            job.set_str("hosts_mask", &user.hosts_mask);
        }
    }
    job.set_str("hosts_mask_type", "regex");
    job.set_str(
        "hosts_mask_exclude",
        &mask::merge(&user.hosts_mask_exclude, fence),
    );
    job.set_bool("offline", true);
    prefix_annotation(job, &format!("[afpool: held: {reason}]"));
    Ok(())
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

impl PlanError {
    /// Why pool `name` cannot take the job, for the empty-pool policy.
    pub fn unusable(self, name: &str) -> String {
        match self {
            PlanError::NoHostLeft(masks) => format!("{masks} leave no host of pool '{name}'"),
            PlanError::TooLarge { key, states } => format!(
                "pool '{name}' needs a {key} of {states} regex states, more than afserver's \
             std::regex accepts ({}), and afserver would ignore it; split the pool",
                super::ecma::STATE_LIMIT
            ),
            PlanError::Refused { key, why } => {
                format!("the {key} written for pool '{name}' cannot be used by afserver ({why}); split the pool")
            }
            PlanError::Rejected(r) => r.to_string(),
        }
    }
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
        let settings = RouteSettings::default();
        let held = annotated(job, |j| hold(j, "why", ".*", &settings).unwrap());
        assert_eq!(held.as_deref(), Some(want));
    }

    #[test]
    fn hold_sets_offline_and_fences_and_pass_does_neither() {
        let body = br#"{"job":{"offline":false,"name":"x"}}"#;
        let mut env = Envelope::parse(body).unwrap();
        hold(env.job_mut().unwrap(), "r", ".*", &RouteSettings::default()).unwrap();
        assert_eq!(
            String::from_utf8(env.to_vec()).unwrap(),
            r#"{"job":{"offline":true,"name":"x","hosts_mask_type":"regex","hosts_mask_exclude":".*","annotation":"[afpool: held: r]"}}"#
        );
        let find = br#"{"job":{"hosts_mask":"r1","hosts_mask_exclude":"gpu","blocks":[{"hosts_mask":"a b"}]}}"#;
        let mut env = Envelope::parse(find).unwrap();
        hold(env.job_mut().unwrap(), "r", ".*", &RouteSettings::default()).unwrap();
        assert_eq!(
            String::from_utf8(env.to_vec()).unwrap(),
            r#"{"job":{"hosts_mask":"r1.*","hosts_mask_exclude":"(gpu.*)|(.*)","blocks":[{"hosts_mask":"a.*|b.*"}],"hosts_mask_type":"regex","offline":true,"annotation":"[afpool: held: r]"}}"#
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
