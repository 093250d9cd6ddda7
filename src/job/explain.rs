//! What routing decided and why: [`Outcome`] (verdict, pool, rewritten body) and its
//! [`Explanation`], which the proxy logs as a one-line [`Outcome::summary`] and `afsubmit` shows.

use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::envelope::{Fields, Job};
use super::inventory::{HostList, HostState};
use super::poolref::PoolChoice;

/// What happened to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Masks rewritten to the pool's hosts.
    Routed,
    /// Forwarded paused (`"offline": true`) by the `hold` policy.
    Held,
    /// Forwarded without routing by the `pass` policy.
    Passed,
    /// No pool asked for (or "no pool" asked for): forwarded without routing.
    NoPool,
}

/// A value shared with the inventory snapshot (cheap to clone), serialized as the value.
#[derive(Debug, Clone, Default)]
pub struct SnapshotRef<T>(pub Arc<T>);

impl<T: Serialize> Serialize for SnapshotRef<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// One block's masks (only blocks that have one are listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockMasks {
    /// Block index in `blocks`.
    pub index: usize,
    /// Block name.
    pub name: Option<String>,
    /// Block `hosts_mask`.
    pub hosts_mask: Option<String>,
    /// Block `hosts_mask_exclude`.
    pub hosts_mask_exclude: Option<String>,
}

/// A job's masks at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Masks {
    /// Job `hosts_mask`.
    pub hosts_mask: Option<String>,
    /// Job `hosts_mask_exclude`.
    pub hosts_mask_exclude: Option<String>,
    /// Job `hosts_mask_type` (`find`/`regex`; absent = the user's mode).
    pub hosts_mask_type: Option<String>,
    /// Blocks that have a mask.
    pub blocks: Vec<BlockMasks>,
}

impl Masks {
    pub(crate) fn of(job: &Job<'_>) -> Self {
        let blocks = job.blocks().and_then(Result::ok).unwrap_or(&[]);
        let blocks = blocks
            .iter()
            .enumerate()
            .map(|(index, b)| BlockMasks {
                index,
                name: b.str_of("name"),
                hosts_mask: b.str_of("hosts_mask"),
                hosts_mask_exclude: b.str_of("hosts_mask_exclude"),
            })
            .filter(|b| b.hosts_mask.is_some() || b.hosts_mask_exclude.is_some())
            .collect();
        Masks {
            hosts_mask: job.str_of("hosts_mask"),
            hosts_mask_exclude: job.str_of("hosts_mask_exclude"),
            hosts_mask_type: job.str_of("hosts_mask_type"),
            blocks,
        }
    }
}

/// Everything about one routing decision, for logs and `afsubmit --explain`.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The job's `user_name`.
    pub user_name: String,
    /// The job's `name`.
    pub job_name: String,
    /// The pool asked for and where the name was found.
    pub pool: Option<PoolChoice>,
    /// The pool's member hosts as afserver spells them (empty when not routed).
    pub pool_hosts: SnapshotRef<Vec<String>>,
    /// Known renders the job may run on.
    pub can_run: SnapshotRef<Vec<HostState>>,
    /// Known renders the job is kept off.
    pub cannot_run: HostList,
    /// Masks as submitted.
    pub masks_before: Masks,
    /// Masks as forwarded.
    pub masks_after: Masks,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// Known hosts the rewrite keeps the job off.
    pub hosts_excluded: usize,
    /// What the pools' policies decided: each rule that allowed or refused, each default and
    /// clamp (empty when no policy applied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<super::policy::Decision>,
    /// Which default pool rule a job naming no pool hit, or that none did (absent when the job
    /// named a pool or no rules are stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<super::rules::Choice>,
}

/// The result of routing one job.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What happened.
    pub verdict: Verdict,
    /// The pool reference found, if any (also for no-pool references such as `""`).
    pub pool: Option<PoolChoice>,
    /// The rewritten envelope; `None` = forward the original bytes unchanged.
    pub body: Option<Vec<u8>>,
    /// Why.
    pub explain: Explanation,
    /// The job was submitted paused (`"offline": true`): a hold's pause is then not afpool's own.
    pub submitted_paused: bool,
    /// Where the job spilled over to at submission (its pool's `spill_below` fired).
    pub spilled: Option<super::spill::Spilled>,
}

impl Outcome {
    /// One line for the proxy's log: user, job, pool, action, hosts excluded.
    pub fn summary(&self) -> String {
        let e = &self.explain;
        let pool = match (&self.pool, &e.rule) {
            (Some(p), Some(rule)) => format!("'{}' ({})", p.name, rule.words()),
            (Some(p), None) => format!("'{}' ({})", p.name, source_word(p)),
            (None, Some(rule)) => format!("none ({})", rule.words()),
            (None, None) => "none".to_string(),
        };
        let action = match self.verdict {
            Verdict::Routed => "routed",
            Verdict::Held => "held",
            Verdict::Passed => "passed",
            Verdict::NoPool => "forwarded",
        };
        format!(
            "job '{}' of user '{}': pool {pool}: {action}, {} hosts excluded ({})",
            e.job_name, e.user_name, e.hosts_excluded, e.reason
        )
    }
}

fn source_word(p: &PoolChoice) -> &'static str {
    use super::poolref::PoolSource::*;
    match p.source {
        JobKey => "job key",
        CustomData => "custom_data",
        HostsMaskToken => "hosts_mask token",
        HostsMaskExcludeToken => "hosts_mask_exclude token",
        RoutedMark => "afpool_routed mark",
        DefaultRule => "default rule",
        Default => "default",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::envelope::Envelope;
    use crate::job::poolref::PoolSource;

    #[test]
    fn masks_list_only_blocks_with_masks() {
        let body = br#"{"job":{"hosts_mask":"a","blocks":[{"name":"x"},{"name":"y","hosts_mask_exclude":"b"}]}}"#;
        let mut env = Envelope::parse(body).unwrap();
        let m = Masks::of(env.job_mut().unwrap());
        assert_eq!(m.hosts_mask.as_deref(), Some("a"));
        assert_eq!(m.hosts_mask_type, None);
        assert_eq!(m.blocks.len(), 1);
        assert_eq!(
            (m.blocks[0].index, m.blocks[0].hosts_mask_exclude.as_deref()),
            (1, Some("b"))
        );
    }

    #[test]
    fn summary_names_user_job_pool_action_and_count() {
        let explain = Explanation {
            user_name: "artist".into(),
            job_name: "shot".into(),
            pool: None,
            pool_hosts: SnapshotRef::default(),
            can_run: SnapshotRef::default(),
            cannot_run: HostList::default(),
            masks_before: Masks::default(),
            masks_after: Masks::default(),
            verdict: Verdict::Routed,
            reason: "why".into(),
            hosts_excluded: 3,
            policy: Vec::new(),
            rule: None,
        };
        let pool = Some(PoolChoice {
            name: "gpu".into(),
            source: PoolSource::CustomData,
        });
        let outcome = Outcome {
            verdict: Verdict::Routed,
            pool,
            body: None,
            explain,
            submitted_paused: false,
            spilled: None,
        };
        assert_eq!(
            outcome.summary(),
            "job 'shot' of user 'artist': pool 'gpu' (custom_data): routed, 3 hosts excluded (why)"
        );
        let json = serde_json::to_value(&outcome.explain).unwrap();
        assert_eq!(json["verdict"], "routed");
        assert_eq!(json["pool_hosts"], serde_json::json!([]));
    }
}
