//! The in-process half of the bench's scale section (issue 26 §2): a farm of `--renders R`
//! renders (20,000), `--pools P` pools (2,000) and `--jobs J` registered pool jobs (200,000).
//! Times, phase by phase on one thread (CPU time of this thread, so the other builders' load
//! counts less):
//! - the render-list refresh: afserver's `get renders` reply at R renders, each written like the
//!   captured afserver 3.4.1 render (~700 bytes), read by [`afpool::renders::parse_list`], and the
//!   cache's comparison with the last list; the same list with one render changed;
//! - the routing snapshot: [`Inventory::new`] and [`Inventory::after`] one pool edit;
//! - routing a pool job ([`route`], every pool's first job writes its mask): p50 and p99;
//! - a reconcile pass over J registered jobs: afserver's `get jobs` replies for their ids (as
//!   [`IDS_PER_GET`] ids a request) read by [`parse_jobs`], then [`plan`].
//!
//! Prints one JSON line.
//!
//! ```sh
//! cargo run --release --example scale_bench -- --renders 20000 --pools 2000 --jobs 200000
//! ```

use std::time::Instant;

use afpool::job::{route, Inventory, MaskMode, RouteSettings, Verdict};
use afpool::live::reconcile::{parse_jobs, plan, IDS_PER_GET};
use afpool::renders::parse_list;
use afpool::store::registry::{JobMasks, PoolJob};
use afpool::store::Pool;
use anyhow::{bail, Context};

/// CPU time of the calling thread, in milliseconds.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Runs `f` `runs` times; the best thread CPU time and wall time (ms), and its last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let (mut cpu, mut wall) = (f64::MAX, f64::MAX);
    let mut out = None;
    for _ in 0..runs.max(1) {
        let (c, w) = (thread_cpu_ms(), Instant::now());
        let r = f();
        cpu = cpu.min(thread_cpu_ms() - c);
        wall = wall.min(w.elapsed().as_secs_f64() * 1e3);
        out = Some(r);
    }
    (cpu, wall, out.unwrap())
}

struct Args {
    renders: usize,
    pools: usize,
    jobs: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        renders: 20_000,
        pools: 2_000,
        jobs: 200_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v: usize = it
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()?;
        match flag.as_str() {
            "--renders" => a.renders = v,
            "--pools" => a.pools = v,
            "--jobs" => a.jobs = v,
            other => bail!(
                "unknown argument {other}; usage: scale_bench [--renders R] [--pools P] [--jobs J]"
            ),
        }
    }
    Ok(a)
}

/// The captured afserver render (online, the capture's first), as a template.
fn render_template() -> anyhow::Result<serde_json::Value> {
    let reply = std::fs::read("fixtures/captures/08-text-get-renders.reply.bin")
        .context("run from the repository root")?;
    let frame = afpool::protocol::frame::parse_reply(&reply)?;
    let body: serde_json::Value = serde_json::from_slice(&reply[frame.body])?;
    let mut r = body["renders"][0].clone();
    r["st"] = 1.into();
    r["state"] = " ONL".into();
    Ok(r)
}

/// afserver's `get renders` body for `n` renders `render00001`…, `changed` of them busy.
fn render_list(template: &serde_json::Value, n: usize, busy: usize) -> Vec<u8> {
    let items: Vec<String> = (1..=n)
        .map(|i| {
            let mut r = template.clone();
            r["name"] = format!("render{i:05}").into();
            r["id"] = i.into();
            if i <= busy {
                r["st"] = 9.into();
            }
            serde_json::to_string(&r).unwrap()
        })
        .collect();
    format!(r#"{{"renders":[{}]}}"#, items.join(",")).into_bytes()
}

fn pools(n_pools: usize, n_renders: usize) -> Vec<Pool> {
    let per = n_renders / n_pools.max(1);
    (0..n_pools)
        .map(|p| {
            let hosts = (0..per).map(|i| format!("render{:05}", p * per + i + 1));
            Pool::new(format!("pool{p}"), hosts)
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, v: f64| {
        out.insert(k.into(), ((v * 10.0).round() / 10.0).into());
    };

    // The render-list refresh.
    let template = render_template()?;
    let body = render_list(&template, a.renders, 0);
    put("list_bytes", body.len() as f64);
    put("bytes_per_render", (body.len() / a.renders.max(1)) as f64);
    let (parse_cpu, parse_wall, list) = timed(3, || parse_list(&body));
    let list = list.map_err(anyhow::Error::msg)?;
    put("parse_cpu_ms", parse_cpu);
    put("parse_wall_ms", parse_wall);
    let one_busy = parse_list(&render_list(&template, a.renders, 1)).map_err(anyhow::Error::msg)?;
    let (cmp_cpu, _, same) = timed(3, || list == one_busy);
    assert!(!same);
    put("compare_cpu_ms", cmp_cpu);

    // The routing snapshot, and a pool edit.
    let pool_list = pools(a.pools, a.renders);
    let (new_cpu, new_wall, inv) = timed(2, || Inventory::new(pool_list.clone(), list.clone()));
    put("inventory_new_cpu_ms", new_cpu);
    put("inventory_new_wall_ms", new_wall);
    let mut edited = pool_list.clone();
    edited[0].hosts.remove(0);
    let (after_cpu, after_wall, after) =
        timed(2, || Inventory::after(&inv, edited.clone(), list.clone()));
    put("inventory_after_cpu_ms", after_cpu);
    put("inventory_after_wall_ms", after_wall);

    // Routing pool jobs: every pool's first job, then more.
    let settings = RouteSettings::default();
    let mut us = Vec::new();
    for i in 0..a.pools * 5 {
        let body = format!(
            r#"{{"job":{{"name":"j{i}","user_name":"u","pool":"pool{}","blocks":[{{"tasks":[{{"name":"t"}}]}}]}}}}"#,
            i % a.pools
        );
        let start = Instant::now();
        let routed = route(body.as_bytes(), &settings, &after)?;
        us.push(start.elapsed().as_secs_f64() * 1e6);
        if routed.verdict != Verdict::Routed {
            bail!("not routed: {}", routed.explain.reason);
        }
    }
    let first: Vec<f64> = us[..a.pools].to_vec();
    us.sort_by(f64::total_cmp);
    put("route_p50_us", percentile(&us, 0.5));
    put("route_p99_us", percentile(&us, 0.99));
    put(
        "route_first_mean_us",
        first.iter().sum::<f64>() / first.len().max(1) as f64,
    );
    drop((inv, after));

    // A reconcile pass over the registry.
    let registered: Vec<PoolJob> = (1..=a.jobs as i64)
        .map(|id| pool_job(id, a.pools))
        .collect();
    let replies: Vec<Vec<u8>> = registered.chunks(IDS_PER_GET).map(jobs_reply).collect();
    put(
        "reconcile_bytes",
        replies.iter().map(Vec::len).sum::<usize>() as f64,
    );
    let (parse_cpu, _, listed) = timed(1, || {
        let mut all = Vec::with_capacity(a.jobs);
        for r in &replies {
            all.extend(parse_jobs(r).expect("a jobs reply"));
        }
        all
    });
    put("reconcile_parse_cpu_ms", parse_cpu);
    let (plan_cpu, _, planned) = timed(1, || plan(&registered, &listed, MaskMode::Exclude));
    assert!(planned.drop.is_empty() && planned.adopt.is_empty());
    put("reconcile_plan_cpu_ms", plan_cpu);
    put("renders", a.renders as f64);
    put("pools", a.pools as f64);
    put("jobs", a.jobs as f64);
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}

fn mask_of(pool: usize) -> String {
    format!("(?!render{pool:05}$).*")
}

fn pool_job(id: i64, pools: usize) -> PoolJob {
    let p = id as usize % pools;
    let masks = JobMasks {
        hosts_mask: None,
        hosts_mask_exclude: Some(mask_of(p).into()),
        hosts_mask_type: Some("regex".into()),
    };
    PoolJob {
        job_id: id,
        pool: format!("pool{p}").into(),
        user: "bench".into(),
        job_name: format!("shot{id}"),
        submitted_at: bson::DateTime::now(),
        masks_written: masks,
        user_masks: JobMasks::default(),
        mask_mode: MaskMode::Exclude,
        serial: Some(id),
        held: None,
    }
}

/// afserver's `get jobs` reply body for these jobs (the keys afpool reads, and a few more).
fn jobs_reply(jobs: &[PoolJob]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            serde_json::json!({"name": j.job_name, "id": j.job_id, "serial": j.serial,
                "user_name": j.user, "host_name": "ws01", "priority": 99, "st": 3,
                "state": "RDY", "time_creation": 1795464687, "annotation": format!("[pool: {}]", j.pool),
                "hosts_mask_exclude": j.masks_written.hosts_mask_exclude, "hosts_mask_type": "regex",
                "blocks": [{"name": "b", "tasks_num": 10, "p_percentage": 0,
                    "service": "generic", "capacity": 1000}]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "jobs": items })).unwrap()
}
