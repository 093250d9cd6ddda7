//! Duplicate keys in JSON text that serde_json reads too (before the scan, or beside it for large
//! bodies, see `Envelope::read`): one byte scan, no parsing. Its findings count only when
//! serde_json accepted the text; on any other text it must merely not panic (tested on every
//! prefix of envelopes with multi-byte text). Valid JSON lets a scanner track strings, nesting and which string is a key
//! (the first string of an object, and the first after each comma in an object), and jump over
//! string text to the next quote or backslash at once; only keys holding an escape are decoded.
//! This replaces a second serde pass over the whole body, which cost as much as the parse itself
//! (14 ms of a 10 MB task list). On the way the scan splits each block's task list into tasks
//! (where each starts and ends, and whether it holds an escape), which the shield used to do in
//! a walk of its own over the same megabytes. A flat task, the bulk of a large job, is read by a
//! fast path ([`flat`]) that finds the same as this general path.
//!
//! serde_json skips raw values without decoding them, so three things its full parse refuses pass
//! the skip: a `\u` escape of a lone surrogate, a number beyond `f64`, and nesting deeper than its
//! recursion limit (128). rapidjson (afserver) refuses the first two, and its recursive parser
//! could run out of stack on the third. The scan notes any surrogate escape, any number with an
//! exponent or many digits, and any nesting past [`DEEP`] as *suspect*, and the caller then has
//! serde_json parse the whole text.

use std::borrow::Cow;
use std::collections::HashSet;

use super::Item;

/// Objects with more keys than this are checked through a hash set.
const LINEAR_KEYS: usize = 16;

/// Nesting deeper than this is suspect (serde_json's full parse stops at 128).
const DEEP: usize = 64;

/// A key that an object holds twice: the key (decoded) and the byte offset of its second copy.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Duplicate {
    pub key: String,
    pub at: usize,
}

/// Where an open object or array sits in a job envelope: the scan splits the task list of every
/// block (`{"job":{"blocks":[{"tasks":[...]}]}}`) into its tasks on the way, so the shield need
/// not walk the list again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Top,
    Job,
    Blocks,
    /// A block object, and its index in `blocks`.
    Block(usize),
    /// A block's task list, and the block's index.
    Tasks(usize),
    Other,
}

/// One open object or array.
struct Level<'a> {
    object: bool,
    role: Role,
    /// Values begun in this array so far.
    values: usize,
    /// Where this object's keys start in the shared key list.
    base: usize,
    /// The keys, once there are too many for a linear search.
    many: Option<HashSet<Cow<'a, str>, foldhash::fast::RandomState>>,
}

/// The tasks of one block's task list, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TaskList<'a> {
    /// The block's index in `blocks`.
    pub block: usize,
    /// Each task's text, and whether a string in it holds an escape.
    pub items: Vec<Item<'a>>,
}

/// What a scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scan<'a> {
    /// The first key, in text order, that its object already holds.
    pub duplicate: Option<Duplicate>,
    /// A surrogate escape, a number that might be out of range or nesting past [`DEEP`] was seen
    /// before it.
    pub suspect: bool,
    /// Every block's task list, split (complete only when there is no duplicate).
    pub tasks: Vec<TaskList<'a>>,
}

/// Scans valid JSON `text` for a duplicate key (it stops at the first) and suspect values, and
/// splits the task lists of a job envelope.
pub(super) fn scan(text: &str) -> Scan<'_> {
    scan_with(text, true)
}

/// [`scan`], with or without the fast path for flat tasks.
fn scan_with(text: &str, flat: bool) -> Scan<'_> {
    let mut scanner = Scanner::new(text, flat);
    scanner.found.duplicate = scanner.run();
    scanner.found
}

struct Scanner<'a> {
    text: &'a str,
    levels: Vec<Level<'a>>,
    keys: Vec<Cow<'a, str>>,
    /// The next string is a key.
    want_key: bool,
    /// The role of a container opened as the value of the key just read.
    next_role: Role,
    /// A value may begin next in an array whose values are counted (`blocks`, a task list).
    expect_value: bool,
    /// The task being read: where it starts, whether it is an object, and whether a string in
    /// it holds an escape.
    item: Option<(usize, bool, bool)>,
    /// Flat tasks may be read by the fast path ([`flat`]); off to test the general path alone.
    flat: bool,
    found: Scan<'a>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, flat: bool) -> Self {
        Scanner {
            text,
            levels: Vec::with_capacity(16),
            keys: Vec::with_capacity(64),
            want_key: false,
            next_role: Role::Other,
            expect_value: false,
            item: None,
            flat,
            found: Scan::default(),
        }
    }

    fn run(&mut self) -> Option<Duplicate> {
        let b = self.text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b':') {
                i += 1;
                continue;
            }
            if self.expect_value && c != b']' {
                self.value_begins(i, c == b'{');
                // A task that is an object: most are flat.
                if c == b'{' && self.item.is_some() {
                    if let Some(end) = self.flat_object(i) {
                        i = end;
                        continue;
                    }
                }
            }
            match c {
                b'{' | b'[' => self.open(c == b'{'),
                b'}' | b']' => self.close(i),
                b',' => self.comma(i),
                b'"' => {
                    let (end, escaped) = string_end(b, i + 1, &mut self.found.suspect);
                    if let Some((_, _, item_escaped)) = self.item.as_mut() {
                        *item_escaped |= escaped;
                    }
                    if self.want_key {
                        // A key without an escape is its own text (when it is closed: the
                        // text may not have been validated yet, see `Envelope::read`).
                        let closed = end > i + 1 && b[end - 1] == b'"';
                        let key = match !escaped && closed {
                            true => Cow::Borrowed(&self.text[i + 1..end - 1]),
                            false => key_of(&self.text[i..end]),
                        };
                        if let Err(key) = self.remember(key) {
                            let key = key.into_owned();
                            return Some(Duplicate { key, at: i });
                        }
                        self.want_key = false;
                    }
                    i = end;
                    continue;
                }
                b'-' | b'0'..=b'9' => {
                    i = number_end(b, i, &mut self.found.suspect);
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// A value begins at `at` in `blocks` or a task list.
    fn value_begins(&mut self, at: usize, object: bool) {
        self.expect_value = false;
        if let Some(level) = self.levels.last_mut() {
            level.values += 1;
            if matches!(level.role, Role::Tasks(_)) {
                self.item = Some((at, object, false));
            }
        }
    }

    fn open(&mut self, object: bool) {
        let role = match self.levels.last() {
            None => [Role::Other, Role::Top][usize::from(object)],
            Some(parent) if parent.object => {
                let role = std::mem::replace(&mut self.next_role, Role::Other);
                let fits = match role {
                    Role::Job | Role::Block(_) | Role::Top => object,
                    Role::Blocks | Role::Tasks(_) => !object,
                    Role::Other => true,
                };
                [Role::Other, role][usize::from(fits)]
            }
            Some(parent) => match (parent.role, object) {
                (Role::Blocks, true) => Role::Block(parent.values.saturating_sub(1)),
                _ => Role::Other,
            },
        };
        self.found.suspect |= self.levels.len() >= DEEP;
        self.expect_value = matches!(role, Role::Blocks | Role::Tasks(_));
        if let Role::Tasks(block) = role {
            self.found.tasks.push(TaskList {
                block,
                items: Vec::new(),
            });
        }
        self.levels.push(Level {
            object,
            role,
            values: 0,
            base: self.keys.len(),
            many: None,
        });
        self.want_key = object;
    }

    fn close(&mut self, at: usize) {
        if let Some(level) = self.levels.pop() {
            self.keys.truncate(level.base);
            if matches!(level.role, Role::Tasks(_)) {
                self.item_ends(at);
            }
        }
        self.want_key = false;
        self.expect_value = false;
    }

    fn comma(&mut self, at: usize) {
        let Some(level) = self.levels.last() else {
            return;
        };
        self.want_key = level.object;
        self.expect_value = matches!(level.role, Role::Blocks | Role::Tasks(_));
        if matches!(level.role, Role::Tasks(_)) {
            self.item_ends(at);
        }
    }

    /// The task being read ends before `at` (a comma or the list's end).
    fn item_ends(&mut self, at: usize) {
        if let (Some((start, object, escaped)), Some(list)) =
            (self.item.take(), self.found.tasks.last_mut())
        {
            let text = self.text[start..at].trim_end();
            list.items.push(Item {
                text,
                escaped,
                object,
            });
        }
    }

    /// Adds `key` to the innermost object's keys; gives it back when it is there already.
    fn remember(&mut self, key: Cow<'a, str>) -> Result<(), Cow<'a, str>> {
        let Some(level) = self.levels.last_mut() else {
            return Ok(());
        };
        self.next_role = match (level.role, key.as_ref()) {
            (Role::Top, "job") => Role::Job,
            (Role::Job, "blocks") => Role::Blocks,
            (Role::Block(index), "tasks") => Role::Tasks(index),
            _ => Role::Other,
        };
        if let Some(set) = level.many.as_mut() {
            return match set.contains(&key) {
                true => Err(key),
                false => {
                    set.insert(key);
                    Ok(())
                }
            };
        }
        if self.keys[level.base..].contains(&key) {
            return Err(key);
        }
        self.keys.push(key);
        if self.keys.len() - level.base > LINEAR_KEYS {
            level.many = Some(self.keys.drain(level.base..).collect());
        }
        Ok(())
    }
}

/// Numbers longer than this (without an exponent) are suspect: past 18 digits serde_json reads
/// an integer as a float, and a float needs 309 digits to overflow, but checking is cheap.
const MAX_PLAIN_DIGITS: usize = 18;

/// The position just past the number at `at` (read loosely: serde_json checks it); one that
/// might be out of range sets `suspect`.
fn number_end(b: &[u8], at: usize, suspect: &mut bool) -> usize {
    let number_byte = |c: &&u8| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E');
    let len = b[at..].iter().take_while(number_byte).count();
    let number = &b[at..at + len];
    *suspect |= len > MAX_PLAIN_DIGITS || number.iter().any(|c| matches!(c, b'e' | b'E'));
    at + len
}

/// A key's value from its text (quotes included): the envelope's string reader; valid JSON
/// always holds one.
fn key_of(quoted: &str) -> Cow<'_, str> {
    super::json_str(quoted).unwrap_or_default()
}

/// The position just past the closing quote of the string whose text starts at `from`, and
/// whether it holds an escape; a surrogate escape (`\uD800`-`\uDFFF`) sets `suspect`.
fn string_end(b: &[u8], mut from: usize, suspect: &mut bool) -> (usize, bool) {
    let mut escaped = false;
    while let Some(p) = quote_or_backslash(b.get(from..).unwrap_or_default()) {
        let at = from + p;
        if b[at] == b'"' {
            return (at + 1, escaped);
        }
        escaped = true;
        if b.get(at + 1) == Some(&b'u') && matches!(b.get(at + 2), Some(b'd' | b'D')) {
            *suspect |= matches!(b.get(at + 3), Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'));
        }
        from = at + 2; // a backslash and the character it escapes
    }
    (b.len(), escaped)
}

/// The index of the first `"` or `\` in `b`, eight bytes at a time. Most strings of a task list
/// are a few dozen bytes long, where a call to `memchr2` costs more than it saves: this made the
/// scan of a 10 MB task list about a tenth faster.
#[inline]
fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const SLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    // Flags the zero bytes of `x`; a flag above the lowest may be false, the lowest never is.
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let hits = zero_bytes(word ^ QUOTES) | zero_bytes(word ^ SLASHES);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let mut rest = chunks.remainder().iter();
    rest.position(|&c| c == b'"' || c == b'\\').map(|p| at + p)
}

/// Line and column (1-based, columns in bytes) of byte `at`, for messages.
pub(super) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at.min(text.len())];
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let column = at - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1) + 1;
    (line, column)
}

#[path = "dupkeys_flat.rs"]
mod flat;
#[cfg(test)]
#[path = "dupkeys_tasks_tests.rs"]
mod tasks_tests;
#[cfg(test)]
#[path = "dupkeys_tests.rs"]
mod tests;
