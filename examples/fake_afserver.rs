//! The tests' fake afserver as a standalone process, for `scripts/bench.sh`: it listens on
//! 127.0.0.1 (port 0 by default), prints the bound address on stdout, knows `--renders N` renders
//! named `render00001`… and answers captured requests with their captured replies
//! (`--capture PREFIX` loads `PREFIX.request.bin` → `PREFIX.reply.bin`). It records nothing
//! (`quiet`) and runs on a multi-threaded runtime until SIGINT or SIGTERM.
//!
//! For the bench's scale step ([`seed`]): `--afserver-renders` writes each render like the
//! captured afserver 3.4.1 render (~700 bytes instead of ~250); `--seed-jobs N --seed-pools FILE`
//! holds `N` pool jobs routed into the pools of that pools file before the address is printed,
//! and `--seed-registry FILE` writes afpool's registry of them (`jobs.json`).
//!
//! ```sh
//! cargo run --release --example fake_afserver -- --renders 5000 \
//!     --capture fixtures/captures/24-afrender-heartbeat
//! ```

#[path = "../tests/common/fake_afserver.rs"]
mod fake_afserver;
#[path = "fake_afserver/seed.rs"]
mod seed;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use fake_afserver::{FakeAfserver, FakeConfig};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

/// Parsed command line.
struct Args {
    listen: String,
    renders: usize,
    captures: Vec<String>,
    threads: usize,
    afserver_renders: bool,
    seed_jobs: usize,
    seed_pools: Option<PathBuf>,
    seed_registry: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: "127.0.0.1:0".into(),
        renders: 0,
        captures: Vec::new(),
        threads: 2,
        afserver_renders: false,
        seed_jobs: 0,
        seed_pools: None,
        seed_registry: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--renders" => args.renders = value()?.parse().context("--renders")?,
            "--capture" => args.captures.push(value()?),
            "--threads" => args.threads = value()?.parse().context("--threads")?,
            "--print-addr" => {} // always printed; accepted for clarity in scripts
            "--afserver-renders" => args.afserver_renders = true,
            "--seed-jobs" => args.seed_jobs = value()?.parse().context("--seed-jobs")?,
            "--seed-pools" => args.seed_pools = Some(value()?.into()),
            "--seed-registry" => args.seed_registry = Some(value()?.into()),
            other => bail!(
                "unknown argument {other}\nusage: fake_afserver [--listen ADDR] [--renders N] \
                 [--capture PREFIX]... [--threads N] [--print-addr] [--afserver-renders] \
                 [--seed-jobs N --seed-pools FILE [--seed-registry FILE]]"
            ),
        }
    }
    Ok(args)
}

/// The fake's configuration: numbered renders, all online, plus the captured request/reply pairs.
fn fake_config(args: &Args) -> anyhow::Result<FakeConfig> {
    let renders = (1..=args.renders)
        .map(|i| (format!("render{i:05}"), true))
        .collect();
    let mut scripted = HashMap::new();
    for prefix in &args.captures {
        let read = |suffix: &str| {
            let path = format!("{prefix}.{suffix}.bin");
            std::fs::read(&path).with_context(|| format!("cannot read {path}"))
        };
        scripted.insert(read("request")?, read("reply")?);
    }
    let renders_reply = match args.afserver_renders || args.seed_jobs > 0 {
        true => Some(seed::render_list(&captures(), args.renders)?),
        false => None,
    };
    Ok(FakeConfig {
        renders,
        renders_reply,
        scripted,
        quiet: true,
        ..FakeConfig::default()
    })
}

/// The repository's captures.
fn captures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/captures")
}

/// Holds `--seed-jobs` pool jobs in `fake` and writes their registry when asked.
fn seed_jobs(fake: &FakeAfserver, args: &Args, renders: &[u8]) -> anyhow::Result<()> {
    if args.seed_jobs == 0 {
        return Ok(());
    }
    let pools = args
        .seed_pools
        .as_deref()
        .context("--seed-jobs needs --seed-pools")?;
    let seeded = seed::pool_jobs(seed::read_pools(pools)?, renders, args.seed_jobs)?;
    let mut records = Vec::with_capacity(seeded.len());
    for s in seeded {
        let (id, serial) = fake.keep(&s.job);
        records.push(afpool::store::registry::PoolJob {
            job_id: id,
            serial: Some(serial),
            ..s.record
        });
    }
    match &args.seed_registry {
        Some(path) => seed::write_registry(path, &records),
        None => Ok(()),
    }
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let config = fake_config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let renders = config.renders_reply.clone().unwrap_or_default();
        let fake = FakeAfserver::serve(listener, config);
        seed_jobs(&fake, &args, &renders)?;
        drop(renders);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", fake.addr)?;
        out.flush()?;
        drop(out);
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        drop(fake);
        Ok(())
    })
}
