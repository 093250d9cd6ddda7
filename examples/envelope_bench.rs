//! Times the strict read of the 100k-task job (`loadgen --big-job`'s body: one block of `--tasks T`
//! af.py-style tasks, ~10 MB) as the proxy reads a submission: UTF-8, the one parse that checks
//! every value and key and splits the task list. With `--two`, the same body is also read the way
//! afpool read it before (serde_json's pass beside a byte scan for duplicate keys, on a second
//! thread), the two alternating in one process. `--runs R` reads per reader. Prints
//! `{"bytes":..,"tasks":..,"one":{"best_ms":..,"median_ms":..,"cpu_ms":..},...}`: best and median
//! wall time per read, and the process's CPU time per read (both threads, from `/proc/self/stat`).

use std::time::Instant;

use anyhow::{bail, ensure, Context};

/// The body of `loadgen --big-job` (examples/loadgen.rs), without its frame.
fn job_body(tasks: usize) -> Vec<u8> {
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
        r#"{{"job": {{"name": "bench_big", "user_name": "artist", "host_name": "workstation01", "priority": 99, "time_creation": 1795464736, "pool": "pool0", "blocks": [{{"flags": 0, "name": "render", "service": "maya", "capacity": 1000, "working_directory": "/show/sq01/sh010", "parser": "generic", "command": "", "tasks": [{t}]}}], "folders": {{}}, "branch": "/show/sq01/sh010"}}}}"#
    )
    .into_bytes()
}

/// The process's CPU time (user + system) in ms.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0 // utime and stime (fields 14, 15) at 100 ticks per second
}

/// The wall times of one reader's reads, and the CPU it used.
#[derive(Default)]
struct Timings {
    wall_ms: Vec<f64>,
    cpu_ms: f64,
}

impl Timings {
    fn read(&mut self, body: &[u8], two: bool, tasks: usize) -> anyhow::Result<()> {
        let (cpu, start) = (cpu_ms(), Instant::now());
        let got = afpool::job::bench_read(std::hint::black_box(body), two)?;
        self.wall_ms.push(start.elapsed().as_secs_f64() * 1e3);
        self.cpu_ms += cpu_ms() - cpu;
        ensure!(got == tasks, "read {got} tasks of {tasks}");
        Ok(())
    }

    fn json(&mut self) -> String {
        self.wall_ms.sort_by(f64::total_cmp);
        let n = self.wall_ms.len();
        format!(
            r#"{{"best_ms":{:.2},"median_ms":{:.2},"cpu_ms":{:.2}}}"#,
            self.wall_ms[0],
            self.wall_ms[n / 2],
            self.cpu_ms / n as f64
        )
    }
}

fn main() -> anyhow::Result<()> {
    let (mut tasks, mut runs, mut two) = (100_000, 40, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--tasks" => tasks = value()?.parse().context("--tasks")?,
            "--runs" => runs = value()?.parse().context("--runs")?,
            "--two" => two = true,
            _ => bail!("usage: envelope_bench [--tasks T] [--runs R] [--two]"),
        }
    }
    let body = job_body(tasks);
    let (mut one, mut old) = (Timings::default(), Timings::default());
    for run in 0..runs.max(1) {
        // Alternating, each reader first in every other round.
        if two && run % 2 == 1 {
            old.read(&body, true, tasks)?;
        }
        one.read(&body, false, tasks)?;
        if two && run % 2 == 0 {
            old.read(&body, true, tasks)?;
        }
    }
    let old = match two {
        true => format!(r#","two":{}"#, old.json()),
        false => String::new(),
    };
    println!(
        r#"{{"bytes":{},"tasks":{tasks},"one":{}{old}}}"#,
        body.len(),
        one.json()
    );
    Ok(())
}
