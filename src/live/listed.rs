//! afserver's job list as a reconcile reads it. Every 30 s a reconcile reads the registered jobs
//! back from afserver, tens of thousands on a farm, and nearly all of them are still the job the
//! registry has (same id and serial): for those only the id and serial are kept. Each job is read
//! borrowed from the reply, and its strings are copied out only when the job is not known, so
//! such a list allocates next to nothing (the proxy's threads share one allocator).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::store::registry::PoolJob;
use crate::upstream::Upstream;

use super::reconcile::{self, AfJob, Scan};

/// Registered jobs: id → serial.
pub type Known = HashMap<i64, Option<i64>>;

/// One job of a reply, borrowed from it.
#[derive(Deserialize)]
struct Listed<'a> {
    id: i64,
    #[serde(default)]
    serial: Option<i64>,
    #[serde(default, borrow)]
    name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    user_name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    annotation: Option<&'a RawValue>,
    #[serde(default, borrow)]
    hosts_mask: Option<&'a RawValue>,
    #[serde(default, borrow)]
    hosts_mask_exclude: Option<&'a RawValue>,
    #[serde(default, borrow)]
    hosts_mask_type: Option<&'a RawValue>,
    #[serde(default, borrow)]
    state: Option<&'a RawValue>,
    #[serde(default)]
    time_started: i64,
}

/// Whether raw state words (`"RDY OFF"`) say paused; `None` without a state. Read in place.
fn offline(raw: Option<&RawValue>) -> Option<bool> {
    let text = raw?.get().trim_matches('"');
    Some(text.split_whitespace().any(|w| w == "OFF"))
}

/// Whether the raw state words and `time_started` say queued ([`AfJob::is_queued`]).
fn queued(raw: Option<&RawValue>, time_started: i64) -> Option<bool> {
    let text = raw?.get().trim_matches('"');
    Some(reconcile::queued(text, time_started))
}

/// A string field read out of its raw JSON (`null` or absent: none).
fn text(raw: Option<&RawValue>) -> Result<Option<String>, serde_json::Error> {
    raw.map_or(Ok(None), |r| serde_json::from_str(r.get()))
}

impl Listed<'_> {
    /// The job: only its id and serial when `known` has it under the same serial.
    fn read(self, known: &Known) -> Result<AfJob, serde_json::Error> {
        let (id, serial) = (self.id, self.serial);
        if known
            .get(&id)
            .is_some_and(|r| reconcile::same_serial(*r, serial))
        {
            return Ok(AfJob {
                id,
                serial,
                offline: offline(self.state),
                queued: queued(self.state, self.time_started),
                ..AfJob::default()
            });
        }
        Ok(AfJob {
            id,
            serial,
            name: text(self.name)?.unwrap_or_default(),
            user_name: text(self.user_name)?.unwrap_or_default(),
            annotation: text(self.annotation)?.unwrap_or_default(),
            hosts_mask: text(self.hosts_mask)?,
            hosts_mask_exclude: text(self.hosts_mask_exclude)?,
            hosts_mask_type: text(self.hosts_mask_type)?,
            offline: offline(self.state),
            queued: queued(self.state, self.time_started),
            time_started: self.time_started,
            ..AfJob::default()
        })
    }
}

/// Reads a `{"jobs":[...]}` body like [`reconcile::parse_jobs`] (afserver's unescaped strings
/// tolerated; no `jobs` list is an error), each job known under the same serial reduced to its
/// id and serial.
pub fn parse(body: &[u8], known: &Known) -> Result<Vec<AfJob>, String> {
    #[derive(Deserialize)]
    struct Reply<'a> {
        #[serde(borrow)]
        jobs: Option<Vec<Listed<'a>>>,
    }
    let read = |body: &[u8]| -> Result<Option<Vec<AfJob>>, serde_json::Error> {
        let reply: Reply = serde_json::from_slice(body)?;
        let jobs = reply
            .jobs
            .map(|jobs| jobs.into_iter().map(|j| j.read(known)));
        jobs.map(Iterator::collect).transpose()
    };
    let jobs = crate::renders::read_lenient(body, read).map_err(|e| e.to_string())?;
    jobs.ok_or_else(|| "the reply has no \"jobs\" list".into())
}

/// What a reconcile asks afserver for (`scan`, `registered`), read with [`parse`].
pub async fn fetch(
    upstream: &Upstream,
    scan: Scan,
    registered: &[Arc<PoolJob>],
) -> Result<Vec<AfJob>, String> {
    // A farm's registry is tens of thousands of jobs: the map is built off the workers.
    let pairs: Vec<(i64, Option<i64>)> = registered.iter().map(|j| (j.job_id, j.serial)).collect();
    let known = tokio::task::spawn_blocking(move || Arc::new(pairs.into_iter().collect::<Known>()))
        .await
        .map_err(|e| format!("registered jobs not read: {e}"))?;
    let parse = move |body: &[u8]| parse(body, &known);
    match scan {
        Scan::Full => super::full_scan::fetch_all(upstream, parse).await,
        Scan::Registered => {
            let ids: Vec<i64> = registered.iter().map(|j| j.job_id).collect();
            reconcile::fetch_ids_with(upstream, &ids, parse).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::protocol::frame::captured_reply_body as body_of;

    fn fields(j: &AfJob) -> (i64, Option<i64>, [String; 3], [Option<String>; 3]) {
        let text = [j.name.clone(), j.user_name.clone(), j.annotation.clone()];
        let masks = [
            j.hosts_mask.clone(),
            j.hosts_mask_exclude.clone(),
            j.hosts_mask_type.clone(),
        ];
        (j.id, j.serial, text, masks)
    }

    #[test]
    fn with_no_job_known_it_reads_what_the_full_reader_reads() {
        for file in [
            "11-text-get-jobs.reply.bin",
            "16-text-get-jobs-ids-after-action.reply.bin",
            "48-chromium-get-jobs.reply.bin",
        ] {
            let body = body_of(file);
            let full = reconcile::parse_jobs(&body).unwrap();
            let listed = parse(&body, &Known::new()).unwrap();
            assert!(!full.is_empty(), "{file}");
            let want: Vec<_> = full.iter().map(fields).collect();
            assert_eq!(
                listed.iter().map(fields).collect::<Vec<_>>(),
                want,
                "{file}"
            );
        }
    }

    #[test]
    fn a_job_known_under_its_serial_is_only_its_id_and_serial() {
        // Block masks written unescaped, as afserver does, and an escaped quote in a name.
        let body = br#"{"jobs":[
            {"id":4,"serial":40,"name":"a","user_name":"ann","annotation":"[pool: gpu]","hosts_mask_exclude":"(?!(?:gpu\.n)$).*","blocks":[{"hosts_mask":"r\d+"}]},
            {"id":5,"serial":51,"name":"say \"b\"","annotation":"[pool: cpu]","hosts_mask_type":"regex"},
            {"id":6,"name":"c"}]}"#;
        let known = Known::from([(4, Some(40)), (5, Some(50)), (6, Some(60))]);
        let jobs = parse(body, &known).unwrap();
        let kept: Vec<_> = jobs.iter().map(fields).collect();
        let none = || [None, None, None];
        let text = |a: &str, b: &str, c: &str| [a.into(), b.into(), c.into()];
        assert_eq!(kept[0], (4, Some(40), text("", "", ""), none()));
        // Another job at a known id (its serial differs): read whole, to adopt or drop.
        let masks = [None, None, Some("regex".to_string())];
        assert_eq!(
            kept[1],
            (5, Some(51), text("say \"b\"", "", "[pool: cpu]"), masks)
        );
        // No serial in the reply: taken for the registered job, like the plan does.
        assert_eq!(kept[2], (6, None, text("", "", ""), none()));
        let unknown = parse(body, &Known::new()).unwrap();
        let exclude = unknown[0].hosts_mask_exclude.as_deref();
        assert_eq!(exclude, Some(r"(?!(?:gpu\.n)$).*"));
        assert!(parse(br#"{"info":{"kind":"error","text":"x"}}"#, &known).is_err());
    }
}
