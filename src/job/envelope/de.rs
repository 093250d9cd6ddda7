//! Deserializing the envelope in one pass: the `job` key becomes a [`Job`], its `blocks` a list of
//! [`Block`]s split into keys; every other value stays borrowed raw text. A block's exact text is
//! found afterwards from where its first and last values sit in the request.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{field_map, Block, Envelope, FieldMap, Job, JobField, Raw, TopField};

/// Generates the `Visitor` methods that accept a JSON value of an unexpected shape, returning
/// `$wrap(kind)`.
macro_rules! other_shapes {
    ($out:ty, $wrap:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$out, E> {
            Ok($wrap("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$out, E> {
            Ok($wrap("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$out, E> {
            Ok($wrap("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$out, E> {
            Ok($wrap("a number"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$out, E> {
            Ok($wrap("a string"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<$out, E> {
            Ok($wrap("null"))
        }
    };
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Deserializes the top-level object, treating the `job` key specially.
impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TopVisitor)
            .map(|fields| Envelope { fields })
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = FieldMap<'de, TopField<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = FieldMap::default();
        while let Some(Key(key)) = map.next_key()? {
            let value = if key == "job" {
                map.next_value::<JobSlot<'de>>()?.0
            } else {
                TopField::Value(map.next_value::<&RawValue>()?.get())
            };
            out.insert(key, value);
        }
        Ok(out)
    }
}

/// The `job` value: the job when it is an object, else its kind.
struct JobSlot<'a>(TopField<'a>);

impl<'de> Deserialize<'de> for JobSlot<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JobVisitor).map(JobSlot)
    }
}

struct JobVisitor;

impl<'de> Visitor<'de> for JobVisitor {
    type Value = TopField<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    other_shapes!(TopField<'de>, TopField::NotObject);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = field_map();
        while let Some(Key(key)) = map.next_key()? {
            let value = if key == "blocks" {
                map.next_value::<BlocksSlot<'de>>()?.0
            } else {
                JobField::Value(Raw::In(map.next_value::<&RawValue>()?.get()))
            };
            fields.insert(key, value);
        }
        Ok(TopField::Job(Job { fields }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|_| TopField::NotObject("an array"))
    }
}

/// The `blocks` value: the blocks when it is an array, else its kind.
struct BlocksSlot<'a>(JobField<'a>);

impl<'de> Deserialize<'de> for BlocksSlot<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BlocksVisitor).map(BlocksSlot)
    }
}

struct BlocksVisitor;

impl<'de> Visitor<'de> for BlocksVisitor {
    type Value = JobField<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    other_shapes!(JobField<'de>, JobField::NotArray);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Vec::new();
        while let Some(block) = seq.next_element::<Block<'de>>()? {
            blocks.push(block);
        }
        Ok(JobField::Blocks(blocks))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|_| JobField::NotArray("an object"))
    }
}

fn not_object(_: &'static str) -> Block<'static> {
    Block {
        fields: None,
        verbatim: None,
        span: None,
        tasks: None,
    }
}

impl<'de> Deserialize<'de> for Block<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BlockVisitor)
    }
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = Block<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    other_shapes!(Block<'de>, not_object);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|_| not_object("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = field_map();
        let mut span: Option<(usize, usize)> = None;
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value::<&RawValue>()?.get();
            let (start, end) = (
                value.as_ptr() as usize,
                value.as_ptr() as usize + value.len(),
            );
            span = Some((span.map_or(start, |s| s.0), end));
            fields.insert(key, Raw::In(value));
        }
        Ok(Block {
            fields: Some(fields),
            verbatim: None,
            span,
            tasks: None,
        })
    }
}

/// An object key, borrowed from the request unless it holds an escape.
pub(crate) struct Key<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The text of the object whose first value starts at `start` and last value ends at `end`:
/// back over `"key" :` to `{`, forward to `}`. `None` if the text does not have that shape.
pub(super) fn enclosing_object(text: &str, start: usize, end: usize) -> Option<&str> {
    let b = text.as_bytes();
    let mut i = start.checked_sub(1)?;
    let back_ws = |mut i: usize| {
        while i > 0 && is_ws(b[i]) {
            i -= 1;
        }
        i
    };
    i = back_ws(i);
    (b[i] == b':').then_some(())?;
    i = back_ws(i.checked_sub(1)?);
    (b[i] == b'"').then_some(())?;
    i = opening_quote(b, i)?;
    i = back_ws(i.checked_sub(1)?);
    (b[i] == b'{').then_some(())?;
    let close = end + b.get(end..)?.iter().take_while(|&&c| is_ws(c)).count();
    (b.get(close) == Some(&b'}')).then(|| &text[i..=close])
}

/// The opening quote of the JSON string whose closing quote is at `close`.
fn opening_quote(b: &[u8], close: usize) -> Option<usize> {
    let mut i = close;
    loop {
        i = i.checked_sub(1)?;
        if b[i] == b'"' && b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 0 {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        r#"[ { "a" : 1 , "b":[2] } ]"#,
        "1",
        "[2]",
        Some(r#"{ "a" : 1 , "b":[2] }"#)
    )]
    #[case(r#"[{"k\"{\\":1}]"#, "1", "1", Some(r#"{"k\"{\\":1}"#))]
    #[case(r#"[{"a":"x"}]"#, "\"x\"", "\"x\"", Some(r#"{"a":"x"}"#))]
    fn finds_the_enclosing_object(
        #[case] text: &str,
        #[case] first: &str,
        #[case] last: &str,
        #[case] want: Option<&str>,
    ) {
        let start = text.find(first).unwrap();
        let end = text.rfind(last).unwrap() + last.len();
        assert_eq!(enclosing_object(text, start, end), want);
    }

    #[test]
    fn refuses_other_shapes() {
        assert_eq!(enclosing_object("[1]", 1, 2), None);
        assert_eq!(enclosing_object(r#"{"a":1,"b":2}"#, 10, 11), None);
    }
}
