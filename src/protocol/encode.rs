//! Building messages, pure: re-frame a request around a new body (same framing, correct length), and
//! build afpool's own replies in a request's framing.

use super::frame::{find, Frame, Framing, TYPE_JSONBIN};

/// The request in `raw` (described by `frame`) with its body replaced by `body`, in the same framing
/// and with every length field updated to the new byte count.
pub fn reframe(raw: &[u8], frame: &Frame, body: &[u8]) -> Vec<u8> {
    let mut out = reframe_head(raw, frame, body.len());
    out.extend_from_slice(body);
    out
}

/// Just the header that [`reframe`] puts before a body of `body_len` bytes.
pub fn reframe_head(raw: &[u8], frame: &Frame, body_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.body.start + 16);
    match frame.framing {
        Framing::Text => out.extend_from_slice(format!("AFANASY {body_len} JSON").as_bytes()),
        Framing::Http => http_head(&raw[..frame.body.start], body_len, &mut out),
        Framing::Binary { version, mtype } => binary_head(version, mtype, body_len, &mut out),
        Framing::Get => out.extend_from_slice(&raw[..frame.len]),
    }
    out
}

/// A reply carrying `body` in the framing of a request framed as `framing`, the way afserver answers.
pub fn reply(framing: Framing, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 200);
    match framing {
        Framing::Http | Framing::Get => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\
                 Content-Type: application/json\r\nCache-Control: max-age=0\r\n\
                 Server: afpool/{}\r\n\r\n",
                body.len(),
                env!("CARGO_PKG_VERSION")
            );
            out.extend_from_slice(head.as_bytes());
        }
        Framing::Text => out.extend_from_slice(format!("AFANASY {} JSON", body.len()).as_bytes()),
        Framing::Binary { version, .. } => binary_head(version, TYPE_JSONBIN, body.len(), &mut out),
    }
    out.extend_from_slice(body);
    out
}

/// A text-framed request, as af.py sends it (header and body in one buffer).
pub fn text_request(body: &[u8]) -> Vec<u8> {
    reply(Framing::Text, body)
}

fn binary_head(version: i32, mtype: i32, len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&mtype.to_be_bytes());
    out.extend_from_slice(&(len as i32).to_be_bytes());
}

/// Copy HTTP header lines, replacing the values of `AFANASY:` and `Content-Length:` with `len`.
fn http_head(head: &[u8], len: usize, out: &mut Vec<u8>) {
    let end = find(head, b"\r\n\r\n").unwrap_or(head.len());
    for (i, line) in head[..end].split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let name = line
            .split(|&b| b == b':')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let sized = i > 0
            && (name.eq_ignore_ascii_case(b"afanasy")
                || name.eq_ignore_ascii_case(b"content-length"));
        if sized {
            out.extend_from_slice(name);
            out.extend_from_slice(format!(": {len}").as_bytes());
        } else {
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{parse_reply, parse_request};

    #[test]
    fn reframed_requests_parse_back_with_the_new_body() {
        let http = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nAFANASY: 2\r\n\r\n{}";
        let bin = [&[0, 0, 0, 81, 0, 0, 0, 24, 0, 0, 0, 2][..], b"{}"].concat();
        for raw in [&b"AFANASY 2 JSON{}"[..], &http[..], &bin[..]] {
            let frame = parse_request(raw).unwrap();
            let body = br#"{"job":{"name":"longer"}}"#;
            let out = reframe(raw, &frame, body);
            let again = parse_request(&out).unwrap();
            assert_eq!(again.framing, frame.framing);
            assert_eq!(&out[again.body.clone()], body);
            assert_eq!(again.len, out.len());
        }
    }

    #[test]
    fn http_reframe_keeps_other_headers_in_order() {
        let raw =
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nAFANASY: 2\r\nOrigin: o\r\n\r\n{}";
        let frame = parse_request(raw).unwrap();
        let out = reframe(raw, &frame, b"{\"a\":1}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nAFANASY: 7\r\nOrigin: o\r\n\r\n{\"a\":1}"
        );
    }

    #[test]
    fn replies_use_the_request_framing() {
        let body = br#"{"id":0}"#;
        let text = reply(Framing::Text, body);
        assert_eq!(text, b"AFANASY 8 JSON{\"id\":0}");
        let http = reply(Framing::Http, body);
        let f = parse_reply(&http).unwrap();
        assert_eq!(
            (f.framing, &http[f.body.clone()]),
            (Framing::Http, &body[..])
        );
        let bin = reply(
            Framing::Binary {
                version: 81,
                mtype: 24,
            },
            body,
        );
        assert_eq!(&bin[..12], &[0, 0, 0, 81, 0, 0, 0, 24, 0, 0, 0, 8]);
        assert_eq!(parse_reply(&bin).unwrap().len, 20);
    }
}
