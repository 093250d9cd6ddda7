//! Reading a request body strictly, so that afpool and afserver cannot read it differently:
//! a UTF-8 BOM is skipped (afserver's `jsonParseData` does), the rest must be UTF-8 (afserver does
//! not check, afpool's parser would), one JSON object, and no object at any depth may hold a key
//! twice (afserver's rapidjson reads the first, serde the last: afpool refuses to guess).
//!
//! One pass with serde_json over the whole body, allocating nothing per key unless the key has
//! escapes; objects with many keys are checked through a hash set, so the pass stays linear.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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
/// duplicate key at any depth.
pub fn checked_text(body: &[u8]) -> Result<&str, BodyError> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| BodyError::NotUtf8(e.valid_up_to()))?;
    let mut keys = Keys::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let read = de
        .deserialize_map(ObjectVisitor(&mut keys))
        .and_then(|()| de.end());
    match (read, keys.duplicate) {
        (Err(e), Some(key)) => Err(BodyError::DuplicateKey {
            key,
            at: format!("line {} column {}", e.line(), e.column()),
        }),
        (Err(e), None) => Err(e.into()),
        (Ok(()), _) => Ok(text),
    }
}

/// Objects with more keys than this are checked through a hash set.
const LINEAR_KEYS: usize = 16;

/// The keys of the objects being read, innermost last, and the duplicate found.
#[derive(Default)]
struct Keys<'de> {
    stack: Vec<Cow<'de, str>>,
    duplicate: Option<String>,
}

impl<'de> Keys<'de> {
    /// Stop with an error naming `key` as a duplicate.
    fn duplicate<E: de::Error>(&mut self, key: &str) -> Result<(), E> {
        self.duplicate = Some(key.to_string());
        Err(E::custom("duplicate key"))
    }
}

/// Any JSON value, checked.
struct Value<'a, 'de>(&'a mut Keys<'de>);

impl<'de> DeserializeSeed<'de> for Value<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Value(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        ObjectVisitor(self.0).visit_map(map)
    }
}

/// A JSON object, checked: its keys go on the stack (or into a set when there are many) and come
/// off when it ends.
struct ObjectVisitor<'a, 'de>(&'a mut Keys<'de>);

impl<'de> Visitor<'de> for ObjectVisitor<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let keys = self.0;
        let base = keys.stack.len();
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            match many.as_mut() {
                Some(set) if set.contains(&key) => keys.duplicate(&key)?,
                Some(set) => {
                    set.insert(key);
                }
                None if keys.stack[base..].contains(&key) => keys.duplicate(&key)?,
                None => {
                    keys.stack.push(key);
                    if keys.stack.len() - base > LINEAR_KEYS {
                        many = Some(keys.stack.drain(base..).collect());
                    }
                }
            }
            map.next_value_seed(Value(&mut *keys))?;
        }
        keys.stack.truncate(base);
        Ok(())
    }
}

/// An object key, borrowed from the request unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
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
