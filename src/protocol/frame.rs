//! Afanasy message framing, pure: find where one request or reply ends in a byte buffer. No I/O
//! here; [`super::codec`] feeds these functions from sockets.
//!
//! Four framings share afserver's single port (see the protocol notes):
//! - text `AFANASY <n> JSON{...}` (af.py and everything built on it);
//! - HTTP `POST` with an `AFANASY: <n>` header line (web GUI), and `GET` for static files;
//! - binary: a 12-byte header of three big-endian int32 (version, type, length); for types below 21
//!   the header is the whole message and the third int is a value, not a length.
//!
//! Requests are read exactly as afserver 3.4.1 reads them ([`request`], after `af::processHeader`);
//! a request that starts like a JSON framing but cannot be read that way is
//! [`FrameError::Unreadable`]: answered with an error, never forwarded.

use std::ops::Range;

mod request;

/// afserver's cap on one message.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Size of a binary header.
pub const BINARY_HEADER: usize = 12;
/// Binary types at or above this carry a body of `length` bytes (TDATA).
pub const FIRST_DATA_TYPE: i32 = 21;
/// Binary type of JSON read from a text header (TJSON); afserver's JSON handler takes it too.
pub const TYPE_JSON: i32 = 23;
/// Binary type of JSON in binary framing (TJSONBIN), used by afcmd and afwatch.
pub const TYPE_JSONBIN: i32 = 24;
/// Binary type of JSON read from an HTTP POST (THTTP); afserver's JSON handler takes it too.
pub const TYPE_HTTP: i32 = 25;
/// afserver's TLAST: a binary header of this type or above is an invalid message of 12 bytes.
pub const TYPE_LAST: i32 = 64;
/// Where `JSON` must appear in a text reply header (`AFANASY 67108864 JSON` is 24 bytes).
const TEXT_REPLY_WINDOW: usize = 48;
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
        /// Message type (23, 24 and 25 = JSON).
        mtype: i32,
    },
}

impl Framing {
    /// True when afserver reads the body as JSON: text, HTTP POST, binary types 23, 24 and 25
    /// (afserver hands all three to its JSON handler).
    pub fn carries_json(&self) -> bool {
        match self {
            Framing::Text | Framing::Http => true,
            Framing::Get => false,
            Framing::Binary { mtype, .. } => (TYPE_JSON..=TYPE_HTTP).contains(mtype),
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
    /// The header's size fields do not state the body's byte length (the web GUI's `AFANASY:`
    /// counts UTF-16 units): the message must be re-framed before it is forwarded.
    pub resize: bool,
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
    /// The bytes start like a JSON framing that afpool cannot read the way afserver would:
    /// answered with an error in that framing, never forwarded.
    #[error("unreadable message: {reason}")]
    Unreadable {
        /// The framing the bytes started like.
        framing: Framing,
        /// What is wrong.
        reason: &'static str,
    },
    /// A reply whose end is only known when the server closes (HTTP without Content-Length).
    #[error("message ends at connection close")]
    UntilClose,
}

/// Find the first complete request in `buf`, the way afserver reads it: `POST` (case-sensitive)
/// is HTTP, `AFANASY` (any case) is text, `GET` (case-sensitive) a static file, anything else a
/// binary header.
pub fn parse_request(buf: &[u8]) -> Result<Frame, FrameError> {
    if buf.starts_with(b"POST") {
        request::http(buf)
    } else if starts_with_ci(buf, b"AFANASY") {
        request::text(buf)
    } else if buf.starts_with(b"GET") {
        let end = find(buf, b"\r\n\r\n").map(|p| p + 4);
        match end {
            Some(len) => Ok(Frame::new(Framing::Get, len..len)),
            None if buf.len() > MAX_HEADER => Err(FrameError::Invalid("GET header too long")),
            None => Err(FrameError::Incomplete),
        }
    } else {
        // Shorter than a binary header (12 bytes) is always Incomplete, which also covers a
        // text or HTTP prefix that has not arrived in full.
        parse_binary(buf)
    }
}

/// The JSON framing `buf` starts like, if any: `POST`, `AFANASY`, or a binary header of type 23,
/// 24 or 25. Such bytes are never relayed unread.
pub fn json_framing(buf: &[u8]) -> Option<Framing> {
    if buf.starts_with(b"POST") {
        Some(Framing::Http)
    } else if starts_with_ci(buf, b"AFANASY") {
        Some(Framing::Text)
    } else if buf.len() >= BINARY_HEADER && !buf.starts_with(b"GET") {
        let framing = Framing::Binary {
            version: be_i32(&buf[0..4]),
            mtype: be_i32(&buf[4..8]),
        };
        framing.carries_json().then_some(framing)
    } else {
        None
    }
}

/// Find the first complete reply in `buf`. Reply framing is read from the reply's own bytes (afserver
/// once answered a binary request in text framing).
pub fn parse_reply(buf: &[u8]) -> Result<Frame, FrameError> {
    if buf.starts_with(b"HTTP/") {
        parse_http_reply(buf)
    } else if starts_with_ci(buf, b"AFANASY") {
        parse_text_reply(buf)
    } else {
        parse_binary(buf)
    }
}

impl Frame {
    fn new(framing: Framing, body: Range<usize>) -> Frame {
        Frame {
            framing,
            len: body.end,
            body,
            resize: false,
        }
    }
}

/// A binary message as afserver reads it: types below 21 (TDATA) and from 64 (TLAST) on are the
/// 12-byte header alone.
fn parse_binary(buf: &[u8]) -> Result<Frame, FrameError> {
    if buf.len() < BINARY_HEADER {
        return Err(FrameError::Incomplete);
    }
    let version = be_i32(&buf[0..4]);
    let mtype = be_i32(&buf[4..8]);
    let framing = Framing::Binary { version, mtype };
    if !(FIRST_DATA_TYPE..TYPE_LAST).contains(&mtype) {
        return Ok(Frame::new(framing, BINARY_HEADER..BINARY_HEADER));
    }
    match be_i32(&buf[8..12]) {
        n if n < 0 && framing.carries_json() => Err(FrameError::Unreadable {
            framing,
            reason: "negative binary length",
        }),
        n if n < 0 => Err(FrameError::Invalid("negative binary length")),
        n => complete(framing, BINARY_HEADER, n as usize, buf.len()),
    }
}

/// A text reply: `AFANASY <n> JSON` and the body right after `JSON`.
fn parse_text_reply(buf: &[u8]) -> Result<Frame, FrameError> {
    let window = &buf[..buf.len().min(TEXT_REPLY_WINDOW)];
    let Some(json_at) = find(window, b"JSON") else {
        return if buf.len() >= TEXT_REPLY_WINDOW {
            Err(FrameError::Invalid("AFANASY header without JSON"))
        } else {
            Err(FrameError::Incomplete)
        };
    };
    let n = parse_size(&buf[7..json_at]).ok_or(FrameError::Invalid("bad AFANASY size"))?;
    complete(Framing::Text, json_at + 4, n, buf.len())
}

/// An HTTP reply: headers up to the blank line, the body sized by `Content-Length`, or the
/// connection close when there is none.
fn parse_http_reply(buf: &[u8]) -> Result<Frame, FrameError> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_HEADER {
            Err(FrameError::Invalid("header too long"))
        } else {
            Err(FrameError::Incomplete)
        };
    };
    let start = end + 4;
    match header_value(&buf[..end], b"content-length").and_then(parse_size) {
        Some(n) => complete(Framing::Http, start, n, buf.len()),
        None => Err(FrameError::UntilClose),
    }
}

/// The message whose body of `n` bytes starts at `start`, if `have` bytes hold all of it.
fn complete(framing: Framing, start: usize, n: usize, have: usize) -> Result<Frame, FrameError> {
    if n > MAX_MESSAGE {
        return Err(FrameError::TooLarge(n));
    }
    let len = start + n;
    if have < len {
        return Err(FrameError::Partial(len));
    }
    Ok(Frame::new(framing, start..len))
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
    memchr::memmem::find(hay, needle)
}

/// The body of the reply captured in `fixtures/captures/FILE` (for tests).
#[cfg(test)]
pub(crate) fn captured_reply_body(file: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/captures/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let frame = parse_reply(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes[frame.body].to_vec()
}

#[cfg(test)]
mod tests;
