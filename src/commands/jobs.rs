//! `afpool jobs [--pool P] [--json]`: the live pool jobs (the registry), each with its name,
//! user, pool, state and progress as afserver reports them (`get jobs`), and how many of the
//! pool's hosts are online. A registered job afserver no longer has shows state `gone`; a job
//! afpool holds says why (and that it stays paused when its pool is back, if its owner paused it).

use std::borrow::Borrow;
use std::collections::HashMap;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::live::reconcile::AfJob;
use crate::renders::{self, RenderInfo};
use crate::store::registry::{Held, PoolJob};
use crate::store::Pool;

/// `afpool jobs` flags.
#[derive(Debug, Args, Default)]
pub struct JobsArgs {
    /// Only the jobs of this pool.
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// afserver address [default: 127.0.0.1:51000, or the config file's upstream].
    #[arg(long, env = "AFPOOL_UPSTREAM", value_name = "HOST:PORT")]
    pub upstream: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

/// One live pool job.
#[derive(Debug, Serialize, PartialEq)]
pub struct JobRow {
    /// afserver's job id.
    pub id: i64,
    /// Job name.
    pub name: String,
    /// Owner.
    pub user: String,
    /// Pool.
    pub pool: String,
    /// afserver's state words (`gone`: afserver no longer has it).
    pub state: String,
    /// Percent done.
    pub progress: i64,
    /// Hosts of the pool online in afserver.
    pub hosts_online: usize,
    /// Hosts in the pool.
    pub hosts: usize,
    /// Why afpool holds the job, while it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

/// Run `afpool jobs`.
pub async fn run(mut config: Config, args: JobsArgs) -> anyhow::Result<()> {
    if let Some(up) = args.upstream {
        config.upstream = Some(up);
    }
    let upstream = config.upstream()?;
    let recorder = super::open_recorder(&config).await?;
    let registered = recorder.registry.list(args.pool.as_deref()).await?;
    let pools = super::open_store(&config).await?.list().await?;
    let afjobs = crate::live::full_scan::fetch(&upstream)
        .await
        .map_err(anyhow::Error::msg)
        .context("cannot list afserver's jobs")?;
    let list = renders::fetch(&upstream)
        .await
        .context("cannot list afserver's renders")?;
    let rows = rows(&registered, &afjobs, &pools, &list);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", human(&rows));
    }
    Ok(())
}

/// The report, pure.
pub fn rows<J: Borrow<PoolJob>>(
    jobs: &[J],
    af: &[AfJob],
    pools: &[Pool],
    renders: &[RenderInfo],
) -> Vec<JobRow> {
    let by_id: HashMap<i64, &AfJob> = af.iter().map(|j| (j.id, j)).collect();
    let online = |pool: &str| {
        let Some(pool) = pools.iter().find(|p| p.name == pool) else {
            return (0, 0);
        };
        let up = renders
            .iter()
            .filter(|r| r.online && pool.hosts.iter().any(|h| h.eq_ignore_ascii_case(&r.name)))
            .count();
        (up, pool.hosts.len())
    };
    jobs.iter()
        .map(Borrow::borrow)
        .map(|j: &PoolJob| {
            let af = by_id.get(&j.job_id);
            let (hosts_online, hosts) = online(&j.pool);
            JobRow {
                id: j.job_id,
                name: j.job_name.clone(),
                user: j.user.to_string(),
                pool: j.pool.to_string(),
                state: af.map_or("gone".into(), |a| a.state.trim().to_string()),
                progress: af.map_or(0, |a| a.progress()),
                hosts_online,
                hosts,
                held: j.held.as_ref().map(held_words),
            }
        })
        .collect()
}

/// A hold in words: its problem, and whose pause it is when not afpool's.
fn held_words(held: &Held) -> String {
    let problem = held.reason.strip_prefix("held (paused): ");
    let problem = problem.unwrap_or(&held.reason);
    match held.paused_by_afpool {
        true => problem.to_string(),
        false => format!("{problem} (paused by its owner: stays paused)"),
    }
}

fn human(rows: &[JobRow]) -> String {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.name.clone(),
                r.user.clone(),
                r.pool.clone(),
                r.state.clone(),
                format!("{}%", r.progress),
                format!("{}/{}", r.hosts_online, r.hosts),
                r.held.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = [
        "ID",
        "NAME",
        "USER",
        "POOL",
        "STATE",
        "DONE",
        "HOSTS ONLINE",
        "HELD",
    ];
    crate::table::render(&head, &table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::MaskMode;
    use crate::store::registry::JobMasks;

    #[test]
    fn rows_join_registry_afserver_and_renders() {
        let job = |id: i64| PoolJob {
            job_id: id,
            pool: "gpu".into(),
            user: "ann".into(),
            job_name: format!("j{id}"),
            submitted_at: bson::DateTime::from_millis(0),
            masks_written: JobMasks::default(),
            user_masks: JobMasks::default(),
            mask_mode: MaskMode::Exclude,
            serial: None,
            held: None,
        };
        let held = PoolJob {
            held: Some(Held {
                reason: "held (paused): unknown pool 'gpu2'".into(),
                paused_by_afpool: false,
            }),
            ..job(3)
        };
        let af = AfJob {
            id: 1,
            state: "RDY RUN".into(),
            ..AfJob::default()
        };
        let pools = [Pool::new("gpu", ["A", "b"])];
        let mut off = RenderInfo::named("b");
        off.online = false;
        let got = rows(
            &[job(1), job(2), held],
            &[af],
            &pools,
            &[RenderInfo::named("a"), off],
        );
        assert_eq!(
            (got[0].state.as_str(), got[0].hosts_online, got[0].hosts),
            ("RDY RUN", 1, 2)
        );
        assert_eq!(got[1].state, "gone");
        assert_eq!(
            (got[0].held.as_deref(), got[1].held.as_deref()),
            (None, None)
        );
        let why = "unknown pool 'gpu2' (paused by its owner: stays paused)";
        assert_eq!(got[2].held.as_deref(), Some(why));
        let table = human(&got);
        assert!(table.contains("j2") && table.contains(why), "{table}");
    }
}
