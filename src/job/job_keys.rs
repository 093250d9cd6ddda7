//! Job keys routing reads or drops before anything else: the job's own `serial` (afserver gives
//! serials) and whether it was submitted paused (`offline`).

use super::envelope::{Fields, Job};

/// Removes a job key `serial`: afserver 3.4.1 would take it as the job's serial (`Job::jsonRead`
/// reads it on creation), and the registry tells jobs apart by the serial afserver gives.
/// `true` when there was one.
pub(crate) fn drop_serial(job: &mut Job<'_>) -> bool {
    let had = job.raw("serial").is_some();
    if had {
        job.remove("serial");
    }
    had
}

/// Whether the job was submitted paused (`"offline"` set to anything but `false`), before a hold
/// pauses it: afpool resumes only a job whose pause is its own.
pub(crate) fn submitted_paused(job: &Job<'_>) -> bool {
    job.raw("offline")
        .is_some_and(|v| !matches!(v.trim(), "false" | "null"))
}
