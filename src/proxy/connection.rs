//! One client connection: read its one message, check and route it, forward it to afserver in one
//! write, relay exactly one reply back, close. A job submission goes as afpool's own
//! re-serialisation of what it checked; other JSON messages go byte for byte once afpool has read
//! them as afserver will; a message afpool cannot read that way is answered with an error and not
//! forwarded. Binary messages of other types go through byte for byte.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::Shared;
use crate::job;
use crate::protocol::codec::{read_message, ReadOutcome, Side};
use crate::protocol::encode;
use crate::protocol::frame::{self, Frame, Framing, TYPE_JSONBIN};

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
        ReadOutcome::Unreadable { framing, reason } => {
            let text = format!("afpool: unreadable request ({reason}); not forwarded");
            answer_error(&mut client, framing, &text).await;
        }
        ReadOutcome::Opaque | ReadOutcome::Closed if buf.is_empty() => {}
        ReadOutcome::Closed => match frame::json_framing(&buf) {
            Some(framing) => {
                let text = "afpool: the request ended before its declared size; not forwarded";
                answer_error(&mut client, framing, text).await;
            }
            None => relay_opaque(&mut client, &buf, shared).await,
        },
        ReadOutcome::Opaque => relay_opaque(&mut client, &buf, shared).await,
    }
    let _ = client.shutdown().await;
}

async fn relay_message(client: &mut TcpStream, buf: &[u8], frame: Frame, shared: &Shared) {
    let request = &buf[..frame.len];
    let forward = match check_and_route(request, &frame, shared) {
        Ok(forward) => forward,
        Err(reply) => {
            let _ = client.write_all(&reply).await;
            return;
        }
    };
    let sent = match &forward {
        Forward::Same => shared.upstream.exchange(request).await,
        Forward::Reframed { head } => {
            let body = &request[frame.body.clone()];
            shared.upstream.exchange_parts(&[head, body]).await
        }
        Forward::Rewritten { head, body, .. } => {
            shared.upstream.exchange_parts(&[head, body]).await
        }
    };
    match sent {
        Ok(reply) if reply.is_empty() => tracing::debug!("afserver closed without a reply"),
        Ok(reply) => {
            if let Err(e) = client.write_all(&reply).await {
                tracing::debug!("client went away before the reply: {e}");
            }
            if let (
                Forward::Rewritten {
                    routed: Some(r), ..
                },
                Some(live),
            ) = (forward, &shared.live)
            {
                live.after_reply(*r, &reply);
            }
        }
        Err(e) => tracing::warn!("request not delivered, closing the client connection: {e}"),
    }
}

/// What goes to afserver.
enum Forward {
    /// The request as it came.
    Same,
    /// The request's body under a header re-framed with its byte length (web GUI sizes).
    Reframed { head: Vec<u8> },
    /// A job submission (or a guarded edit): the request's header re-framed for afpool's body,
    /// that body, and what to record once afserver answers.
    Rewritten {
        head: Vec<u8>,
        body: Vec<u8>,
        routed: Option<Box<crate::live::record::Submitted>>,
    },
}

/// What to forward; `Err` holds afpool's own reply when the request must not reach afserver.
fn check_and_route(request: &[u8], frame: &Frame, shared: &Shared) -> Result<Forward, Vec<u8>> {
    if !frame.framing.carries_json() {
        return Ok(Forward::Same);
    }
    let body = &request[frame.body.clone()];
    let live = shared.live.as_ref();
    let routed = shared.router.route_submission(body);
    if let (None, Some(guarded)) = (&routed, live.and_then(|l| l.guard(body))) {
        return match guarded {
            Ok(body) => Ok(Forward::Rewritten {
                head: encode::reframe_head(request, frame, body.len()),
                body,
                routed: None,
            }),
            Err(text) => Err(encode::reply(frame.framing, &job::error_reply_body(&text))),
        };
    }
    match routed {
        None if frame.resize => Ok(Forward::Reframed {
            head: encode::reframe_head(request, frame, body.len()),
        }),
        None => Ok(Forward::Same),
        Some(Ok(outcome)) => {
            tracing::info!("{}", outcome.summary());
            let routed = live.and_then(|l| l.submitted(&outcome)).map(Box::new);
            let body = outcome
                .body
                .expect("route_submission always re-serialises a submission");
            let head = encode::reframe_head(request, frame, body.len());
            Ok(Forward::Rewritten { head, body, routed })
        }
        Some(Err(rejection)) => {
            let text = rejection.to_string();
            live.inspect(|l| l.rejected(&text));
            tracing::warn!("request refused: {text}");
            Err(encode::reply(frame.framing, &job::error_reply_body(&text)))
        }
    }
}

/// A message over afserver's 64 MiB limit is never forwarded; JSON senders get an error reply.
async fn too_large(client: &mut TcpStream, buf: &[u8], n: usize) {
    let text =
        format!("afpool: message of {n} bytes is over afserver's 64 MiB limit; not forwarded");
    let framing = frame::json_framing(buf).unwrap_or_else(|| Framing::Binary {
        version: i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]),
        mtype: TYPE_JSONBIN,
    });
    answer_error(client, framing, &text).await;
}

/// Answer afpool's own error reply in `framing`.
async fn answer_error(client: &mut TcpStream, framing: Framing, text: &str) {
    tracing::warn!("{text}");
    let _ = client
        .write_all(&encode::reply(framing, &job::error_reply_body(text)))
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
