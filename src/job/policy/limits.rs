//! Defaults and clamps: each [`LimitKey`] a pool limits is read the way afserver reads it (an
//! integer in int32 range; anything else is as good as absent) from the job, or from every block
//! for block-level keys. Absent: the default is written, else a maximum lower than afserver's own
//! value for an absent key (no limit, for `max_running_tasks` and `time_life`) is written. Set:
//! a value over the maximum, or a negative "no limit", is lowered to it. Job-level keys that
//! blocks also have (`max_running_tasks*`) are lowered in blocks that set more than the maximum,
//! and a block-level key the job also has (`need_memory`, which afserver checks at both levels)
//! in a job that sets more.
//! Masks are never touched.

use super::data::{KeyInfo, Limit, LimitKey, PoolPolicy};
use super::{int32_of, Decision};
use crate::job::envelope::{Fields, Job};

/// Writes every default and clamp of `policy` into `job`, pushing a [`Decision`] for each.
pub(crate) fn apply(job: &mut Job<'_>, pool: &str, policy: &PoolPolicy, out: &mut Vec<Decision>) {
    for key in LimitKey::ALL {
        let Some(limit) = policy.limits.get(&key) else {
            continue;
        };
        let info = key.info();
        if info.block {
            for (i, block) in job.blocks_mut().iter_mut().enumerate() {
                one(block, &info, limit, true, pool, Some(i), out);
            }
            if info.in_job_too && limit.max.is_some() {
                one(job, &info, limit, false, pool, None, out);
            }
            continue;
        }
        one(job, &info, limit, true, pool, None, out);
        if info.in_blocks_too && limit.max.is_some() {
            for (i, block) in job.blocks_mut().iter_mut().enumerate() {
                one(block, &info, limit, false, pool, Some(i), out);
            }
        }
    }
    if let Some(mask) = &policy.depend_mask_global {
        let has = job
            .text_of("depend_mask_global")
            .is_some_and(|m| !m.is_empty());
        if !has {
            job.set_str("depend_mask_global", mask);
            out.push(Decision::Default {
                pool: pool.to_string(),
                key: "depend_mask_global".into(),
                block: None,
                value: format!("{mask:?}"),
            });
        }
    }
}

/// One object's key. `whole`: this is where the key's default and absent value belong (else a
/// block's copy of a job-level key, only lowered when it is set over the maximum).
fn one(
    fields: &mut impl Fields,
    info: &KeyInfo,
    limit: &Limit,
    whole: bool,
    pool: &str,
    block: Option<usize>,
    out: &mut Vec<Decision>,
) {
    let key = info.name.to_string();
    let pool = pool.to_string();
    let set = int32_of(fields, info.name);
    let unlimited = |v: i64| info.negative_unlimited && v < 0;
    let (from, to) = match (set, limit.default, limit.max) {
        (None, Some(default), _) if whole => {
            fields.put(info.name, default.to_string());
            let value = default.to_string();
            out.push(Decision::Default {
                pool,
                key,
                block,
                value,
            });
            return;
        }
        (None, None, Some(max)) if whole => match info.absent {
            Some(absent) if absent <= max => return,
            _ => ("unset".to_string(), max),
        },
        (Some(v), _, Some(max)) if unlimited(v) && whole => (v.to_string(), max),
        (Some(v), _, Some(max)) if !unlimited(v) && v > max => (v.to_string(), max),
        _ => return,
    };
    fields.put(info.name, to.to_string());
    out.push(Decision::Clamped {
        pool,
        key,
        block,
        from,
        to: to.to_string(),
    });
}
