//! Table tests of the framing parser over the byte captures from a real afserver 3.4.1.

use super::*;

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/captures");

fn captures(suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(CAPTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn expected_framing(name: &str, bytes: &[u8]) -> Framing {
    if name.contains("-text-") || name.contains("afpy") || bytes.starts_with(b"AFANASY") {
        Framing::Text
    } else if bytes.starts_with(b"GET") {
        Framing::Get
    } else if name.contains("http") || name.contains("chromium") {
        Framing::Http
    } else {
        Framing::Binary {
            version: be_i32(&bytes[0..4]),
            mtype: be_i32(&bytes[4..8]),
        }
    }
}

#[test]
fn every_captured_request_is_one_whole_message() {
    let all = captures(".request.bin");
    assert!(all.len() >= 40, "captures missing: {}", all.len());
    for (name, bytes) in all {
        let frame = parse_request(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frame.len, bytes.len(), "{name}");
        assert_eq!(frame.framing, expected_framing(&name, &bytes), "{name}");
        if frame.framing.carries_json() {
            assert_eq!(
                bytes[frame.body.start], b'{',
                "{name}: body starts at the brace"
            );
        }
    }
}

#[test]
fn every_captured_reply_is_one_whole_message_and_stray_bytes_stay_out() {
    for (name, bytes) in captures(".reply.bin") {
        let frame = parse_reply(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frame.len, bytes.len(), "{name}");
        let mut with_stray = bytes.clone();
        with_stray.extend_from_slice(b"   ");
        assert_eq!(
            parse_reply(&with_stray).unwrap().len,
            bytes.len(),
            "{name} + stray spaces"
        );
    }
}

#[test]
fn every_prefix_of_every_capture_is_incomplete() {
    for (name, bytes) in captures(".request.bin") {
        for k in 0..bytes.len() {
            let got = parse_request(&bytes[..k]);
            let whole = Err(FrameError::Partial(bytes.len()));
            assert!(
                got == Err(FrameError::Incomplete) || got == whole,
                "{name}[..{k}]: {got:?}"
            );
        }
    }
    for (name, bytes) in captures(".reply.bin") {
        for k in 0..bytes.len() {
            let got = parse_reply(&bytes[..k]);
            let whole = Err(FrameError::Partial(bytes.len()));
            assert!(
                got == Err(FrameError::Incomplete) || got == whole,
                "{name}[..{k}]: {got:?}"
            );
        }
    }
}

#[test]
fn reply_framing_is_read_from_the_reply_itself() {
    // Capture 26: a binary TRenderDeregister answered in text framing.
    let reply = std::fs::read(format!("{CAPTURES}/26-afrender-deregister.reply.bin")).unwrap();
    assert_eq!(parse_reply(&reply).unwrap().framing, Framing::Text);
    let header_only = std::fs::read(format!("{CAPTURES}/24-afrender-heartbeat.reply.bin")).unwrap();
    let frame = parse_reply(&header_only).unwrap();
    assert_eq!(
        (frame.framing, frame.len),
        (
            Framing::Binary {
                version: 81,
                mtype: 8
            },
            12
        )
    );
}

#[test]
fn header_only_http_reply_needs_its_body() {
    let head = std::fs::read(format!(
        "{CAPTURES}/40-chromium-get-index.reply-header-only.bin"
    ))
    .unwrap();
    assert_eq!(
        parse_reply(&head),
        Err(FrameError::Partial(head.len() + 4954))
    );
    let mut whole = head.clone();
    whole.extend(std::iter::repeat_n(b'x', 4954));
    assert_eq!(parse_reply(&whole).unwrap().len, head.len() + 4954);
}

#[test]
fn odd_inputs() {
    let cases: &[(&[u8], Result<usize, FrameError>)] = &[
        (
            b"POST / HTTP/1.1\r\nHost: x\r\n\r\n{}",
            Err(FrameError::Invalid("POST without an AFANASY header")),
        ),
        (b"afanasy 2 json{}", Err(FrameError::Incomplete)),
        (b"AFANASY 2 JSON{}", Ok(16)),
        (b"AFANASY 2 JSON\n{}", Ok(17)),
        (
            &[0, 0, 0, 81, 0, 0, 0, 24, 0xff, 0, 0, 0],
            Err(FrameError::Invalid("negative binary length")),
        ),
        (
            &[0, 0, 0, 81, 0, 0, 0, 24, 0x05, 0, 0, 0],
            Err(FrameError::TooLarge(0x0500_0000)),
        ),
        (&[0, 0, 0, 81, 0, 0, 0, 9, 0x7f, 0, 0, 4], Ok(12)),
        (
            b"AFANASY 1234567 JUNK-WITHOUT-THE-WORD-THAT-ENDS-THE-HEADER-XXXXX",
            Err(FrameError::Invalid("AFANASY header without JSON")),
        ),
    ];
    for (input, want) in cases {
        let got = parse_request(input).map(|f| f.len);
        assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
    }
}
