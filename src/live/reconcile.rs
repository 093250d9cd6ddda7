//! Reconciling the registry with afserver: afserver's `get jobs` reply (read leniently: block
//! masks are written unescaped) against the registered jobs. A registered job afserver no longer
//! has was deleted and leaves the registry; so does one whose id afserver now gives another job
//! (afserver reuses the lowest free id; the job's `serial` tells them apart). A job afserver has
//! whose annotation carries afpool's `[pool: NAME]` tag but that the registry lost is adopted
//! again, with its current masks as both the written and the user's masks (routing recognises
//! its own pool part when it re-targets).
//!
//! Most reconciles ask afserver only for the registered ids ([`Scan::Registered`], a request
//! per [`IDS_PER_GET`] ids): afserver holds its job list locked while it writes it, so a farm's
//! whole list every 30 s would stall its submissions. The whole list ([`Scan::Full`], read in
//! parts by the `full_scan` module), needed only to adopt, is read on start, every ~10 minutes and
//! after a record was lost.
//! [`plan`] is pure; the loop that runs it lives in [`super::LiveJobs`].

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::job::MaskMode;
use crate::protocol::encode;
use crate::shared_str::SharedStr;
use crate::store::registry::{JobMasks, PoolJob};
use crate::upstream::Upstream;

/// Job ids asked for in one `get jobs` request.
pub const IDS_PER_GET: usize = 500;

/// What a reconcile asks afserver for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Every job: drops deleted jobs and adopts tagged jobs the registry lost.
    Full,
    /// The registered jobs only: drops deleted jobs (and adopts a tagged job at a reused id).
    Registered,
}

/// One block of a `get jobs` reply (what afpool reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AfBlock {
    /// Tasks.
    #[serde(default)]
    pub tasks_num: i64,
    /// Percent done.
    #[serde(default)]
    pub p_percentage: i64,
}

/// One job of a `get jobs` reply (what afpool reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AfJob {
    /// Job id.
    pub id: i64,
    /// Serial (never reused, unlike ids).
    #[serde(default)]
    pub serial: Option<i64>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Owner.
    #[serde(default)]
    pub user_name: String,
    /// Annotation (afpool's `[pool: NAME]` tag).
    #[serde(default)]
    pub annotation: String,
    /// `hosts_mask`.
    pub hosts_mask: Option<String>,
    /// `hosts_mask_exclude`.
    pub hosts_mask_exclude: Option<String>,
    /// `hosts_mask_type`.
    pub hosts_mask_type: Option<String>,
    /// State words (`RDY`, `RUN`, `OFF`, `DON`...).
    #[serde(default)]
    pub state: String,
    /// Blocks.
    #[serde(default)]
    pub blocks: Vec<AfBlock>,
    /// Paused (`OFF` among the state words), when a reconcile read only that of the state.
    #[serde(skip)]
    pub offline: Option<bool>,
    /// When its first task started (afserver writes it only once one has).
    #[serde(default)]
    pub time_started: i64,
    /// Queued: ready tasks (`RDY`), none started, not paused or done; when a reconcile read only
    /// that of the state.
    #[serde(skip)]
    pub queued: Option<bool>,
}

impl AfJob {
    /// Percent done over all tasks.
    pub fn progress(&self) -> i64 {
        let tasks: i64 = self.blocks.iter().map(|b| b.tasks_num.max(0)).sum();
        let done: i64 = self
            .blocks
            .iter()
            .map(|b| b.tasks_num.max(0) * b.p_percentage)
            .sum();
        done.checked_div(tasks).unwrap_or(0)
    }

    /// Has ready tasks and has started none (not paused, not done): what `spill_after` waits on.
    pub fn is_queued(&self) -> bool {
        self.queued
            .unwrap_or_else(|| queued(&self.state, self.time_started))
    }

    /// The job's masks as afserver holds them.
    pub fn masks(&self) -> JobMasks {
        let share = |m: &Option<String>| m.as_deref().map(SharedStr::new);
        JobMasks {
            hosts_mask: share(&self.hosts_mask),
            hosts_mask_exclude: share(&self.hosts_mask_exclude),
            hosts_mask_type: share(&self.hosts_mask_type),
        }
    }
}

/// Whether state words and `time_started` say queued (see [`AfJob::is_queued`]).
pub fn queued(state: &str, time_started: i64) -> bool {
    let has = |w: &str| state.split_whitespace().any(|s| s == w);
    time_started == 0 && has("RDY") && !has("OFF") && !has("DON") && !has("RUN")
}

/// Parses a `{"jobs":[...]}` body, tolerating afserver's unescaped strings. No `jobs` key (an
/// afserver with no job answers `{"jobs":[]}`... or an info message) is an error.
pub fn parse_jobs(body: &[u8]) -> Result<Vec<AfJob>, String> {
    #[derive(Deserialize)]
    struct Reply {
        jobs: Option<Vec<AfJob>>,
    }
    let reply: Reply = crate::renders::from_slice_lenient(body).map_err(|e| e.to_string())?;
    reply
        .jobs
        .ok_or_else(|| "the reply has no \"jobs\" list".into())
}

/// Asks afserver for the jobs `ids` ([`IDS_PER_GET`] per request; none for no id): those it has.
pub async fn fetch_ids(upstream: &Upstream, ids: &[i64]) -> Result<Vec<AfJob>, String> {
    fetch_ids_with(upstream, ids, parse_jobs).await
}

/// [`fetch_ids`], each reply read by `parse`. Between two requests it waits as long as the last
/// one took: afserver holds its job list locked while it writes a reply, and the replies are
/// read on the proxy's cores, so a farm's registry is checked over a few seconds instead of
/// taking both from the submissions at once.
pub(super) async fn fetch_ids_with<P>(
    upstream: &Upstream,
    ids: &[i64],
    parse: P,
) -> Result<Vec<AfJob>, String>
where
    P: Fn(&[u8]) -> Result<Vec<AfJob>, String> + Clone + Send + 'static,
{
    let mut jobs = Vec::with_capacity(ids.len());
    let mut took = None;
    for part in ids.chunks(IDS_PER_GET) {
        if let Some(took) = took {
            tokio::time::sleep(took).await;
        }
        let started = tokio::time::Instant::now();
        jobs.extend(ask_ids(upstream, part, parse.clone()).await?);
        took = Some(started.elapsed());
    }
    Ok(jobs)
}

/// One `get jobs` request for `ids`: the jobs of them afserver has, read by `parse`.
pub(super) async fn ask_ids<P>(
    upstream: &Upstream,
    ids: &[i64],
    parse: P,
) -> Result<Vec<AfJob>, String>
where
    P: Fn(&[u8]) -> Result<Vec<AfJob>, String> + Send + 'static,
{
    let body = serde_json::json!({"get": {"type": "jobs", "ids": ids}}).to_string();
    let single = ids.len() == 1;
    let read = move |reply: &[u8]| match single && no_such_job(reply) {
        true => Ok(Vec::new()),
        false => parse(reply),
    };
    ask(upstream, body.as_bytes(), read).await
}

/// afserver's answer to a `get jobs` for one id it does not have: one id is looked up as one job,
/// and a missing one is an error, not an empty list (`threadprocessjson.cpp`: `ids.size() == 1`,
/// `getJob`, `jsonMsgError("Invalid ID")`, written as an `info` of kind `error`).
fn no_such_job(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Reply {
        info: Info,
    }
    #[derive(Deserialize)]
    struct Info {
        kind: String,
        text: String,
    }
    serde_json::from_slice::<Reply>(body)
        .is_ok_and(|r| r.info.kind == "error" && r.info.text == "Invalid ID")
}

/// Sends `body` and reads the reply with `parse`.
pub(super) async fn ask<T, P>(upstream: &Upstream, body: &[u8], parse: P) -> Result<T, String>
where
    T: Send + 'static,
    P: FnOnce(&[u8]) -> Result<T, String> + Send + 'static,
{
    let reply = upstream
        .exchange(&encode::text_request(body))
        .await
        .map_err(|e| e.to_string())?;
    let frame = crate::protocol::frame::parse_reply(&reply)
        .map_err(|e| format!("{e} ({} bytes)", reply.len()))?;
    // A farm's whole job list can be megabytes: parsed off the proxy's worker threads.
    tokio::task::spawn_blocking(move || parse(&reply[frame.body]))
        .await
        .map_err(|e| format!("job list parse failed: {e}"))?
}

/// The pool named by afpool's `[pool: NAME]` annotation tag (of a job that spilled over,
/// `[pool: gpu → gpu|cpu]`, the set it spilled to).
pub fn annotated_pool(annotation: &str) -> Option<&str> {
    let start = annotation.find("[pool: ")? + "[pool: ".len();
    let len = annotation[start..].find(']')?;
    let tag = &annotation[start..start + len];
    let tag = tag.rsplit_once(" → ").map_or(tag, |(_, to)| to);
    Some(tag).filter(|p| !p.is_empty())
}

/// The annotation without afpool's `[pool: NAME]` tag (and the space after it); `None` when
/// it has none.
pub fn untagged(annotation: &str) -> Option<String> {
    let start = annotation.find("[pool: ")?;
    let end = start + annotation[start..].find(']')? + 1;
    let rest = annotation[end..]
        .strip_prefix(' ')
        .unwrap_or(&annotation[end..]);
    Some(format!("{}{rest}", &annotation[..start]))
}

/// What a reconcile changes.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Registered jobs afserver no longer has.
    pub drop: Vec<i64>,
    /// Pool jobs afserver has that the registry lost.
    pub adopt: Vec<PoolJob>,
}

/// Is `af` the job `registered` is (same id, and the same serial when both are known)?
fn same_job(registered: &PoolJob, af: &AfJob) -> bool {
    same_serial(registered.serial, af.serial)
}

/// Are two serials of one id the same job (a serial not known matches any)?
pub(super) fn same_serial(registered: Option<i64>, seen: Option<i64>) -> bool {
    match (registered, seen) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Compares the registry with afserver's jobs.
pub fn plan<J: Borrow<PoolJob>>(registered: &[J], afserver: &[AfJob], mode: MaskMode) -> Plan {
    let registered: Vec<&PoolJob> = registered.iter().map(Borrow::borrow).collect();
    let alive: HashMap<i64, &AfJob> = afserver.iter().map(|j| (j.id, j)).collect();
    let known: HashSet<i64> = registered
        .iter()
        .filter(|r| alive.get(&r.job_id).is_some_and(|af| same_job(r, af)))
        .map(|r| r.job_id)
        .collect();
    let drop = registered
        .iter()
        .map(|j| j.job_id)
        .filter(|id| !known.contains(id))
        .collect();
    let adopt = afserver
        .iter()
        .filter(|j| !known.contains(&j.id))
        .filter_map(|j| {
            let pool = annotated_pool(&j.annotation)?;
            Some(PoolJob {
                job_id: j.id,
                pool: pool.into(),
                user: j.user_name.as_str().into(),
                job_name: j.name.clone(),
                submitted_at: bson::DateTime::now(),
                masks_written: j.masks(),
                user_masks: j.masks(),
                mask_mode: mode,
                serial: j.serial,
                held: None,
            })
        })
        .collect();
    Plan { drop, adopt }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(br#"{"info":{"kind":"error","text":"Invalid ID"}}"#, true)]
    #[case(br#"{"info":{"kind":"error","text":"Invalid get type."}}"#, false)]
    #[case(br#"{"info":{"kind":"log","text":"Invalid ID"}}"#, false)]
    #[case(br#"{"jobs":[]}"#, false)]
    #[case(b"not json", false)]
    fn only_afservers_missing_id_answer_means_no_such_job(#[case] body: &[u8], #[case] want: bool) {
        assert_eq!(no_such_job(body), want);
    }

    #[rstest]
    #[case("[pool: gpu] my notes", Some("gpu"))]
    #[case("[afpool: held: x] [pool: cpu]", Some("cpu"))]
    #[case("[pool: ]", None)]
    #[case("[pool: gpu → gpu|cpu] notes", Some("gpu|cpu"))]
    #[case("no tag", None)]
    fn the_annotation_names_the_pool(#[case] text: &str, #[case] want: Option<&str>) {
        assert_eq!(annotated_pool(text), want);
    }

    #[rstest]
    #[case("[pool: gpu] my notes", Some("my notes"))]
    #[case("[pool: gpu]", Some(""))]
    #[case("[afpool: held: x] [pool: cpu]", Some("[afpool: held: x] "))]
    #[case("plain", None)]
    fn untagging_keeps_the_rest(#[case] text: &str, #[case] want: Option<&str>) {
        assert_eq!(untagged(text).as_deref(), want);
    }

    #[test]
    fn unescaped_block_masks_are_read() {
        let body = br#"{"jobs":[{"name":"a","id":4,"annotation":"[pool: gpu]","hosts_mask_exclude":"(?!(?:gpu\.n)$).*","user_name":"ann","state":"RDY","blocks":[{"name":"b","tasks_num":4,"hosts_mask":"r\d+","p_percentage":50}]}]}"#;
        let jobs = parse_jobs(body).unwrap();
        assert_eq!((jobs[0].id, jobs[0].progress()), (4, 50));
        assert_eq!(
            jobs[0].hosts_mask_exclude.as_deref(),
            Some(r"(?!(?:gpu\.n)$).*")
        );
        assert!(parse_jobs(br#"{"info":{"kind":"error","text":"x"}}"#).is_err());
    }

    #[test]
    fn deleted_jobs_drop_and_tagged_jobs_are_adopted() {
        let af = |id: i64, annotation: &str| AfJob {
            id,
            annotation: annotation.into(),
            ..AfJob::default()
        };
        let registered = plan::<PoolJob>(&[], &[af(1, "[pool: gpu]")], MaskMode::Exclude).adopt;
        let afserver = [af(1, "[pool: gpu]"), af(2, "[pool: cpu] x"), af(3, "plain")];
        let got = plan(&registered, &afserver, MaskMode::Exclude);
        assert!(got.drop.is_empty());
        assert_eq!(got.adopt.len(), 1);
        assert_eq!(
            (got.adopt[0].job_id, got.adopt[0].pool.as_str()),
            (2, "cpu")
        );
        let got = plan(&registered, &[af(3, "")], MaskMode::Exclude);
        assert_eq!(got.drop, [1]);
    }

    #[test]
    fn a_reused_id_is_another_job() {
        let af = |id: i64, serial: Option<i64>, annotation: &str| AfJob {
            id,
            serial,
            annotation: annotation.into(),
            ..AfJob::default()
        };
        let mut registered =
            plan::<PoolJob>(&[], &[af(1, Some(10), "[pool: gpu]")], MaskMode::Exclude).adopt;
        assert_eq!(registered[0].serial, Some(10));
        let same = plan(&registered, &[af(1, Some(10), "")], MaskMode::Exclude);
        assert_eq!(same, Plan::default());
        let reused = plan(&registered, &[af(1, Some(11), "")], MaskMode::Exclude);
        assert_eq!((reused.drop, reused.adopt.len()), (vec![1], 0));
        let tagged = plan(
            &registered,
            &[af(1, Some(11), "[pool: cpu]")],
            MaskMode::Exclude,
        );
        assert_eq!(tagged.drop, [1]);
        assert_eq!(
            (tagged.adopt[0].pool.as_str(), tagged.adopt[0].serial),
            ("cpu", Some(11))
        );
        // A record from before afpool kept serials is taken for the job at its id.
        registered[0].serial = None;
        let old = plan(&registered, &[af(1, Some(11), "")], MaskMode::Exclude);
        assert_eq!(old, Plan::default());
    }
}
