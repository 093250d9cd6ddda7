//! The legacy Pool Server request, parsed from the bytes received so far (pure, no I/O).
//!
//! The old clients send one JSON object, `{"type": "request", "command": "GET POOLS"}`, with no
//! newline or other delimiter, and keep the socket open until the reply. So the request is
//! complete exactly when the bytes received so far hold one whole JSON object: [`parse`] says
//! [`Parse::Incomplete`] until then, and [`Parse::Invalid`] as soon as the bytes cannot become
//! one (the server then closes, as the old one did).

use serde_json::Value;

/// The most bytes a request may take; the old clients send about 45.
pub const MAX_REQUEST: usize = 4096;

/// A complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `{"type": "request", "command": "GET POOLS"}`: the pool list.
    GetPools,
}

/// What the bytes received so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// A complete request.
    Complete(Request),
    /// Not a whole JSON object yet: read more.
    Incomplete,
    /// Cannot become a request, and why (for the log).
    Invalid(String),
}

/// Parses the bytes received so far (leading and trailing whitespace allowed).
pub fn parse(buf: &[u8]) -> Parse {
    let start = buf.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return incomplete_unless_too_long(buf);
    };
    if buf[start] != b'{' {
        return Parse::Invalid("not a JSON object".to_string());
    }
    let mut values = serde_json::Deserializer::from_slice(&buf[start..]).into_iter::<Value>();
    match values.next() {
        Some(Ok(value)) => command(&value),
        Some(Err(e)) if e.is_eof() => incomplete_unless_too_long(buf),
        Some(Err(e)) => Parse::Invalid(format!("bad JSON: {e}")),
        None => incomplete_unless_too_long(buf),
    }
}

fn incomplete_unless_too_long(buf: &[u8]) -> Parse {
    if buf.len() >= MAX_REQUEST {
        return Parse::Invalid(format!("no complete request in {} bytes", buf.len()));
    }
    Parse::Incomplete
}

/// The request a complete JSON object asks for.
fn command(value: &Value) -> Parse {
    let field = |key: &str| value.get(key).and_then(Value::as_str);
    match (field("type"), field("command")) {
        (Some("request"), Some("GET POOLS")) => Parse::Complete(Request::GetPools),
        (Some("request"), Some(other)) => Parse::Invalid(format!("unknown command {other:?}")),
        (Some("request"), None) => Parse::Invalid("no command".to_string()),
        (other, _) => Parse::Invalid(format!("type is {other:?}, not \"request\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const OLD: &str = r#"{"type": "request", "command": "GET POOLS"}"#;

    #[rstest]
    #[case::old_client(OLD, Parse::Complete(Request::GetPools))]
    #[case::compact(
        r#"{"type":"request","command":"GET POOLS"}"#,
        Parse::Complete(Request::GetPools)
    )]
    #[case::whitespace(
        "\r\n {\"command\": \"GET POOLS\", \"type\": \"request\", \"x\": 1} \n",
        Parse::Complete(Request::GetPools)
    )]
    #[case::empty("", Parse::Incomplete)]
    #[case::blank("  \n", Parse::Incomplete)]
    #[case::open_brace("{", Parse::Incomplete)]
    #[case::half(r#"{"type": "request", "comm"#, Parse::Incomplete)]
    #[case::unclosed(r#"{"type": "request", "command": "GET POOLS""#, Parse::Incomplete)]
    #[case::half_utf8("{\"type\": \"\u{e9}", Parse::Incomplete)]
    fn parses_complete_and_partial_requests(#[case] input: &str, #[case] expected: Parse) {
        assert_eq!(parse(input.as_bytes()), expected);
    }

    #[rstest]
    #[case::garbage("hello\r\n", "not a JSON object")]
    #[case::http("GET / HTTP/1.1\r\n", "not a JSON object")]
    #[case::array("[1, 2]", "not a JSON object")]
    #[case::bad_json("{\"type\" 1}", "bad JSON")]
    #[case::unknown_command(r#"{"type": "request", "command": "DROP POOLS"}"#, "unknown command")]
    #[case::no_command(r#"{"type": "request"}"#, "no command")]
    #[case::wrong_type(r#"{"type": "response", "command": "GET POOLS"}"#, "not \"request\"")]
    #[case::no_type(r#"{"command": "GET POOLS"}"#, "None")]
    fn rejects_what_cannot_be_a_request(#[case] input: &str, #[case] why: &str) {
        match parse(input.as_bytes()) {
            Parse::Invalid(reason) => assert!(reason.contains(why), "{reason}"),
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn every_prefix_of_the_old_request_is_incomplete() {
        for end in 0..OLD.len() {
            assert_eq!(parse(&OLD.as_bytes()[..end]), Parse::Incomplete, "{end}");
        }
    }

    #[test]
    fn bytes_after_the_object_do_not_matter() {
        let two = format!("{OLD}{OLD}");
        assert_eq!(parse(two.as_bytes()), Parse::Complete(Request::GetPools));
    }

    #[test]
    fn an_endless_request_is_invalid() {
        let long = format!("{{\"type\": \"{}", "x".repeat(MAX_REQUEST));
        assert!(matches!(parse(long.as_bytes()), Parse::Invalid(_)));
    }
}
