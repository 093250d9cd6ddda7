//! Recording what the proxy routed: [`Submitted`] is what a routed, held or passed submission
//! leaves to record, taken from the routing [`Outcome`] before forwarding; once afserver answers
//! with `{"id": N, ...}` a routed job is registered (and audited `job_routed`), a held or passed
//! one audited. The proxy calls this after relaying the reply, and the writes run in a spawned
//! task, so the client never waits for the store.

use crate::job::{MaskMode, Outcome, RouteSettings, Verdict};
use crate::shared_str::SharedStr;
use crate::store::audit::AuditKind;
use crate::store::registry::{Held, JobMasks, PoolJob};

use super::target::without_tokens;

/// What a forwarded submission leaves to record once afserver answers.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The verdict.
    pub verdict: Verdict,
    /// The pool named (empty when none).
    pub pool: SharedStr,
    /// `user_name`.
    pub user: SharedStr,
    /// `name`.
    pub job_name: String,
    /// The masks afpool wrote.
    pub masks_written: JobMasks,
    /// The user's own masks (pool tokens removed).
    pub user_masks: JobMasks,
    /// Which mask the pool went into.
    pub mask_mode: MaskMode,
    /// The routing reason, for the audit.
    pub reason: String,
    /// A held job's hold: registered with it, so that the job comes back when its pool does.
    pub held: Option<Held>,
    /// Why the job spilled over at submission, for the `job_spilled` audit entry.
    pub spilled: Option<String>,
}

impl Submitted {
    /// What to record of `outcome`. A job that named no pool leaves only its verdict: its
    /// id may be one a deleted pool job had (see [`super::LiveJobs::after_reply`]).
    pub fn of(outcome: &Outcome, settings: &RouteSettings) -> Submitted {
        if outcome.verdict == Verdict::NoPool {
            return Submitted::no_pool();
        }
        let e = &outcome.explain;
        let named = outcome.pool.as_ref().map(|p| p.name.clone());
        Submitted {
            verdict: outcome.verdict,
            // A job that spilled over lives in the set it spilled to, which re-targets follow.
            pool: (outcome.spilled.as_ref().map(|s| s.to.clone()))
                .or(named)
                .unwrap_or_default()
                .into(),
            user: e.user_name.as_str().into(),
            job_name: e.job_name.clone(),
            masks_written: JobMasks::of(&e.masks_after),
            user_masks: without_tokens(&JobMasks::of(&e.masks_before)),
            mask_mode: settings.mask_mode,
            reason: e.reason.clone(),
            spilled: outcome.spilled.as_ref().map(|s| s.words()),
            held: (outcome.verdict == Verdict::Held).then(|| Held {
                reason: e.reason.clone(),
                paused_by_afpool: !outcome.submitted_paused,
            }),
        }
    }

    fn no_pool() -> Submitted {
        Submitted {
            verdict: Verdict::NoPool,
            pool: SharedStr::default(),
            user: SharedStr::default(),
            job_name: String::new(),
            masks_written: JobMasks::default(),
            user_masks: JobMasks::default(),
            mask_mode: MaskMode::Exclude,
            reason: String::new(),
            held: None,
            spilled: None,
        }
    }

    /// The registry record of this job, accepted by afserver as `accepted`.
    pub fn pool_job(&self, accepted: Accepted) -> PoolJob {
        PoolJob {
            job_id: accepted.id,
            pool: self.pool.clone(),
            user: self.user.clone(),
            job_name: self.job_name.clone(),
            submitted_at: bson::DateTime::now(),
            masks_written: self.masks_written.clone(),
            user_masks: self.user_masks.clone(),
            mask_mode: self.mask_mode,
            serial: accepted.serial,
            held: self.held.clone(),
        }
    }

    /// Whether afserver's job is registered: routed, or held with a pool reference to come back
    /// to.
    pub fn registers(&self) -> bool {
        self.verdict == Verdict::Routed || (self.held.is_some() && !self.pool.is_empty())
    }

    /// The audit kind of a decision that registers nothing (or a held job).
    pub fn audit_kind(&self) -> AuditKind {
        match self.verdict {
            Verdict::Held => AuditKind::JobHeld,
            _ => AuditKind::JobPassed,
        }
    }
}

/// A job afserver accepted: `{"id": N, "serial": S}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct Accepted {
    /// The job id (afserver reuses the ids of deleted jobs).
    pub id: i64,
    /// The job serial (never reused).
    #[serde(default)]
    pub serial: Option<i64>,
}

/// afserver's answer to a submission, if it accepted the job (only `id` and `serial` are read).
pub fn accepted(reply: &[u8]) -> Option<Accepted> {
    let answer: Accepted = super::action::read_reply_body(reply).ok()?;
    (answer.id > 0).then_some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::encode;
    use rstest::rstest;

    #[rstest]
    #[case(br#"{"id":12,"serial":3}"#.as_slice(), Some((12, Some(3))))]
    #[case(br#"{"id":12}"#.as_slice(), Some((12, None)))]
    #[case(br#"{"id":0,"serial":0}"#.as_slice(), None)]
    #[case(br#"{"info":{"kind":"error","text":"no"}}"#.as_slice(), None)]
    fn accepted_reads_afservers_answer(
        #[case] body: &[u8],
        #[case] want: Option<(i64, Option<i64>)>,
    ) {
        let got = accepted(&encode::text_request(body)).map(|a| (a.id, a.serial));
        assert_eq!(got, want);
    }

    #[rstest]
    #[case(r#""#, true)]
    #[case(r#""offline":false,"#, true)]
    #[case(r#""offline":true,"#, false)]
    fn a_held_job_is_registered_and_its_pause_is_afpools_unless_submitted_paused(
        #[case] offline: &str,
        #[case] mine: bool,
    ) {
        use crate::job::Inventory;
        let inv = Inventory::new(Vec::new(), Vec::new());
        let settings = RouteSettings::default();
        let body = format!(
            r#"{{"job":{{"name":"j","user_name":"u",{offline}"pool":"gpu","blocks":[{{"name":"b","flags":1,"frame_first":1,"frame_last":1,"command":"x"}}]}}}}"#
        );
        let outcome = crate::job::route(body.as_bytes(), &settings, &inv).unwrap();
        let s = Submitted::of(&outcome, &settings);
        assert_eq!((s.verdict, s.registers()), (Verdict::Held, true));
        let held = s.held.clone().unwrap();
        assert_eq!(held.paused_by_afpool, mine);
        assert!(held.reason.contains("unknown pool 'gpu'"), "{held:?}");
        let accepted = Accepted {
            id: 3,
            serial: Some(9),
        };
        assert_eq!(s.pool_job(accepted).held, Some(held));
    }

    #[test]
    fn only_the_verdict_without_a_pool_and_user_masks_lose_tokens() {
        use crate::job::Inventory;
        use crate::store::Pool;
        let inv = Inventory::new(vec![Pool::new("gpu", ["a"])], Vec::new());
        let settings = RouteSettings::default();
        let body = br#"{"job":{"name":"j","user_name":"u","hosts_mask":"a|pool:gpu","blocks":[{"name":"b","flags":1,"frame_first":1,"frame_last":1,"command":"x"}]}}"#;
        let outcome = crate::job::route(body, &settings, &inv).unwrap();
        let s = Submitted::of(&outcome, &settings);
        assert_eq!((s.pool.as_str(), s.verdict), ("gpu", Verdict::Routed));
        assert_eq!(s.user_masks.hosts_mask.as_deref(), Some("a"));
        let none = br#"{"job":{"name":"j","user_name":"u","blocks":[{"name":"b","flags":1,"frame_first":1,"frame_last":1,"command":"x"}]}}"#;
        let outcome = crate::job::route(none, &settings, &inv).unwrap();
        let s = Submitted::of(&outcome, &settings);
        assert_eq!((s.verdict, s.job_name.as_str()), (Verdict::NoPool, ""));
    }
}
