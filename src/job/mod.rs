//! Job routing, pure: read a job submission (`{"job":{...}}`), find its pool reference, shield
//! afserver from jobs that crash it, and rewrite the host masks so the job runs only on the pool's
//! hosts. No I/O here; the proxy and `afsubmit` call [`route`] with a snapshot of pools and renders
//! (an [`Inventory`]).
//!
//! Files: `settings` (policies and modes), `envelope` (raw-JSON job, [`is_job_submission`]),
//! `poolref` (pool reference), `poolexpr` (pool expressions: `gpu|cpu`, `gpu&!old`), `shield` (rules every job must pass), `mask` (find/regex masks and
//! escaping), `inventory` (per-snapshot pool plans), `hosts` (host lists for explanations),
//! `policy` (a pool's ACL, defaults and clamps), `rules` (default pool rules for jobs naming no pool), `rewrite` (mask rewrite, hold/pass edits), `route` ([`route`]), `explain` ([`Outcome`],
//! [`Explanation`]), `rejection` ([`Rejection`]).

mod admit;
mod compact;
mod decision;
mod ecma;
mod envelope;
mod explain;
mod hosts;
mod inventory;
mod job_keys;
mod mask;
pub mod policy;
pub mod poolexpr;
mod poolref;
mod rejection;
mod rewrite;
mod route;
pub mod rules;
pub mod settings;
mod shield;
pub mod spill;
mod unnamed;

pub use envelope::{is_job_submission, might_be_submission, Parts};
pub use explain::{BlockMasks, Explanation, Masks, Outcome, SnapshotRef, Verdict};
pub use inventory::{HostList, HostState, Inventory};
pub(crate) use poolref::strip_tokens;
pub use poolref::{PoolChoice, PoolSource, NO_POOL_SENTINEL, ROUTED_KEY};
pub use rejection::{error_reply_body, Rejection, ShieldRule};
pub use route::{route, route_as, route_submission, route_submission_from, Admission, Routed};
pub use settings::{MaskMode, MaskType, Policy, RouteSettings};
