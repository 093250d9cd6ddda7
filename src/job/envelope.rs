//! The job envelope `{"job":{...}}` held as raw JSON text. One pass over the request splits it into
//! the envelope's keys, the job's keys and one raw text per block; a second pass splits each block
//! into its keys. Tasks are never parsed: values stay borrowed `&RawValue` text and are written back
//! verbatim, key order is kept, and a block nobody changed is written back byte for byte.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON value as text: borrowed from the request, or newly written by the router.
#[derive(Debug)]
pub(crate) enum Raw<'a> {
    /// Unchanged request text.
    In(&'a RawValue),
    /// Text written by the router.
    New(Box<RawValue>),
}

impl Raw<'_> {
    fn text(&self) -> &str {
        match self {
            Raw::In(r) => r.get(),
            Raw::New(b) => b.get(),
        }
    }
}

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Raw::In(r) => r.serialize(s),
            Raw::New(b) => b.serialize(s),
        }
    }
}

/// Read and write access to the keys of a JSON object held as raw text.
pub(crate) trait Fields {
    /// The raw text of `key`, if present.
    fn raw(&self, key: &str) -> Option<&str>;
    /// Set `key` (in place when present, else appended).
    fn put(&mut self, key: &str, value: Box<RawValue>);
    /// Remove `key`, keeping the order of the others; true if it was there.
    fn remove(&mut self, key: &str) -> bool;

    /// `key` as a string; `None` when absent or not a JSON string.
    fn str_of(&self, key: &str) -> Option<String> {
        self.raw(key).and_then(|t| serde_json::from_str(t).ok())
    }
    /// `key` as an integer; `None` when absent or not an integer.
    fn i64_of(&self, key: &str) -> Option<i64> {
        self.raw(key).and_then(|t| serde_json::from_str(t).ok())
    }
    /// Set `key` to a JSON string.
    fn set_str(&mut self, key: &str, value: &str) {
        let text = serde_json::to_string(value).expect("a string always serializes");
        self.put(
            key,
            RawValue::from_string(text).expect("a JSON string is valid JSON"),
        );
    }
    /// Set `key` to `true` or `false`.
    fn set_bool(&mut self, key: &str, value: bool) {
        self.put(
            key,
            RawValue::from_string(value.to_string()).expect("a bool is valid JSON"),
        );
    }
}

/// One block: its raw text, and its keys (`None` when the block is not a JSON object).
#[derive(Debug)]
pub(crate) struct Block<'a> {
    raw: &'a RawValue,
    /// The block's keys, `None` when the block is not an object.
    pub fields: Option<IndexMap<String, Raw<'a>>>,
    dirty: bool,
}

impl<'a> Block<'a> {
    fn parse(raw: &'a RawValue) -> Self {
        let fields = serde_json::from_str::<IndexMap<String, &RawValue>>(raw.get())
            .ok()
            .map(|m| m.into_iter().map(|(k, v)| (k, Raw::In(v))).collect());
        Block {
            raw,
            fields,
            dirty: false,
        }
    }
}

impl Fields for Block<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.fields.as_ref()?.get(key).map(Raw::text)
    }
    fn put(&mut self, key: &str, value: Box<RawValue>) {
        if let Some(f) = self.fields.as_mut() {
            f.insert(key.to_string(), Raw::New(value));
            self.dirty = true;
        }
    }
    fn remove(&mut self, key: &str) -> bool {
        let removed = self
            .fields
            .as_mut()
            .is_some_and(|f| f.shift_remove(key).is_some());
        self.dirty |= removed;
        removed
    }
}

impl Serialize for Block<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (&self.fields, self.dirty) {
            (Some(fields), true) => fields.serialize(s),
            _ => self.raw.serialize(s),
        }
    }
}

/// A job key's value: raw text, the parsed `blocks` array, or a `blocks` value that is not an array.
#[derive(Debug)]
pub(crate) enum JobField<'a> {
    /// Any key but `blocks`.
    Value(Raw<'a>),
    /// `blocks`, an array.
    Blocks(Vec<Block<'a>>),
    /// `blocks` of another JSON type (named); such a job is never forwarded.
    NotArray(&'static str),
}

/// The job object.
#[derive(Debug, Default)]
pub(crate) struct Job<'a> {
    /// The job's keys in request order.
    pub fields: IndexMap<String, JobField<'a>>,
}

impl<'a> Job<'a> {
    /// The blocks: `None` when `blocks` is absent, `Some(Err(kind))` when it is not an array.
    pub fn blocks(&self) -> Option<Result<&[Block<'a>], &'static str>> {
        match self.fields.get("blocks")? {
            JobField::Blocks(b) => Some(Ok(b)),
            JobField::NotArray(kind) => Some(Err(kind)),
            JobField::Value(_) => Some(Err("a value")),
        }
    }

    /// The blocks, mutable (empty when there are none).
    pub fn blocks_mut(&mut self) -> &mut [Block<'a>] {
        match self.fields.get_mut("blocks") {
            Some(JobField::Blocks(b)) => b,
            _ => &mut [],
        }
    }
}

impl Fields for Job<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        match self.fields.get(key)? {
            JobField::Value(v) => Some(v.text()),
            _ => None,
        }
    }
    fn put(&mut self, key: &str, value: Box<RawValue>) {
        self.fields
            .insert(key.to_string(), JobField::Value(Raw::New(value)));
    }
    fn remove(&mut self, key: &str) -> bool {
        self.fields.shift_remove(key).is_some()
    }
}

impl Serialize for JobField<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JobField::Value(v) => v.serialize(s),
            JobField::Blocks(blocks) => {
                let mut seq = s.serialize_seq(Some(blocks.len()))?;
                for b in blocks {
                    seq.serialize_element(b)?;
                }
                seq.end()
            }
            JobField::NotArray(_) => Err(ser::Error::custom("blocks is not an array")),
        }
    }
}

impl Serialize for Job<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(s)
    }
}

/// A top-level key's value: raw text, the job object, or a `job` value that is not an object.
#[derive(Debug)]
pub(crate) enum TopField<'a> {
    /// Any key but `job`.
    Value(&'a RawValue),
    /// `job`, an object.
    Job(Job<'a>),
    /// `job` of another JSON type (named).
    NotObject(&'static str),
}

/// The whole request body.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    fields: IndexMap<String, TopField<'a>>,
}

impl<'a> Envelope<'a> {
    /// Parse a request body; blocks are split into keys, tasks stay raw.
    pub fn parse(body: &'a [u8]) -> serde_json::Result<Self> {
        let mut env: Envelope<'a> = serde_json::from_slice(body)?;
        for field in env.fields.values_mut() {
            if let TopField::Job(job) = field {
                parse_blocks(job);
            }
        }
        Ok(env)
    }

    /// The job: `Err(kind)` when `job` is missing (`"missing"`) or not an object.
    pub fn job_mut(&mut self) -> Result<&mut Job<'a>, &'static str> {
        match self.fields.get_mut("job") {
            Some(TopField::Job(job)) => Ok(job),
            Some(TopField::NotObject(kind)) => Err(kind),
            _ => Err("missing"),
        }
    }

    /// The envelope as JSON bytes (compact between keys, values verbatim).
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(&self.fields).expect("a checked job always serializes")
    }
}

/// Is `body` a job submission? afserver looks at the top-level keys in the order `get`, `action`,
/// `job`, ..., so it is one iff it is a JSON object with a `job` key and neither `get` nor `action`.
/// Bodies without the text `"job"` (and no `\u` escape that could spell it) are refused unparsed.
pub fn is_job_submission(body: &[u8]) -> bool {
    if !contains(body, b"\"job\"") && !contains(body, b"\\u") {
        return false;
    }
    match serde_json::from_slice::<IndexMap<String, &RawValue>>(body) {
        Ok(top) => {
            top.contains_key("job") && !top.contains_key("get") && !top.contains_key("action")
        }
        Err(_) => false,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn parse_blocks(job: &mut Job<'_>) {
    if let Some(JobField::Blocks(blocks)) = job.fields.get_mut("blocks") {
        for b in blocks.iter_mut() {
            *b = Block::parse(b.raw);
        }
    }
}

impl Serialize for TopField<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TopField::Value(v) => v.serialize(s),
            TopField::Job(job) => job.serialize(s),
            TopField::NotObject(_) => Err(ser::Error::custom("job is not an object")),
        }
    }
}

/// Generates the `Visitor` methods that accept any JSON value that is not the expected shape,
/// consuming it and returning its kind.
macro_rules! other_shapes {
    ($out:ty, $wrap:path) => {
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

/// Deserializes the top-level object, treating the `job` key specially.
impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(KeyedVisitor(Top))
            .map(|fields| Envelope { fields })
    }
}

/// How one object level reads its values: which key is special and how to read it.
trait Level<'de>: Copy {
    type Value;
    fn read_value<A: MapAccess<'de>>(self, key: &str, map: &mut A)
        -> Result<Self::Value, A::Error>;
}

#[derive(Clone, Copy)]
struct Top;
#[derive(Clone, Copy)]
struct JobLevel;

impl<'de> Level<'de> for Top {
    type Value = TopField<'de>;
    fn read_value<A: MapAccess<'de>>(
        self,
        key: &str,
        map: &mut A,
    ) -> Result<TopField<'de>, A::Error> {
        if key == "job" {
            map.next_value::<JobSlot<'de>>().map(|s| s.0)
        } else {
            map.next_value::<&RawValue>().map(TopField::Value)
        }
    }
}

impl<'de> Level<'de> for JobLevel {
    type Value = JobField<'de>;
    fn read_value<A: MapAccess<'de>>(
        self,
        key: &str,
        map: &mut A,
    ) -> Result<JobField<'de>, A::Error> {
        if key == "blocks" {
            map.next_value::<BlocksSlot<'de>>().map(|s| s.0)
        } else {
            map.next_value::<&RawValue>()
                .map(|r| JobField::Value(Raw::In(r)))
        }
    }
}

struct KeyedVisitor<L>(L);

impl<'de, L: Level<'de>> Visitor<'de> for KeyedVisitor<L> {
    type Value = IndexMap<String, L::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = IndexMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = self.0.read_value(&key, &mut map)?;
            out.insert(key, value);
        }
        Ok(out)
    }
}

/// The `job` value: the job when it is an object, else its kind.
struct JobSlot<'a>(TopField<'a>);

impl<'de> Deserialize<'de> for JobSlot<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JobSlotVisitor).map(JobSlot)
    }
}

struct JobSlotVisitor;

impl<'de> Visitor<'de> for JobSlotVisitor {
    type Value = TopField<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    other_shapes!(TopField<'de>, TopField::NotObject);
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let fields = KeyedVisitor(JobLevel).visit_map(map)?;
        Ok(TopField::Job(Job { fields }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopField::NotObject("an array"))
    }
}

/// The `blocks` value: raw block texts when it is an array, else its kind.
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
        while let Some(raw) = seq.next_element::<&RawValue>()? {
            blocks.push(Block {
                raw,
                fields: None,
                dirty: false,
            });
        }
        Ok(JobField::Blocks(blocks))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JobField::NotArray("an object"))
    }
}
