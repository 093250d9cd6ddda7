//! The PROXY protocol (HAProxy's `send-proxy` and `send-proxy-v2`): behind a relay every client
//! looks like the relay, so a relay listed in `proxy_protocol_from` may open each connection with
//! a PROXY header that names the real client, and afpool takes that address as the client's (the
//! address pool policy sees). A PROXY header from any other address is refused: a client cannot
//! name itself someone else. Headers are parsed by the `ppp` crate; [`parse`] is pure.
//!
//! A trusted relay may also connect without a header (a submitter running on the relay's host):
//! the connection is then its own client, as if no relay were in between.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use ppp::{v1, v2, HeaderResult, PartialResult};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest version 1 header, `\r\n` included (the specification's 107 bytes).
const V1_MAX: usize = 107;
/// A version 1 header starts with this.
const V1_PREFIX: &[u8] = b"PROXY ";
/// A version 2 header starts with this signature.
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// A version 2 header's fixed part: the signature, version and command, family, length.
const V2_FIXED: usize = 16;

/// The addresses allowed to send a PROXY header: networks (`10.0.0.0/8`) or single addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedRelays(Vec<IpNet>);

impl TrustedRelays {
    /// Reads `10.1.2.3`, `10.1.0.0/16`, `::1`; the error names the entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedRelays, String> {
        let net = |entry: &str| {
            let entry = entry.trim();
            (entry.parse::<IpNet>())
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{entry}' is not an IP address or a network (10.0.0.0/8)"))
        };
        let nets = entries.iter().map(|e| net(e.as_ref()));
        nets.collect::<Result<_, _>>().map(TrustedRelays)
    }

    /// True when `addr` may send a PROXY header (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// True when no relay is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the first bytes of a connection say about a PROXY header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// Too few bytes to tell yet.
    Incomplete,
    /// The connection does not start with a PROXY header.
    Absent,
    /// A whole header of `len` bytes naming `source` (`None`: `UNKNOWN` / `LOCAL`, a relay's own
    /// health check, for which the relay itself is the client).
    Complete {
        /// Header bytes, to be taken off before the message.
        len: usize,
        /// The real client.
        source: Option<SocketAddr>,
    },
    /// A header that cannot be read.
    Invalid(String),
}

/// Reads the PROXY header at the start of `buf`, if any.
pub fn parse(buf: &[u8]) -> Header {
    let starts = |sig: &[u8]| {
        let n = buf.len().min(sig.len());
        (buf[..n] == sig[..n]).then_some(n == sig.len())
    };
    match (starts(V1_PREFIX), starts(V2_SIGNATURE)) {
        (None, None) => Header::Absent,
        (Some(false), _) | (_, Some(false)) => Header::Incomplete,
        (Some(true), _) => v1_header(buf),
        (_, Some(true)) if buf.len() < V2_FIXED => Header::Incomplete,
        (_, Some(true)) => v2_header(buf),
    }
}

fn v1_header(buf: &[u8]) -> Header {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n").map(|at| at + 2) else {
        return match buf.len() >= V1_MAX {
            true => Header::Invalid(format!("version 1 header longer than {V1_MAX} bytes")),
            false => Header::Incomplete,
        };
    };
    match HeaderResult::parse(&buf[..end]) {
        HeaderResult::V1(Ok(header)) => Header::Complete {
            len: header.header.len(),
            source: match header.addresses {
                v1::Addresses::Tcp4(a) => {
                    Some(SocketAddr::new(a.source_address.into(), a.source_port))
                }
                v1::Addresses::Tcp6(a) => {
                    Some(SocketAddr::new(a.source_address.into(), a.source_port))
                }
                v1::Addresses::Unknown => None,
            },
        },
        HeaderResult::V1(Err(e)) => Header::Invalid(format!("version 1 header: {e}")),
        HeaderResult::V2(Err(e)) => Header::Invalid(format!("version 1 header: {e}")),
        HeaderResult::V2(Ok(_)) => Header::Invalid("version 1 header read as version 2".into()),
    }
}

fn v2_header(buf: &[u8]) -> Header {
    let result = v2::Header::try_from(buf);
    if result.is_incomplete() {
        return Header::Incomplete;
    }
    match result {
        Ok(header) => Header::Complete {
            len: header.len(),
            source: match (header.command, header.addresses) {
                (v2::Command::Local, _) => None,
                (_, v2::Addresses::IPv4(a)) => {
                    Some(SocketAddr::new(a.source_address.into(), a.source_port))
                }
                (_, v2::Addresses::IPv6(a)) => {
                    Some(SocketAddr::new(a.source_address.into(), a.source_port))
                }
                (_, v2::Addresses::Unspecified | v2::Addresses::Unix(_)) => None,
            },
        },
        Err(e) => Header::Invalid(format!("version 2 header: {e}")),
    }
}

/// Why a connection's PROXY header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// A header from an address not in `proxy_protocol_from`.
    #[error("PROXY protocol header from {0}, which is not a trusted relay (proxy_protocol_from)")]
    Untrusted(IpAddr),
    /// A header that cannot be read.
    #[error("unreadable PROXY protocol header from {peer}: {why}")]
    Invalid {
        /// The relay.
        peer: IpAddr,
        /// What was wrong.
        why: String,
    },
    /// The connection ended or failed before the header could be told.
    #[error("connection from {0} ended before its first bytes")]
    Closed(IpAddr),
}

/// Reads the start of the connection into `buf` until it is clear whether it opens with a PROXY
/// header, and returns the client: the header's source when `peer` is trusted, else `peer`. The
/// header's bytes are taken off `buf`; whatever followed them stays there, the start of the
/// message. A first read that is plainly no header is one read the message reader would have
/// made anyway. Bytes that end inside what could still be a header are refused, never relayed.
pub async fn client_of<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
    trusted: &TrustedRelays,
) -> Result<SocketAddr, Refused> {
    loop {
        match parse(buf) {
            Header::Absent => return Ok(peer),
            Header::Complete { .. } if !trusted.trusts(peer.ip()) => {
                return Err(Refused::Untrusted(peer.ip()))
            }
            Header::Complete { len, source } => {
                buf.drain(..len);
                return Ok(source.unwrap_or(peer));
            }
            Header::Invalid(why) => {
                let peer = peer.ip();
                return Err(Refused::Invalid { peer, why });
            }
            Header::Incomplete => {
                buf.reserve(4096);
                match reader.read_buf(buf).await {
                    Ok(0) | Err(_) if buf.is_empty() => return Err(Refused::Closed(peer.ip())),
                    Ok(0) | Err(_) => {
                        let why = "the connection ended inside it".to_string();
                        return Err(Refused::Invalid {
                            peer: peer.ip(),
                            why,
                        });
                    }
                    Ok(_) => {}
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "proxy_header_tests.rs"]
mod tests;
