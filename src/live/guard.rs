//! The guard on job edits, pure: an `action` on jobs whose `params` set `hosts_mask`,
//! `hosts_mask_exclude` or `hosts_mask_type` of a registered pool job is merged with the pool as a
//! submission is ([`super::target::compute`]): the new masks narrow the job within its pool and
//! never widen it out. A `pool:NAME` token moves the job to pool NAME, `pool:none` releases it.
//! Jobs of one edit that end with different masks are split into one action each (the first is
//! forwarded in the client's place, the others sent by afpool). Block-level edits (`block_ids`,
//! `block_mask`) cannot widen a job past its job-level pool masks and are relayed, unless they
//! carry a pool token, which only the job's own mask may. A value a pool job's pool limits
//! (`priority`, `max_running_tasks`, ...; a block's `capacity`...) set past the pool's maximum is
//! lowered to it ([`super::guard_clamp`]), in mask edits and on its own. Such an edit that
//! selects jobs by name (`mask`) instead of by id is refused: afserver alone knows which jobs it
//! reaches. Anything else → [`Guarded::Relay`].

use serde_json::{Map, Value};

use crate::job::{Inventory, RouteSettings};
use crate::shared_str::SharedStr;
use crate::store::registry::{JobMasks, PoolJob};

use super::guard_clamp;
use super::target::{compute, without_tokens, Computed};

const MASK_KEYS: [&str; 3] = ["hosts_mask", "hosts_mask_exclude", "hosts_mask_type"];

/// What becomes of a registered job through an edit.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Still (or now) in a pool: the registry record to write.
    Keep(PoolJob),
    /// Released from its pool: unregister.
    Release(PoolJob),
}

/// The guard's verdict on one request body.
#[derive(Debug, PartialEq)]
pub enum Guarded {
    /// Not a mask edit of a pool job: relay byte-exact.
    Relay,
    /// Forward `body` instead, send `extra` too, then apply `changes`.
    Rewrite {
        /// The action forwarded in the client's place.
        body: Vec<u8>,
        /// More actions (jobs that got other masks).
        extra: Vec<Vec<u8>>,
        /// Registry changes, one per registered job edited.
        changes: Vec<Change>,
        /// Who asked (`user@host`), for the audit.
        who: String,
        /// The registered jobs whose values the edit set past their pool's maximum.
        clamped: Vec<EditClamp>,
    },
    /// Refused, with afpool's reason (nothing is forwarded).
    Refuse(String),
}

/// A registered job whose edit set values past its pool's maximum, lowered.
#[derive(Debug, Clone, PartialEq)]
pub struct EditClamp {
    /// afserver's job id.
    pub job_id: i64,
    /// The job's name.
    pub job_name: String,
    /// The job's pool (or expression).
    pub pool: String,
    /// Each value lowered, as `key from→to`.
    pub clamps: Vec<String>,
}

impl EditClamp {
    fn of(job: &PoolJob, pool: &str, clamps: Vec<String>) -> Option<EditClamp> {
        (!clamps.is_empty()).then(|| EditClamp {
            job_id: job.job_id,
            job_name: job.job_name.clone(),
            pool: pool.to_string(),
            clamps,
        })
    }

    /// The keys lowered (`priority`, `capacity`, ...).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.clamps.iter().filter_map(|c| c.split(' ').next())
    }
}

/// Guards one JSON request `body`; `lookup` finds registered jobs.
pub fn guard(
    body: &[u8],
    lookup: impl Fn(i64) -> Option<PoolJob>,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Guarded {
    let limits = inv.has_policies() && guard_clamp::might_set_limits(body);
    if !limits && !mentions_masks(body) {
        return Guarded::Relay;
    }
    let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(body) else {
        return Guarded::Relay;
    };
    let Some(Value::Object(action)) = top.remove("action") else {
        return Guarded::Relay;
    };
    let Some(Value::Object(edit)) = action.get("params").cloned() else {
        return Guarded::Relay;
    };
    let block = action.contains_key("block_ids") || action.contains_key("block_mask");
    let masks = MASK_KEYS.iter().any(|k| edit.contains_key(*k));
    let limits = guard_clamp::mentions_limits(&edit, block);
    if action.get("type").and_then(Value::as_str) != Some("jobs") || !(masks || limits) {
        return Guarded::Relay;
    }
    let ids: Vec<i64> = action
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let registered: Vec<PoolJob> = ids.iter().filter_map(|id| lookup(*id)).collect();
    if registered.is_empty() {
        return by_name(&action);
    }
    if block && masks {
        if let refused @ Guarded::Refuse(_) = block_edit(&edit) {
            return refused;
        }
    }
    if block || !masks {
        return clamp_edit(&action, &edit, &ids, &registered, inv, block);
    }
    job_edit(&action, &edit, &ids, registered, settings, inv)
}

/// An edit that sets no job mask: only values over a pool's maximum change (relayed as it is
/// when none does).
fn clamp_edit(
    action: &Map<String, Value>,
    edit: &Map<String, Value>,
    ids: &[i64],
    registered: &[PoolJob],
    inv: &Inventory,
    block: bool,
) -> Guarded {
    let mut groups: Vec<(Map<String, Value>, Vec<i64>)> = Vec::new();
    let mut clamped = Vec::new();
    for id in ids {
        let mut params = edit.clone();
        if let Some(job) = registered.iter().find(|j| j.job_id == *id) {
            let clamps = guard_clamp::clamp(&mut params, &job.pool, inv, block);
            clamped.extend(EditClamp::of(job, &job.pool, clamps));
        }
        group(&mut groups, params, *id);
    }
    match clamped.is_empty() {
        false => split(action, groups, Vec::new(), clamped),
        true => Guarded::Relay,
    }
}

fn group(groups: &mut Vec<(Map<String, Value>, Vec<i64>)>, params: Map<String, Value>, id: i64) {
    match groups.iter_mut().find(|(p, _)| *p == params) {
        Some((_, members)) => members.push(id),
        None => groups.push((params, vec![id])),
    }
}

/// An edit none of whose `ids` is a pool job. afserver applies an action none of whose ids it
/// finds to every job whose name matches its `mask` (afcmd's `jpri`, `jtmax` and `jhmask` select
/// jobs so): which jobs that reaches only afserver knows, so while pool jobs are guarded, an edit
/// of masks or limits that selects by name is refused (fail-closed); else it is relayed.
fn by_name(action: &Map<String, Value>) -> Guarded {
    match action.get("mask").and_then(Value::as_str) {
        Some(mask) if !mask.is_empty() => Guarded::Refuse(format!(
            "afpool: this edit selects jobs by name ('{mask}') and may reach pool jobs, whose masks and limits afpool guards by id: select the jobs by id, as afwatch and the web GUI do; not applied"
        )),
        _ => Guarded::Relay,
    }
}

/// Cheap pre-check so that most requests are never parsed twice.
fn mentions_masks(body: &[u8]) -> bool {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    has(b"\"action\"") && has(b"hosts_mask")
}

fn block_edit(edit: &Map<String, Value>) -> Guarded {
    let token = MASK_KEYS.iter().any(|k| {
        edit.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|m| !crate::job::strip_tokens(m).1.is_empty())
    });
    if token {
        return Guarded::Refuse(
            "afpool: a pool:NAME token moves a job only in the job's own hosts mask, not a block's; not applied".into(),
        );
    }
    Guarded::Relay
}

/// The user's masks after the edit: the registered ones, with the edited fields replaced.
fn edited(user: &JobMasks, edit: &Map<String, Value>) -> JobMasks {
    let pick = |key: &str, old: &Option<SharedStr>| match edit.get(key) {
        Some(Value::String(new)) => Some(new.into()),
        _ => old.clone(),
    };
    JobMasks {
        hosts_mask: pick("hosts_mask", &user.hosts_mask),
        hosts_mask_exclude: pick("hosts_mask_exclude", &user.hosts_mask_exclude),
        hosts_mask_type: pick("hosts_mask_type", &user.hosts_mask_type),
    }
}

fn job_edit(
    action: &Map<String, Value>,
    edit: &Map<String, Value>,
    ids: &[i64],
    registered: Vec<PoolJob>,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Guarded {
    // Jobs by the params they get, in the order of `ids`; unregistered jobs keep the edit.
    let mut groups: Vec<(Map<String, Value>, Vec<i64>)> = Vec::new();
    let (mut changes, mut clamped) = (Vec::new(), Vec::new());
    for id in ids {
        let params = match registered.iter().find(|j| j.job_id == *id) {
            None => edit.clone(),
            Some(job) => match merge(job, edit, settings, inv) {
                Ok((params, change, clamps)) => {
                    changes.push(change);
                    clamped.extend(clamps);
                    params
                }
                Err(why) => return Guarded::Refuse(why),
            },
        };
        group(&mut groups, params, *id);
    }
    split(action, groups, changes, clamped)
}

/// One action per group of jobs with the same params (the first answers the client).
fn split(
    action: &Map<String, Value>,
    groups: Vec<(Map<String, Value>, Vec<i64>)>,
    changes: Vec<Change>,
    clamped: Vec<EditClamp>,
) -> Guarded {
    let mut bodies = groups.into_iter().map(|(params, members)| {
        let mut action = action.clone();
        action.insert("ids".into(), Value::from(members));
        action.insert("params".into(), Value::Object(params));
        let mut top = Map::new();
        top.insert("action".into(), Value::Object(action));
        serde_json::to_vec(&Value::Object(top)).expect("a JSON value serialises")
    });
    let body = bodies.next().expect("ids is not empty");
    let text = |k: &str| action.get(k).and_then(Value::as_str).unwrap_or("?");
    Guarded::Rewrite {
        body,
        extra: bodies.collect(),
        changes,
        who: format!("{}@{}", text("user_name"), text("host_name")),
        clamped,
    }
}

/// One registered job's params after the edit, its registry change, and what its pool clamped.
type Merged = (Map<String, Value>, Change, Option<EditClamp>);

/// Merges the edit of one registered job with its pool (see [`Merged`]).
fn merge(
    job: &PoolJob,
    edit: &Map<String, Value>,
    settings: &RouteSettings,
    inv: &Inventory,
) -> Result<Merged, String> {
    let user = edited(&job.user_masks, edit);
    let computed = compute(&user, &job.job_name, &job.user, &job.pool, settings, inv);
    let (masks, change) = match computed {
        Computed::Routed { pool, .. } if pool != job.pool && guards(&pool, inv) => {
            return Err(format!(
                "afpool: job {} cannot be moved into pool '{pool}' by an edit: the pool checks \
                 who submits into it; submit the job there instead; edit not applied",
                job.job_id
            ))
        }
        Computed::Routed { pool, masks } => {
            let mut kept = job.clone();
            kept.pool = pool.into();
            kept.masks_written = masks.clone();
            kept.user_masks = without_tokens(&user);
            (masks, Change::Keep(kept))
        }
        Computed::Released { masks } => (masks, Change::Release(job.clone())),
        Computed::Held { pool, reason, .. } => {
            return Err(format!(
                "afpool: job {} cannot go to pool '{pool}' ({reason}); edit not applied",
                job.job_id
            ))
        }
        Computed::Refused(why) => {
            return Err(format!(
                "afpool: edit of job {} not applied: {why}",
                job.job_id
            ))
        }
    };
    let mut params = edit.clone();
    for key in MASK_KEYS {
        params.remove(key);
    }
    params.extend(super::action::params(&masks));
    let clamped = match &change {
        Change::Keep(kept) => {
            let clamps = guard_clamp::clamp(&mut params, &kept.pool, inv, false);
            EditClamp::of(job, &kept.pool, clamps)
        }
        Change::Release(_) => None,
    };
    Ok((params, change, clamped))
}

/// Whether `reference` takes hosts from a pool whose policy checks who submits: an edit that
/// moves a job there would go around the check (the edit is routed as a live job).
fn guards(reference: &str, inv: &Inventory) -> bool {
    super::gate::checks_submitters(reference, inv.pools()).is_some()
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
