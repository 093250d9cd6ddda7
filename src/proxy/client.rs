//! Writing to the client: afpool's or afserver's reply within the client write timeout, and
//! afpool's own error reply in the request's framing. Shared by the connection ([`super::connection`])
//! and the relay of messages afpool does not understand ([`super::opaque`]).

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::Shared;
use crate::job;
use crate::protocol::encode;
use crate::protocol::frame::Framing;

/// Write afpool's or afserver's reply to the client within the client write timeout; `false`
/// when it could not be written.
pub async fn write_client(client: &mut TcpStream, shared: &Shared, reply: &[u8]) -> bool {
    let limit = shared.limits.client_write_timeout;
    match timeout(limit, client.write_all(reply)).await {
        Ok(Ok(())) => return true,
        Ok(Err(e)) => tracing::debug!("client went away before the reply: {e}"),
        Err(_) => tracing::warn!(
            bytes = reply.len(),
            "the client did not take its reply within {limit:?}; closing"
        ),
    }
    false
}

/// Answer afpool's own error reply in `framing`.
pub async fn answer_error(client: &mut TcpStream, shared: &Shared, framing: Framing, text: &str) {
    tracing::warn!("{text}");
    let reply = encode::reply(framing, &job::error_reply_body(text));
    write_client(client, shared, &reply).await;
}
