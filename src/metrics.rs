//! [`Metrics`]: the counters and gauges `GET /metrics` exports (OpenMetrics text, which
//! Prometheus reads): jobs routed / held / passed / rejected per pool and reason, proxy and API
//! request latency, upstream errors, and the state gauges (store, pools, hosts online per pool,
//! render list age) that the HTTP layer sets just before each scrape.
//!
//! Recording is a few atomic operations, cheap enough for the proxy's hot path; labels are
//! bounded: a pool afpool does not know is counted as `(unknown)`, reasons are a fixed set.

use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::job::{Outcome, Rejection, Verdict};
use crate::renders::RenderInfo;
use crate::store::Pool;

/// The pool label of a job that named a pool afpool does not know.
pub const UNKNOWN_POOL: &str = "(unknown)";

/// Labels of `afpool_jobs_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// The pool asked for (`""` for none, [`UNKNOWN_POOL`] for one that does not exist).
    pub pool: String,
    /// `routed`, `held`, `passed`, `no_pool` or `rejected`.
    pub verdict: String,
    /// Why (see [`reason_of`]); `""` for routed jobs and jobs without a pool.
    pub reason: String,
}

/// Labels of `afpool_clamped_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClampLabels {
    /// The pool whose maximum lowered the value.
    pub pool: String,
    /// The key (`priority`, `capacity`, ...).
    pub key: String,
}

/// Labels of the HTTP latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template, e.g. `/api/v1/pools/{name}`.
    pub route: String,
    /// HTTP method.
    pub method: String,
}

/// Labels of the per-pool gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// Pool name.
    pub pool: String,
}

/// What the state gauges show, read from the live pools and the render list.
#[derive(Debug, Clone, Copy)]
pub struct StateView<'a> {
    /// The store's last read succeeded.
    pub store_available: bool,
    /// The pools.
    pub pools: &'a [Pool],
    /// afserver's render list.
    pub renders: &'a [RenderInfo],
    /// Age of the render list (`None`: never read).
    pub render_list_age: Option<Duration>,
}

/// Every metric afpool exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    jobs: Family<JobLabels, Counter>,
    clamped: Family<ClampLabels, Counter>,
    upstream_errors: Counter,
    proxy_latency: Histogram,
    http_latency: Family<RouteLabels, Histogram>,
    store_available: Gauge,
    pools: Gauge,
    renders: Gauge,
    render_list_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pool_hosts: Family<PoolLabels, Gauge>,
    pool_hosts_online: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    /// Every metric at zero, registered under the `afpool_` prefix.
    pub fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("afpool"),
            jobs: Family::default(),
            clamped: Family::default(),
            upstream_errors: Counter::default(),
            proxy_latency: latency_histogram(),
            http_latency: Family::new_with_constructor(latency_histogram),
            store_available: Gauge::default(),
            pools: Gauge::default(),
            renders: Gauge::default(),
            render_list_age: Gauge::default(),
            pool_hosts: Family::default(),
            pool_hosts_online: Family::default(),
        };
        m.register();
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "jobs",
            "Job submissions by pool, verdict and reason",
            self.jobs.clone(),
        );
        r.register(
            "clamped",
            "Job values a pool's maximum lowered, by pool and key",
            self.clamped.clone(),
        );
        r.register(
            "upstream_errors",
            "Requests that could not be delivered to afserver",
            self.upstream_errors.clone(),
        );
        r.register(
            "proxy_request_duration_seconds",
            "Time from accepting a proxy connection to closing it",
            self.proxy_latency.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP API request latency by route",
            self.http_latency.clone(),
        );
        r.register(
            "store_available",
            "1 when the pool store's last read succeeded",
            self.store_available.clone(),
        );
        r.register("pools", "Number of pools", self.pools.clone());
        r.register("renders", "Renders afserver lists", self.renders.clone());
        r.register(
            "render_list_age_seconds",
            "Seconds since the render list was last read (-1: never)",
            self.render_list_age.clone(),
        );
        r.register("pool_hosts", "Members per pool", self.pool_hosts.clone());
        r.register(
            "pool_hosts_online",
            "Members per pool that afserver lists online",
            self.pool_hosts_online.clone(),
        );
    }

    /// Counts a job the router decided on (routed, held, passed, or without a pool).
    pub fn job_decided(&self, outcome: &Outcome) {
        let reason = match outcome.verdict {
            Verdict::Routed | Verdict::NoPool => "",
            _ => reason_of(&outcome.explain.reason),
        };
        let pool = outcome.pool.as_ref().map_or("", |p| p.name.as_str());
        self.count_job(pool, verdict_word(outcome.verdict), reason);
        let clamps = outcome
            .explain
            .policy
            .iter()
            .filter_map(|d| d.clamped_key());
        for (pool, key) in clamps {
            self.clamped(pool, key);
        }
    }

    /// Counts one value `pool`'s maximum lowered (in a submission or a guarded edit).
    pub fn clamped(&self, pool: &str, key: &str) {
        let labels = ClampLabels {
            pool: pool.to_string(),
            key: key.to_string(),
        };
        self.clamped.get_or_create(&labels).inc();
    }

    /// Counts a job afpool refused (a shield rule or the `reject` policy).
    pub fn job_rejected(&self, rejection: &Rejection) {
        match rejection {
            Rejection::Shield { rule, .. } => {
                let rule = serde_json::to_value(rule).ok();
                let rule = rule.as_ref().and_then(|v| v.as_str()).unwrap_or("shield");
                self.count_job("", "rejected", rule);
            }
            Rejection::Policy { pool, message } => {
                self.count_job(pool, "rejected", reason_of(message));
            }
        }
    }

    fn count_job(&self, pool: &str, verdict: &str, reason: &str) {
        let pool = if reason == "unknown_pool" {
            UNKNOWN_POOL
        } else {
            pool
        };
        let labels = JobLabels {
            pool: pool.to_string(),
            verdict: verdict.to_string(),
            reason: reason.to_string(),
        };
        self.jobs.get_or_create(&labels).inc();
    }

    /// Counts a request that could not be delivered to afserver.
    pub fn upstream_error(&self) {
        self.upstream_errors.inc();
    }

    /// A guard that records the proxy request latency when dropped.
    pub fn proxy_timer(&self) -> Timer<'_> {
        Timer {
            histogram: &self.proxy_latency,
            started: Instant::now(),
        }
    }

    /// Records one HTTP request's latency.
    pub fn observe_http(&self, route: &str, method: &str, elapsed: Duration) {
        let labels = RouteLabels {
            route: route.to_string(),
            method: method.to_string(),
        };
        self.http_latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Sets the state gauges (called before each scrape).
    pub fn set_state(&self, view: StateView<'_>) {
        self.store_available.set(i64::from(view.store_available));
        self.pools.set(view.pools.len() as i64);
        self.renders.set(view.renders.len() as i64);
        let age = view.render_list_age.map_or(-1.0, |a| a.as_secs_f64());
        self.render_list_age.set(age);
        self.pool_hosts.clear();
        self.pool_hosts_online.clear();
        let online: std::collections::HashSet<String> = view
            .renders
            .iter()
            .filter(|r| r.online)
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        for pool in view.pools {
            let labels = PoolLabels {
                pool: pool.name.clone(),
            };
            let up = pool
                .hosts
                .iter()
                .filter(|h| online.contains(&h.to_ascii_lowercase()))
                .count();
            self.pool_hosts
                .get_or_create(&labels)
                .set(pool.hosts.len() as i64);
            self.pool_hosts_online.get_or_create(&labels).set(up as i64);
        }
    }

    /// Everything in OpenMetrics text format (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Records the time since it was made into a histogram when dropped.
#[derive(Debug)]
pub struct Timer<'a> {
    histogram: &'a Histogram,
    started: Instant,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

/// The verdict's label.
pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Routed => "routed",
        Verdict::Held => "held",
        Verdict::Passed => "passed",
        Verdict::NoPool => "no_pool",
    }
}

/// A bounded reason label for a routing policy's reason text: `unknown_pool`, `empty_pool`,
/// `no_host_left`, `mask_too_large`, `acl` (a pool's policy refused the job), or `other`.
pub fn reason_of(text: &str) -> &'static str {
    if text.contains("' policy refuses it: ") {
        "acl"
    } else if text.contains("unknown pool '") {
        "unknown_pool"
    } else if text.contains("' has no hosts") {
        "empty_pool"
    } else if text.contains(" leave no host of pool '") {
        "no_host_left"
    } else if text.contains("split the pool") {
        "mask_too_large"
    } else if text.contains("no default pool rule matched") {
        "no_rule"
    } else {
        "other"
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
