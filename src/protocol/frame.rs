//! Afanasy message framing, pure: find where one request or reply ends in a byte buffer, and build
//! messages in a given framing. No I/O here; [`super::codec`] feeds these functions from sockets.
//!
//! Four framings share afserver's single port (see the protocol notes):
//! - text `AFANASY <n> JSON{...}` (af.py and everything built on it);
//! - HTTP `POST` with an `AFANASY: <n>` header line (web GUI), and `GET` for static files;
//! - binary: a 12-byte header of three big-endian int32 (version, type, length); for types below 21
//!   the header is the whole message and the third int is a value, not a length.

use std::ops::Range;

/// afserver's cap on one message.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Size of a binary header.
pub const BINARY_HEADER: usize = 12;
/// Binary types at or above this carry a body of `length` bytes (TDATA).
pub const FIRST_DATA_TYPE: i32 = 21;
/// Binary type of JSON in binary framing (TJSONBIN), used by afcmd and afwatch.
pub const TYPE_JSONBIN: i32 = 24;
/// Where `JSON` must appear in a text header (`AFANASY 67108864 JSON` is 24 bytes).
const TEXT_HEADER_WINDOW: usize = 48;
/// Longest text or HTTP header we accept before the body starts.
pub const MAX_HEADER: usize = 64 * 1024;

/// How a message is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `AFANASY <n> JSON` then the body.
    Text,
    /// HTTP `POST` request or any HTTP response.
    Http,
    /// HTTP `GET` request (no body).
    Get,
    /// Binary header with this protocol version and message type.
    Binary {
        /// Protocol version (81 = afserver 3.4.x).
        version: i32,
        /// Message type (24 = JSON).
        mtype: i32,
    },
}

impl Framing {
    /// True when the message body is JSON afpool may read (text, HTTP POST, binary type 24).
    pub fn carries_json(&self) -> bool {
        match self {
            Framing::Text | Framing::Http => true,
            Framing::Get => false,
            Framing::Binary { mtype, .. } => *mtype == TYPE_JSONBIN,
        }
    }
}

/// One complete message found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its framing.
    pub framing: Framing,
    /// Where the body lies in the buffer (empty for header-only messages).
    pub body: Range<usize>,
    /// Total length of the message in the buffer (header + body).
    pub len: usize,
}

/// Why a buffer does not (yet) hold a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More bytes are needed.
    #[error("incomplete message")]
    Incomplete,
    /// The header is complete: the whole message is this many bytes long, and more are needed.
    #[error("incomplete message of {0} bytes")]
    Partial(usize),
    /// The declared size is over afserver's 64 MiB cap.
    #[error("message of {0} bytes is over afserver's 64 MiB limit")]
    TooLarge(usize),
    /// The bytes are not a message afpool understands (relayed opaquely).
    #[error("unrecognised message: {0}")]
    Invalid(&'static str),
    /// A reply whose end is only known when the server closes (HTTP without Content-Length).
    #[error("message ends at connection close")]
    UntilClose,
}

/// Find the first complete request in `buf`, the way afserver reads it.
pub fn parse_request(buf: &[u8]) -> Result<Frame, FrameError> {
    if starts_with_ci(buf, b"POST") {
        parse_http(buf, true)
    } else if starts_with_ci(buf, b"AFANASY") {
        parse_text(buf, true)
    } else if buf.starts_with(b"GET") {
        let end = find(buf, b"\r\n\r\n").map(|p| p + 4);
        match end {
            Some(len) => Ok(Frame {
                framing: Framing::Get,
                body: len..len,
                len,
            }),
            None if buf.len() > MAX_HEADER => Err(FrameError::Invalid("GET header too long")),
            None => Err(FrameError::Incomplete),
        }
    } else {
        // Shorter than a binary header (12 bytes) is always Incomplete, which also covers a
        // text or HTTP prefix that has not arrived in full.
        parse_binary(buf)
    }
}

/// Find the first complete reply in `buf`. Reply framing is read from the reply's own bytes (afserver
/// once answered a binary request in text framing).
pub fn parse_reply(buf: &[u8]) -> Result<Frame, FrameError> {
    if buf.starts_with(b"HTTP/") {
        parse_http(buf, false)
    } else if starts_with_ci(buf, b"AFANASY") {
        parse_text(buf, false)
    } else {
        parse_binary(buf)
    }
}

fn parse_binary(buf: &[u8]) -> Result<Frame, FrameError> {
    if buf.len() < BINARY_HEADER {
        return Err(FrameError::Incomplete);
    }
    let version = be_i32(&buf[0..4]);
    let mtype = be_i32(&buf[4..8]);
    let framing = Framing::Binary { version, mtype };
    if mtype < FIRST_DATA_TYPE {
        return Ok(Frame {
            framing,
            body: BINARY_HEADER..BINARY_HEADER,
            len: BINARY_HEADER,
        });
    }
    let n = be_i32(&buf[8..12]);
    let n = usize::try_from(n).map_err(|_| FrameError::Invalid("negative binary length"))?;
    complete(framing, BINARY_HEADER, n, buf.len())
}

/// Text framing: `AFANASY <n> JSON`, then (requests) anything up to the first `{`, (replies) the body
/// right after `JSON`.
fn parse_text(buf: &[u8], request: bool) -> Result<Frame, FrameError> {
    let window = &buf[..buf.len().min(TEXT_HEADER_WINDOW)];
    let Some(json_at) = find(window, b"JSON") else {
        return if buf.len() >= TEXT_HEADER_WINDOW {
            Err(FrameError::Invalid("AFANASY header without JSON"))
        } else {
            Err(FrameError::Incomplete)
        };
    };
    let n = parse_size(&buf[7..json_at]).ok_or(FrameError::Invalid("bad AFANASY size"))?;
    let mut start = json_at + 4;
    if request {
        match buf[start..].iter().position(|&b| b == b'{') {
            Some(p) => start += p,
            None => return header_pending(buf),
        }
    }
    complete(Framing::Text, start, n, buf.len())
}

/// HTTP: headers up to the blank line; a request's body size comes from `Content-Length` when present
/// (the browser's `AFANASY:` value counts UTF-16 units, not bytes), else from `AFANASY:`; a reply's from
/// `Content-Length`, or the connection close when there is none.
fn parse_http(buf: &[u8], request: bool) -> Result<Frame, FrameError> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return header_pending(buf);
    };
    let head = &buf[..end];
    let start = end + 4;
    let content_length = header_value(head, b"content-length").and_then(parse_size);
    let size = if request {
        let afanasy = header_value(head, b"afanasy").and_then(parse_size);
        if afanasy.is_none() {
            return Err(FrameError::Invalid("POST without an AFANASY header"));
        }
        content_length.or(afanasy)
    } else {
        content_length
    };
    match size {
        Some(n) => complete(Framing::Http, start, n, buf.len()),
        None => Err(FrameError::UntilClose),
    }
}

fn header_pending(buf: &[u8]) -> Result<Frame, FrameError> {
    if buf.len() > MAX_HEADER {
        Err(FrameError::Invalid("header too long"))
    } else {
        Err(FrameError::Incomplete)
    }
}

fn complete(framing: Framing, start: usize, n: usize, have: usize) -> Result<Frame, FrameError> {
    if n > MAX_MESSAGE {
        return Err(FrameError::TooLarge(n));
    }
    let len = start + n;
    if have < len {
        return Err(FrameError::Partial(len));
    }
    Ok(Frame {
        framing,
        body: start..len,
        len,
    })
}

/// The value of the first header line named `name` (case-insensitive), trimmed.
pub fn header_value<'a>(head: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (key, value) = line.split_at(colon);
        key.trim_ascii()
            .eq_ignore_ascii_case(name)
            .then(|| value[1..].trim_ascii())
    })
}

fn parse_size(bytes: &[u8]) -> Option<usize> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn starts_with_ci(buf: &[u8], prefix: &[u8]) -> bool {
    buf.len() >= prefix.len() && buf[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests;
