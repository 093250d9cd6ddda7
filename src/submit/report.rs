//! One result per job file: `FILE: job id N (pool gpu, 12 hosts excluded)` or `FILE: <reason>`, or
//! with `--json` one object per line: `{"file","ok","id","pool","verdict","error"}`. A dry run's
//! result is an [`Explained`], written out by [`super::explain`]'s `human` and `json_line`.

use serde::Serialize;

use super::explain::{self, verdict_word, Explained};
use super::jobfile::JobFileError;
use super::send::{Accepted, SendError};
use super::Options;
use crate::job::{Outcome, Rejection, Verdict};

/// The result of one file.
pub type FileResult = Result<Done, FileError>;

/// A file that was handled.
#[derive(Debug)]
pub enum Done {
    /// afserver accepted the job.
    Submitted {
        /// Its id and serial.
        accepted: Accepted,
        /// How it was routed (`None` when a proxy routed it).
        outcome: Option<Box<Outcome>>,
        /// The pool given with `--pool` (via a proxy).
        pool: Option<String>,
    },
    /// Dry run: what would happen.
    Explained(Box<Explained>),
}

impl Done {
    /// True when the job was (or, in a dry run, would be) submitted.
    pub fn ok(&self) -> bool {
        match self {
            Done::Submitted { .. } => true,
            Done::Explained(e) => e.rejection.is_none(),
        }
    }
}

/// Why a file was not submitted.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Unreadable file, invalid JSON, not a job.
    #[error(transparent)]
    JobFile(#[from] JobFileError),
    /// The router refused it (shield rule or `reject` policy); nothing was sent.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Sending failed or afserver refused it.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The pool store or afserver's render list was unavailable.
    #[error("{0}")]
    Unavailable(String),
}

impl FileError {
    /// True when a backend (store, afserver) was the problem, not the file.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            FileError::Unavailable(_) | FileError::Send(SendError::Unreachable(_))
        )
    }

    /// The backend error itself, when there is one to hand on (for the exit code).
    pub fn into_cause(self) -> Option<anyhow::Error> {
        match self {
            FileError::Send(e @ SendError::Unreachable(_)) => Some(e.into()),
            _ => None,
        }
    }
}

/// Print one file's result on stdout.
pub fn print(opts: &Options, file: &str, result: &FileResult) {
    match (result, opts.json) {
        (Ok(Done::Explained(e)), true) => println!("{}", explain::json_line(file, e)),
        (Ok(Done::Explained(e)), false) => print!("{}", explain::human(file, e)),
        (_, true) => println!(
            "{}",
            serde_json::to_string(&line(file, result)).expect("serializable")
        ),
        (Ok(done), false) => println!("{file}: {}", submitted_text(done)),
        (Err(e), false) => println!("{file}: {e}"),
    }
}

/// The `--json` line of a submission.
#[derive(Debug, Serialize, PartialEq)]
pub struct Line<'a> {
    /// The file as named on the command line.
    pub file: &'a str,
    /// Submitted.
    pub ok: bool,
    /// The job id afserver gave.
    pub id: Option<i64>,
    /// The pool asked for.
    pub pool: Option<String>,
    /// `routed`, `held`, `passed`, `no_pool`, `rejected` (`null` when unknown).
    pub verdict: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The `--json` line for a result.
pub fn line<'a>(file: &'a str, result: &FileResult) -> Line<'a> {
    let mut l = Line {
        file,
        ok: result.is_ok(),
        id: None,
        pool: None,
        verdict: None,
        error: None,
    };
    match result {
        Ok(Done::Submitted {
            accepted,
            outcome,
            pool,
        }) => {
            l.id = Some(accepted.id);
            l.pool = pool.clone().or_else(|| {
                outcome
                    .as_ref()
                    .and_then(|o| o.pool.as_ref())
                    .map(|p| p.name.clone())
            });
            l.verdict = outcome
                .as_ref()
                .map(|o| verdict_word(o.verdict).to_string());
        }
        Ok(Done::Explained(_)) => {}
        Err(e) => {
            l.error = Some(e.to_string());
            if let FileError::Rejected(r) = e {
                l.verdict = Some("rejected".into());
                if let Rejection::Policy { pool, .. } = r {
                    l.pool = Some(pool.clone());
                }
            }
        }
    }
    l
}

/// `job id N` plus what routing did, in parentheses.
fn submitted_text(done: &Done) -> String {
    let Done::Submitted {
        accepted,
        outcome,
        pool,
    } = done
    else {
        return String::new();
    };
    let note = match (outcome, pool) {
        (Some(o), _) => routing_note(o),
        (None, Some(p)) => Some(format!("via proxy, pool {p}")),
        (None, None) => Some("via proxy".to_string()),
    };
    match note {
        Some(note) => format!("job id {} ({note})", accepted.id),
        None => format!("job id {}", accepted.id),
    }
}

fn routing_note(o: &Outcome) -> Option<String> {
    let e = &o.explain;
    match o.verdict {
        Verdict::Routed => {
            let pool = o.pool.as_ref().map(|p| p.name.as_str()).unwrap_or_default();
            Some(format!("pool {pool}, {} hosts excluded", e.hosts_excluded))
        }
        Verdict::Held => Some(format!("held: {}", e.reason)),
        Verdict::Passed => Some(format!("passed: {}", e.reason)),
        Verdict::NoPool => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_the_refusal_and_its_pool() {
        let rejected: FileResult = Err(FileError::Rejected(Rejection::Policy {
            pool: "nosuch".into(),
            message: "unknown pool 'nosuch'".into(),
        }));
        let l = line("a.json", &rejected);
        assert_eq!(
            (l.ok, l.id, l.pool.as_deref()),
            (false, None, Some("nosuch"))
        );
        assert_eq!(l.verdict.as_deref(), Some("rejected"));
        assert_eq!(l.error.as_deref(), Some("afpool: unknown pool 'nosuch'"));
        let proxied: FileResult = Ok(Done::Submitted {
            accepted: Accepted { id: 4, serial: 4 },
            outcome: None,
            pool: Some("gpu".into()),
        });
        let l = line("b.json", &proxied);
        assert_eq!(
            (l.ok, l.id, l.pool.as_deref(), l.verdict),
            (true, Some(4), Some("gpu"), None)
        );
        assert_eq!(
            submitted_text(proxied.as_ref().unwrap()),
            "job id 4 (via proxy, pool gpu)"
        );
    }

    #[test]
    fn only_backend_failures_count_as_unavailable() {
        assert!(FileError::Unavailable("store down".into()).is_unavailable());
        let refused = FileError::Send(SendError::Refused("Invalid job.".into()));
        assert!(!refused.is_unavailable() && refused.into_cause().is_none());
    }
}
