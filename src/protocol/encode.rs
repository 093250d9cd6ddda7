//! Building messages, pure: re-frame a request around a new body (same framing, correct length), and
//! build afpool's own replies in a request's framing.

use super::frame::{Frame, Framing, TYPE_JSONBIN};

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

/// Copy the HTTP header (everything before the body, line ends as they were), giving every line
/// afserver reads a size from (`AFANASY: `, any case) and every `Content-Length` line the value
/// `len`. A header whose sizes already are `len` comes out unchanged.
fn http_head(head: &[u8], len: usize, out: &mut Vec<u8>) {
    for (i, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
        let text = line.trim_ascii_end();
        let ending = &line[text.len()..];
        let name = text.split(|&b| b == b':').next().unwrap_or_default();
        if i > 0 && text.len() >= 9 && text[..9].eq_ignore_ascii_case(b"AFANASY: ") {
            out.extend_from_slice(&text[..9]);
        } else if i > 0 && name.trim_ascii().eq_ignore_ascii_case(b"content-length") {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
        } else {
            out.extend_from_slice(line);
            continue;
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.extend_from_slice(if ending.is_empty() { b"\r\n" } else { ending });
    }
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
    fn http_reframe_of_an_unchanged_body_is_byte_identical() {
        let raws: [&[u8]; 3] = [
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nAFANASY: 2\r\n\r\n{}",
            b"POST / HTTP/1.1\nafanasy: 2\n{}",
            b"POST / HTTP/1.1\r\nAFANASY: 2\r\nX: {\r\n\r\n{}",
        ];
        for raw in raws {
            let frame = parse_request(raw).unwrap();
            assert_eq!(
                reframe(raw, &frame, b"{}"),
                raw,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn web_gui_request_is_reframed_with_byte_lengths() {
        let body = "{\"a\":\"été\"}";
        let raw = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\nAFANASY: {}\r\n\r\n{body}",
            body.len(),
            body.encode_utf16().count()
        );
        let frame = parse_request(raw.as_bytes()).unwrap();
        assert!(frame.resize);
        let out = reframe(raw.as_bytes(), &frame, body.as_bytes());
        let again = parse_request(&out).unwrap();
        assert!(!again.resize);
        assert_eq!(&out[again.body], body.as_bytes());
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
