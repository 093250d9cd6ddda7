//! The scan's fast path for the task a farm sends by the hundred thousand: a flat object of a few
//! keys whose values are strings, numbers or literals, or lists of them (`{"name": "f1",
//! "command": "r -f 1", "files": ["f1.exr"]}`). It is read in one tight loop, its keys compared
//! on the stack, without the general path's levels, key list and byte-by-byte dispatch. Anything
//! else (an object value, a list in a list, an escaped key, more than [`FLAT_KEYS`] keys, a
//! duplicate key, text that is not valid JSON) is left to the general path, which reads the
//! object again from its `{` and reports what it finds, so the findings are the same either way
//! (tested against the general path alone).

use super::{number_end, string_end, Scanner, DEEP};

/// Objects with more keys than this are read by the general path.
const FLAT_KEYS: usize = 8;

impl Scanner<'_> {
    /// Reads the flat object whose `{` is at `open`: the position just past its `}`, or `None`
    /// (nothing noted) when the general path must read it.
    pub(super) fn flat_object(&mut self, open: usize) -> Option<usize> {
        if !self.flat {
            return None;
        }
        let b = self.text.as_bytes();
        let mut keys: [&[u8]; FLAT_KEYS] = [&[]; FLAT_KEYS];
        let (mut n, mut suspect, mut escaped) = (0, false, false);
        let mut j = skip_space(b, open + 1);
        if b.get(j) == Some(&b'}') {
            return self.flat_done(j + 1, false, false);
        }
        loop {
            // A key: unescaped, closed, not seen before in this object.
            if b.get(j) != Some(&b'"') || n == FLAT_KEYS {
                return None;
            }
            let (end, key_escaped) = string_end(b, j + 1, &mut suspect);
            if key_escaped || end >= b.len() {
                return None;
            }
            let key = &b[j + 1..end - 1];
            if keys[..n].contains(&key) {
                return None;
            }
            keys[n] = key;
            n += 1;
            j = skip_space(b, end);
            if b.get(j) != Some(&b':') {
                return None;
            }
            j = skip_space(b, j + 1);
            // A value: a scalar, or a list of scalars (a task's `files`).
            j = match b.get(j) {
                Some(b'[') => scalars(b, j + 1, &mut suspect, &mut escaped)?,
                _ => scalar(b, j, &mut suspect, &mut escaped)?,
            };
            j = skip_space(b, j);
            match b.get(j) {
                Some(b',') => j = skip_space(b, j + 1),
                Some(b'}') => return self.flat_done(j + 1, suspect, escaped),
                _ => return None,
            }
        }
    }

    /// Notes what a flat object read up to `end` found, as the general path would have.
    fn flat_done(&mut self, end: usize, suspect: bool, escaped: bool) -> Option<usize> {
        self.found.suspect |= suspect || self.levels.len() >= DEEP;
        if let Some((_, _, item_escaped)) = self.item.as_mut() {
            *item_escaped |= escaped;
        }
        self.want_key = false;
        self.expect_value = false;
        Some(end)
    }
}

/// Reads the string, number or literal at `at`: the position after it, noting an escape and a
/// suspect value; `None` for anything else, or a string the text ends in.
fn scalar(b: &[u8], at: usize, suspect: &mut bool, escaped: &mut bool) -> Option<usize> {
    match *b.get(at)? {
        b'"' => {
            let (end, value_escaped) = string_end(b, at + 1, suspect);
            *escaped |= value_escaped;
            (end < b.len()).then_some(end)
        }
        b'-' | b'0'..=b'9' => Some(number_end(b, at, suspect)),
        b'a'..=b'z' => Some(
            at + b[at..]
                .iter()
                .take_while(|c| c.is_ascii_lowercase())
                .count(),
        ),
        _ => None,
    }
}

/// Reads a list of scalars whose first value may start at `at` (just past its `[`): the position
/// after its `]`; `None` when it holds anything else.
fn scalars(b: &[u8], at: usize, suspect: &mut bool, escaped: &mut bool) -> Option<usize> {
    let mut j = skip_space(b, at);
    if b.get(j) == Some(&b']') {
        return Some(j + 1);
    }
    loop {
        j = skip_space(b, scalar(b, j, suspect, escaped)?);
        match b.get(j)? {
            b',' => j = skip_space(b, j + 1),
            b']' => return Some(j + 1),
            _ => return None,
        }
    }
}

/// The first position from `at` that is not JSON whitespace.
fn skip_space(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

#[cfg(test)]
#[path = "dupkeys_flat_tests.rs"]
mod tests;
