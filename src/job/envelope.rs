//! The job envelope `{"job":{...}}` held as raw JSON text. The body is first read strictly
//! ([`strict`]: BOM, UTF-8, one object, no duplicate keys); one more pass splits it into the
//! envelope's keys, the job's keys, and each block's keys; every value (tasks included) stays
//! borrowed request text and is written back verbatim. Key order is kept, and a block nobody
//! changed is written back byte for byte.

use std::borrow::Cow;

/// The keys of one JSON object, in request order, borrowed from the request unless they hold an
/// escape (or the router added them). Hashed with foldhash (seeded per process): a job's keys are
/// looked up dozens of times per routing, and SipHash was a sixth of it. Under load, allocation
/// was a third of routing: keys are not copied, and maps start at [`FIELDS`] entries.
pub(crate) type FieldMap<'a, V> = indexmap::IndexMap<Cow<'a, str>, V, foldhash::fast::RandomState>;

/// The capacity a job's or block's key map starts with (af.py writes about 20 job keys).
pub(crate) const FIELDS: usize = 32;

/// Bodies of this size or more have their duplicate keys scanned on a second thread while
/// serde_json reads them ([`Envelope::read`]); below it, a thread costs more than it saves.
pub(crate) const SCAN_BESIDE: usize = 1 << 20;

/// An empty [`FieldMap`] with room for [`FIELDS`] keys.
pub(crate) fn field_map<'a, V>() -> FieldMap<'a, V> {
    FieldMap::with_capacity_and_hasher(FIELDS, Default::default())
}

/// The string a raw JSON value holds, if it is a string: borrowed when its text has no escape
/// (valid JSON string text without a backslash is its own value), decoded otherwise.
pub(crate) fn json_str(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

mod de;
mod dupkeys;
mod strict;
mod write;

pub(crate) use de::Key;
#[cfg(test)]
pub(crate) use strict::checked_text;
pub use strict::BodyError;
pub(crate) use strict::{checked, utf8_text};
pub use write::Parts;

/// A JSON value as text: borrowed from the request, or newly written by the router.
#[derive(Debug)]
pub(crate) enum Raw<'a> {
    /// Unchanged request text.
    In(&'a str),
    /// Text written by the router (always valid JSON).
    New(String),
}

impl Raw<'_> {
    fn text(&self) -> &str {
        match self {
            Raw::In(t) => t,
            Raw::New(t) => t,
        }
    }
}

/// Read and write access to the keys of a JSON object held as raw text.
pub(crate) trait Fields {
    /// The raw text of `key`, if present.
    fn raw(&self, key: &str) -> Option<&str>;
    /// Set `key` to JSON text (in place when present, else appended).
    fn put(&mut self, key: &str, json: String);
    /// Remove `key`, keeping the order of the others; true if it was there.
    fn remove(&mut self, key: &str) -> bool;

    /// `key` as a string; `None` when absent or not a JSON string.
    fn str_of(&self, key: &str) -> Option<String> {
        self.text_of(key).map(Cow::into_owned)
    }
    /// `key` as a string, borrowed when it holds no escape; `None` when absent or not a string.
    fn text_of(&self, key: &str) -> Option<Cow<'_, str>> {
        self.raw(key).and_then(json_str)
    }
    /// `key` as an integer; `None` when absent or not an integer.
    fn i64_of(&self, key: &str) -> Option<i64> {
        self.raw(key).and_then(|t| serde_json::from_str(t).ok())
    }
    /// Set `key` to a JSON string.
    fn set_str(&mut self, key: &str, value: &str) {
        self.put(
            key,
            serde_json::to_string(value).expect("a string always serializes"),
        );
    }
    /// Set `key` to `true` or `false`.
    fn set_bool(&mut self, key: &str, value: bool) {
        self.put(key, value.to_string());
    }
}

/// One block: its keys (`None` when the block is not a JSON object) and, while unchanged, its
/// exact request text.
#[derive(Debug)]
pub(crate) struct Block<'a> {
    /// The block's keys, `None` when the block is not an object.
    pub fields: Option<FieldMap<'a, Raw<'a>>>,
    /// The block's request text; dropped when the block changes.
    verbatim: Option<&'a str>,
    /// Addresses of the first value's start and the last value's end while parsing.
    span: Option<(usize, usize)>,
}

impl Fields for Block<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.fields.as_ref()?.get(key).map(Raw::text)
    }
    fn put(&mut self, key: &str, json: String) {
        if let Some(f) = self.fields.as_mut() {
            f.insert(Cow::Owned(key.to_string()), Raw::New(json));
            self.verbatim = None;
        }
    }
    fn remove(&mut self, key: &str) -> bool {
        let removed = self
            .fields
            .as_mut()
            .is_some_and(|f| f.shift_remove(key).is_some());
        if removed {
            self.verbatim = None;
        }
        removed
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
    pub fields: FieldMap<'a, JobField<'a>>,
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
    fn put(&mut self, key: &str, json: String) {
        self.fields
            .insert(Cow::Owned(key.to_string()), JobField::Value(Raw::New(json)));
    }
    fn remove(&mut self, key: &str) -> bool {
        self.fields.shift_remove(key).is_some()
    }
}

/// A top-level key's value: raw text, the job object, or a `job` value that is not an object.
#[derive(Debug)]
pub(crate) enum TopField<'a> {
    /// Any key but `job`.
    Value(&'a str),
    /// `job`, an object.
    Job(Job<'a>),
    /// `job` of another JSON type (named).
    NotObject(&'static str),
}

/// The whole request body.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    fields: FieldMap<'a, TopField<'a>>,
}

impl<'a> Envelope<'a> {
    /// Read a request body strictly (UTF-8 after an optional BOM, one JSON object, no duplicate
    /// key at any depth) and parse it; tasks stay raw.
    pub fn parse(body: &'a [u8]) -> Result<Self, BodyError> {
        Self::from_text(utf8_text(body)?)
    }

    /// Parse the text of a body ([`utf8_text`]) strictly: serde_json reads the grammar while it
    /// splits the envelope, then one scan looks for duplicate keys; tasks stay raw.
    pub fn from_text(text: &'a str) -> Result<Self, BodyError> {
        Self::read(text, |env| env)
    }

    /// [`Envelope::from_text`], then `then` on the envelope. From [`SCAN_BESIDE`] bytes the
    /// duplicate-key scan runs on a second thread meanwhile (a farm's task lists run to
    /// megabytes, and the scan costs as much as the parse); the verdict is the same: a parse
    /// error first, then a duplicate key, whatever `then` returned.
    pub fn read<T, F: FnOnce(Self) -> T>(text: &'a str, then: F) -> Result<T, BodyError> {
        let one_after_the_other = |then: F| {
            let env = Self::split(text)?;
            strict::no_duplicates(text)?;
            Ok(then(env))
        };
        if text.len() < SCAN_BESIDE {
            return one_after_the_other(then);
        }
        std::thread::scope(|s| {
            // No thread to be had (a process limit): the same work on this one.
            let scanning =
                std::thread::Builder::new().spawn_scoped(s, || strict::no_duplicates(text));
            let Ok(scan) = scanning else {
                return one_after_the_other(then);
            };
            let read = Self::split(text).map(then);
            let scanned = scan.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            let read = read?;
            scanned.map(|()| read)
        })
    }

    /// serde_json's read of the text, and each unchanged block's exact text.
    fn split(text: &'a str) -> Result<Self, BodyError> {
        let mut env: Envelope<'a> = serde_json::from_str(text)?;
        if let Ok(job) = env.job_mut() {
            let base = text.as_ptr() as usize;
            for block in job.blocks_mut() {
                let span = block.span.take().map(|(s, e)| (s - base, e - base));
                block.verbatim = span.and_then(|(s, e)| de::enclosing_object(text, s, e));
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

    /// True when afserver reads this body as a job submission (`threadprocessjson.cpp` checks
    /// `get`, then `action`, then `job`): a `job` key, no `action` key, and no `get` whose value
    /// is an object (`{"get":null,"job":{...}}` registers the job).
    pub fn is_submission(&self) -> bool {
        let get_object =
            matches!(self.fields.get("get"), Some(TopField::Value(v)) if v.starts_with('{'));
        self.fields.contains_key("job") && !self.fields.contains_key("action") && !get_object
    }

    /// The envelope as JSON bytes (compact between keys, values verbatim).
    pub fn to_vec(&self) -> Vec<u8> {
        write::envelope(self)
    }

    /// The same bytes as [`Envelope::to_vec`], with long request text borrowed in place.
    pub fn to_parts(&self) -> Parts<'a> {
        write::envelope_parts(self)
    }
}

/// Is `body` a job submission afpool can read? It must pass the strict read, and afserver must
/// read it as one ([`Envelope::is_submission`]). Bodies without the text `"job"` (and no `\u`
/// escape that could spell it) are refused unparsed.
pub fn is_job_submission(body: &[u8]) -> bool {
    might_be_submission(body) && Envelope::parse(body).is_ok_and(|env| env.is_submission())
}

/// Cheap pre-check: only a body holding the text `"job"` (or a `\u` escape that could spell it)
/// can be a job submission.
pub fn might_be_submission(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\"job\"").is_some() || memchr::memmem::find(body, b"\\u").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(br#"{"job":{"name":"x"}}"#, true)]
    #[case(br#"{"job":5}"#, true)]
    #[case(br#"{"get":{"type":"jobs"},"job":{}}"#, false)]
    #[case(br#"{"get":null,"job":{"name":"x"}}"#, true)]
    #[case(br#"{"get":"renders","job":{}}"#, true)]
    #[case(br#"{"get":[{"type":"jobs"}],"job":{}}"#, true)]
    #[case(br#"{"job":{},"action":{}}"#, false)]
    #[case(br#"{"job":{},"action":null}"#, false)]
    #[case(b"\xEF\xBB\xBF{\"job\":{}}", true)]
    #[case(br#"{"job":{},"job":{}}"#, false)]
    #[case(br#"{"jo\u0062":{}}"#, true)]
    #[case(br#"{"get":{"type":"renders"}}"#, false)]
    #[case(br#"{"monitor":{"job":1}}"#, false)]
    #[case(br#"["job"]"#, false)]
    #[case(br#"{"job":{"name":"x"}"#, false)]
    #[case(br#"{"job":{}} trailing"#, false)]
    #[case(b"", false)]
    fn recognises_job_submissions(#[case] body: &[u8], #[case] is_job: bool) {
        assert_eq!(is_job_submission(body), is_job);
    }

    const BODY: &str = "{\"z\": 1, \"job\": {\"name\": \"x\", \"blocks\": [ {\"name\": \"a\",  \"tasks\": [ {\"c\": \"\\u00e9\"} ]}, {\"name\": \"b\", \"flags\": 1} ], \"y\": [1, 2]}, \"a\": null}";

    #[test]
    fn untouched_envelope_keeps_order_and_value_bytes() {
        let env = Envelope::parse(BODY.as_bytes()).unwrap();
        let out = String::from_utf8(env.to_vec()).unwrap();
        assert_eq!(
            out,
            "{\"z\":1,\"job\":{\"name\":\"x\",\"blocks\":[{\"name\": \"a\",  \"tasks\": [ {\"c\": \"\\u00e9\"} ]},{\"name\": \"b\", \"flags\": 1}],\"y\":[1, 2]},\"a\":null}"
        );
    }

    #[test]
    fn changed_block_is_rewritten_and_others_stay_byte_identical() {
        let mut env = Envelope::parse(BODY.as_bytes()).unwrap();
        let job = env.job_mut().unwrap();
        job.blocks_mut()[1].set_str("hosts_mask", "r1.*");
        job.set_str("name", "y");
        job.remove("y");
        let out = String::from_utf8(env.to_vec()).unwrap();
        assert!(
            out.contains("{\"name\": \"a\",  \"tasks\": [ {\"c\": \"\\u00e9\"} ]}"),
            "{out}"
        );
        assert!(
            out.contains("{\"name\":\"b\",\"flags\":1,\"hosts_mask\":\"r1.*\"}"),
            "{out}"
        );
        assert!(
            out.starts_with("{\"z\":1,\"job\":{\"name\":\"y\",\"blocks\":"),
            "{out}"
        );
        assert!(out.ends_with("}]},\"a\":null}"), "{out}");
    }

    #[test]
    fn reads_typed_fields() {
        let mut env = Envelope::parse(BODY.as_bytes()).unwrap();
        let job = env.job_mut().unwrap();
        assert_eq!(job.str_of("name").as_deref(), Some("x"));
        assert_eq!(job.str_of("y"), None);
        let blocks = job.blocks().unwrap().unwrap();
        assert_eq!(blocks[1].i64_of("flags"), Some(1));
        assert_eq!(blocks[0].raw("tasks"), Some("[ {\"c\": \"\\u00e9\"} ]"));
    }

    #[rstest]
    #[case(br#"{"job":[1]}"#, Err("an array"))]
    #[case(br#"{"job":"x"}"#, Err("a string"))]
    #[case(br#"{"other":1}"#, Err("missing"))]
    #[case(br#"{"job":{"blocks":{"a":1}}}"#, Ok(Some(Err("an object"))))]
    #[case(br#"{"job":{"blocks":null}}"#, Ok(Some(Err("null"))))]
    #[case(br#"{"job":{}}"#, Ok(None))]
    fn odd_shapes_are_named(
        #[case] body: &[u8],
        #[case] want: Result<Option<Result<usize, &str>>, &str>,
    ) {
        let mut env = Envelope::parse(body).unwrap();
        let got = env.job_mut().map(|j| j.blocks().map(|b| b.map(<[_]>::len)));
        assert_eq!(got, want);
    }

    #[test]
    fn non_object_block_has_no_fields() {
        let env = Envelope::parse(br#"{"job":{"blocks":[5,{}]}}"#).unwrap();
        let mut env = env;
        let blocks = env.job_mut().unwrap().blocks().unwrap().unwrap();
        assert!(blocks[0].fields.is_none());
        assert!(blocks[1].fields.is_some());
    }
}
