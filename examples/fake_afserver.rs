//! The tests' fake afserver as a standalone process, for `scripts/bench.sh`: it listens on
//! 127.0.0.1 (port 0 by default), prints the bound address on stdout, knows `--renders N` renders
//! named `render00001`… and answers captured requests with their captured replies
//! (`--capture PREFIX` loads `PREFIX.request.bin` → `PREFIX.reply.bin`). It records nothing
//! (`quiet`) and runs on a multi-threaded runtime until SIGINT or SIGTERM.
//!
//! ```sh
//! cargo run --release --example fake_afserver -- --renders 5000 \
//!     --capture fixtures/captures/24-afrender-heartbeat
//! ```

#[path = "../tests/common/fake_afserver.rs"]
mod fake_afserver;

use std::collections::HashMap;
use std::io::Write;

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
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: "127.0.0.1:0".into(),
        renders: 0,
        captures: Vec::new(),
        threads: 2,
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
            other => bail!(
                "unknown argument {other}\nusage: fake_afserver [--listen ADDR] [--renders N] \
                 [--capture PREFIX]... [--threads N] [--print-addr]"
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
    Ok(FakeConfig {
        renders,
        scripted,
        quiet: true,
        ..FakeConfig::default()
    })
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
        let fake = FakeAfserver::serve(listener, config);
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
