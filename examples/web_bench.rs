//! Web page timings for `scripts/bench.sh`: opens the page of a running `afpool serve` (`--url`)
//! in headless Chromium over WebDriver (as `tests/web_page.rs` does) and measures, `--runs` times,
//! the first contentful paint, the time until the pools are drawn, and how long one filter
//! keystroke takes from the input event to the updated DOM and to the next frame, for the pool
//! list, the render picker and the hosts tab. `--screenshot FILE` saves a PNG of the Pools tab.
//! Prints one JSON line of medians (milliseconds).
//!
//! ```sh
//! web_bench --url http://127.0.0.1:51180 --pools 200 --renders 5000 --runs 3
//! ```

#[path = "../tests/web_common/mod.rs"]
mod web_common;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use web_common::Browser;

const USAGE: &str =
    "usage: web_bench --url URL --pools N --renders N [--runs N] [--screenshot FILE.png]";

/// Parsed command line.
#[derive(Default)]
struct Args {
    url: String,
    pools: usize,
    renders: usize,
    runs: usize,
    screenshot: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        runs: 3,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--pools" => args.pools = value()?.parse().context("--pools")?,
            "--renders" => args.renders = value()?.parse().context("--renders")?,
            "--runs" => args.runs = value()?.parse().context("--runs")?,
            "--screenshot" => args.screenshot = Some(value()?),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if args.url.is_empty() || args.runs == 0 {
        bail!("{USAGE}");
    }
    Ok(args)
}

/// Types `text` into input `id` one character at a time; per keystroke the time from the input
/// event to the updated DOM, to the DOM laid out (a forced layout) and to the next animation
/// frame: `{"dom": [...], "layout": [...], "frame": [...]}`.
const TYPE_TIMED: &str = r#"
const [id, text, done] = arguments;
const input = document.getElementById(id);
const dom = [], layout = [], frame = [];
input.value = '';
input.dispatchEvent(new Event('input'));
const step = (i) => {
  if (i > text.length) { done({dom, layout, frame}); return; }
  const t0 = performance.now();
  input.value = text.slice(0, i);
  input.dispatchEvent(new Event('input'));
  dom.push(performance.now() - t0);
  void document.body.offsetHeight;
  layout.push(performance.now() - t0);
  requestAnimationFrame(() => setTimeout(() => { frame.push(performance.now() - t0); step(i + 1); }, 0));
};
step(1);
"#;

/// The page's own load figures once the pools are drawn.
const LOAD_FIGURES: &str = r#"
const paint = performance.getEntriesByName('first-contentful-paint')[0];
const drawn = performance.getEntriesByName('afpool-drawn')[0];
return {fcp: paint ? paint.startTime : null, drawn: drawn ? drawn.startTime : null};
"#;

async fn one_run(b: &Browser, args: &Args) -> anyhow::Result<Value> {
    b.client.goto(&args.url).await?;
    let ready = format!(
        "return app.loaded && app.pools.length === {} && app.renders.length === {} \
         && !!performance.getEntriesByName('afpool-drawn').length",
        args.pools, args.renders
    );
    b.wait_for(&ready, "every pool and render on the page")
        .await;
    let load = b.js(LOAD_FIGURES).await;
    let pools = typed(b, "pool-filter", "pool12").await?;
    b.click("#pool-rows tr:nth-child(2) button").await;
    b.wait_for(
        "return !document.getElementById('pool-detail').hidden",
        "a pool chosen",
    )
    .await;
    let renders = typed(b, "render-filter", "render0421").await?;
    b.click("[data-tab=hosts]").await;
    let hosts = typed(b, "host-filter", "render0421").await?;
    b.click("[data-tab=pools]").await;
    typed(b, "render-filter", "").await?;
    Ok(json!({"load": load, "pools": pools, "renders": renders, "hosts": hosts}))
}

async fn typed(b: &Browser, id: &str, text: &str) -> anyhow::Result<Value> {
    Ok(b.client
        .execute_async(TYPE_TIMED, vec![json!(id), json!(text)])
        .await?)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    (values[values.len() / 2] * 10.0).round() / 10.0
}

/// Medians over the runs of a load figure, or of every keystroke of a filter.
fn summary(runs: &[Value], args: &Args) -> Value {
    let load = |k: &str| median(runs.iter().filter_map(|r| r["load"][k].as_f64()).collect());
    let keys = |filter: &str, k: &str| {
        let all = runs
            .iter()
            .flat_map(|r| r[filter][k].as_array().cloned().unwrap_or_default());
        median(all.filter_map(|v| v.as_f64()).collect())
    };
    let worst = |filter: &str| {
        let all = runs
            .iter()
            .flat_map(|r| r[filter]["dom"].as_array().cloned().unwrap_or_default());
        all.filter_map(|v| v.as_f64()).fold(0.0, f64::max)
    };
    json!({
        "pools": args.pools, "renders": args.renders, "runs": runs.len(),
        "first_contentful_paint_ms": load("fcp"), "pools_drawn_ms": load("drawn"),
        "filter_pools_dom_ms": keys("pools", "dom"), "filter_pools_layout_ms": keys("pools", "layout"),
        "filter_pools_frame_ms": keys("pools", "frame"),
        "filter_renders_dom_ms": keys("renders", "dom"),
        "filter_renders_layout_ms": keys("renders", "layout"),
        "filter_renders_frame_ms": keys("renders", "frame"),
        "filter_renders_worst_dom_ms": (worst("renders") * 10.0).round() / 10.0,
        "filter_hosts_dom_ms": keys("hosts", "dom"), "filter_hosts_layout_ms": keys("hosts", "layout"),
        "filter_hosts_frame_ms": keys("hosts", "frame"),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if !web_common::available("web_bench") {
        bail!("web_bench needs chromium and chromium-driver");
    }
    let b = Browser::start(1400, 900).await;
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(one_run(&b, &args).await?);
    }
    if let Some(path) = &args.screenshot {
        typed(&b, "pool-filter", "").await?;
        b.click("#pool-rows tr:nth-child(8) button").await;
        typed(&b, "render-filter", "render010").await?;
        b.wait_for(
            "return !document.getElementById('pool-detail').hidden",
            "a pool chosen",
        )
        .await;
        std::fs::write(path, b.client.screenshot().await?).with_context(|| path.clone())?;
    }
    b.close().await;
    println!("{}", summary(&runs, &args));
    Ok(())
}
