//! Text and HTTP request headers read the way afserver 3.4.1 reads them (`af::processHeader` in
//! `libafanasy/name_afnet.cpp`), from the whole header rather than from one `read()`:
//! - text: `AFANASY` (any case), a size read like `sscanf("%d")`, `JSON` (exact case) anywhere
//!   after it, and the body from the first `{` after `JSON`;
//! - HTTP `POST`: the last line starting with `AFANASY: ` (any case, with the space) before the
//!   body gives the size; the body starts at the first later line that begins with `{` (no blank
//!   line needed); `Content-Length` is not used, except for the web GUI (see [`web_gui`]).
//!
//! Headers that do not read this way are [`FrameError::Unreadable`], and so is an HTTP header
//! block that ends (blank line) before any `AFANASY: ` line: afserver would go on looking in the
//! body, afpool refuses.

use super::{
    complete, header_value, parse_size, Frame, FrameError, Framing, MAX_HEADER, MAX_MESSAGE,
};

/// What reading a `%d` number produced.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Scanned {
    /// The bytes ended inside the number (or before it): more may come.
    More,
    /// No number there.
    Bad,
    /// The number (saturated to the i64 range).
    Int(i64),
}

/// Read a number the way `sscanf("%d")` does: C whitespace (newlines included), an optional
/// sign, then digits.
pub(super) fn scan_int(bytes: &[u8]) -> Scanned {
    let ws = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    let rest = &bytes[ws..];
    let (negative, digits) = match rest.first() {
        None => return Scanned::More,
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        Some(_) => (false, rest),
    };
    let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if count == digits.len() {
        return Scanned::More;
    }
    if count == 0 {
        return Scanned::Bad;
    }
    let value = digits[..count].iter().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Scanned::Int(if negative { -value } else { value })
}

/// A text request: `AFANASY <n> JSON`, anything, then the body from the first `{`.
pub(super) fn text(buf: &[u8]) -> Result<Frame, FrameError> {
    let n = match scan_int(&buf[7..]) {
        Scanned::More => return Err(pending(buf, Framing::Text, "AFANASY header without a size")),
        Scanned::Bad => return Err(unreadable(Framing::Text, "AFANASY header without a size")),
        Scanned::Int(n) => n,
    };
    // afserver looks for `JSON` from the byte after `AFANASY` plus one.
    let Some(json_at) = super::find(&buf[8..], b"JSON").map(|p| p + 8) else {
        return Err(pending(buf, Framing::Text, "AFANASY header without JSON"));
    };
    let after = json_at + 4;
    let Some(brace) = memchr::memchr(b'{', &buf[after..]) else {
        return Err(pending(
            buf,
            Framing::Text,
            "no '{' after the AFANASY header",
        ));
    };
    let start = after + brace;
    if counts_its_bom(buf, start, n) {
        return Err(unreadable(Framing::Text, BOM_COUNTED));
    }
    sized(Framing::Text, start, n, buf.len())
}

/// What afpool answers for [`counts_its_bom`].
const BOM_COUNTED: &str = "a UTF-8 BOM before the JSON is counted in the AFANASY header's size, \
    but afserver counts the size from after the BOM and would wait for 3 bytes that never come: \
    send the JSON without the BOM, or its size without the BOM's 3 bytes";

/// A BOM right before the body, and the bytes received end a JSON object exactly where the size
/// would end if it counted the BOM: afserver would wait for ever; answered at once instead.
fn counts_its_bom(buf: &[u8], start: usize, n: i64) -> bool {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let counted = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_sub(BOM.len()));
    buf[..start].ends_with(BOM)
        && counted.is_some_and(|n| buf.len() == start + n)
        && closes_at_end(&buf[start..])
}

/// The object that opens `body` closes at its last byte (strings and escapes skipped).
fn closes_at_end(body: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &c) in body.iter().enumerate() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'{' | b'[') => depth += 1,
            (false, b'}' | b']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1 == body.len();
                }
            }
            _ => {}
        }
    }
    false
}

/// An HTTP POST request, framed by its `AFANASY: ` line.
pub(super) fn http(buf: &[u8]) -> Result<Frame, FrameError> {
    let (start, n) = http_header(buf)?;
    let content_length = header_value(&buf[..start], b"content-length").and_then(parse_size);
    match content_length {
        Some(cl) if i64::try_from(cl) != Ok(n) => web_gui(buf, start, n, cl),
        _ => sized(Framing::Http, start, n, buf.len()),
    }
}

/// Where the body starts and the size of the last `AFANASY: ` line before it. Line ends are
/// followed as afserver does: the byte after a line start (or after `AFANASY: `) is never itself
/// taken as a line end, so with bare `\n\n` the line after the blank one is not looked at.
fn http_header(buf: &[u8]) -> Result<(usize, i64), FrameError> {
    const KEY: &[u8] = b"AFANASY: ";
    let mut size = None;
    let mut i = 4;
    while i < buf.len() {
        if buf[i] != b'\n' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let line = &buf[start..];
        match (line.first(), size) {
            (None, _) => break,
            (Some(b'{'), Some(n)) => return Ok((start, n)),
            (Some(b'\n'), None) => return Err(no_afanasy_line()),
            (Some(b'\r'), None) if line.get(1) == Some(&b'\n') => return Err(no_afanasy_line()),
            _ => {}
        }
        let head = &line[..line.len().min(KEY.len())];
        if !head.eq_ignore_ascii_case(&KEY[..head.len()]) {
            i = start + 1;
            continue;
        }
        if head.len() < KEY.len() {
            break;
        }
        match scan_int(&line[KEY.len()..]) {
            Scanned::More => break,
            Scanned::Bad => return Err(unreadable(Framing::Http, "bad AFANASY header")),
            Scanned::Int(n) => size = Some(n),
        }
        i = start + KEY.len() + 1;
    }
    Err(pending(
        buf,
        Framing::Http,
        "no body after an AFANASY header",
    ))
}

fn no_afanasy_line() -> FrameError {
    unreadable(Framing::Http, "POST without an AFANASY header")
}

/// The web GUI writes `AFANASY:` as the JavaScript string length (UTF-16 units) and a correct
/// `Content-Length`. When the two differ, the `Content-Length` body is read and accepted only if
/// its UTF-16 length is the `AFANASY` number; the message is then re-framed with byte sizes.
fn web_gui(
    buf: &[u8],
    start: usize,
    afanasy: i64,
    content_length: usize,
) -> Result<Frame, FrameError> {
    let mut frame = complete(Framing::Http, start, content_length, buf.len())?;
    let units = std::str::from_utf8(&buf[frame.body.clone()])
        .ok()
        .map(|text| text.encode_utf16().count());
    if units.and_then(|u| i64::try_from(u).ok()) != Some(afanasy) {
        return Err(unreadable(
            Framing::Http,
            "AFANASY and Content-Length disagree",
        ));
    }
    frame.resize = true;
    Ok(frame)
}

/// The message whose body of `n` bytes (as the header said it) starts at `start`.
fn sized(framing: Framing, start: usize, n: i64, have: usize) -> Result<Frame, FrameError> {
    if n < 0 {
        return Err(unreadable(framing, "negative size in the AFANASY header"));
    }
    match usize::try_from(n) {
        Ok(n) if n <= MAX_MESSAGE => complete(framing, start, n, have),
        _ => Err(FrameError::TooLarge(
            usize::try_from(n).unwrap_or(usize::MAX),
        )),
    }
}

/// More bytes are needed, unless the header is already longer than afpool accepts.
fn pending(buf: &[u8], framing: Framing, reason: &'static str) -> FrameError {
    if buf.len() > MAX_HEADER {
        unreadable(framing, reason)
    } else {
        FrameError::Incomplete
    }
}

fn unreadable(framing: Framing, reason: &'static str) -> FrameError {
    FrameError::Unreadable { framing, reason }
}
