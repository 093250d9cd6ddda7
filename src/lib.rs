//! afpool: render pools for the CGRU Afanasy render manager.
//!
//! Architecture (see README for the full map):
//! - [`protocol`]: Afanasy message framing (text, HTTP, binary, GET), pure parse/encode plus async I/O.
//! - [`proxy`]: `afpool serve`, the relay between submitters and afserver.
//! - [`job`]: the pure routing core: pool reference, shield, mask rewrite.
//! - [`live`]: live pools: the registry of pool jobs re-targeted on pool edits, edits guarded.
//! - [`routing`]: the live state the proxy routes with (pools + render list → inventory).
//! - [`select`]: selector pools: CEL rules over what afserver says each render is.
//! - [`store`]: pool storage (embedded file store, MongoDB in the legacy shape).
//! - [`renders`], [`upstream`]: what afserver knows about render hosts, and how afpool asks it.
//! - [`submit`]: `afsubmit` and `afpool explain`: submit or explain job files with the same routing.
//! - [`cli`], [`config`], [`commands`]: the command line, settings, and one file per subcommand;
//!   [`args`]: the flags `afpool` and `afsubmit` share (config file, store, routing).
//! - [`secret`]: values (the MongoDB URI) that logs, errors and `--help` show redacted.
//! - [`http`]: the HTTP API and web page `afpool serve` also serves; [`metrics`]: what `/metrics` exports.
//! - [`logging`], [`memory`], [`shutdown`]: process set-up.
//! - [`legacy`]: the older pools tool's Pool Server (TCP 9999), for its old clients.
//! - [`doctor`]: `afpool doctor`, every check of the set-up, one line each.
//! - [`shared_str`]: one copy of each string the registry's jobs repeat (pool, owner, masks).
//! - [`natural`]: the natural order of pool and host names (`pool2` before `pool10`).
#![warn(missing_docs)]

pub mod accept;
pub mod args;
pub mod cli;
pub mod commands;
pub mod config;
pub mod doctor;
pub mod http;
pub mod job;
pub mod legacy;
pub mod live;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod natural;
pub mod protocol;
pub mod proxy;
pub mod renders;
pub mod routing;
pub mod secret;
pub mod select;
pub mod shared_str;
pub mod shutdown;
pub mod store;
pub mod submit;
pub mod table;
pub mod upstream;

/// The process exit code for an error: 2 when a backend (pool store, afserver) is unavailable,
/// 1 for everything else (user errors).
pub fn exit_code(e: &anyhow::Error) -> i32 {
    let unavailable = e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<store::StoreError>(),
            Some(store::StoreError::Unavailable(_))
        ) || cause.downcast_ref::<upstream::UpstreamError>().is_some()
            || cause.downcast_ref::<renders::RendersError>().is_some()
    });
    if unavailable {
        2
    } else {
        1
    }
}
