//! The Afanasy wire protocol: [`frame`] finds message boundaries (pure), [`encode`] builds messages
//! (pure), [`codec`] reads and writes them on sockets, within a [`budget`] of in-flight bytes.

pub mod budget;
pub mod codec;
pub mod encode;
pub mod frame;

pub use frame::{Frame, FrameError, Framing};
