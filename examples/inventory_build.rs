//! Times building the routing snapshot ([`afpool::job::Inventory::new`]) for the benchmark's farm:
//! `--pools P` pools of `--renders R / P` hosts each, R renders. `scripts/bench.sh` reports it,
//! because the proxy rebuilds the snapshot whenever the pools or the render list change. Also
//! times routing one job into `pool0`: the first job writes the pool's exclude mask, a look-ahead
//! of its members (once per pool and set of names), later ones copy it; and measures that mask and
//! the job before and after routing. Prints `{"build_ms":..,"rss_growth_kb":..,"first_job_us":..,
//! "next_job_us":..,"mask_bytes":..,"job_bytes":..,"routed_bytes":..}`.

use std::time::Instant;

use afpool::job::{route, Inventory, RouteSettings, Verdict};
use afpool::renders::RenderInfo;
use afpool::store::Pool;
use anyhow::{bail, Context};

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: 0 kB");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let (mut pools, mut renders, mut runs) = (200usize, 5000usize, 3usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()?;
        match flag.as_str() {
            "--pools" => pools = value,
            "--renders" => renders = value,
            "--runs" => runs = value,
            other => bail!("unknown argument {other}; usage: inventory_build [--pools P] [--renders R] [--runs N]"),
        }
    }
    let per = renders / pools.max(1);
    let list: Vec<RenderInfo> = (1..=renders)
        .map(|i| RenderInfo::named(&format!("render{i:05}")))
        .collect();
    let pool_list: Vec<Pool> = (0..pools)
        .map(|p| {
            let hosts = (0..per).map(|i| format!("render{:05}", p * per + i + 1));
            Pool::new(format!("pool{p}"), hosts)
        })
        .collect();
    let before = rss_kb();
    let mut best = f64::MAX;
    let mut keep = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let inv = Inventory::new(pool_list.clone(), list.clone());
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        keep.push(inv);
    }
    let growth = (rss_kb() - before) / keep.len() as u64;
    let body = br#"{"job":{"name":"j","user_name":"u","pool":"pool0","blocks":[{"tasks":[{"name":"t"}]}]}}"#;
    let mut job_us = [0.0; 2];
    let mut routed = Vec::new();
    for us in &mut job_us {
        let start = Instant::now();
        let out = route(body, &RouteSettings::default(), &keep[0])?;
        *us = start.elapsed().as_secs_f64() * 1e6;
        if out.verdict != Verdict::Routed {
            bail!("the job was not routed: {}", out.explain.reason);
        }
        routed = out.body.unwrap_or_else(|| body.to_vec());
    }
    println!(
        r#"{{"build_ms":{best:.1},"rss_growth_kb":{growth},"first_job_us":{:.0},"next_job_us":{:.0},"mask_bytes":{},"job_bytes":{},"routed_bytes":{}}}"#,
        job_us[0],
        job_us[1],
        exclude_mask_len(&routed)?,
        body.len(),
        routed.len()
    );
    Ok(())
}

/// The length of the routed job's `hosts_mask_exclude`, as afserver receives it.
fn exclude_mask_len(routed: &[u8]) -> anyhow::Result<usize> {
    let envelope: serde_json::Value = serde_json::from_slice(routed)?;
    let mask = envelope["job"]["hosts_mask_exclude"]
        .as_str()
        .context("the routed job has no hosts_mask_exclude")?;
    Ok(mask.len())
}
