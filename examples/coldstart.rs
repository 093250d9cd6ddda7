//! Cold start timer for `scripts/bench.sh`: start a server command `--runs` times and measure, for
//! each start, the time from spawning it until it answers a probe request (`--file`) on `--addr`
//! with a whole framed reply. A bound but not yet serving port does not count: the kernel accepts
//! connections into the backlog before the program calls accept, so only a reply proves it serves.
//! Prints `{"median_ms":..,"runs_ms":[..]}`.
//!
//! ```sh
//! coldstart --addr 127.0.0.1:PORT --file fixtures/captures/24-afrender-heartbeat.request.bin \
//!     --runs 5 -- target/release/afpool serve --listen 127.0.0.1:PORT ...
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use afpool::protocol::frame::{parse_reply, FrameError};
use anyhow::{bail, Context};

const USAGE: &str = "usage: coldstart --addr ADDR --file PROBE.bin [--runs N] -- COMMAND [ARGS]...";

/// Give up on a start after this long.
const START_LIMIT: Duration = Duration::from_secs(20);

/// True when `addr` answers `probe` with a whole framed reply within a short time.
fn answers(addr: SocketAddr, probe: &[u8]) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(probe).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match parse_reply(&buf) {
            Ok(_) => return true,
            Err(FrameError::Incomplete | FrameError::Partial(_)) => {}
            Err(_) => return false,
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Start `cmd` once; milliseconds until it answers.
fn one_start(cmd: &[String], addr: SocketAddr, probe: &[u8]) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", cmd[0]))?;
    let outcome = loop {
        if answers(addr, probe) {
            break Ok(start.elapsed().as_secs_f64() * 1000.0);
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!(
                "{} exited with {status} before serving",
                cmd[0]
            ));
        }
        if start.elapsed() > START_LIMIT {
            break Err(anyhow::anyhow!("not serving after {START_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let split = argv.iter().position(|a| a == "--").context(USAGE)?;
    let (flags, cmd) = (&argv[..split], &argv[split + 1..]);
    let (mut addr, mut file, mut runs) = (None, None, 5usize);
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--addr" => addr = Some(value.parse::<SocketAddr>().context("--addr")?),
            "--file" => file = Some(value.clone()),
            "--runs" => runs = value.parse().context("--runs")?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let (Some(addr), Some(file)) = (addr, file) else {
        bail!(USAGE)
    };
    if cmd.is_empty() {
        bail!(USAGE);
    }
    let probe = std::fs::read(&file).with_context(|| format!("cannot read {file}"))?;
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        times.push(one_start(cmd, addr, &probe)?);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let runs_ms: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
    println!(
        r#"{{"median_ms":{:.2},"runs_ms":[{}]}}"#,
        sorted[sorted.len() / 2],
        runs_ms.join(",")
    );
    Ok(())
}
