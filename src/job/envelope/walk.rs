//! The one strict parse of a request body: serde_json reads every value at every depth (strings
//! decoded, numbers converted, nesting limited to 128, as its full parse does), and every object's
//! keys are checked on the way, in the `visit_map` that reads them: the first key, in text order,
//! that its object already holds is noted (afserver's rapidjson reads the first copy, serde the
//! last: afpool refuses to guess). The parse goes on to the end, so that text that is not JSON is
//! refused as such even after a repeated key.
//!
//! serde_json does not say where a value sits in the text, and the envelope keeps its values as
//! request text: a [`Reader`] follows the parse with a cursor. A string without an escape is
//! handed over borrowed from the text, which places it; between values there are only
//! whitespace, `,` and `:` (serde_json has read them already), so the cursor steps over those,
//! over the digits of a number, and over the text of a string that holds an escape.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::BodyError;

/// Where a value sits in the text: its first byte and the byte after its last.
pub(super) type Span = (usize, usize);

/// Objects with more keys than this are checked through a hash set.
const LINEAR_KEYS: usize = 16;

/// The cursor and findings of one parse of `text`.
pub(super) struct Reader<'a> {
    text: &'a str,
    /// Where the cursor is: no value starts before it that the parse has not handed over yet.
    at: usize,
    /// A string holding an escape was read (the caller clears it to ask about one value).
    pub escaped: bool,
    /// The keys of the objects being read, innermost last (see [`Reader::map`]).
    keys: Vec<Cow<'a, str>>,
    /// The first repeated key: the key and where its second copy starts.
    duplicate: Option<(String, usize)>,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader {
            text,
            at: 0,
            escaped: false,
            keys: Vec::with_capacity(64),
            duplicate: None,
        }
    }

    /// The verdict on a parse that used this reader: a JSON error first (wherever it is), then
    /// the first repeated key, then `read`'s value.
    pub fn verdict<T>(self, read: Result<T, serde_json::Error>) -> Result<T, BodyError> {
        let value = read?;
        match self.duplicate {
            None => Ok(value),
            Some((key, at)) => {
                let (line, column) = line_column(self.text, at);
                Err(BodyError::DuplicateKey {
                    key,
                    at: format!("line {line} column {column}"),
                })
            }
        }
    }

    /// The first repeated key and its byte offset, for tests.
    #[cfg(test)]
    pub fn duplicate(&self) -> Option<(&str, usize)> {
        self.duplicate.as_ref().map(|(k, at)| (k.as_str(), *at))
    }

    /// Notes `key`, whose copy at `at` its object already holds, if it is the first such.
    pub fn repeated(&mut self, key: &str, at: usize) {
        if self.duplicate.is_none() {
            self.duplicate = Some((key.to_string(), at));
        }
    }

    /// The request text of `span`; an error if the cursor lost its place (it never should).
    pub fn text_of<E: de::Error>(&self, (start, end): Span) -> Result<&'a str, E> {
        self.text
            .get(start..end)
            .ok_or_else(|| E::custom("afpool's reader lost its place in the text"))
    }

    /// Where the next value or key starts: past whitespace, `,` and `:`.
    fn next(&self) -> usize {
        let b = self.text.as_bytes();
        let mut i = self.at;
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b':')) {
            i += 1;
        }
        i
    }

    /// An object or array begins: where, the cursor past its bracket.
    pub fn open(&mut self) -> usize {
        let start = self.next();
        self.at = start + 1;
        start
    }

    /// The object or array ends: the position past its bracket, the cursor there.
    pub fn close(&mut self) -> usize {
        self.at = self.next() + 1;
        self.at
    }

    /// A value of `len` bytes (a literal) was read.
    pub fn literal(&mut self, len: usize) -> Span {
        let start = self.next();
        self.at = start + len;
        (start, self.at)
    }

    /// A number was read.
    pub fn number(&mut self) -> Span {
        let start = self.next();
        let b = self.text.as_bytes();
        let number_byte = |c: &&u8| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E');
        self.at = start
            + b[start.min(b.len())..]
                .iter()
                .take_while(number_byte)
                .count();
        (start, self.at)
    }

    /// The string `s` was read: borrowed from the text (no escape), it says where it is.
    pub fn borrowed(&mut self, s: &'a str) -> Span {
        let offset = (s.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        if offset == 0 || offset + s.len() >= self.text.len() || offset < self.at {
            return self.escaped_string(); // not from the text: found the slow way
        }
        self.at = offset + s.len() + 1;
        (offset - 1, self.at)
    }

    /// A string holding an escape was read (serde_json hands over its decoded copy).
    pub fn escaped_string(&mut self) -> Span {
        self.escaped = true;
        let start = self.next();
        let b = self.text.as_bytes();
        let mut i = start + 1;
        while let Some(p) = b
            .get(i..)
            .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
        {
            i += p;
            if b[i] == b'"' {
                break;
            }
            i += 2; // a backslash and the character it escapes
        }
        self.at = (i + 1).min(b.len());
        (start, self.at)
    }

    /// Reads an array, every value checked.
    pub fn seq<A: SeqAccess<'a>>(&mut self, mut seq: A) -> Result<Span, A::Error> {
        let start = self.open();
        while seq.next_element_seed(Any(self))?.is_some() {}
        Ok((start, self.close()))
    }

    /// Reads an object, every value checked and its keys compared: in a list shared by the open
    /// objects (no allocation per object), through a set past [`LINEAR_KEYS`] keys.
    pub fn map<A: MapAccess<'a>>(&mut self, mut map: A) -> Result<Span, A::Error> {
        let start = self.open();
        let base = self.keys.len();
        let mut many: Option<HashSet<Cow<'a, str>, foldhash::fast::RandomState>> = None;
        while let Some((key, at)) = map.next_key_seed(KeySeed(self))? {
            let seen = match many.as_mut() {
                Some(set) => !set.insert(key.clone()),
                None => self.keys[base..].contains(&key),
            };
            if seen {
                self.repeated(&key, at);
            } else if many.is_none() {
                self.keys.push(key);
                if self.keys.len() - base > LINEAR_KEYS {
                    many = Some(self.keys.drain(base..).collect());
                }
            }
            map.next_value_seed(Any(self))?;
        }
        self.keys.truncate(base);
        Ok((start, self.close()))
    }
}

/// Line and column (1-based, columns in bytes) of byte `at`, for messages.
pub(super) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at.min(text.len())];
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let column = at - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1) + 1;
    (line, column)
}

/// Generates the `Visitor` methods for strings, numbers and literals: the cursor steps over the
/// value, and the method returns `$wrap(span, kind)`.
macro_rules! scalars {
    ($out:ty, $wrap:expr) => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<$out, E> {
            let span = self.0.literal(if v { 4 } else { 5 });
            Ok(($wrap)(span, "a boolean"))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<$out, E> {
            Ok(($wrap)(self.0.number(), "a number"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<$out, E> {
            Ok(($wrap)(self.0.number(), "a number"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<$out, E> {
            Ok(($wrap)(self.0.number(), "a number"))
        }
        fn visit_borrowed_str<E: serde::de::Error>(self, s: &'a str) -> Result<$out, E> {
            Ok(($wrap)(self.0.borrowed(s), "a string"))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<$out, E> {
            Ok(($wrap)(self.0.escaped_string(), "a string"))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<$out, E> {
            Ok(($wrap)(self.0.literal(4), "null"))
        }
    };
}
pub(super) use scalars;

/// Any JSON value, read and checked; gives its span.
pub(super) struct Any<'r, 'a>(pub &'r mut Reader<'a>);

impl<'a> DeserializeSeed<'a> for Any<'_, 'a> {
    type Value = Span;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Span, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for Any<'_, 'a> {
    type Value = Span;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars!(Span, |span, _| span);
    fn visit_seq<A: SeqAccess<'a>>(self, seq: A) -> Result<Span, A::Error> {
        self.0.seq(seq)
    }
    fn visit_map<A: MapAccess<'a>>(self, map: A) -> Result<Span, A::Error> {
        self.0.map(map)
    }
}

/// An object key: the key (borrowed unless it holds an escape) and where it starts.
pub(super) struct KeySeed<'r, 'a>(pub &'r mut Reader<'a>);

impl<'a> DeserializeSeed<'a> for KeySeed<'_, 'a> {
    type Value = (Cow<'a, str>, usize);
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for KeySeed<'_, 'a> {
    type Value = (Cow<'a, str>, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'a str) -> Result<Self::Value, E> {
        Ok((Cow::Borrowed(s), self.0.borrowed(s).0))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok((Cow::Owned(s.to_string()), self.0.escaped_string().0))
    }
}

/// Checks that `text` is one JSON object (after whitespace) with no key twice in any object.
pub(super) fn check(text: &str) -> Result<(), BodyError> {
    let mut reader = Reader::new(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let read = de.deserialize_map(Any(&mut reader)).and_then(|_| de.end());
    reader.verdict(read)
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
