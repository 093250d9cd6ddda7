//! One client connection: take the client address from a trusted relay's PROXY header if any
//! ([`super::proxy_header`]), read its one message, check and route it, forward it to afserver in one
//! write, relay exactly one reply back, close. A job submission goes as afpool's own
//! re-serialisation of what it checked; other JSON messages go byte for byte once afpool has read
//! them as afserver will; a message afpool cannot read that way is answered with an error and not
//! forwarded. Binary messages of other types go through byte for byte. Every step is bounded:
//! the first message's time, the in-flight byte budget, afserver's timeouts, the time the client
//! takes to read the reply, and the connection deadline over all.

use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::client::{answer_error, write_client};
use super::proxy_header::{self, Refused};
use super::Shared;
use crate::job::{self, Parts, Routed};
use crate::protocol::budget::Lease;
use crate::protocol::codec::{read_message_leased, ReadOutcome, Side};
use crate::protocol::encode;
use crate::protocol::frame::{self, Frame, Framing, TYPE_JSONBIN};
use crate::upstream::UpstreamError;

/// Serve one client connection to the end, within the connection deadline; errors are logged,
/// never returned. `peer` is the connecting address; the client (which pool ACLs check) is the
/// address a trusted relay's PROXY header names, else `peer`.
pub async fn handle(mut client: TcpStream, peer: SocketAddr, shared: &Shared) {
    let deadline = shared.limits.connection_deadline;
    if timeout(deadline, serve(&mut client, peer, shared))
        .await
        .is_err()
    {
        tracing::warn!("connection deadline of {deadline:?} passed; closing");
    }
}

async fn serve(client: &mut TcpStream, peer: SocketAddr, shared: &Shared) {
    client.set_nodelay(true).ok();
    let mut buf = Vec::new();
    let mut lease = shared.budget.lease();
    let first = timeout(shared.limits.first_message_timeout, async {
        let from = proxy_header::client_of(client, &mut buf, peer, &shared.relays).await;
        let from = match from {
            Ok(from) => from,
            Err(refused) => return Err(refused),
        };
        if from != peer {
            tracing::Span::current().record("client", tracing::field::display(from));
        }
        let read = read_message_leased(client, &mut buf, Side::Request, &mut lease).await;
        Ok(read.map(|outcome| (from, outcome)))
    })
    .await;
    let (client_addr, outcome) = match first {
        Err(_) => return tracing::debug!(bytes = buf.len(), "no whole message in time; closing"),
        Ok(Err(refused @ Refused::Closed(_))) => return tracing::debug!("{refused}"),
        Ok(Err(refused)) => return tracing::warn!("closing the connection: {refused}"),
        Ok(Ok(Err(e))) => return tracing::debug!("client read failed: {e}"),
        Ok(Ok(Ok(read))) => read,
    };
    match outcome {
        ReadOutcome::Message(frame) => {
            relay_message(client, &buf, frame, client_addr.ip(), shared, lease).await
        }
        ReadOutcome::TooLarge(n) => {
            let text = format!(
                "afpool: message of {n} bytes is over afserver's 64 MiB limit; not forwarded"
            );
            answer_error(client, shared, framing_of(&buf), &text).await
        }
        ReadOutcome::OverBudget(n) => {
            let text = format!(
                "afpool: too many large messages in flight (budget {} MiB); this one of {n} \
                 bytes was not taken: send it again in a moment",
                shared.budget.total() >> 20
            );
            answer_error(client, shared, framing_of(&buf), &text).await
        }
        ReadOutcome::Unreadable { framing, reason } => {
            let text = format!("afpool: unreadable request ({reason}); not forwarded");
            answer_error(client, shared, framing, &text).await;
        }
        ReadOutcome::Opaque | ReadOutcome::Closed if buf.is_empty() => {}
        ReadOutcome::Closed => match frame::json_framing(&buf) {
            Some(framing) => {
                let text = "afpool: the request ended before its declared size; not forwarded";
                answer_error(client, shared, framing, text).await;
            }
            None => super::opaque::relay(client, &buf, shared).await,
        },
        ReadOutcome::Opaque => super::opaque::relay(client, &buf, shared).await,
    }
}

/// The framing to answer bytes in: a JSON framing when they start like one, else binary JSON.
fn framing_of(buf: &[u8]) -> Framing {
    frame::json_framing(buf).unwrap_or_else(|| Framing::Binary {
        version: i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]),
        mtype: TYPE_JSONBIN,
    })
}

async fn relay_message(
    client: &mut TcpStream,
    buf: &[u8],
    frame: Frame,
    peer: IpAddr,
    shared: &Shared,
    mut lease: Lease,
) {
    let request = &buf[..frame.len];
    let forward = match check_and_route(request, &frame, peer, shared) {
        Ok(forward) => forward,
        Err(reply) => {
            write_client(client, shared, &reply).await;
            return;
        }
    };
    let parts: Vec<&[u8]> = match &forward {
        Forward::Same => vec![request],
        Forward::Reframed { head } => vec![head, &request[frame.body.clone()]],
        Forward::Rewritten { head, body, .. } => {
            [&head[..]].into_iter().chain(body.pieces()).collect()
        }
    };
    // afserver's connection is closed after the client has its reply, not before.
    match shared.upstream.exchange_open(&parts, &mut lease).await {
        Ok((reply, _afserver)) if reply.is_empty() => {
            tracing::debug!("afserver closed without a reply")
        }
        Ok((reply, afserver)) => {
            // Registered before the client learns the job's id, so its next edit is guarded.
            if let (
                Forward::Rewritten {
                    routed: Some(r), ..
                },
                Some(live),
            ) = (forward, &shared.live)
            {
                live.after_reply(*r, &reply);
            }
            write_client(client, shared, &reply).await;
            drop(afserver);
        }
        Err(e) => undelivered(client, shared, frame.framing, &e).await,
    }
}

/// afserver could not be asked, or did not answer: JSON senders get an error reply that says
/// whether afserver may have the request; binary senders see the connection close.
async fn undelivered(client: &mut TcpStream, shared: &Shared, framing: Framing, e: &UpstreamError) {
    shared.metrics.upstream_error();
    if !framing.carries_json() {
        return tracing::warn!("request not delivered, closing the client connection: {e}");
    }
    let text = if e.maybe_delivered() {
        format!("afpool: {e}; afserver may or may not have acted on the request")
    } else {
        format!("afpool: {e}; the request was not delivered")
    };
    answer_error(client, shared, framing, &text).await;
}

/// What goes to afserver.
enum Forward<'a> {
    /// The request as it came.
    Same,
    /// The request's body under a header re-framed with its byte length (web GUI sizes).
    Reframed { head: Vec<u8> },
    /// A job submission (or a guarded edit): the request's header re-framed for afpool's body,
    /// that body (long stretches of it borrowed from the request), and what to record once
    /// afserver answers.
    Rewritten {
        head: Vec<u8>,
        body: Parts<'a>,
        routed: Option<Box<crate::live::record::Submitted>>,
    },
}

/// What to forward; `Err` holds afpool's own reply when the request must not reach afserver.
fn check_and_route<'a>(
    request: &'a [u8],
    frame: &Frame,
    peer: IpAddr,
    shared: &Shared,
) -> Result<Forward<'a>, Vec<u8>> {
    if !frame.framing.carries_json() {
        return Ok(Forward::Same);
    }
    let body = &request[frame.body.clone()];
    let live = shared.live.as_ref();
    let routed = shared.router.route_submission(body, Some(peer));
    if let (None, Some(guarded)) = (&routed, live.and_then(|l| l.guard(body))) {
        return match guarded {
            Ok(edit) => {
                for c in &edit.clamped {
                    c.keys()
                        .for_each(|key| shared.metrics.clamped(&c.pool, key));
                }
                Ok(Forward::Rewritten {
                    head: encode::reframe_head(request, frame, edit.body.len()),
                    body: Parts::from(edit.body),
                    routed: None,
                })
            }
            Err(text) => Err(encode::reply(frame.framing, &job::error_reply_body(&text))),
        };
    }
    match routed {
        None if frame.resize => Ok(Forward::Reframed {
            head: encode::reframe_head(request, frame, body.len()),
        }),
        None => Ok(Forward::Same),
        Some(Ok(Routed { outcome, body })) => {
            shared.metrics.job_decided(&outcome);
            tracing::info!("{}", outcome.summary());
            let routed = live.map(|l| Box::new(l.submitted(&outcome)));
            let head = encode::reframe_head(request, frame, body.len());
            Ok(Forward::Rewritten { head, body, routed })
        }
        Some(Err(rejection)) => {
            let text = rejection.to_string();
            shared.metrics.job_rejected(&rejection);
            live.inspect(|l| l.rejected(&text));
            tracing::warn!("request refused: {text}");
            Err(encode::reply(frame.framing, &job::error_reply_body(&text)))
        }
    }
}
