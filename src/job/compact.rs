//! Exact host alternations written small for afserver. A pool's exclude mask is a look-ahead of
//! its members, and afserver pays for it on every check of every (job, ready render) pair: the
//! cost of one `regex_match` grows with the size of libstdc++'s automaton, whatever the name. So
//! [`alternation`] writes the members as the smallest automaton it finds, measured in the NFA
//! states libstdc++ builds ([`super::ecma::check`]), not in text length:
//!
//! - the names' minimal automaton ([`dawg`]) shares common prefixes *and* common suffixes, and
//!   [`build`] writes a shared tail once after the alternation it closes
//!   (`n(?:04af|1b2c)[.]farm[.]studio[.]local`, recursively: `-gpu` tails inside a domain);
//! - transitions to the same state share a class (digit runs as ranges: `render0[1-4][0-9]`),
//!   and two-character tails are covered by as few class pairs as possible ([`stars`]);
//! - groups are non-capturing (`(?:`: one state, and no sub-match to record);
//! - a short plain list (`a|b|gpu[.]n3`, readable in afwatch) is kept when it costs at most
//!   [`PLAIN_SLACK`] states more.
//!
//! The result matches exactly the given names, as a full match, in both dialects afpool writes for
//! (ECMAScript and the `regex` crate; case-insensitively too, for afserver 3.3). It uses only
//! literals, `[...]` classes of literals and digit ranges, `(?:...)` groups, `|` and `?`, and never
//! a backslash. Non-ASCII characters appear only in whole names, never in a class or before `?`.

#[path = "compact/build.rs"]
mod build;
#[path = "compact/dawg.rs"]
mod dawg;
#[path = "compact/expr.rs"]
mod expr;
#[path = "compact/stars.rs"]
mod stars;

use super::{ecma, mask};
use dawg::{Atom, Dawg};

/// Plain alternations up to this many bytes may stay plain (a TD reads them in afwatch).
const PLAIN_UP_TO: usize = 256;
/// How many more states than the smallest form a plain list may cost and stay (~40 ns a check).
const PLAIN_SLACK: u64 = 32;

/// The names as an exact alternation: plain (`a|b|gpu[.]n3`, in the order given) when that is
/// no larger, or short and about as cheap; else the smallest automaton found (sorted, duplicates
/// merged).
pub(crate) fn alternation<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let plain = mask::alternation(names.clone());
    let tree = tree(names);
    let slack = if plain.len() <= PLAIN_UP_TO {
        PLAIN_SLACK
    } else {
        0
    };
    if states(&plain) <= states(&tree).saturating_add(slack) {
        plain
    } else {
        tree
    }
}

/// NFA states libstdc++ builds for `pattern` (the most for one it refuses).
fn states(pattern: &str) -> u64 {
    ecma::check(pattern).map_or(u64::MAX, |c| c.states as u64)
}

/// The names as the smallest regex [`build`] finds, whatever their number. Names with non-ASCII
/// characters are listed whole after it: libstdc++ reads a pattern byte by byte, so such a
/// character must never sit in a class or before a `?`.
pub(crate) fn tree<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let (ascii, other): (Vec<&str>, Vec<&str>) = names
        .into_iter()
        .filter(|n| !n.is_empty())
        .partition(|n| n.is_ascii());
    let mut words: Vec<Vec<Atom>> = ascii
        .iter()
        .map(|n| n.chars().map(Atom::of).collect())
        .collect();
    words.sort_unstable();
    words.dedup();
    let mut parts = Vec::new();
    if !words.is_empty() {
        let words: Vec<&[Atom]> = words.iter().map(Vec::as_slice).collect();
        let dawg = Dawg::new(&words);
        parts.push(build::Builder::new(&dawg).regex().pattern());
    }
    let mut other: Vec<String> = other.into_iter().map(mask::escape_host).collect();
    other.sort_unstable();
    other.dedup();
    parts.extend(other);
    parts.join("|")
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
