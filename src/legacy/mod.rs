//! The older Python pools tool's Pool Server, wire-compatible with its clients (patched Blender
//! addon, AfStarter, `af.py`): TCP, one JSON request `{"type": "request", "command": "GET
//! POOLS"}` with no delimiter, answered with a size header and an extended-JSON array of pool
//! documents, then close.
//!
//! - [`request`]: parse the bytes received so far (pure).
//! - [`reply`]: encode the header and the body (pure); [`object_id`]: stable `_id`s for pools
//!   that have no MongoDB ObjectId.
//! - [`config`]: the old `poolserver/config.json`.
//! - [`server`]: the TCP server over the proxy's live pool view.

pub mod config;
pub mod object_id;
pub mod reply;
pub mod request;
pub mod server;
