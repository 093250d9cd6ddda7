//! Load generator for `scripts/bench.sh`: N concurrent submitters, one request per connection like
//! af.py, each timed from connect to the end of the framed reply (read with afpool's own
//! `read_message`, so the stray byte afserver sends after a reply is never waited for).
//!
//! The request is a file (`--file REQUEST.bin`, e.g. a capture) or generated: af.py-style
//! text-framed jobs naming `pool0`…`pool{P-1}` in turn (`--jobs P`), or one big job with a
//! task-list block of T tasks (`--big-job T`). `--warmup W` requests run first and are not counted.
//! With `--rate R` the submitters are paced: request i is sent i/R seconds after the start (tokio's
//! timer wakes up to ~1 ms late, so it is timed from when it is sent), to measure latency below
//! saturation; without it each submitter sends its next request as soon as the last is answered.
//! The run stops after `--requests M` or `--duration S` seconds, whichever comes first, and prints
//! `{"rps":..,"p50_us":..,"p99_us":..,"errors":..}` (plus a few more fields) on stdout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use afpool::protocol::codec::{read_message, ReadOutcome, Side};
use afpool::protocol::encode::text_request;
use anyhow::{bail, Context};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Parsed command line.
struct Args {
    target: String,
    concurrency: usize,
    requests: usize,
    warmup: usize,
    duration: Duration,
    threads: usize,
    requests_from: Source,
    expect: Option<String>,
    save: Option<String>,
    /// Requests per second in all, paced; `None` = as fast as answers come.
    rate: Option<f64>,
}

/// Where request bytes come from.
enum Source {
    File(String),
    Jobs(usize),
    BigJob(usize),
}

const USAGE: &str =
    "usage: loadgen --target ADDR (--file REQUEST.bin | --jobs POOLS | --big-job TASKS) \
     [--concurrency N] [--requests M] [--warmup W] [--duration SECS] [--threads T] \
     [--rate PER_SEC] [--expect SUBSTRING] [--save PATH]";

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        target: String::new(),
        concurrency: 1,
        requests: 1000,
        warmup: 0,
        duration: Duration::from_secs(30),
        threads: 2,
        requests_from: Source::Jobs(1),
        expect: None,
        save: None,
        rate: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--target" => a.target = value()?,
            "--concurrency" => a.concurrency = value()?.parse().context("--concurrency")?,
            "--requests" => a.requests = value()?.parse().context("--requests")?,
            "--warmup" => a.warmup = value()?.parse().context("--warmup")?,
            "--duration" => {
                a.duration = Duration::from_secs_f64(value()?.parse().context("--duration")?)
            }
            "--threads" => a.threads = value()?.parse().context("--threads")?,
            "--file" => a.requests_from = Source::File(value()?),
            "--jobs" => a.requests_from = Source::Jobs(value()?.parse().context("--jobs")?),
            "--big-job" => a.requests_from = Source::BigJob(value()?.parse().context("--big-job")?),
            "--expect" => a.expect = Some(value()?),
            "--save" => a.save = Some(value()?),
            "--rate" => a.rate = Some(value()?.parse().context("--rate")?),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if a.target.is_empty() && a.save.is_none() {
        bail!("--target is required\n{USAGE}");
    }
    a.concurrency = a.concurrency.max(1);
    Ok(a)
}

/// One af.py-style job (`json.dumps` spacing) naming `pool`, with `tasks` tasks in one block.
fn job_body(name: &str, pool: &str, tasks: usize) -> Vec<u8> {
    let mut t = String::with_capacity(tasks * 100);
    for i in 1..=tasks {
        if i > 1 {
            t.push_str(", ");
        }
        t.push_str(&format!(
            r#"{{"name": "frame_{i:06}", "command": "maya -batch -s {i} -e {i} /show/sq01/sh010/light_v012.ma"}}"#
        ));
    }
    format!(
        r#"{{"job": {{"name": "{name}", "user_name": "artist", "host_name": "workstation01", "priority": 99, "time_creation": 1795464736, "pool": "{pool}", "blocks": [{{"flags": 0, "name": "render", "service": "maya", "capacity": 1000, "working_directory": "/show/sq01/sh010", "parser": "generic", "command": "", "tasks": [{t}]}}], "folders": {{}}, "branch": "/show/sq01/sh010"}}}}"#
    )
    .into_bytes()
}

/// The requests to send, used in turn.
fn requests(source: &Source) -> anyhow::Result<Vec<Vec<u8>>> {
    Ok(match source {
        Source::File(path) => {
            vec![std::fs::read(path).with_context(|| format!("cannot read {path}"))?]
        }
        Source::Jobs(pools) => (0..(*pools).max(1))
            .map(|p| text_request(&job_body(&format!("bench_{p}"), &format!("pool{p}"), 3)))
            .collect(),
        Source::BigJob(tasks) => vec![text_request(&job_body("bench_big", "pool0", *tasks))],
    })
}

/// What one timed request produced.
enum Result1 {
    Ok(u64),
    Err(String),
}

/// Send one request on a fresh connection and read its framed reply; latency in microseconds.
async fn one(target: &str, request: &[u8], expect: Option<&str>) -> Result1 {
    let start = Instant::now();
    let attempt = async {
        let mut s = TcpStream::connect(target)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        s.set_nodelay(true).ok();
        s.write_all(request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        let out = read_message(&mut s, &mut buf, Side::Reply)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let ReadOutcome::Message(frame) = out else {
            return Err(format!("no framed reply ({out:?}, {} bytes)", buf.len()));
        };
        let body = &buf[frame.body];
        if let Some(want) = expect {
            if !body.windows(want.len()).any(|w| w == want.as_bytes()) {
                return Err(format!(
                    "unexpected reply: {}",
                    String::from_utf8_lossy(body)
                ));
            }
        }
        Ok(())
    };
    match tokio::time::timeout(Duration::from_secs(30), attempt).await {
        Ok(Ok(())) => Result1::Ok(start.elapsed().as_micros() as u64),
        Ok(Err(e)) => Result1::Err(e),
        Err(_) => Result1::Err("timed out after 30 s".into()),
    }
}

/// Totals of one phase.
#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
}

/// Run `total` requests over `concurrency` workers, stopping at `deadline`.
async fn phase(args: &Args, reqs: Arc<Vec<Vec<u8>>>, total: usize, deadline: Instant) -> Tally {
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut workers = Vec::new();
    let begin = Instant::now();
    for _ in 0..args.concurrency {
        let (next, tally, reqs) = (next.clone(), tally.clone(), reqs.clone());
        let (target, expect, rate) = (args.target.clone(), args.expect.clone(), args.rate);
        workers.push(tokio::spawn(async move {
            let mut mine = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() >= deadline {
                    break;
                }
                if let Some(r) = rate {
                    let due = begin + Duration::from_secs_f64(i as f64 / r);
                    tokio::time::sleep_until(due.into()).await;
                }
                match one(&target, &reqs[i % reqs.len()], expect.as_deref()).await {
                    Result1::Ok(us) => mine.latencies.push(us),
                    Result1::Err(e) => {
                        mine.errors += 1;
                        mine.first_error.get_or_insert(e);
                    }
                }
            }
            let mut t = tally.lock().unwrap();
            t.latencies.extend(mine.latencies);
            t.errors += mine.errors;
            if t.first_error.is_none() {
                t.first_error = mine.first_error;
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    Arc::try_unwrap(tally)
        .ok()
        .expect("workers done")
        .into_inner()
        .unwrap()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(args: Args) -> anyhow::Result<()> {
    let reqs = Arc::new(requests(&args.requests_from)?);
    if let Some(path) = &args.save {
        std::fs::write(path, &reqs[0]).with_context(|| format!("cannot write {path}"))?;
        if args.target.is_empty() {
            return Ok(());
        }
    }
    if args.warmup > 0 {
        let warm = phase(
            &args,
            reqs.clone(),
            args.warmup,
            Instant::now() + args.duration,
        )
        .await;
        if warm.errors > 0 {
            eprintln!(
                "loadgen: warm-up errors: {} (first: {:?})",
                warm.errors, warm.first_error
            );
        }
    }
    let start = Instant::now();
    let mut tally = phase(&args, reqs.clone(), args.requests, start + args.duration).await;
    let wall = start.elapsed().as_secs_f64();
    tally.latencies.sort_unstable();
    let l = &tally.latencies;
    let mean = if l.is_empty() {
        0
    } else {
        l.iter().sum::<u64>() / l.len() as u64
    };
    if let Some(e) = &tally.first_error {
        eprintln!("loadgen: {} errors, first: {e}", tally.errors);
    }
    println!(
        r#"{{"rps":{:.1},"p50_us":{},"p99_us":{},"errors":{},"ok":{},"mean_us":{},"max_us":{},"wall_s":{:.3},"concurrency":{},"request_bytes":{}}}"#,
        l.len() as f64 / wall.max(1e-9),
        percentile(l, 50.0),
        percentile(l, 99.0),
        tally.errors,
        l.len(),
        mean,
        l.last().copied().unwrap_or(0),
        wall,
        args.concurrency,
        reqs[0].len()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(args))
}
