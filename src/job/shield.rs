//! The shield: rules every job must pass, pool or not, before it reaches afserver. afserver 3.4.1
//! crashes on a job it considers invalid (no `user_name`, no blocks, a block without tasks), keeps a
//! job with an invalid regex mask that can then never run (or excludes nothing), and corrupts its
//! own store when a block-level mask holds a backslash.

use super::envelope::{Block, Fields, Job};
use super::mask;
use super::rejection::{Rejection, ShieldRule};

/// Job-level mask keys.
pub(crate) const JOB_MASKS: [&str; 2] = ["hosts_mask", "hosts_mask_exclude"];
/// Block-level keys that afserver writes into its JSON unescaped.
const BLOCK_UNESCAPED: [&str; 4] = [
    "hosts_mask",
    "hosts_mask_exclude",
    "depend_mask",
    "tasks_depend_mask",
];

/// The job's name for messages (`'x'`, or `(unnamed)`).
pub(crate) fn job_label(job: &Job<'_>) -> String {
    match job.str_of("name") {
        Some(name) => format!("'{name}'"),
        None => "(unnamed)".to_string(),
    }
}

/// A block's name for messages (`'x'`, or its number).
fn block_label(block: &Block<'_>, index: usize) -> String {
    match block.str_of("name") {
        Some(name) => format!("'{name}'"),
        None => format!("#{index}"),
    }
}

/// Structure rules: `user_name`, blocks, tasks, and no backslash in block-level masks.
pub(crate) fn check_structure(job: &Job<'_>) -> Result<(), Rejection> {
    let label = job_label(job);
    if job.str_of("user_name").is_none_or(|u| u.trim().is_empty()) {
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
    for (i, block) in blocks.iter().enumerate() {
        check_block(block, i, &label)?;
    }
    Ok(())
}

fn check_block(block: &Block<'_>, index: usize, label: &str) -> Result<(), Rejection> {
    if block.fields.is_none() {
        let msg = format!("job {label}: block #{index} is not a JSON object");
        return Err(Rejection::shield(ShieldRule::EmptyBlock, msg));
    }
    let name = block_label(block, index);
    if let Some(problem) = no_tasks(block) {
        let msg = format!("job {label}: block {name} has no tasks ({problem}; afserver 3.4.1 crashes on such a job)");
        return Err(Rejection::shield(ShieldRule::EmptyBlock, msg));
    }
    for key in BLOCK_UNESCAPED {
        if block.str_of(key).is_some_and(|m| m.contains('\\')) {
            let msg = format!(
                "job {label}: block {name} {key} contains a backslash, which afserver stores unescaped and \
                 corrupts its job store; use [.] instead of \\."
            );
            return Err(Rejection::shield(ShieldRule::Backslash, msg));
        }
    }
    Ok(())
}

/// Why a block has no tasks, if it has none. Numeric blocks (`flags` bit 0) have tasks iff
/// `frame_first <= frame_last` and `frames_per_task` (default 1) is positive; others need a
/// non-empty `tasks` array (checked on the raw text, tasks are never parsed).
fn no_tasks(block: &Block<'_>) -> Option<String> {
    if block.i64_of("flags").unwrap_or(0) & 1 == 1 {
        let first = block.i64_of("frame_first").unwrap_or(0);
        let last = block.i64_of("frame_last").unwrap_or(0);
        if first > last {
            return Some(format!("frame_first {first} > frame_last {last}"));
        }
        return match block.i64_of("frames_per_task") {
            Some(n) if n <= 0 => Some(format!("frames_per_task {n} must be positive")),
            _ => None,
        };
    }
    let Some(raw) = block.raw("tasks") else {
        return Some("no 'tasks' array".into());
    };
    let Some(inner) = raw.strip_prefix('[') else {
        return Some("'tasks' is not an array".into());
    };
    inner
        .trim_start()
        .starts_with(']')
        .then(|| "'tasks' is empty".into())
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
mod tests {
    use super::*;
    use crate::job::envelope::Envelope;
    use rstest::rstest;

    const TASKS: &str = r#""tasks":[{"name":"t","command":"c"}]"#;

    fn check(job: &str) -> Result<(), Option<ShieldRule>> {
        let body = format!(r#"{{"job":{job}}}"#);
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        let job = env.job_mut().unwrap();
        check_structure(job)
            .and_then(|_| check_regex_masks(job))
            .map_err(|e| e.rule())
    }

    fn job(blocks: &str) -> String {
        format!(r#"{{"name":"j","user_name":"u","blocks":{blocks}}}"#)
    }

    #[rstest]
    #[case(&job(&format!("[{{{TASKS}}}]")), None)]
    #[case(&format!(r#"{{"name":"j","blocks":[{{{TASKS}}}]}}"#), Some(ShieldRule::NoUserName))]
    #[case(&format!(r#"{{"user_name":" ","blocks":[{{{TASKS}}}]}}"#), Some(ShieldRule::NoUserName))]
    #[case(r#"{"user_name":"u"}"#, Some(ShieldRule::NoBlocks))]
    #[case(&job("[]"), Some(ShieldRule::NoBlocks))]
    #[case(&job("{}"), Some(ShieldRule::NoBlocks))]
    #[case(&job("\"x\""), Some(ShieldRule::NoBlocks))]
    #[case(&job("[5]"), Some(ShieldRule::EmptyBlock))]
    #[case(&job(r#"[{"tasks":[ ]}]"#), Some(ShieldRule::EmptyBlock))]
    #[case(&job(r#"[{"tasks":{}}]"#), Some(ShieldRule::EmptyBlock))]
    #[case(&job(r#"[{"name":"b"}]"#), Some(ShieldRule::EmptyBlock))]
    #[case(&job(r#"[{"flags":1,"frame_first":1,"frame_last":10}]"#), None)]
    #[case(&job(r#"[{"flags":1}]"#), None)]
    #[case(&job(r#"[{"flags":3,"frame_first":5,"frame_last":4}]"#), Some(ShieldRule::EmptyBlock))]
    #[case(&job(r#"[{"flags":1,"frames_per_task":0}]"#), Some(ShieldRule::EmptyBlock))]
    #[case(&job(r#"[{"flags":0,"frame_first":1,"frame_last":9}]"#), Some(ShieldRule::EmptyBlock))]
    #[case(&job(&format!(r#"[{{{TASKS},"hosts_mask":"gpu\\..*"}}]"#)), Some(ShieldRule::Backslash))]
    #[case(&job(&format!(r#"[{{{TASKS},"tasks_depend_mask":"a\\d"}}]"#)), Some(ShieldRule::Backslash))]
    #[case(&job(&format!(r#"[{{{TASKS},"hosts_mask":"gpu[.].*"}}]"#)), None)]
    fn structure_rules(#[case] job: &str, #[case] rule: Option<ShieldRule>) {
        assert_eq!(check(job).err().flatten(), rule, "{job}");
    }

    #[rstest]
    #[case(r#""hosts_mask":"render(""#, Some(ShieldRule::InvalidRegex))]
    #[case(r#""hosts_mask_exclude":"(?i)r1""#, Some(ShieldRule::InvalidRegex))]
    #[case(r#""hosts_mask":"render0[1-9]|gpu\\..*""#, None)]
    fn job_level_regex_masks(#[case] field: &str, #[case] rule: Option<ShieldRule>) {
        let job = format!(r#"{{"user_name":"u",{field},"blocks":[{{{TASKS}}}]}}"#);
        assert_eq!(check(&job).err().flatten(), rule);
    }

    #[test]
    fn block_level_regex_mask() {
        let job = job(&format!(r#"[{{{TASKS},"hosts_mask_exclude":"r[0-9"}}]"#));
        assert_eq!(check(&job).err().flatten(), Some(ShieldRule::InvalidRegex));
    }

    #[test]
    fn messages_name_job_and_block() {
        let body = format!(
            r#"{{"job":{}}}"#,
            job(r#"[{"name":"comp","hosts_mask_exclude":"gpu\\..*","tasks":[1]}]"#)
        );
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        let err = check_structure(env.job_mut().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "afpool: job 'j': block 'comp' hosts_mask_exclude contains a backslash"
            ),
            "{err}"
        );
        assert!(err.ends_with("use [.] instead of \\."), "{err}");
    }
}
