//! The record writer's batch on the file store: after `--preload` routed jobs are registered,
//! `--batches` batches of 100 routed jobs go through `Recorder::record_routed_many` (registry
//! journal append + `job_routed` audit lines), as the proxy's record writer hands them over every
//! ~50 ms under load. Prints one JSON line: wall time per batch (p50, p90) and process CPU per
//! batch. Used by `scripts/bench.sh`; 127.0.0.1 is not involved (a temporary folder only).

use std::sync::Arc;
use std::time::Instant;

use afpool::job::MaskMode;
use afpool::store::recorder::Recorder;
use afpool::store::registry::{JobMasks, PoolJob};
use afpool::store::StoreOptions;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Jobs registered before timing.
    #[arg(long, default_value_t = 20_000)]
    preload: i64,
    /// Batches timed.
    #[arg(long, default_value_t = 300)]
    batches: usize,
}

/// Jobs in one batch: 2,000 jobs/s gathered for 50 ms.
const BATCH: i64 = 100;

/// This process's CPU time (user + system), in microseconds.
fn cpu_us() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// A job as the proxy registers one routed into `poolN` (the bench's look-ahead mask).
fn job(id: i64) -> (Arc<PoolJob>, String) {
    let job = PoolJob {
        job_id: id,
        pool: format!("pool{}", id % 200).into(),
        user: "artist".into(),
        job_name: format!("shot_{id}"),
        submitted_at: bson::DateTime::now(),
        masks_written: JobMasks {
            hosts_mask: None,
            hosts_mask_exclude: Some("(?!(?:render0000[1-9]|render000[12][0-9])$).*".into()),
            hosts_mask_type: Some("regex".into()),
        },
        user_masks: JobMasks::default(),
        mask_mode: MaskMode::Exclude,
        serial: Some(id),
        held: None,
    };
    (Arc::new(job), "artist".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let spec = format!("file:{}", dir.path().join("pools.json").display());
    let recorder = Recorder::open(&spec, &StoreOptions::default(), 90).await?;
    let mut next = 0;
    while next < args.preload {
        let end = (next + 1000).min(args.preload);
        recorder
            .record_routed_many((next..end).map(job).collect())
            .await?;
        next = end;
    }
    let mut walls = Vec::with_capacity(args.batches);
    let cpu_before = cpu_us();
    for _ in 0..args.batches {
        let batch = (next..next + BATCH).map(job).collect();
        next += BATCH;
        let started = Instant::now();
        recorder.record_routed_many(batch).await?;
        walls.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let cpu = (cpu_us() - cpu_before) / args.batches as f64;
    walls.sort_by(f64::total_cmp);
    let at = |q: f64| walls[((walls.len() - 1) as f64 * q) as usize];
    println!(
        "{{\"jobs_per_batch\":{BATCH},\"preload\":{},\"p50_us\":{:.0},\"p90_us\":{:.0},\"cpu_us\":{cpu:.0}}}",
        args.preload,
        at(0.5),
        at(0.9)
    );
    Ok(())
}
