//! The soak run's load and measurements, for `scripts/soak.sh` (issue 13, part 6): against a running
//! `afpool serve` on loopback, phase by phase, while a probe submits normal jobs at a steady rate
//! and the afpool process's RSS and open file descriptors are sampled from /proc:
//!
//! - `quiet`: the probe alone (the reference p99);
//! - `idle`: 1,000 connections opened and held without a byte;
//! - `trickle`: 1,000 clients sending a job one byte every 100 ms;
//! - `announce`: 100 clients announcing 64 MiB each (and sending 1 MiB of it);
//! - `mixed`: `--minutes` of jobs and `get renders` at a steady rate, with a churn of all three
//!   abuses (10 idle, 10 trickle, 1 announcing client started every second).
//!
//! Prints one Markdown table row per phase, then the fd count after everything closed.
//!
//! ```sh
//! soak --proxy 127.0.0.1:51100 --pid 1234 --phase-secs 20 --minutes 30 --rate 50
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use afpool::protocol::codec::{read_message, ReadOutcome, Side};
use afpool::protocol::encode;
use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Parsed command line.
struct Args {
    proxy: SocketAddr,
    pid: u32,
    phase_secs: u64,
    minutes: f64,
    rate: u32,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        proxy: "127.0.0.1:51100".parse()?,
        pid: 0,
        phase_secs: 20,
        minutes: 30.0,
        rate: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--proxy" => args.proxy = value.parse()?,
            "--pid" => args.pid = value.parse()?,
            "--phase-secs" => args.phase_secs = value.parse()?,
            "--minutes" => args.minutes = value.parse()?,
            "--rate" => args.rate = value.parse()?,
            _ => anyhow::bail!("unknown flag {flag}"),
        }
    }
    anyhow::ensure!(args.pid > 0, "--pid of the afpool process is required");
    Ok(args)
}

/// One process sample: resident set (KiB) and open file descriptors.
#[derive(Clone, Copy, Default)]
struct Sample {
    rss_kb: u64,
    fds: usize,
}

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    Sample { rss_kb, fds }
}

/// Samples every 250 ms until `stop`; returns the peaks.
async fn sampler(pid: u32, stop: CancellationToken) -> Sample {
    let mut peak = Sample::default();
    loop {
        let s = sample(pid);
        peak.rss_kb = peak.rss_kb.max(s.rss_kb);
        peak.fds = peak.fds.max(s.fds);
        tokio::select! {
            _ = stop.cancelled() => return peak,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// What the probe saw: latencies of acknowledged jobs, and failures.
#[derive(Default)]
struct Probe {
    latencies: Vec<Duration>,
    errors: usize,
}

impl Probe {
    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies.sort();
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1].as_secs_f64() * 1000.0
    }
}

static NEXT_JOB: AtomicUsize = AtomicUsize::new(0);

fn job_request() -> Vec<u8> {
    let n = NEXT_JOB.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::json!({"job": {
        "name": format!("soak-{n}"), "user_name": "artist", "host_name": "ws01",
        "hosts_mask": "pool:soak",
        "blocks": [{"name": "b", "flags": 1, "frame_first": 1, "frame_last": 10,
                    "frames_per_task": 1, "command": "render @#@"}]
    }});
    encode::text_request(&serde_json::to_vec(&body).expect("JSON"))
}

fn renders_request() -> Vec<u8> {
    encode::text_request(br#"{"get":{"type":"renders"}}"#)
}

/// One request, one reply; Ok when a whole reply (with `"id"` for a job) arrived within 30 s.
async fn exchange(proxy: SocketAddr, request: &[u8], want_id: bool) -> anyhow::Result<()> {
    let run = async {
        let mut s = TcpStream::connect(proxy).await?;
        s.write_all(request).await?;
        let mut buf = Vec::new();
        match read_message(&mut s, &mut buf, Side::Reply).await? {
            ReadOutcome::Message(f) if !want_id || contains(&buf[..f.len], b"\"id\"") => Ok(()),
            other => anyhow::bail!("bad reply: {other:?}"),
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run).await?
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Submits normal jobs at `rate` per second (and `get renders` at `renders_rate`) until `stop`.
async fn probe(proxy: SocketAddr, rate: u32, renders_rate: u32, stop: CancellationToken) -> Probe {
    let seen = Arc::new(Mutex::new(Probe::default()));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0u64;
    while !stop.is_cancelled() {
        tokio::select! { _ = tick.tick() => {}, _ = stop.cancelled() => break }
        n += 1;
        let seen = seen.clone();
        let renders = renders_rate > 0 && n.is_multiple_of(u64::from(rate / renders_rate).max(1));
        tasks.spawn(async move {
            let start = Instant::now();
            let result = if renders {
                exchange(proxy, &renders_request(), false).await
            } else {
                exchange(proxy, &job_request(), true).await
            };
            let mut seen = seen.lock().expect("probe lock");
            match result {
                Ok(()) if !renders => seen.latencies.push(start.elapsed()),
                Ok(()) => {}
                Err(_) => seen.errors += 1,
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Arc::try_unwrap(seen)
        .ok()
        .expect("probe tasks done")
        .into_inner()
        .expect("lock")
}

/// How abusive connections ended.
#[derive(Default)]
struct Abuse {
    opened: AtomicUsize,
    refused: AtomicUsize,
    closed_by_afpool: AtomicUsize,
    answered: AtomicUsize,
}

impl Abuse {
    fn summary(&self) -> String {
        let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        format!(
            "{} opened, {} refused, {} answered, {} closed by afpool",
            get(&self.opened),
            get(&self.refused),
            get(&self.answered),
            get(&self.closed_by_afpool)
        )
    }
}

/// One abusive client: connect (then hand back the connect `permit`), send `head` then `trickle` one byte every 100 ms, and hold the
/// connection until `stop`, noting how afpool ends it.
async fn abuser(
    proxy: SocketAddr,
    (head, trickle): (Vec<u8>, Vec<u8>),
    abuse: Arc<Abuse>,
    permit: tokio::sync::OwnedSemaphorePermit,
    stop: CancellationToken,
) {
    let connected = TcpStream::connect(proxy).await;
    drop(permit);
    let Ok(mut s) = connected else {
        abuse.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    abuse.opened.fetch_add(1, Ordering::Relaxed);
    let (mut rd, mut wr) = s.split();
    let write = async {
        if wr.write_all(&head).await.is_err() {
            return;
        }
        for b in &trickle {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await
    };
    let mut buf = [0u8; 4096];
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = write => {}
        r = rd.read(&mut buf) => match r {
            Ok(n) if n > 0 => { abuse.answered.fetch_add(1, Ordering::Relaxed); }
            _ => { abuse.closed_by_afpool.fetch_add(1, Ordering::Relaxed); }
        },
    }
}

/// The abuses, each as (head, trickle) of one client.
fn idle() -> (Vec<u8>, Vec<u8>) {
    (Vec::new(), Vec::new())
}
fn trickle() -> (Vec<u8>, Vec<u8>) {
    (Vec::new(), job_request())
}
fn announce() -> (Vec<u8>, Vec<u8>) {
    let mut head = b"AFANASY 67108864 JSON{\"job\":{\"name\":\"".to_vec();
    head.resize(head.len() + (1 << 20), b'x');
    (head, Vec::new())
}

/// Start `count` abusive clients of one kind (at most 100 connecting at once); returns once all
/// are connected (or refused).
async fn start_abuse(
    proxy: SocketAddr,
    count: usize,
    kind: fn() -> (Vec<u8>, Vec<u8>),
    abuse: &Arc<Abuse>,
    stop: &CancellationToken,
) {
    let gate = Arc::new(tokio::sync::Semaphore::new(100));
    for _ in 0..count {
        let (abuse, stop) = (abuse.clone(), stop.clone());
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        tokio::spawn(abuser(proxy, kind(), abuse, permit, stop));
    }
    let _ = gate.acquire_many(100).await;
}

/// One phase: the probe for `secs` while `abuse` runs; prints its table row.
async fn phase(
    args: &Args,
    name: &str,
    secs: f64,
    quiet_p99: f64,
    abuse: Abuse,
    load: impl AsyncFnOnce(&Arc<Abuse>, &CancellationToken),
) -> f64 {
    let stop = CancellationToken::new();
    let abuse = Arc::new(abuse);
    let peaks = tokio::spawn(sampler(args.pid, stop.clone()));
    let renders_rate = if name == "mixed" { args.rate / 4 } else { 0 };
    let started = Instant::now();
    let probe_task = tokio::spawn(probe(args.proxy, args.rate, renders_rate, stop.clone()));
    load(&abuse, &stop).await;
    let rest = Duration::from_secs_f64(secs).saturating_sub(started.elapsed());
    tokio::time::sleep(rest).await;
    stop.cancel();
    let mut seen = probe_task.await.expect("probe");
    let peak = peaks.await.expect("sampler");
    let (p50, p99) = (seen.percentile(0.50), seen.percentile(0.99));
    let ratio = if quiet_p99.is_finite() {
        p99 / quiet_p99
    } else {
        1.0
    };
    println!(
        "| {name} | {:.0} s | {} | {} | {p50:.2} | {p99:.2} | {ratio:.2} | {:.1} | {} | {} |",
        secs,
        seen.latencies.len(),
        seen.errors,
        peak.rss_kb as f64 / 1024.0,
        peak.fds,
        abuse.summary()
    );
    p99
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let before = sample(args.pid);
    let secs = args.phase_secs as f64;
    println!("| phase | time | jobs ok | errors | p50 ms | p99 ms | p99 / quiet | peak RSS MiB | peak fds | abusive clients |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let quiet = phase(
        &args,
        "quiet",
        secs,
        f64::NAN,
        Abuse::default(),
        async |_, _| {},
    )
    .await;
    let p = args.proxy;
    phase(
        &args,
        "idle ×1000",
        secs,
        quiet,
        Abuse::default(),
        async |a, s| start_abuse(p, 1000, idle, a, s).await,
    )
    .await;
    phase(
        &args,
        "trickle ×1000",
        secs,
        quiet,
        Abuse::default(),
        async |a, s| start_abuse(p, 1000, trickle, a, s).await,
    )
    .await;
    phase(
        &args,
        "announce 64 MiB ×100",
        secs,
        quiet,
        Abuse::default(),
        async |a, s| start_abuse(p, 100, announce, a, s).await,
    )
    .await;
    let mixed_secs = args.minutes * 60.0;
    phase(
        &args,
        "mixed",
        mixed_secs,
        quiet,
        Abuse::default(),
        async |a, s| {
            let (a, s) = (a.clone(), s.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                while !s.is_cancelled() {
                    tick.tick().await;
                    start_abuse(p, 10, idle, &a, &s).await;
                    start_abuse(p, 10, trickle, &a, &s).await;
                    start_abuse(p, 1, announce, &a, &s).await;
                }
            });
        },
    )
    .await;
    let after = settle(args.pid, before.fds).await;
    println!();
    println!(
        "afpool before: {:.1} MiB RSS, {} fds; after every client closed: {:.1} MiB RSS, {} fds",
        before.rss_kb as f64 / 1024.0,
        before.fds,
        after.rss_kb as f64 / 1024.0,
        after.fds
    );
    Ok(())
}

/// Waits (at most 60 s) for afpool's fd count to come back to `fds`; the last sample.
async fn settle(pid: u32, fds: usize) -> Sample {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = sample(pid);
        if s.fds <= fds || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
