//! Talking to afserver: one request per connection, written in one write, and exactly one framed
//! reply read back (afserver never closes first), all under connect and reply timeouts.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::protocol::codec::{read_message, ReadOutcome, Side};

/// Where afserver is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `HOST:PORT` of afserver.
    pub addr: String,
    /// Limit for establishing the TCP connection.
    pub connect_timeout: Duration,
    /// Limit for the whole reply (actions are answered up to ~1 s late).
    pub reply_timeout: Duration,
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
    /// No whole reply in time.
    #[error("afserver at {0} did not reply within {1:?}")]
    ReplyTimeout(String, Duration),
}

impl Upstream {
    /// An upstream with the default timeouts (5 s connect, 60 s reply).
    pub fn new(addr: impl Into<String>) -> Self {
        Upstream {
            addr: addr.into(),
            connect_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(60),
        }
    }

    /// Open a connection to afserver (TCP_NODELAY, bounded by the connect timeout).
    pub async fn connect(&self) -> Result<TcpStream, UpstreamError> {
        let stream = timeout(self.connect_timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| UpstreamError::ConnectTimeout(self.addr.clone(), self.connect_timeout))?
            .map_err(|e| UpstreamError::Connect(self.addr.clone(), e))?;
        stream.set_nodelay(true).ok();
        Ok(stream)
    }

    /// Send one request and return the reply bytes, cut at the end of the framed reply. If afserver
    /// closes without a whole reply, whatever it sent (possibly nothing) is returned.
    pub async fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, UpstreamError> {
        self.exchange_parts(&[request]).await
    }

    /// [`Upstream::exchange`] for a request given in parts (e.g. a header and a body), written
    /// with vectored writes so the header and the start of the body leave in one segment.
    pub async fn exchange_parts(&self, parts: &[&[u8]]) -> Result<Vec<u8>, UpstreamError> {
        let mut stream = self.connect().await?;
        let io = |e| UpstreamError::Io(self.addr.clone(), e);
        write_all_vectored(&mut stream, parts).await.map_err(io)?;
        let mut reply = Vec::new();
        let read = read_message(&mut stream, &mut reply, Side::Reply);
        match timeout(self.reply_timeout, read).await {
            Ok(outcome) => {
                if let ReadOutcome::Message(frame) = outcome.map_err(io)? {
                    reply.truncate(frame.len);
                }
                Ok(reply)
            }
            // A reply whose end only the close would tell (HTTP without Content-Length) from a
            // server that keeps the socket open: relay what came rather than nothing.
            Err(_) if !reply.is_empty() => Ok(reply),
            Err(_) => Err(UpstreamError::ReplyTimeout(
                self.addr.clone(),
                self.reply_timeout,
            )),
        }
    }
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
