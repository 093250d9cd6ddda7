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

/// One element of a raw JSON array (a task of a task list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    /// Its text.
    pub text: &'a str,
    /// A string in it holds an escape (valid JSON has backslashes nowhere else).
    pub escaped: bool,
    /// It is an object (its text starts with `{`). Noted while splitting, so that checking a
    /// task list of megabytes never reads the tasks' text again.
    pub object: bool,
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
    /// Its `tasks` array split into tasks by the duplicate-key scan, when it is one.
    tasks: Option<Vec<Item<'a>>>,
}

impl<'a> Block<'a> {
    /// The tasks of its `tasks` array as the reader split them; `None` when it did not (the key
    /// is not an array, or the block was built otherwise).
    pub fn tasks_split(&self) -> Option<&[Item<'a>]> {
        self.tasks.as_deref()
    }
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
    /// duplicate-key scan runs on a second thread while serde_json reads the text (a farm's task
    /// lists run to megabytes, and the scan costs as much as the parse); the verdict is the same:
    /// a parse error first, then a duplicate key, then whatever `then` returns. The scan also
    /// splits every block's task list into tasks ([`Block::tasks_split`]) for the shield.
    pub fn read<T, F: FnOnce(Self) -> T>(text: &'a str, then: F) -> Result<T, BodyError> {
        let one_after_the_other = || Self::split(text)?.with_tasks(strict::no_duplicates(text));
        if text.len() < SCAN_BESIDE {
            return one_after_the_other().map(then);
        }
        std::thread::scope(|s| {
            // No thread to be had (a process limit): the same work on this one.
            let scanning =
                std::thread::Builder::new().spawn_scoped(s, || strict::no_duplicates(text));
            let Ok(scan) = scanning else {
                return one_after_the_other().map(then);
            };
            let read = Self::split(text);
            let scanned = scan.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            read?.with_tasks(scanned).map(then)
        })
    }

    /// The envelope once the scan found no duplicate key, each block holding its task list as
    /// the scan split it.
    fn with_tasks(
        mut self,
        scanned: Result<Vec<dupkeys::TaskList<'a>>, BodyError>,
    ) -> Result<Self, BodyError> {
        let lists = scanned?;
        if let Ok(job) = self.job_mut() {
            let blocks = job.blocks_mut();
            for list in lists {
                if let Some(block) = blocks.get_mut(list.block) {
                    block.tasks = Some(list.items);
                }
            }
        }
        Ok(self)
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
#[path = "envelope/tests.rs"]
mod tests;
