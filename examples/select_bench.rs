//! Times resolving selector pools ([`afpool::select::resolve::Resolver`]) over a farm:
//! `--pools P` pools with a CEL rule each over `--renders R` renders with varied hardware. Reports
//! the first resolution (every rule over every render), a refresh where only busy and online flags
//! changed (what most refreshes are), and a refresh where `--changed C` renders got new hardware
//! (each rule looks at those again). Every pool also has member windows (its selected renders on
//! weeknights and weekends, ten renders with their own), read in Europe/Berlin; `edge_ms` is a
//! resolution at the next window edge, where only the time changed. Prints `{"first_ms":..,
//! "flags_ms":..,"changed_ms":..,"edge_ms":..,"members":..}`; `scripts/bench.sh` reports it.

use std::time::Instant;

use afpool::renders::RenderInfo;
use afpool::select::facts::RenderFacts;
use afpool::select::resolve::Resolver;
use afpool::store::{Pool, Selection};
use anyhow::{bail, Context};

fn farm(renders: usize) -> Vec<RenderInfo> {
    (0..renders)
        .map(|i| RenderInfo {
            id: i as i64 + 1,
            facts: RenderFacts {
                os: if i % 3 == 0 {
                    "windows 10"
                } else {
                    "unix linux 64 debian 12"
                }
                .into(),
                engine: "3.4.1".into(),
                cpu_num: [8, 16, 32, 64][i % 4],
                mem_total_mb: [32768, 65536, 131072][i % 3],
                gpu_mem_total_mb: [0, 8192, 24576, 49152][i % 4],
                gpu_string: ["", "RTX 3070", "RTX 4090", "A6000"][i % 4].into(),
                ..RenderFacts::default()
            },
            ..RenderInfo::named(&format!("r{i:05}.farm.studio.local"))
        })
        .collect()
}

fn pools(n: usize) -> Vec<Pool> {
    (0..n)
        .map(|i| {
            let rule = match i % 4 {
                0 => format!(
                    "gpu_mem_total_mb >= {} && os.contains(\"linux\")",
                    8192 * (i % 7)
                ),
                1 => format!("mem_total_mb >= {} && cpu_num >= 16", 32768 * (i % 5)),
                2 => format!("name.startsWith(\"r0{}\")", i % 10),
                _ => "gpu_string.contains(\"RTX\") && !os.contains(\"windows\")".to_string(),
            };
            Pool::new(format!("pool{i}"), Vec::<String>::new()).with_selection(Selection {
                select: Some(rule),
                during: windows(i),
                time_zone: Some("Europe/Berlin".into()),
                ..Selection::default()
            })
        })
        .collect()
}

/// Every pool's selected renders on weeknights and weekends, and ten renders each with their own
/// window: what a resolution at a window edge reads.
fn windows(i: usize) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut during = std::collections::BTreeMap::new();
    during.insert(
        "*".to_string(),
        vec!["Mon-Fri 19:00-07:00".to_string(), "Sat,Sun".to_string()],
    );
    for k in 0..10 {
        during.insert(
            format!("r{:04}", (i * 10 + k) % 5000),
            vec!["Mon 10:00-12:00".to_string()],
        );
    }
    during
}

fn ms(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1e4).round() / 10.0
}

fn main() -> anyhow::Result<()> {
    let (mut n_pools, mut n_renders, mut n_changed) = (200usize, 5000usize, 500usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()?;
        match flag.as_str() {
            "--pools" => n_pools = value,
            "--renders" => n_renders = value,
            "--changed" => n_changed = value,
            other => bail!("unknown argument {other}; usage: select_bench [--pools P] [--renders R] [--changed C]"),
        }
    }
    let (pools, mut renders) = (pools(n_pools), farm(n_renders));
    let mut resolver = Resolver::new();
    // A Saturday noon in Berlin: every pool's selected renders are in their weekend window.
    let now: jiff::Timestamp = "2026-12-12T11:00:00Z".parse()?;
    let start = Instant::now();
    let first = resolver.resolve(&pools, &renders, now);
    let first_ms = ms(start);
    let members: usize = first.iter().map(|p| p.hosts.len()).sum();
    for (i, r) in renders.iter_mut().enumerate() {
        r.busy = i % 2 == 0;
        r.online = i % 17 != 0;
    }
    let start = Instant::now();
    let flags = resolver.resolve(&pools, &renders, now);
    let flags_ms = ms(start);
    assert_eq!(flags, first, "flags change no membership");
    for r in renders.iter_mut().take(n_changed) {
        r.facts.gpu_mem_total_mb += 16384;
    }
    let start = Instant::now();
    resolver.resolve(&pools, &renders, now);
    let changed_ms = ms(start);
    // At a window edge nothing but the time changed: every pool's windows are read again.
    let edge = resolver.next_edge().context("the pools have windows")?;
    let start = Instant::now();
    resolver.resolve(&pools, &renders, edge);
    let edge_ms = ms(start);
    println!(
        "{{\"first_ms\":{first_ms},\"flags_ms\":{flags_ms},\"changed_ms\":{changed_ms},\"edge_ms\":{edge_ms},\"members\":{members}}}"
    );
    Ok(())
}
