//! afserver's whole job list, read in parts. afserver caps one message at 64 MiB
//! (`Msg::SizeBufferLimit` in `libafanasy/msg.cpp`: a larger reply is made invalid) and a job
//! takes hundreds of bytes to kilobytes in its `get jobs` reply, so one `{"get":{"type":"jobs"}}`
//! fails on a large farm (200,000 jobs: 69 MB even with the fake's lean jobs). Instead afpool
//! learns how many jobs afserver holds (`get users`: each user's `jobs_num`, their sum) and asks
//! for ids in ranges of [`IDS_PER_GET`] from 1 until it has seen that many and a range came back
//! empty, or reached afserver's highest id (`AFJOB::MAXQUANTITY`). afserver gives a new job the lowest free id
//! (`AfContainer::add`), so the ids in use are dense from 1 and a scan ends near the farm's size.
//! Jobs deleted during the scan make it read on to the highest id (small `{"jobs":[]}` replies);
//! jobs added during it are the next reconcile's.

use serde::Deserialize;

use super::reconcile::{ask, ask_ids, AfJob, IDS_PER_GET};
use crate::upstream::Upstream;

/// afserver's job ids are below this (`AFJOB::MAXQUANTITY`, `include/afjob.h`).
pub const MAX_JOB_ID: i64 = 1_000_000;

/// The request for every user (each with its `jobs_num`).
pub const GET_USERS: &[u8] = br#"{"get":{"type":"users"}}"#;

/// How many jobs a `get users` reply says afserver holds (a user without jobs has no
/// `jobs_num`).
pub fn jobs_held(body: &[u8]) -> Result<usize, String> {
    #[derive(Deserialize)]
    struct Reply {
        users: Option<Vec<User>>,
    }
    #[derive(Deserialize)]
    struct User {
        #[serde(default)]
        jobs_num: i64,
    }
    let reply: Reply = crate::renders::from_slice_lenient(body).map_err(|e| e.to_string())?;
    let users = reply.users.ok_or("the reply has no \"users\" list")?;
    Ok(users.iter().map(|u| u.jobs_num.max(0) as usize).sum())
}

/// The id ranges a scan asks for, in order: `[1, 501)`, `[501, 1001)`, ... below [`MAX_JOB_ID`].
fn ranges() -> impl Iterator<Item = Vec<i64>> {
    (1..MAX_JOB_ID)
        .step_by(IDS_PER_GET)
        .map(|start| (start..(start + IDS_PER_GET as i64).min(MAX_JOB_ID)).collect())
}

/// Every job afserver holds, read by [`super::reconcile::parse_jobs`].
pub async fn fetch(upstream: &Upstream) -> Result<Vec<AfJob>, String> {
    fetch_all(upstream, super::reconcile::parse_jobs).await
}

/// Every job afserver holds, each reply read by `parse`; paced as [`super::reconcile::fetch_ids`]
/// is (between two requests it waits as long as the last one took).
pub async fn fetch_all<P>(upstream: &Upstream, parse: P) -> Result<Vec<AfJob>, String>
where
    P: Fn(&[u8]) -> Result<Vec<AfJob>, String> + Clone + Send + 'static,
{
    let held = ask(upstream, GET_USERS, jobs_held).await?;
    let mut jobs = Vec::with_capacity(held);
    let (mut took, mut last_empty) = (None, false);
    for part in ranges() {
        // A job missed here would be dropped from the registry: stop only past the dense ids
        // (an empty range) as well as at the count, so a `get users` that under-counts cannot
        // end the scan early.
        if jobs.len() >= held && last_empty {
            break;
        }
        if let Some(took) = took {
            tokio::time::sleep(took).await;
        }
        let started = tokio::time::Instant::now();
        let found = ask_ids(upstream, &part, parse.clone()).await?;
        last_empty = found.is_empty();
        jobs.extend(found);
        took = Some(started.elapsed());
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jobs_held_are_the_users_jobs_num() {
        // afserver 3.4.1 writes jobs_num only when a user has jobs.
        let body = br#"{"users":[{"name":"ann","id":1,"jobs_num":3},{"name":"b\c","id":2},
            {"name":"cy","id":3,"jobs_num":12,"running_jobs_num":1}]}"#;
        assert_eq!(jobs_held(body), Ok(15));
        assert_eq!(jobs_held(br#"{"users":[]}"#), Ok(0));
        assert!(jobs_held(br#"{"info":{"kind":"error","text":"x"}}"#).is_err());
    }

    #[test]
    fn ranges_cover_every_id_once_below_the_highest() {
        let all: Vec<Vec<i64>> = ranges().collect();
        assert_eq!(all[0].first(), Some(&1));
        assert_eq!(all[0].len(), IDS_PER_GET);
        assert_eq!(all[1][0], 1 + IDS_PER_GET as i64);
        let ids: usize = all.iter().map(Vec::len).sum();
        assert_eq!(ids as i64, MAX_JOB_ID - 1);
        assert_eq!(all.last().unwrap().last(), Some(&(MAX_JOB_ID - 1)));
    }
}
