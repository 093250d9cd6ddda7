//! Reading a request body strictly, so that afpool and afserver cannot read it differently:
//! a UTF-8 BOM is skipped (afserver's `jsonParseData` does), the rest must be UTF-8 (afserver does
//! not check, afpool's parser would), one JSON object, and no object at any depth may hold a key
//! twice (afserver's rapidjson reads the first, serde the last: afpool refuses to guess).
//!
//! serde_json reads the grammar (a job's envelope parse does it on the way, see
//! [`super::Envelope::parse`]); duplicate keys are then found by a byte scan of the valid text
//! ([`super::dupkeys`]), not by a second parse.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use super::dupkeys;

/// Why afpool will not read a request body.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Bytes that are not UTF-8 (afserver would read them anyway).
    #[error("the request is not UTF-8 (invalid byte at {0})")]
    NotUtf8(usize),
    /// One object holds `key` twice.
    #[error(
        "the request has the key {key:?} twice in one object ({at}); afserver would read the \
         first and afpool will not guess"
    )]
    DuplicateKey {
        /// The key, unescaped.
        key: String,
        /// Where the second one is (line and column).
        at: String,
    },
    /// Not JSON, or not an object.
    #[error("the request is not a valid JSON object ({0})")]
    Json(#[from] serde_json::Error),
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The body as afserver's parser will see it (BOM skipped), checked: UTF-8, one JSON object, no
/// duplicate key at any depth. (Routing does these steps itself, see [`checked`].)
#[cfg(test)]
pub(crate) fn checked_text(body: &[u8]) -> Result<&str, BodyError> {
    let text = utf8_text(body)?;
    checked(text)?;
    Ok(text)
}

/// The body without its BOM, when it is UTF-8; the JSON is not read yet. Checked with SIMD
/// (`simdutf8`: a 10 MB task list in a fraction of the time of the standard check, which then
/// only runs to say where a bad body goes wrong).
pub(crate) fn utf8_text(body: &[u8]) -> Result<&str, BodyError> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    simdutf8::basic::from_utf8(body)
        .or_else(|_| std::str::from_utf8(body).map_err(|e| BodyError::NotUtf8(e.valid_up_to())))
}

/// `text` is one JSON object without duplicate keys.
pub(crate) fn checked(text: &str) -> Result<(), BodyError> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(AnyObject)?;
    de.end()?;
    no_duplicates(text).map(drop)
}

/// JSON `text` that serde_json could skip has no object that holds a key twice, and, when the
/// scan saw a surrogate escape or a long number, serde_json can read every value in it. Gives
/// the task lists of the job's blocks, split into tasks.
pub(crate) fn no_duplicates(text: &str) -> Result<Vec<dupkeys::TaskList<'_>>, BodyError> {
    let scan = dupkeys::scan(text);
    if scan.suspect {
        serde_json::from_str::<serde_json::Value>(text)?;
    }
    match scan.duplicate {
        None => Ok(scan.tasks),
        Some(d) => {
            let (line, column) = dupkeys::line_column(text, d.at);
            Err(BodyError::DuplicateKey {
                key: d.key,
                at: format!("line {line} column {column}"),
            })
        }
    }
}

/// Any JSON object, its values skipped.
struct AnyObject;

impl<'de> Visitor<'de> for AnyObject {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn many_keys(dup: bool) -> String {
        let mut keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        if dup {
            keys.push("\"k3\":0".into());
        }
        format!("{{\"job\":{{{}}}}}", keys.join(","))
    }

    #[rstest]
    #[case::top(br#"{"job":{},"job":{}}"#, "job")]
    #[case::job(br#"{"job":{"name":"a","user_name":"u","name":"b"}}"#, "name")]
    #[case::blocks(br#"{"job":{"blocks":[],"blocks":[{"tasks":[]}]}}"#, "blocks")]
    #[case::block(
        br#"{"job":{"blocks":[{"hosts_mask":"a","hosts_mask":"b"}]}}"#,
        "hosts_mask"
    )]
    #[case::task(
        br#"{"job":{"blocks":[{"tasks":[{"command":"a","command":"b"}]}]}}"#,
        "command"
    )]
    #[case::escaped(br#"{"job":{"blocks":1,"bl\u006fcks":2}}"#, "blocks")]
    #[case::get(br#"{"get":{"type":"jobs","type":"renders"}}"#, "type")]
    #[case::deep(br#"{"a":[[{"x":{"y":1,"y":2}}]]}"#, "y")]
    fn duplicate_keys_are_refused_at_any_depth(#[case] body: &[u8], #[case] key: &str) {
        match checked_text(body) {
            Err(BodyError::DuplicateKey { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicates_in_objects_with_many_keys_are_found() {
        assert!(checked_text(many_keys(false).as_bytes()).is_ok());
        let err = checked_text(many_keys(true).as_bytes()).unwrap_err();
        assert!(
            matches!(err, BodyError::DuplicateKey { ref key, .. } if key == "k3"),
            "{err}"
        );
    }

    #[rstest]
    #[case::sibling_objects(br#"{"a":{"x":1},"b":{"x":1},"x":[{"x":1},{"x":2}]}"#)]
    #[case::same_value_keys(br#"{"a":"a","b":{"a":"a"}}"#)]
    #[case::bom(b"\xEF\xBB\xBF{\"job\":{}}")]
    #[case::spaces(b" {\"get\":null} \r\n")]
    fn readable_bodies_pass(#[case] body: &[u8]) {
        let text = checked_text(body).unwrap();
        assert!(text.trim_start().starts_with('{'), "{text}");
    }

    #[rstest]
    #[case::latin1(b"{\"job\":{\"name\":\"caf\xE9\"}}")]
    #[case::bom_only_once(b"\xEF\xBB\xBF\xEF\xBB\xBF{}")]
    fn non_utf8_is_refused(#[case] body: &[u8]) {
        let err = checked_text(body).unwrap_err();
        assert!(
            matches!(err, BodyError::NotUtf8(_) | BodyError::Json(_)),
            "{err}"
        );
    }

    #[test]
    fn utf8_is_judged_as_the_standard_library_judges_it() {
        let mut rng = fastrand::Rng::with_seed(0x0de8);
        let pieces: [&[u8]; 9] = [
            b"a",
            b"{\"k\":1}",
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            b"\xE9",
            b"\xED\xA0\x80",
            b"\xC0\xAF",
            b"\xF0\x9F",
        ];
        let mut valid = 0;
        for _ in 0..20_000 {
            let mut body = Vec::new();
            for _ in 0..rng.usize(0..200) {
                let weights = rng.usize(0..100);
                body.extend_from_slice(
                    pieces[if weights < 90 {
                        weights % 5
                    } else {
                        weights % 9
                    }],
                );
            }
            let want = std::str::from_utf8(&body).map_err(|e| e.valid_up_to());
            let got = utf8_text(&body).map_err(|e| match e {
                BodyError::NotUtf8(at) => at,
                other => panic!("{other}"),
            });
            assert_eq!(got, want, "{body:?}");
            valid += usize::from(want.is_ok());
        }
        assert!((2_000..18_000).contains(&valid), "{valid} valid bodies");
    }

    #[rstest]
    #[case::array(b"[1]")]
    #[case::string(b"\"job\"")]
    #[case::truncated(b"{\"job\":{")]
    #[case::trailing(b"{} {}")]
    #[case::trailing_comma(b"{\"a\":1,}")]
    #[case::empty(b"")]
    #[case::nul(b"{}\0")]
    fn non_objects_and_broken_json_are_refused(#[case] body: &[u8]) {
        assert!(matches!(checked_text(body), Err(BodyError::Json(_))));
    }
}
