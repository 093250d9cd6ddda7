//! The `job_routed` audit entry, the one the proxy writes for every job it routes: built from
//! the registered job ([`AuditEntry::routed`]), or written by the file log straight from the job
//! as the same JSON line ([`write_lines`]) without building the entry, its two mask values and its
//! sentence first. The record writer audits a batch of routed jobs every ~50 ms under load.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::audit::{AuditEntry, AuditKind};
use super::registry::{JobMasks, PoolJob};

/// The sentence of a `job_routed` entry.
struct Sentence<'a>(&'a PoolJob);

impl fmt::Display for Sentence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let job = self.0;
        write!(
            f,
            "job '{}' of {} routed into pool '{}'",
            job.job_name, job.user, job.pool
        )
    }
}

impl Serialize for Sentence<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl AuditEntry {
    /// The `job_routed` entry of `job`, stamped now: `before` the user's masks, `after` the
    /// masks afpool wrote.
    pub fn routed(job: &PoolJob, who: &str) -> Self {
        let after = serde_json::to_value(&job.masks_written).ok();
        let before = serde_json::to_value(&job.user_masks).ok();
        let entry = AuditEntry::now(
            AuditKind::JobRouted,
            who,
            &job.pool,
            Sentence(job).to_string(),
        );
        entry.job(job.job_id).change(before, after)
    }
}

/// [`AuditEntry::routed`] as it serialises, fields in the same order, from borrowed parts.
#[derive(Serialize)]
struct Line<'a> {
    at: &'a str,
    who: &'a str,
    kind: AuditKind,
    pool: &'a str,
    job_id: i64,
    before: &'a JobMasks,
    after: &'a JobMasks,
    detail: Sentence<'a>,
}

/// Appends the `job_routed` lines of `jobs` (each with who submitted it), stamped `at`, to
/// `out`: each the JSON of its [`AuditEntry::routed`] and a newline.
pub fn write_lines(
    out: &mut Vec<u8>,
    at: bson::DateTime,
    jobs: &[(Arc<PoolJob>, String)],
) -> Result<(), String> {
    let at = at.try_to_rfc3339_string().map_err(|e| e.to_string())?;
    for (job, who) in jobs {
        let line = Line {
            at: &at,
            who,
            kind: AuditKind::JobRouted,
            pool: &job.pool,
            job_id: job.job_id,
            before: &job.user_masks,
            after: &job.masks_written,
            detail: Sentence(job),
        };
        serde_json::to_writer(&mut *out, &line).map_err(|e| e.to_string())?;
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MaskMode;
    use rstest::rstest;

    fn job(name: &str, user: &str, user_masks: JobMasks) -> PoolJob {
        PoolJob {
            job_id: 42,
            pool: "gpu \"a\"".into(),
            user: user.into(),
            job_name: name.into(),
            submitted_at: bson::DateTime::from_millis(0),
            masks_written: JobMasks {
                hosts_mask_exclude: Some(r"(?!(?:gpu01|gpu[.]02)$).*".into()),
                hosts_mask_type: Some("regex".into()),
                ..JobMasks::default()
            },
            user_masks,
            mask_mode: MaskMode::Exclude,
            serial: Some(7),
            held: None,
        }
    }

    #[rstest]
    #[case("shot_010", "ann", JobMasks::default())]
    #[case("quote \" and \\ back", r"CORP\util", JobMasks::default())]
    #[case("ünï \u{1} ctl", "bob", JobMasks {
        hosts_mask: Some("pc.*".into()),
        hosts_mask_exclude: Some("pc0[1-3]".into()),
        hosts_mask_type: Some("regex".into()),
    })]
    fn a_line_is_the_entry_as_json(
        #[case] name: &str,
        #[case] user: &str,
        #[case] user_masks: JobMasks,
    ) {
        let job = Arc::new(job(name, user, user_masks));
        let mut entry = AuditEntry::routed(&job, "submitter");
        entry.at = bson::DateTime::from_millis(1_780_000_000_123);
        let mut out = Vec::new();
        write_lines(&mut out, entry.at, &[(job, "submitter".into())]).unwrap();
        let want = serde_json::to_string(&entry).unwrap() + "\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let read: AuditEntry = serde_json::from_str(&want).unwrap();
        assert_eq!(read, entry);
    }
}
