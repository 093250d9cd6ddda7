//! Table tests of the framing parser over the byte captures from a real afserver 3.4.1.

use super::*;
use rstest::rstest;

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

const BIG: &[u8] = &[0, 0, 0, 81, 0, 0, 0, 24, 0x05, 0, 0, 0];

fn unreadable(framing: Framing, reason: &'static str) -> Result<usize, FrameError> {
    Err(FrameError::Unreadable { framing, reason })
}

fn bin(mtype: u8, len: [u8; 4]) -> Vec<u8> {
    [&[0, 0, 0, 81, 0, 0, 0, mtype][..], &len].concat()
}

/// `Ok(len)` of the whole message, or the error.
#[rstest]
#[case::text(b"AFANASY 2 JSON{}", Ok(16))]
#[case::text_newline(b"AFANASY 2 JSON\n{}", Ok(17))]
#[case::text_any_case(b"afanasy 2 JSON{}", Ok(16))]
#[case::text_sign(b"AFANASY +2 JSON{}", Ok(17))]
#[case::text_no_space(b"AFANASY2JSON{}", Ok(14))]
#[case::text_json_is_case_sensitive(b"afanasy 2 json{}", Err(FrameError::Incomplete))]
#[case::text_number_may_go_on(b"AFANASY 12", Err(FrameError::Incomplete))]
#[case::text_no_brace_yet(b"AFANASY 2 JSON   ", Err(FrameError::Incomplete))]
#[case::text_negative(
    b"AFANASY -2 JSON{}",
    unreadable(Framing::Text, "negative size in the AFANASY header")
)]
#[case::text_no_size(
    b"AFANASY JSON{}",
    unreadable(Framing::Text, "AFANASY header without a size")
)]
#[case::text_huge(
    b"AFANASY 99999999999 JSON{",
    Err(FrameError::TooLarge(99_999_999_999))
)]
#[case::text_short_body(b"AFANASY 5 JSON{}", Err(FrameError::Partial(19)))]
#[case::http(b"POST / HTTP/1.1\r\nAFANASY: 2\r\n\r\n{}", Ok(33))]
#[case::http_no_blank_line(b"POST /\r\nAFANASY: 2\r\n{}", Ok(22))]
#[case::http_lf(b"POST /\nAFANASY: 2\n{}", Ok(20))]
#[case::http_any_case(b"POST /\r\nafanasy: 2\r\n{}", Ok(22))]
#[case::http_brace_line_before_the_size_is_not_the_body(
    b"POST /\r\n{x\r\nAFANASY: 2\r\n{}",
    Ok(26)
)]
#[case::http_last_size_counts(b"POST /\r\nAFANASY: 9\r\nAFANASY: 2\r\n{}", Ok(34))]
#[case::http_content_length_equal(b"POST /\r\nContent-Length: 2\r\nAFANASY: 2\r\n\r\n{}", Ok(43))]
#[case::http_colon_without_space(
    b"POST /\r\nAFANASY:2\r\n\r\n{}",
    unreadable(Framing::Http, "POST without an AFANASY header")
)]
#[case::http_no_afanasy(
    b"POST / HTTP/1.1\r\nHost: x\r\n\r\n{}",
    unreadable(Framing::Http, "POST without an AFANASY header")
)]
#[case::http_bad_size(
    b"POST /\r\nAFANASY: x\r\n\r\n{}",
    unreadable(Framing::Http, "bad AFANASY header")
)]
#[case::http_negative(
    b"POST /\r\nAFANASY: -1\r\n{}",
    unreadable(Framing::Http, "negative size in the AFANASY header")
)]
#[case::http_header_not_done(b"POST /\r\nAFANASY: 2\r\n\r\n", Err(FrameError::Incomplete))]
#[case::http_afanasy_cut(b"POST /\r\nAFANA", Err(FrameError::Incomplete))]
#[case::lowercase_post_is_binary(b"post / HTTP/1.1\r\nAFANASY: 2\r\n\r\n{}", Ok(12))]
#[case::get(b"GET / HTTP/1.1\r\n\r\n", Ok(18))]
#[case::lowercase_get_is_binary(b"get / HTTP/1.1\r\n\r\n", Ok(12))]
#[case::binary_negative_json(&bin(24, [0xff, 0, 0, 0]), unreadable(Framing::Binary { version: 81, mtype: 24 }, "negative binary length"))]
#[case::binary_negative_other(&bin(34, [0xff, 0, 0, 0]), Err(FrameError::Invalid("negative binary length")))]
#[case::binary_too_large(BIG, Err(FrameError::TooLarge(0x0500_0000)))]
#[case::binary_header_only(&bin(9, [0x7f, 0, 0, 4]), Ok(12))]
#[case::binary_type_past_tlast(&bin(64, [0x7f, 0, 0, 4]), Ok(12))]
#[case::binary_23(&[bin(23, [0, 0, 0, 2]), b"{}".to_vec()].concat(), Ok(14))]
fn requests_are_framed_like_afserver(
    #[case] input: &[u8],
    #[case] want: Result<usize, FrameError>,
) {
    let got = parse_request(input).map(|f| f.len);
    assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
}

#[rstest]
#[case::text(b"AFANASY 2 JSON{}", "{}")]
#[case::text_junk_before_brace(b"AFANASY 2 JSON xyz {}", "{}")]
#[case::http_first_brace_line(b"POST /\r\nX: {\r\nAFANASY: 2\r\n\r\n{}", "{}")]
#[case::http_skipped_line_after_blank_lf(b"POST /\nAFANASY: 2\n\n{}\n{}", "{}")]
fn the_body_starts_where_afserver_starts_it(#[case] input: &[u8], #[case] body: &str) {
    let frame = parse_request(input).unwrap();
    assert_eq!(&input[frame.body.clone()], body.as_bytes());
    assert_eq!(frame.len, input.len() - (input.len() - frame.body.end));
}

#[test]
fn a_long_text_header_is_read_up_to_the_bound() {
    let padded = |pad: usize| {
        let mut m = b"AFANASY 2 ".to_vec();
        m.extend(std::iter::repeat_n(b' ', pad));
        m.extend_from_slice(b"JSON{}");
        m
    };
    let long = padded(100);
    assert_eq!(parse_request(&long).unwrap().len, long.len());
    let too_long = padded(MAX_HEADER);
    assert_eq!(
        parse_request(&too_long[..MAX_HEADER + 1]).map(|f| f.len),
        unreadable(Framing::Text, "AFANASY header without JSON")
    );
}

#[rstest]
#[case::text(b"AFANASY 2 JSON{}", Framing::Text)]
#[case::http(b"POST / HTTP/1.1", Framing::Http)]
#[case::binary_23(&bin(23, [0, 0, 0, 2]), Framing::Binary { version: 81, mtype: 23 })]
#[case::binary_25(&bin(25, [0, 0, 0, 2]), Framing::Binary { version: 81, mtype: 25 })]
fn json_framings_are_recognised(#[case] input: &[u8], #[case] framing: Framing) {
    assert_eq!(json_framing(input), Some(framing));
    assert!(framing.carries_json());
}

#[rstest]
#[case::binary_24_short(&[0, 0, 0, 81, 0, 0, 0, 24][..])]
#[case::render(&bin(34, [0, 0, 0, 2]))]
#[case::lowercase_post(b"post / HTTP/1.1")]
#[case::get(b"GET / HTTP/1.1\r\n")]
fn other_bytes_are_not_json_framings(#[case] input: &[u8]) {
    assert_eq!(json_framing(input), None);
}

#[rstest]
#[case::ascii("{\"a\":1}", true)]
#[case::non_ascii("{\"a\":\"été\"}", true)]
#[case::astral("{\"a\":\"🎬\"}", true)]
fn a_web_gui_size_in_utf16_units_is_read_by_content_length(#[case] body: &str, #[case] ok: bool) {
    let units = body.encode_utf16().count();
    let request = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\nAFANASY: {units}\r\n\r\n{body}",
        body.len()
    );
    let frame = parse_request(request.as_bytes()).unwrap();
    assert_eq!(&request.as_bytes()[frame.body.clone()], body.as_bytes());
    assert_eq!(frame.len, request.len());
    assert_eq!(frame.resize, units != body.len() && ok);
}

#[rstest]
#[case::neither_matches("{\"a\":\"été\"}".as_bytes(), 13, 12)]
#[case::afanasy_longer("{\"a\":1}".as_bytes(), 7, 9)]
#[case::content_length_longer("{\"a\":1}             ".as_bytes(), 20, 7)]
#[case::not_utf8(b"{\"a\":\"\xE9\"}", 9, 8)]
fn sizes_that_disagree_otherwise_are_refused(
    #[case] body: &[u8],
    #[case] content_length: usize,
    #[case] afanasy: usize,
) {
    assert_eq!(body.len(), content_length);
    let head = format!(
        "POST / HTTP/1.1\r\nContent-Length: {content_length}\r\nAFANASY: {afanasy}\r\n\r\n"
    );
    let request = [head.as_bytes(), body].concat();
    assert_eq!(
        parse_request(&request).map(|f| f.len),
        unreadable(Framing::Http, "AFANASY and Content-Length disagree")
    );
}

/// A BOM before the body: answered when the size counts it (afserver would wait for ever),
/// read as afserver reads it otherwise.
#[rstest]
#[case::counted(b"AFANASY 12 JSON\xEF\xBB\xBF{\"a\":\"}\"}", true)]
#[case::counted_nested(b"AFANASY 19 JSON\xEF\xBB\xBF{\"a\":[{\"b\":{}}]}", true)]
#[case::not_counted_whole(b"AFANASY 9 JSON\xEF\xBB\xBF{\"a\":\"}\"}", false)]
#[case::still_arriving(b"AFANASY 10 JSON\xEF\xBB\xBF{\"a\":{}", false)]
#[case::no_bom(b"AFANASY 12 JSON{\"a\":\"}\"}", false)]
fn a_bom_counted_in_the_size_is_answered(#[case] bytes: &[u8], #[case] refused: bool) {
    let got = parse_request(bytes);
    let is_bom_refusal =
        matches!(&got, Err(FrameError::Unreadable { reason, .. }) if reason.contains("BOM"));
    assert_eq!(is_bom_refusal, refused, "{got:?}");
}
