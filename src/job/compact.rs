//! Exact host alternations written small. A farm's exclude mask names every host outside a pool:
//! written plainly that is ~60 KB for 5,000 renders, and past ~7,500 such names libstdc++'s
//! `std::regex` (afserver 3.4) refuses to compile it ("Number of NFA states exceeds limit"), which
//! afserver reads as a mask that excludes nothing. [`alternation`] keeps short lists plain and
//! readable, and writes long ones as a prefix tree: names share their common prefixes, and sibling
//! branches that end the same way share one character class (`render0[1-4][0-9][0-9][0-9]`).
//!
//! The result matches exactly the given names, as a full match, in both dialects afpool writes for
//! (ECMAScript and the `regex` crate; case-insensitively too, for afserver 3.3). It uses only
//! literals, `[...]` classes of literals and digit ranges, groups `(...)`, `|` and `?`, and never a
//! backslash. Non-ASCII characters appear only in whole names, never in a class or before `?`.

use super::mask;

/// Plain alternations up to this many bytes stay plain (a TD reads them in afwatch).
const PLAIN_UP_TO: usize = 256;

/// One character of a host name as a regex atom. `Any` stands for the characters that cannot be
/// written without a backslash (`[ ] ^ \`), which [`mask::escape_host`] writes as `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Atom {
    Lit(char),
    Any,
}

/// The names as an exact alternation: plain (`a|b|gpu[.]n3`, in the order given) when that is
/// short, else the shorter of that and a prefix tree (sorted, duplicates merged).
pub(crate) fn alternation<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let plain = mask::alternation(names.clone());
    if plain.len() <= PLAIN_UP_TO {
        return plain;
    }
    let tree = tree(names);
    if tree.len() < plain.len() {
        tree
    } else {
        plain
    }
}

/// The names as a prefix-tree regex, whatever their number. Names with non-ASCII characters are
/// listed whole after the tree: libstdc++ reads a pattern byte by byte, so such a character must
/// never sit in a class or before a `?`.
pub(crate) fn tree<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let (ascii, other): (Vec<&str>, Vec<&str>) = names
        .into_iter()
        .filter(|n| !n.is_empty())
        .partition(|n| n.is_ascii());
    let mut words: Vec<Vec<Atom>> = ascii
        .iter()
        .map(|n| n.chars().map(atom).collect())
        .collect();
    words.sort_unstable();
    words.dedup();
    let words: Vec<&[Atom]> = words.iter().map(Vec::as_slice).collect();
    let mut parts: Vec<String> = branches(&words, 0)
        .into_iter()
        .map(|(head, rest)| head + &rest)
        .collect();
    let mut other: Vec<String> = other.into_iter().map(mask::escape_host).collect();
    other.sort_unstable();
    other.dedup();
    parts.extend(other);
    parts.join("|")
}

fn atom(c: char) -> Atom {
    match c {
        '[' | ']' | '^' | '\\' => Atom::Any,
        c => Atom::Lit(c),
    }
}

/// The branches below a prefix of length `depth` shared by `words` (sorted, distinct, all longer
/// than `depth`): one `(head, rest)` per distinct rest, the head a literal or class of every
/// character leading to that rest.
fn branches(words: &[&[Atom]], depth: usize) -> Vec<(String, String)> {
    let mut groups: Vec<(Vec<Atom>, String)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let first = words[i][depth];
        let n = words[i..].partition_point(|w| w[depth] == first);
        let rest = below(&words[i..i + n], depth + 1);
        let same = groups
            .iter_mut()
            .find(|(atoms, r)| *r == rest && first != Atom::Any && atoms[0] != Atom::Any);
        match same {
            Some((atoms, _)) => atoms.push(first),
            None => groups.push((vec![first], rest)),
        }
        i += n;
    }
    groups
        .into_iter()
        .map(|(atoms, rest)| (head(&atoms), rest))
        .collect()
}

/// What follows a shared prefix of length `depth`, as one piece that can follow a literal.
fn below(words: &[&[Atom]], depth: usize) -> String {
    let ends_here = words[0].len() == depth;
    let longer = if ends_here { &words[1..] } else { words };
    if longer.is_empty() {
        return String::new();
    }
    if !ends_here {
        // Sorted: what the first and the last word share, every word shares. Written at once,
        // so a long unshared tail costs its length, not its length squared.
        let (first, last) = (&words[0][depth..], &words[words.len() - 1][depth..]);
        let run = first.iter().zip(last).take_while(|(a, b)| a == b).count();
        if run > 0 {
            let rest = below(words, depth + run);
            let mut out = String::with_capacity(run * 3 + rest.len());
            first[..run].iter().for_each(|a| push_atom(*a, &mut out));
            out.push_str(&rest);
            return out;
        }
    }
    let branches = branches(longer, depth);
    if let [(head, rest)] = branches.as_slice() {
        if !ends_here {
            return format!("{head}{rest}");
        }
        if rest.is_empty() {
            return format!("{head}?");
        }
    }
    let alts: Vec<String> = branches.iter().map(|(h, r)| format!("{h}{r}")).collect();
    let optional = if ends_here { "?" } else { "" };
    format!("({}){optional}", alts.join("|"))
}

fn push_atom(atom: Atom, out: &mut String) {
    match atom {
        Atom::Lit(c) => {
            mask::push_literal(c, out);
        }
        Atom::Any => out.push('.'),
    }
}

/// One atom, or a class of several literal characters (digit runs as ranges, `-` last).
fn head(atoms: &[Atom]) -> String {
    let mut chars: Vec<char> = atoms
        .iter()
        .filter_map(|a| match a {
            Atom::Lit(c) => Some(*c),
            Atom::Any => None,
        })
        .collect();
    if chars.len() != atoms.len() {
        return ".".to_string();
    }
    let mut out = String::new();
    if let [c] = chars.as_slice() {
        push_atom(Atom::Lit(*c), &mut out);
        return out;
    }
    chars.sort_unstable();
    let dash = chars.contains(&'-');
    chars.retain(|&c| c != '-');
    out.push('[');
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .zip(chars[i]..)
            .take_while(|(c, want)| c.is_ascii_digit() && **c == *want)
            .count();
        if run >= 3 {
            out.push(chars[i]);
            out.push('-');
            out.push(chars[i + run - 1]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    if dash {
        out.push('-');
    }
    out.push(']');
    out
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
