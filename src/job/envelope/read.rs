//! Reading the envelope in the one strict parse ([`walk`](super::walk)): the `job` key becomes a
//! [`Job`], its `blocks` a list of [`Block`]s split into keys, and each block's `tasks` array a
//! list of tasks ([`Item`]s); every other value stays borrowed request text, checked at every
//! depth on the way. A block keeps its own exact text, where the parse found it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::walk::{scalars, Any, KeySeed, Reader, Span};
use super::{field_map, Block, BodyError, FieldMap, Item, Job, JobField, Raw, TopField};

/// Reads `text` strictly into the envelope's top-level keys.
pub(super) fn envelope(text: &str) -> Result<FieldMap<'_, TopField<'_>>, BodyError> {
    let mut reader = Reader::new(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let read = de
        .deserialize_map(Top(&mut reader))
        .and_then(|fields| de.end().map(|()| fields));
    reader.verdict(read)
}

/// Reads the keys of an object into `fields`, each value by `value` (given the key); a key the
/// object already holds is noted as repeated before its value is read (so that the first
/// repeated key in text order is the one reported).
fn members<'a, A: MapAccess<'a>, V>(
    r: &mut Reader<'a>,
    map: &mut A,
    fields: &mut FieldMap<'a, V>,
    mut value: impl FnMut(&mut Reader<'a>, &mut A, &str) -> Result<V, A::Error>,
) -> Result<(), A::Error> {
    while let Some((key, at)) = map.next_key_seed(KeySeed(r))? {
        if fields.contains_key(&key) {
            r.repeated(&key, at);
        }
        let v = value(r, map, &key)?;
        fields.insert(key, v);
    }
    Ok(())
}

/// The top-level object, treating the `job` key specially.
struct Top<'r, 'a>(&'r mut Reader<'a>);

impl<'a> Visitor<'a> for Top<'_, 'a> {
    type Value = FieldMap<'a, TopField<'a>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = FieldMap::default();
        self.0.open();
        members(self.0, &mut map, &mut out, |r, map, key| match key {
            "job" => map.next_value_seed(JobSeed(r)),
            _ => {
                let span = map.next_value_seed(Any(r))?;
                r.text_of(span).map(TopField::Value)
            }
        })?;
        self.0.close();
        Ok(out)
    }
}

/// The `job` value: the job when it is an object, else its kind.
struct JobSeed<'r, 'a>(&'r mut Reader<'a>);

impl<'a> DeserializeSeed<'a> for JobSeed<'_, 'a> {
    type Value = TopField<'a>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for JobSeed<'_, 'a> {
    type Value = TopField<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars!(TopField<'a>, |_, kind| TopField::NotObject(kind));
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = field_map();
        self.0.open();
        members(self.0, &mut map, &mut fields, |r, map, key| match key {
            "blocks" => map.next_value_seed(BlocksSeed(r)),
            _ => {
                let span = map.next_value_seed(Any(r))?;
                Ok(JobField::Value(Raw::In(r.text_of(span)?)))
            }
        })?;
        self.0.close();
        Ok(TopField::Job(Job { fields }))
    }
    fn visit_seq<A: SeqAccess<'a>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.seq(seq).map(|_| TopField::NotObject("an array"))
    }
}

/// The `blocks` value: the blocks when it is an array, else its kind.
struct BlocksSeed<'r, 'a>(&'r mut Reader<'a>);

impl<'a> DeserializeSeed<'a> for BlocksSeed<'_, 'a> {
    type Value = JobField<'a>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for BlocksSeed<'_, 'a> {
    type Value = JobField<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars!(JobField<'a>, |_, kind| JobField::NotArray(kind));
    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Vec::new();
        self.0.open();
        while let Some(block) = seq.next_element_seed(BlockSeed(self.0))? {
            blocks.push(block);
        }
        self.0.close();
        Ok(JobField::Blocks(blocks))
    }
    fn visit_map<A: MapAccess<'a>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.map(map).map(|_| JobField::NotArray("an object"))
    }
}

/// A block that is not an object.
fn not_object<'a>() -> Block<'a> {
    Block {
        fields: None,
        verbatim: None,
        span: None,
        tasks: None,
    }
}

/// One element of `blocks`.
struct BlockSeed<'r, 'a>(&'r mut Reader<'a>);

impl<'a> DeserializeSeed<'a> for BlockSeed<'_, 'a> {
    type Value = Block<'a>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for BlockSeed<'_, 'a> {
    type Value = Block<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars!(Block<'a>, |_, _| not_object());
    fn visit_seq<A: SeqAccess<'a>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.seq(seq).map(|_| not_object())
    }
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = field_map();
        let mut tasks = None;
        let start = self.0.open();
        members(self.0, &mut map, &mut fields, |r, map, key| {
            let span = match key {
                "tasks" => {
                    let (span, items) = map.next_value_seed(TasksSeed(r))?;
                    tasks = items;
                    span
                }
                _ => map.next_value_seed(Any(r))?,
            };
            r.text_of(span).map(Raw::In)
        })?;
        let end = self.0.close();
        let verbatim = match fields.is_empty() {
            true => None, // written back as `{}`
            false => Some(self.0.text_of((start, end))?),
        };
        Ok(Block {
            fields: Some(fields),
            verbatim,
            span: None,
            tasks,
        })
    }
}

/// A block's `tasks` value: its span, and its tasks when it is an array.
struct TasksSeed<'r, 'a>(&'r mut Reader<'a>);

impl<'a> DeserializeSeed<'a> for TasksSeed<'_, 'a> {
    type Value = (Span, Option<Vec<Item<'a>>>);
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for TasksSeed<'_, 'a> {
    type Value = (Span, Option<Vec<Item<'a>>>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars!(Self::Value, |span, _| (span, None));
    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let r = self.0;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let start = r.open();
        let escaped_before = std::mem::take(&mut r.escaped);
        while let Some(span) = seq.next_element_seed(Any(r))? {
            let text = r.text_of(span)?;
            let escaped = std::mem::take(&mut r.escaped);
            let object = text.starts_with('{');
            items.push(Item {
                text,
                escaped,
                object,
            });
        }
        r.escaped = escaped_before || items.iter().any(|i| i.escaped);
        Ok(((start, r.close()), Some(items)))
    }
    fn visit_map<A: MapAccess<'a>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.map(map).map(|span| (span, None))
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
