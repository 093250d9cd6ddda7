//! One block against afserver's rules: an object, with a task count afserver can hold (numeric
//! blocks from their frames, task lists from `tasks` and `tasks_num`), stored text it can write
//! back, and, for task lists, every task an object whose text it can write back.

use super::count::{self, CountError, Frames};
use super::raw::{self, Members};
use super::text::{self, Finding};
use std::fmt;

use super::{reject, JobLabel, Shown};
use crate::job::envelope::{json_str, Block, Fields, Item};
use crate::job::rejection::{Rejection, ShieldRule};

/// A block's name for messages (`'x'`, or its number), written only when a message is.
pub(super) fn block_label<'b>(block: &'b Block<'_>, index: usize) -> BlockLabel<'b> {
    BlockLabel(block.raw("name"), index)
}

/// See [`block_label`]: the raw text of the block's `name`, and its index.
#[derive(Clone, Copy)]
pub(super) struct BlockLabel<'b>(Option<&'b str>, usize);

impl fmt::Display for BlockLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.and_then(json_str) {
            Some(name) => write!(f, "'{}'", Shown(&name)),
            None => write!(f, "#{}", self.1),
        }
    }
}

/// `job 'x': block 'b'`, for messages.
#[derive(Clone, Copy)]
struct Whose<'b>(JobLabel<'b>, BlockLabel<'b>);

impl fmt::Display for Whose<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}: block {}", self.0, self.1)
    }
}

/// `key` as afserver's `jr_int64`/`jr_int32` read it (`-0` included), for keys where 0 is not the
/// default. Where it is (`flags`, frames), `Fields::i64_of` reads the same.
fn int_of(block: &Block<'_>, key: &str) -> Option<i64> {
    block.raw(key).and_then(raw::int)
}

/// Checks block `index` of the job labelled `label`.
pub(super) fn check(block: &Block<'_>, index: usize, label: JobLabel<'_>) -> Result<(), Rejection> {
    if block.fields.is_none() {
        let msg = format!(
            "job {label}: block #{index} is not a JSON object (afserver 3.4.1 crashes on such a job)"
        );
        return Err(Rejection::shield(ShieldRule::EmptyBlock, msg));
    }
    let whose = Whose(label, block_label(block, index));
    let numeric = block.i64_of("flags").unwrap_or(0) & 1 == 1;
    let tasks = if numeric {
        count::numeric(frames(block)).map(|_| None)
    } else {
        listed(block)
    };
    let tasks = tasks.map_err(|e| count_rejection(whose, e))?;
    if let Some(f) = text::first_bad(&text::BLOCK, |k| block.raw(k)) {
        return Err(reject(f.explain(whose)));
    }
    match tasks {
        Some(tasks) => check_tasks(tasks, whose),
        None => Ok(()),
    }
}

/// A numeric block's frame settings (`jr_int64`: absent or non-integer keeps the default; `-0`,
/// which serde_json reads as a float, gives what the default gives).
fn frames(block: &Block<'_>) -> Frames {
    let d = Frames::default();
    let get = |key, default| block.i64_of(key).unwrap_or(default);
    Frames {
        first: get("frame_first", d.first),
        last: get("frame_last", d.last),
        per_task: get("frames_per_task", d.per_task),
        inc: get("frames_inc", d.inc),
        sequential: get("sequential", d.sequential),
    }
}

/// A task-list block's tasks (raw, as the envelope reader's scan split them), once their count
/// is one afserver can hold.
fn listed<'b>(block: &'b Block<'_>) -> Result<Option<&'b [Item<'b>]>, CountError> {
    if block.raw("tasks").is_none() {
        return Err(CountError::NoTasks("no 'tasks' array".into()));
    }
    let Some(tasks) = block.tasks_split() else {
        return Err(CountError::NoTasks("'tasks' is not an array".into()));
    };
    let per_task = int_of(block, "frames_per_task").filter(|n| *n != 0);
    count::listed(
        tasks.len(),
        int_of(block, "tasks_num"),
        per_task.unwrap_or(1),
    )?;
    Ok(Some(tasks))
}

fn count_rejection(whose: Whose<'_>, e: CountError) -> Rejection {
    let (rule, msg) = match e {
        CountError::NoTasks(why) => (
            ShieldRule::EmptyBlock,
            format!("{whose} has no tasks ({why}; afserver 3.4.1 crashes on such a job)"),
        ),
        CountError::TooMany(n) => (
            ShieldRule::TaskCount,
            format!(
                "{whose} has {n} tasks, more than afserver's 32-bit task count holds ({}); \
                 raise frames_per_task or split the block",
                i32::MAX
            ),
        ),
        CountError::NegativeTasksNum(n) => (
            ShieldRule::TaskCount,
            format!(
                "{whose} tasks_num {n} is negative (afserver 3.4.1 registers a job that never \
                 runs); remove tasks_num"
            ),
        ),
        CountError::BeyondList { tasks_num, listed } => (
            ShieldRule::TaskCount,
            format!(
                "{whose} tasks_num {tasks_num} is more than the tasks listed ({listed}; afserver 3.4.1 \
                 reads past them and crashes); remove tasks_num"
            ),
        ),
        CountError::Overflow(what) => (
            ShieldRule::FrameOverflow,
            format!(
                "{whose}: {what} overflows afserver's 64-bit frame arithmetic; use smaller \
                 frame numbers, frames_per_task, frames_inc or sequential"
            ),
        ),
    };
    Rejection::shield(rule, msg)
}

/// Every task must be an object (afserver reads each through rapidjson's object accessors with
/// assertions off: a number crashes it, an array yields garbage), with text afserver can keep.
fn check_tasks(tasks: &[Item<'_>], whose: Whose<'_>) -> Result<(), Rejection> {
    for (
        i,
        &Item {
            text: task,
            escaped,
            object,
        },
    ) in tasks.iter().enumerate()
    {
        if !object {
            let msg = format!(
                "{whose} task #{i} is {}, not an object (afserver 3.4.1 reads it as an object and \
                 may crash); write it as {{\"name\":...,\"command\":...}}",
                raw::kind(task)
            );
            return Err(Rejection::shield(ShieldRule::TaskNotObject, msg));
        }
        if !escaped {
            continue; // no escape, so no character afserver cannot store
        }
        let members = Members::parse(task).unwrap_or_default();
        if let Some(f) = text::first_bad(&text::TASK, |k| members.get(k)) {
            return Err(task_text(f, whose, i));
        }
    }
    Ok(())
}

fn task_text(f: Finding, whose: Whose<'_>, index: usize) -> Rejection {
    reject(f.explain(format!("{whose} task #{index}")))
}
