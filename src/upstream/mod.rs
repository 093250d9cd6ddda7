//! Talking to afserver: one request per connection, written in one write, and exactly one framed
//! reply read back (afserver never closes first), all under connect, write and reply timeouts.
//! Every connection attempt updates the shared [`Reach`].

mod reach;
mod resolve;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

pub use reach::{means_unreachable, Reach};
pub use resolve::Resolver;

use crate::protocol::budget::Lease;
use crate::protocol::codec::{read_message_leased, ReadOutcome, Side};
use crate::protocol::frame::{parse_reply, FrameError};

/// The health probe's request: users with id 0, of which there are none. afserver answers it
/// with an empty list and logs nothing.
pub const PROBE_BODY: &[u8] = br#"{"get":{"type":"users","ids":[0]}}"#;

/// Where afserver is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `HOST:PORT` of afserver.
    pub addr: String,
    /// Limit for establishing the TCP connection.
    pub connect_timeout: Duration,
    /// Limit for the whole reply (actions are answered up to ~1 s late).
    pub reply_timeout: Duration,
    /// Limit for writing one request.
    pub write_timeout: Duration,
    /// Whether afserver can be reached, shared by every clone.
    pub reach: Arc<Reach>,
    /// `addr` resolved, shared by every clone.
    pub resolver: Arc<Resolver>,
}

/// Why an exchange with afserver failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Could not connect.
    #[error("cannot connect to afserver at {0}: {1}")]
    Connect(String, std::io::Error),
    /// Connecting took too long.
    #[error("afserver at {0} did not accept the connection within {1:?}")]
    ConnectTimeout(String, Duration),
    /// Writing or reading failed.
    #[error("connection to afserver at {0} failed: {1}")]
    Io(String, std::io::Error),
    /// The request could not be written in time.
    #[error("afserver at {0} did not take the request within {1:?}")]
    WriteTimeout(String, Duration),
    /// No whole reply in time (`.2` bytes of it came).
    #[error("afserver at {0} did not reply within {1:?} ({2} bytes of a reply came)")]
    ReplyTimeout(String, Duration, usize),
    /// afserver closed the connection in the middle of its reply (`.1` bytes came).
    #[error("afserver at {0} closed the connection after {1} bytes of its reply")]
    Cut(String, usize),
    /// The reply would take more of the in-flight byte budget than is free.
    #[error(
        "afserver's reply from {0} is too large for afpool's in-flight byte budget now ({1} bytes)"
    )]
    OverBudget(String, usize),
}

impl UpstreamError {
    /// Could afserver have received the request? `false` only when no connection was made.
    pub fn maybe_delivered(&self) -> bool {
        !matches!(
            self,
            UpstreamError::Connect(..) | UpstreamError::ConnectTimeout(..)
        )
    }
}

impl Upstream {
    /// An upstream with the default timeouts (5 s connect, 10 s write, 60 s reply).
    pub fn new(addr: impl Into<String>) -> Self {
        Upstream {
            addr: addr.into(),
            connect_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            reach: Arc::default(),
            resolver: Arc::default(),
        }
    }

    /// Open a connection to afserver (TCP_NODELAY, bounded by the connect timeout).
    pub async fn connect(&self) -> Result<TcpStream, UpstreamError> {
        let connect = async {
            let addrs = self.resolver.addrs(&self.addr).await?;
            TcpStream::connect(&addrs[..]).await
        };
        let stream = match timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                self.resolver.forget();
                if means_unreachable(&e) {
                    self.reach.unreachable();
                }
                return Err(UpstreamError::Connect(self.addr.clone(), e));
            }
            Err(_) => {
                self.resolver.forget();
                self.reach.unreachable();
                let e = UpstreamError::ConnectTimeout(self.addr.clone(), self.connect_timeout);
                return Err(e);
            }
        };
        self.reach.connected();
        stream.set_nodelay(true).ok();
        Ok(stream)
    }

    /// Write `parts` to `stream` within the write timeout.
    pub async fn write(
        &self,
        stream: &mut TcpStream,
        parts: &[&[u8]],
    ) -> Result<(), UpstreamError> {
        match timeout(self.write_timeout, write_all_vectored(stream, parts)).await {
            Ok(written) => written.map_err(|e| UpstreamError::Io(self.addr.clone(), e)),
            Err(_) => Err(UpstreamError::WriteTimeout(
                self.addr.clone(),
                self.write_timeout,
            )),
        }
    }

    /// Send one request and return the reply bytes, cut at the end of the framed reply. If afserver
    /// closes without a whole reply, whatever it sent (possibly nothing) is returned.
    pub async fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, UpstreamError> {
        self.exchange_parts(&[request]).await
    }

    /// [`Upstream::exchange`] for a request given in parts (e.g. a header and a body), written
    /// with vectored writes so the header and the start of the body leave in one segment.
    pub async fn exchange_parts(&self, parts: &[&[u8]]) -> Result<Vec<u8>, UpstreamError> {
        self.exchange_leased(parts, &mut Lease::unlimited()).await
    }

    /// [`Upstream::exchange_parts`] holding the reply within `lease`. A reply cut by the
    /// reply timeout is an error, except one whose end only a close would tell (HTTP without
    /// Content-Length), which is returned as it came.
    pub async fn exchange_leased(
        &self,
        parts: &[&[u8]],
        lease: &mut Lease,
    ) -> Result<Vec<u8>, UpstreamError> {
        self.exchange_open(parts, lease)
            .await
            .map(|(reply, _)| reply)
    }

    /// [`Upstream::exchange_leased`], handing back the connection with the reply, for the
    /// caller to close once it has passed the reply on: closing a TCP connection costs the
    /// kernel tens of µs, which the client should not wait for.
    pub async fn exchange_open(
        &self,
        parts: &[&[u8]],
        lease: &mut Lease,
    ) -> Result<(Vec<u8>, TcpStream), UpstreamError> {
        let mut stream = self.connect().await?;
        self.write(&mut stream, parts).await?;
        let mut reply = Vec::new();
        let read = read_message_leased(&mut stream, &mut reply, Side::Reply, lease);
        match timeout(self.reply_timeout, read).await {
            Ok(Ok(ReadOutcome::Message(frame))) => {
                reply.truncate(frame.len);
                Ok((reply, stream))
            }
            Ok(Ok(ReadOutcome::OverBudget(n))) => {
                Err(UpstreamError::OverBudget(self.addr.clone(), n))
            }
            Ok(Ok(ReadOutcome::Closed)) if !reply.is_empty() && !ends_at_close(&reply) => {
                Err(UpstreamError::Cut(self.addr.clone(), reply.len()))
            }
            Ok(Ok(_)) => Ok((reply, stream)),
            Ok(Err(e)) => Err(UpstreamError::Io(self.addr.clone(), e)),
            Err(_) if ends_at_close(&reply) => Ok((reply, stream)),
            Err(_) => Err(UpstreamError::ReplyTimeout(
                self.addr.clone(),
                self.reply_timeout,
                reply.len(),
            )),
        }
    }

    /// Ask afserver for nothing (see [`PROBE_BODY`]): `Ok` once it accepted the connection and
    /// the request.
    pub async fn probe(&self) -> Result<(), UpstreamError> {
        let request = crate::protocol::encode::text_request(PROBE_BODY);
        self.exchange(&request).await.map(drop)
    }
}

/// Is `reply` one whose end only the server's close tells (HTTP without Content-Length)?
fn ends_at_close(reply: &[u8]) -> bool {
    parse_reply(reply) == Err(FrameError::UntilClose)
}

/// Write every part, in order, with as few `writev` calls as the socket allows.
async fn write_all_vectored(stream: &mut TcpStream, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut slices: Vec<std::io::IoSlice<'_>> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| std::io::IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = stream.write_vectored(rest).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        std::io::IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}
