//! Writes the input of the mask cost harness (`scripts/bench/regex_cost.cpp`): for each pool
//! shape of issue 26 on its 5,000-host farm (`tests/common/pool_shapes.rs`), the exclude mask
//! afpool writes (a job routed into the pool, as the proxy routes it), the older tool's exclude
//! list (every outsider, raw, joined with `|`), `.*` and a literal, each with the farm to time
//! `regex_match` on and the names whose verdict is known: for afpool's mask every member (kept)
//! and every near miss and outsider (excluded); for the older list the farm only (it cannot know
//! hosts that register later). `--shape NAME` writes one shape only.
//!
//! `scripts/bench.sh --masks` pipes it into the harness: `mask_cost | regex_cost`.

#[path = "../tests/common/pool_shapes.rs"]
mod pool_shapes;

use std::fmt::Write as _;
use std::io::Write as _;

use afpool::job::{route, Inventory, RouteSettings, Verdict};
use afpool::renders::RenderInfo;
use afpool::store::Pool;
use anyhow::{bail, Context};
use pool_shapes::Shape;

fn hex(s: &str) -> String {
    s.bytes()
        .fold(String::with_capacity(s.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The exclude mask afpool writes for a job of `shape`'s pool.
fn afpool_mask(shape: &Shape) -> anyhow::Result<String> {
    let renders = shape.farm.iter().map(|n| RenderInfo::named(n)).collect();
    let inv = Inventory::new(vec![Pool::new("p", &shape.members)], renders);
    let body =
        br#"{"job":{"name":"j","user_name":"u","pool":"p","blocks":[{"tasks":[{"name":"t"}]}]}}"#;
    let out = route(body, &RouteSettings::default(), &inv).context("routing")?;
    if out.verdict != Verdict::Routed {
        bail!("{}: not routed: {}", shape.name, out.explain.reason);
    }
    let job: serde_json::Value = serde_json::from_slice(&out.body.context("no body")?)?;
    Ok(job["job"]["hosts_mask_exclude"]
        .as_str()
        .context("no exclude mask")?
        .to_string())
}

fn record(out: &mut String, label: &str, pattern: &str, farm: &[String], checks: &[(bool, &str)]) {
    let _ = writeln!(out, "P {label} {}", hex(pattern));
    for name in farm {
        let _ = writeln!(out, "T {}", hex(name));
    }
    for (want, name) in checks {
        let _ = writeln!(out, "C {} {}", u8::from(*want), hex(name));
    }
    out.push_str("E\n");
}

fn main() -> anyhow::Result<()> {
    let mut only = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--shape" => only = Some(it.next().context("--shape needs a name")?),
            other => bail!("unknown argument {other}; usage: mask_cost [--shape NAME]"),
        }
    }
    let mut out = String::new();
    for shape in pool_shapes::shapes() {
        if only.as_ref().is_some_and(|o| o != shape.name) {
            continue;
        }
        let outsiders = shape.outsiders();
        let misses = pool_shapes::near_misses(&shape.members);
        let mut checks: Vec<(bool, &str)> =
            shape.members.iter().map(|m| (false, m.as_str())).collect();
        checks.extend(outsiders.iter().chain(&misses).map(|n| (true, n.as_str())));
        let name = shape.name;
        record(
            &mut out,
            &format!("{name}/afpool"),
            &afpool_mask(&shape)?,
            &shape.farm,
            &checks,
        );
        let farm_checks: Vec<(bool, &str)> = shape
            .members
            .iter()
            .map(|m| (false, m.as_str()))
            .chain(outsiders.iter().map(|n| (true, n.as_str())))
            .collect();
        let legacy = outsiders.join("|");
        record(
            &mut out,
            &format!("{name}/legacy"),
            &legacy,
            &shape.farm,
            &farm_checks,
        );
        record(&mut out, &format!("{name}/any"), ".*", &shape.farm, &[]);
        let literal = shape.members[0].replace('.', "[.]");
        record(
            &mut out,
            &format!("{name}/literal"),
            &literal,
            &shape.farm,
            &[],
        );
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
