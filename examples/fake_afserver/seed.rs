//! What the standalone fake afserver holds before its first request, for the bench's scale step
//! (issue 26 §2): afserver-sized render entries, and pool jobs as afserver holds them after
//! afpool routed them — `[pool: NAME]` annotation, the masks afpool computes for the pool — with
//! their registry (`jobs.json` in the file store's format), as a proxy restarted on a farm with
//! that many live pool jobs finds them. Nothing goes through a proxy.
//!
//! - [`render_list`]: the `get renders` body, each render the captured afserver 3.4.1 render
//!   (online) with its name and id changed, as `examples/scale_bench.rs` builds it;
//! - [`pool_jobs`]: `N` jobs spread over the pools of a file store's pools file, job `k` in pool
//!   `k mod P`, each with the masks [`afpool::live::target::compute`] gives it there;
//! - [`write_registry`]: those jobs as the file registry's snapshot.

use std::path::Path;

use afpool::job::{Inventory, RouteSettings};
use afpool::live::target::{compute, Computed};
use afpool::store::registry::{JobMasks, PoolJob};
use afpool::store::Pool;
use anyhow::{bail, Context};
use serde_json::{json, Value};

/// The captured afserver render the list is made of.
const TEMPLATE: &str = "08-text-get-renders";

/// The `get renders` body for renders `render00001`…`render{n}`, each written like the captured
/// afserver 3.4.1 render in `captures` (~700 bytes a render, three times the fake's own).
pub fn render_list(captures: &Path, n: usize) -> anyhow::Result<Vec<u8>> {
    let path = captures.join(format!("{TEMPLATE}.reply.bin"));
    let reply = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let frame = afpool::protocol::frame::parse_reply(&reply)?;
    let body: Value = serde_json::from_slice(&reply[frame.body])?;
    let mut template = body["renders"][0].clone();
    template["st"] = 1.into();
    template["state"] = " ONL".into();
    let items: Vec<String> = (1..=n)
        .map(|i| {
            let mut r = template.clone();
            r["name"] = format!("render{i:05}").into();
            r["id"] = i.into();
            serde_json::to_string(&r).expect("a JSON value serialises")
        })
        .collect();
    Ok(format!(r#"{{"renders":[{}]}}"#, items.join(",")).into_bytes())
}

/// The pools of a file store's pools file (`{"pools":[{"name":..,"clients":[{"hostname":..}]}]}`).
pub fn read_pools(path: &Path) -> anyhow::Result<Vec<Pool>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).context("a pools file")?;
    let pools = doc["pools"].as_array().context("no \"pools\" array")?;
    Ok(pools
        .iter()
        .map(|p| {
            let hosts = p["clients"].as_array().into_iter().flatten();
            let hosts = hosts.filter_map(|c| c["hostname"].as_str());
            Pool::new(p["name"].as_str().unwrap_or_default(), hosts)
        })
        .collect())
}

/// One seeded job: what afserver is given (`job`) and afpool's record of it, once afserver gave
/// it its id and serial ([`PoolJob`] without them).
pub struct Seeded {
    /// The job as a submission body's `job` object (afserver keeps its name, user, annotation,
    /// masks and blocks).
    pub job: Value,
    /// afpool's record, `job_id` and `serial` still to be set.
    pub record: PoolJob,
}

/// `n` pool jobs over `pools`, job `k` (from 0) in pool `k mod P`, each with the masks afpool
/// computes for its pool over `renders` (a `get renders` body) with default settings.
pub fn pool_jobs(pools: Vec<Pool>, renders: &[u8], n: usize) -> anyhow::Result<Vec<Seeded>> {
    if pools.is_empty() && n > 0 {
        bail!("jobs to seed but no pools");
    }
    let list = afpool::renders::parse_list(renders).map_err(anyhow::Error::msg)?;
    let settings = RouteSettings::default();
    let names: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
    let inv = Inventory::new(pools, list);
    let mut masks = Vec::with_capacity(names.len());
    for name in &names {
        match compute(&JobMasks::default(), "seed", "bench", name, &settings, &inv) {
            Computed::Routed { masks: m, .. } => masks.push(m),
            _ => bail!("pool {name} does not route a job"),
        }
    }
    Ok((0..n)
        .map(|k| {
            seeded(
                k,
                &names[k % names.len()],
                &masks[k % names.len()],
                &settings,
            )
        })
        .collect())
}

fn seeded(k: usize, pool: &str, masks: &JobMasks, settings: &RouteSettings) -> Seeded {
    let (name, user) = (format!("shot{k:06}"), format!("artist{:03}", k % 100));
    let mut job = json!({
        "name": name, "user_name": user, "annotation": format!("[pool: {pool}]"),
        "blocks": [{"name": "render", "tasks": [{"name": "frame 1"}]}],
    });
    let fields = job.as_object_mut().expect("a job is an object");
    fields.extend(afpool::live::action::params(masks));
    let record = PoolJob {
        job_id: 0,
        pool: pool.into(),
        user: user.into(),
        job_name: name,
        submitted_at: bson::DateTime::now(),
        masks_written: masks.clone(),
        user_masks: JobMasks::default(),
        mask_mode: settings.mask_mode,
        serial: None,
        held: None,
    };
    Seeded { job, record }
}

/// Writes `jobs` as the file registry's snapshot `path` (`{"jobs":[...]}`); no journal.
pub fn write_registry(path: &Path, jobs: &[PoolJob]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    #[derive(serde::Serialize)]
    struct Snapshot<'a> {
        jobs: &'a [PoolJob],
    }
    let mut out = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut out, &Snapshot { jobs })?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}
