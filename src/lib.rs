//! afpool: render pools for the CGRU Afanasy render manager.
//!
//! Architecture (see README for the full map):
//! - [`protocol`]: Afanasy message framing (text, HTTP, binary, GET), pure parse/encode plus async I/O.
//! - [`proxy`]: `afpool serve`, the relay between submitters and afserver.
//! - [`job`]: the pure routing core: pool reference, shield, mask rewrite.
//! - [`store`]: pool storage (embedded file store, MongoDB in the legacy shape).
//! - [`renders`]: what afserver knows about render hosts.
#![warn(missing_docs)]

pub mod job;
pub mod renders;
pub mod store;
pub mod commands;
pub mod protocol;
