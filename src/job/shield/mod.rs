//! The shield: afserver 3.4.1's own validity rules, applied to every job, pool or not, before
//! it is forwarded. It accepts what afserver accepts (afserver clamps `frame_first > frame_last`
//! and `frames_per_task < 1`, so those pass unchanged) and refuses what crashes afserver 3.4.1
//! (its `JobContainer::registerJob` dereferences a NULL job whenever registration fails), what
//! leaves it a job that can never run, and what it would write back into its own hand-written
//! JSON unescaped. Every rule, with its afserver source line, is listed in docs/internals.md,
//! "Shield rules".
//!
//! Files: `count` (task counts and frame arithmetic), `text` (which strings afserver stores and
//! how it writes them), `block` (one block and its tasks), `raw` (raw JSON values read the way
//! afserver's `jr_*` helpers read them).

use std::fmt::{self, Write as _};

mod block;
mod count;
mod raw;
mod text;

use super::envelope::{json_str, Fields, Job};
use super::mask;
use super::rejection::{Rejection, ShieldRule};
use block::block_label;

/// Job-level mask keys.
pub(crate) const JOB_MASKS: [&str; 2] = ["hosts_mask", "hosts_mask_exclude"];

/// The job's name for messages (`'x'`, or `(unnamed)`), control characters escaped. It is
/// written only when a message is: most jobs pass every rule and never need it.
pub(crate) fn job_label<'j>(job: &'j Job<'_>) -> JobLabel<'j> {
    JobLabel(job.raw("name"))
}

/// See [`job_label`]: the raw text of the job's `name`.
#[derive(Clone, Copy)]
pub(crate) struct JobLabel<'j>(Option<&'j str>);

impl fmt::Display for JobLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.and_then(json_str) {
            Some(name) => write!(f, "'{}'", Shown(&name)),
            None => f.write_str("(unnamed)"),
        }
    }
}

/// A string with control characters escaped, so a message stays on one line.
struct Shown<'s>(&'s str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c.is_control() {
                true => write!(f, "{}", c.escape_debug())?,
                false => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A rejection from a `(rule, message)` pair.
fn reject((rule, message): (ShieldRule, String)) -> Rejection {
    Rejection::shield(rule, message)
}

/// afserver's rules for the job's structure and stored text: a `user_name`, no `id`, blocks that
/// are objects with tasks afserver can count, and strings afserver can write back.
pub(crate) fn check_structure(job: &Job<'_>) -> Result<(), Rejection> {
    let label = job_label(job);
    if job.text_of("user_name").is_none_or(|u| u.is_empty()) {
        let msg = format!("job {label} has no user_name (afserver 3.4.1 crashes on such a job)");
        return Err(Rejection::shield(ShieldRule::NoUserName, msg));
    }
    let blocks = match job.blocks() {
        Some(Ok(blocks)) if !blocks.is_empty() => blocks,
        Some(Ok(_)) | None => {
            let msg = format!("job {label} has no blocks (afserver 3.4.1 crashes on such a job)");
            return Err(Rejection::shield(ShieldRule::NoBlocks, msg));
        }
        Some(Err(kind)) => {
            let msg = format!("job {label}: 'blocks' is {kind}, not an array of blocks");
            return Err(Rejection::shield(ShieldRule::NoBlocks, msg));
        }
    };
    check_id(job, label)?;
    if let Some(f) = text::first_bad(&text::JOB, |k| job.raw(k)) {
        return Err(reject(f.explain(format!("job {label}:"))));
    }
    for (i, b) in blocks.iter().enumerate() {
        block::check(b, i, label)?;
    }
    Ok(())
}

/// afserver takes an int32 `id` as the new job's id (`Node::jsonRead`): a taken id (1 is its
/// system job) or one outside its table crashes 3.4.1. A new job never needs one.
fn check_id(job: &Job<'_>, label: JobLabel<'_>) -> Result<(), Rejection> {
    let id = job
        .raw("id")
        .and_then(raw::int)
        .filter(|id| *id != 0 && i32::try_from(*id).is_ok());
    match id {
        Some(id) => {
            let msg = format!(
                "job {label} sets \"id\" {id}, which afserver 3.4.1 takes as the job's id and \
                 crashes on when it is taken (1 is its system job) or out of range; remove \"id\""
            );
            Err(Rejection::shield(ShieldRule::JobId, msg))
        }
        None => Ok(()),
    }
}

/// In regex mode, every job-level and block-level hosts mask must be a valid regex.
pub(crate) fn check_regex_masks(job: &Job<'_>) -> Result<(), Rejection> {
    let label = job_label(job);
    let bad = |key: &str, whose: String, mask: &str, err: String| {
        let msg =
            format!("job {label}: {whose}{key} '{mask}' is not a valid regular expression ({err})");
        Rejection::shield(ShieldRule::InvalidRegex, msg)
    };
    for key in JOB_MASKS {
        if let Some(m) = job.str_of(key) {
            mask::check_regex(&m).map_err(|e| bad(key, String::new(), &m, e))?;
        }
    }
    let blocks = job.blocks().and_then(Result::ok).unwrap_or(&[]);
    for (i, block) in blocks.iter().enumerate() {
        for key in JOB_MASKS {
            if let Some(m) = block.str_of(key) {
                let whose = format!("block {} ", block_label(block, i));
                mask::check_regex(&m).map_err(|e| bad(key, whose, &m, e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
