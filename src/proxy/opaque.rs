//! Bytes afpool does not understand go to afserver as they came; what comes back is relayed as it
//! arrives, never held back, until afserver's reply is framed whole, afserver closes, the reply
//! pauses for `opaque_idle_gap` after its first bytes, or the reply timeout passes.

use std::time::Instant;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::client::write_client;
use super::Shared;
use crate::protocol::frame::parse_reply;

/// Replies are checked for a whole frame only while they are this small.
const FRAME_CHECK_MAX: usize = 64 * 1024;

/// Relay `buf` to afserver and its answer back.
pub async fn relay(client: &mut TcpStream, buf: &[u8], shared: &Shared) {
    tracing::debug!(bytes = buf.len(), "relaying an unrecognised message as-is");
    let mut upstream = match shared.upstream.connect().await {
        Ok(s) => s,
        Err(e) => return tracing::warn!("closing the client connection: {e}"),
    };
    if let Err(e) = shared.upstream.write(&mut upstream, &[buf]).await {
        return tracing::warn!("closing the client connection: {e}");
    }
    let started = Instant::now();
    let (mut head, mut chunk) = (Vec::new(), vec![0u8; 16 * 1024]);
    loop {
        let wait = if head.is_empty() {
            shared
                .upstream
                .reply_timeout
                .saturating_sub(started.elapsed())
        } else {
            shared.limits.opaque_idle_gap
        };
        let n = match timeout(wait, upstream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            Ok(_) => return,
            Err(_) if head.is_empty() => {
                return tracing::warn!("afserver did not answer an unrecognised message; closing")
            }
            Err(_) => return,
        };
        if !write_client(client, shared, &chunk[..n]).await {
            return;
        }
        if head.len() < FRAME_CHECK_MAX {
            head.extend_from_slice(&chunk[..n]);
            if parse_reply(&head).is_ok_and(|f| head.len() >= f.len) {
                return;
            }
        }
        if started.elapsed() >= shared.upstream.reply_timeout {
            return tracing::warn!("reply timeout passed while relaying an unrecognised reply");
        }
    }
}
