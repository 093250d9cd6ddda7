//! Duplicate keys in JSON text that is already known to be valid (serde_json read it): one byte
//! scan, no parsing. Valid JSON lets a scanner track strings, nesting and which string is a key
//! (the first string of an object, and the first after each comma in an object), and jump over
//! string text to the next quote or backslash at once; only keys holding an escape are decoded.
//! This replaces a second serde pass over the whole body, which cost as much as the parse itself
//! (14 ms of a 10 MB task list).
//!
//! serde_json skips raw values without decoding them, so three things its full parse refuses pass
//! the skip: a `\u` escape of a lone surrogate, a number beyond `f64`, and nesting deeper than its
//! recursion limit (128). rapidjson (afserver) refuses the first two, and its recursive parser
//! could run out of stack on the third. The scan notes any surrogate escape, any number with an
//! exponent or many digits, and any nesting past [`DEEP`] as *suspect*, and the caller then has
//! serde_json parse the whole text.

use std::borrow::Cow;
use std::collections::HashSet;

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

/// One open object or array.
struct Level<'a> {
    object: bool,
    /// Where this object's keys start in the shared key list.
    base: usize,
    /// The keys, once there are too many for a linear search.
    many: Option<HashSet<Cow<'a, str>, foldhash::fast::RandomState>>,
}

/// What a scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scan {
    /// The first key, in text order, that its object already holds.
    pub duplicate: Option<Duplicate>,
    /// A surrogate escape, a number that might be out of range or nesting past [`DEEP`] was seen
    /// before it.
    pub suspect: bool,
}

/// Scans valid JSON `text` for a duplicate key (it stops at the first) and suspect values.
pub(super) fn scan(text: &str) -> Scan {
    let mut suspect = false;
    let duplicate = first_duplicate(text, &mut suspect);
    Scan { duplicate, suspect }
}

fn first_duplicate(text: &str, suspect: &mut bool) -> Option<Duplicate> {
    let b = text.as_bytes();
    let mut levels: Vec<Level<'_>> = Vec::with_capacity(16);
    let mut keys: Vec<Cow<'_, str>> = Vec::with_capacity(64);
    let mut want_key = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => {
                let object = b[i] == b'{';
                let base = keys.len();
                *suspect |= levels.len() >= DEEP;
                levels.push(Level {
                    object,
                    base,
                    many: None,
                });
                want_key = object;
            }
            b'}' | b']' => {
                if let Some(level) = levels.pop() {
                    keys.truncate(level.base);
                }
                want_key = false;
            }
            b',' => want_key = levels.last().is_some_and(|l| l.object),
            b'"' => {
                let end = string_end(b, i + 1, suspect);
                if want_key {
                    let level = levels.last_mut()?;
                    if let Err(key) = remember(level, &mut keys, key_of(&text[i..end])) {
                        let key = key.into_owned();
                        return Some(Duplicate { key, at: i });
                    }
                    want_key = false;
                }
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let len = b[i..]
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                let number = &b[i..i + len];
                *suspect |=
                    len > MAX_PLAIN_DIGITS || number.iter().any(|c| matches!(c, b'e' | b'E'));
                i += len;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Numbers longer than this (without an exponent) are suspect: past 18 digits serde_json reads
/// an integer as a float, and a float needs 309 digits to overflow, but checking is cheap.
const MAX_PLAIN_DIGITS: usize = 18;

/// Adds `key` to `level`'s keys; gives it back when it is there already.
fn remember<'a>(
    level: &mut Level<'a>,
    keys: &mut Vec<Cow<'a, str>>,
    key: Cow<'a, str>,
) -> Result<(), Cow<'a, str>> {
    if let Some(set) = level.many.as_mut() {
        return match set.contains(&key) {
            true => Err(key),
            false => {
                set.insert(key);
                Ok(())
            }
        };
    }
    if keys[level.base..].contains(&key) {
        return Err(key);
    }
    keys.push(key);
    if keys.len() - level.base > LINEAR_KEYS {
        level.many = Some(keys.drain(level.base..).collect());
    }
    Ok(())
}

/// A key's value from its text (quotes included): the envelope's string reader; valid JSON
/// always holds one.
fn key_of(quoted: &str) -> Cow<'_, str> {
    super::json_str(quoted).unwrap_or_default()
}

/// The position just past the closing quote of the string whose text starts at `from`; a
/// surrogate escape (`\uD800`-`\uDFFF`) sets `suspect`.
fn string_end(b: &[u8], mut from: usize, suspect: &mut bool) -> usize {
    while let Some(p) = memchr::memchr2(b'"', b'\\', b.get(from..).unwrap_or_default()) {
        let at = from + p;
        if b[at] == b'"' {
            return at + 1;
        }
        if b.get(at + 1) == Some(&b'u') && matches!(b.get(at + 2), Some(b'd' | b'D')) {
            *suspect |= matches!(b.get(at + 3), Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'));
        }
        from = at + 2; // a backslash and the character it escapes
    }
    b.len()
}

/// Line and column (1-based, columns in bytes) of byte `at`, for messages.
pub(super) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at.min(text.len())];
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let column = at - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1) + 1;
    (line, column)
}

#[cfg(test)]
#[path = "dupkeys_tests.rs"]
mod tests;
