//! Reading raw JSON values (already-validated request text) the way afserver's `jr_*` helpers do:
//! a value of the wrong type is simply not there. Objects are read as ordered `(key, raw value)`
//! lists where the first copy of a key counts (rapidjson's member lookup), and strings are decoded
//! only when their text holds an escape.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

use crate::job::envelope::Key;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The integer a raw JSON value holds, read like rapidjson's `IsInt64`/`GetInt64`: an integer
/// literal that fits int64. Unlike serde_json, rapidjson reads `-0` as the integer 0.
pub(super) fn int(raw: &str) -> Option<i64> {
    match raw {
        "-0" => Some(0),
        _ => serde_json::from_str(raw).ok(),
    }
}

/// The JSON kind of a raw value, for messages (`"a number"`, `"null"`, ...).
pub(super) fn kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The elements of a raw JSON array, as text; `None` when the value is not an array. One scan
/// of the bytes, no parsing: the text is valid JSON (the envelope reader checked it), so tracking
/// strings and nesting is enough to find where each element starts and ends. (A block's task
/// list is split by the envelope reader's scan instead, see `Block::tasks_split`.)
pub(super) fn array(raw: &str) -> Option<Vec<&str>> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let (mut items, mut start) = (Vec::new(), None);
    let (mut depth, mut i) = (0usize, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if depth == 1 && start.is_none() && !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b']')
        {
            start = Some(i);
        }
        match b {
            b'"' => {
                i = string_end(bytes, i + 1);
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            _ => {}
        }
        if (b == b',' && depth == 1) || depth == 0 {
            if let Some(s) = start.take() {
                items.push(raw[s..i].trim_end());
            }
        }
        if depth == 0 {
            break;
        }
        i += 1;
    }
    Some(items)
}

/// The position just past the closing quote of the string whose text starts at `from`; skips to
/// each quote or backslash at once.
fn string_end(bytes: &[u8], mut from: usize) -> usize {
    while let Some(p) = memchr::memchr2(b'"', b'\\', bytes.get(from..).unwrap_or_default()) {
        let at = from + p;
        if bytes[at] == b'"' {
            return at + 1;
        }
        from = at + 2; // a backslash and the character it escapes
    }
    bytes.len()
}

/// A JSON object's members in request order, keys decoded, values raw.
#[derive(Debug, Default)]
pub(super) struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// The members of a raw JSON object; `None` when the value is not an object.
    pub fn parse(raw: &'a str) -> Option<Self> {
        if !raw.starts_with('{') {
            return None;
        }
        serde_json::from_str(raw).ok()
    }

    /// The raw value of the first member named `key` (rapidjson's `FindMember`).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.get())
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            out.push((key, map.next_value::<&RawValue>()?));
        }
        Ok(Members(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::envelope::json_str;
    use rstest::rstest;

    #[rstest]
    #[case(r#""abc""#, Some("abc"))]
    #[case(r#""a\"b""#, Some("a\"b"))]
    #[case(r#""a\u0000b""#, Some("a\0b"))]
    #[case(r#""C:\\new""#, Some("C:\\new"))]
    #[case("5", None)]
    #[case("null", None)]
    #[case("[\"a\"]", None)]
    fn strings(#[case] raw: &str, #[case] want: Option<&str>) {
        assert_eq!(json_str(raw).as_deref(), want);
    }

    #[test]
    fn members_keep_order_and_first_copy_wins() {
        let m = Members::parse(r#"{"b":1,"a\"q":"x","b":2}"#).unwrap();
        let keys: Vec<&str> = m.0.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a\"q", "b"]);
        assert_eq!(m.get("b"), Some("1"));
        assert!(matches!(m.0[0].0, Cow::Borrowed(_)));
        assert!(Members::parse("[1]").is_none());
    }

    #[rstest]
    #[case("[]", &[])]
    #[case("[ ]", &[])]
    #[case("[1]", &["1"])]
    #[case(r#"[ {"a":[1,{"b":"]"}]} , "x,\"]" ,null,[[]],-2.5e3 ]"#, &[r#"{"a":[1,{"b":"]"}]}"#, r#""x,\"]""#, "null", "[[]]", "-2.5e3"])]
    #[case(r#"["\\\"",{}]"#, &[r#""\\\"""#, "{}"])]
    #[case(r#"[{"n":"a","c":"x\ny"}, {"n":"b"},{"n":"\u0041"} ,"q"]"#, &[r#"{"n":"a","c":"x\ny"}"#, r#"{"n":"b"}"#, r#"{"n":"\u0041"}"#, r#""q""#])]
    fn arrays(#[case] raw: &str, #[case] want: &[&str]) {
        assert_eq!(array(raw).unwrap(), want);
        let parsed: Vec<&RawValue> = serde_json::from_str(raw).unwrap();
        let parsed: Vec<&str> = parsed.iter().map(|v| v.get()).collect();
        assert_eq!(parsed, want, "agrees with serde_json");
    }

    #[rstest]
    #[case("5", Some(5))]
    #[case("-0", Some(0))]
    #[case("-9223372036854775808", Some(i64::MIN))]
    #[case("9223372036854775808", None)]
    #[case("1.0", None)]
    #[case("1e2", None)]
    #[case("-0.0", None)]
    #[case("\"5\"", None)]
    fn integers(#[case] raw: &str, #[case] want: Option<i64>) {
        assert_eq!(int(raw), want);
    }

    #[rstest]
    #[case("{}", "an object")]
    #[case("[1]", "an array")]
    #[case("\"x\"", "a string")]
    #[case("false", "a boolean")]
    #[case("null", "null")]
    #[case("-1.5", "a number")]
    fn kinds(#[case] raw: &str, #[case] want: &str) {
        assert_eq!(kind(raw), want);
        assert_eq!(array(raw).is_some(), raw.starts_with('['));
    }
}
