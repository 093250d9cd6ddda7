//! One client connection: read its one message, route it if it is a job submission, forward it to
//! afserver in one write, relay exactly one reply back, close. Everything that is not a job goes
//! through byte for byte.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::Shared;
use crate::job;
use crate::protocol::codec::{read_message, ReadOutcome, Side};
use crate::protocol::encode;
use crate::protocol::frame::{Frame, Framing, TYPE_JSONBIN};

/// Serve one client connection to the end; errors are logged, never returned.
pub async fn handle(mut client: TcpStream, shared: &Shared) {
    client.set_nodelay(true).ok();
    let mut buf = Vec::new();
    let first = timeout(
        shared.limits.first_message_timeout,
        read_message(&mut client, &mut buf, Side::Request),
    )
    .await;
    let outcome = match first {
        Err(_) => return tracing::debug!(bytes = buf.len(), "no whole message in time; closing"),
        Ok(Err(e)) => return tracing::debug!("client read failed: {e}"),
        Ok(Ok(outcome)) => outcome,
    };
    match outcome {
        ReadOutcome::Message(frame) => relay_message(&mut client, &buf, frame, shared).await,
        ReadOutcome::TooLarge(n) => too_large(&mut client, &buf, n).await,
        ReadOutcome::Opaque | ReadOutcome::Closed if buf.is_empty() => {}
        ReadOutcome::Opaque | ReadOutcome::Closed => relay_opaque(&mut client, &buf, shared).await,
    }
    let _ = client.shutdown().await;
}

async fn relay_message(client: &mut TcpStream, buf: &[u8], frame: Frame, shared: &Shared) {
    let request = &buf[..frame.len];
    let forward = match route_if_job(request, &frame, shared) {
        Ok(forward) => forward,
        Err(reply) => {
            let _ = client.write_all(&reply).await;
            return;
        }
    };
    let sent = match &forward {
        Forward::Same => shared.upstream.exchange(request).await,
        Forward::Rewritten { head, body } => shared.upstream.exchange_parts(&[head, body]).await,
    };
    match sent {
        Ok(reply) if reply.is_empty() => tracing::debug!("afserver closed without a reply"),
        Ok(reply) => {
            if let Err(e) = client.write_all(&reply).await {
                tracing::debug!("client went away before the reply: {e}");
            }
        }
        Err(e) => tracing::warn!("request not delivered, closing the client connection: {e}"),
    }
}

/// What goes to afserver.
enum Forward {
    /// The request as it came.
    Same,
    /// A routed job: the request's header re-framed for the new body, and the body.
    Rewritten { head: Vec<u8>, body: Vec<u8> },
}

/// What to forward; `Err` holds afpool's own reply when the job must not reach afserver.
fn route_if_job(request: &[u8], frame: &Frame, shared: &Shared) -> Result<Forward, Vec<u8>> {
    if !frame.framing.carries_json() {
        return Ok(Forward::Same);
    }
    match shared.router.route_submission(&request[frame.body.clone()]) {
        None => Ok(Forward::Same),
        Some(Ok(outcome)) => {
            tracing::info!("{}", outcome.summary());
            Ok(match outcome.body {
                Some(body) => {
                    let head = encode::reframe_head(request, frame, body.len());
                    Forward::Rewritten { head, body }
                }
                None => Forward::Same,
            })
        }
        Some(Err(rejection)) => {
            let text = rejection.to_string();
            tracing::warn!("job rejected: {text}");
            Err(encode::reply(frame.framing, &job::error_reply_body(&text)))
        }
    }
}

/// A message over afserver's 64 MiB limit is never forwarded; JSON senders get an error reply.
async fn too_large(client: &mut TcpStream, buf: &[u8], n: usize) {
    let text =
        format!("afpool: message of {n} bytes is over afserver's 64 MiB limit; not forwarded");
    tracing::warn!("{text}");
    let framing = if buf.starts_with(b"POST") {
        Framing::Http
    } else if buf
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"AFANASY"))
    {
        Framing::Text
    } else {
        let version = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        Framing::Binary {
            version,
            mtype: TYPE_JSONBIN,
        }
    };
    let _ = client
        .write_all(&encode::reply(framing, &job::error_reply_body(&text)))
        .await;
}

/// Bytes afpool does not understand go to afserver as they came, and whatever comes back is relayed
/// until either side closes or the reply timeout passes.
async fn relay_opaque(client: &mut TcpStream, buf: &[u8], shared: &Shared) {
    tracing::debug!(bytes = buf.len(), "relaying an unrecognised message as-is");
    let mut upstream = match shared.upstream.connect().await {
        Ok(s) => s,
        Err(e) => return tracing::warn!("closing the client connection: {e}"),
    };
    if upstream.write_all(buf).await.is_err() {
        return;
    }
    let relay = async {
        let mut reply = Vec::new();
        let _ = upstream.read_to_end(&mut reply).await;
        let _ = client.write_all(&reply).await;
    };
    let _ = timeout(shared.upstream.reply_timeout, relay).await;
}
