//! Host masks in afserver's regex dialect: a model of libstdc++'s `std::regex` (g++ 12,
//! ECMAScript grammar, default flags, "C" locale), which afserver 3.4.1 uses to validate
//! (`RegExp::Validate`) and to match (`regex_match`, the whole name) regex host masks.
//!
//! afserver keeps a mask libstdc++ refuses as text that matches no name, so an exclude mask with
//! a typo excludes nothing. afpool therefore has to accept exactly what libstdc++ accepts, and
//! Rust's regex crates disagree with it both ways (`[](]` is fine in Rust, `[]` is an empty class
//! in ECMAScript; look-ahead and back-references are fine in libstdc++). This module reads the
//! pattern with libstdc++'s own grammar and quirks, byte by byte:
//!
//! - [`check`]: accepts exactly what libstdc++ accepts, and counts the NFA states its compiler
//!   inserts (`scan` tokenizes like `_Scanner`, `parse` and `bracket` follow `_Compiler`, `cost`
//!   counts states as `_NFA` inserts and clones them); more than [`STATE_LIMIT`] states is
//!   refused, as `_GLIBCXX_REGEX_STATE_LIMIT` makes libstdc++ do. It also refuses what libstdc++
//!   accepts but afserver could crash on (its compiler and matcher recurse: ~100 bytes of stack
//!   per piece in a row, ~440 per nested group, ~150 per matcher frame): NUL bytes, patterns over
//!   [`MAX_PATTERN_BYTES`], nesting over [`MAX_NESTING`], compiler recursion over
//!   [`MAX_COMPILE_DEPTH`], matcher frames over [`MAX_MATCH_FRAMES`] (e.g. `(){30000}`, which
//!   libstdc++ accepts and which crashes a matcher thread with 8 MiB of stack).
//! - [`Matcher`]: matches names as afserver does (`program` builds libstdc++'s NFA, `exec` runs
//!   its depth-first executor with an explicit stack and a step budget), case-sensitively as
//!   afserver 3.4 or case-insensitively (`icase`) as afserver 3.3 and afserver's pools.
//!
//! Agreement with the real libstdc++ is tested in `tests/ecma_agreement.rs` through the C++
//! harness `tests/std_regex/harness.cpp`.

// Explicit paths, so that `tests/ecma_agreement.rs` can compile this module on its own.
#[path = "ecma/ast.rs"]
mod ast;
#[path = "ecma/bracket.rs"]
mod bracket;
#[path = "ecma/bytes.rs"]
mod bytes;
#[path = "ecma/cost.rs"]
mod cost;
#[path = "ecma/exec.rs"]
mod exec;
#[path = "ecma/matcher.rs"]
mod matcher;
#[path = "ecma/parse.rs"]
mod parse;
#[path = "ecma/program.rs"]
mod program;
#[path = "ecma/refusal.rs"]
mod refusal;
#[path = "ecma/scan.rs"]
mod scan;
#[cfg(test)]
#[path = "ecma/tests.rs"]
mod tests;

pub(crate) use exec::TooComplex;
pub(crate) use matcher::Matcher;
pub(crate) use refusal::Refusal;

/// libstdc++'s `_GLIBCXX_REGEX_STATE_LIMIT`: more NFA states than this and `std::regex` throws.
pub(crate) const STATE_LIMIT: u64 = 100_000;
/// The longest pattern afpool lets through (bytes).
pub(crate) const MAX_PATTERN_BYTES: usize = 64 * 1024;
/// The deepest nesting of groups and stacked quantifiers afpool lets through.
pub(crate) const MAX_NESTING: usize = 200;
/// The deepest recursion afserver's regex compiler may reach, in pieces in a row (a group
/// counts 5): about 2 MB of stack.
pub(crate) const MAX_COMPILE_DEPTH: u64 = 20_000;
/// The most recursive frames afserver's matcher may stack for a name of up to 255 bytes:
/// about 2 MB of stack.
pub(crate) const MAX_MATCH_FRAMES: u64 = 12_000;

/// A pattern libstdc++ accepts and afserver can safely use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checked {
    /// How many NFA states libstdc++ builds for it.
    pub(crate) states: usize,
}

/// Checks a regex mask as afserver reads it; `Err` holds one readable line saying why not.
pub(crate) fn check(pattern: &str) -> Result<Checked, String> {
    check_bytes(pattern.as_bytes()).map_err(|r| r.to_string())
}

/// [`check`] on raw bytes, with the reason as a [`Refusal`].
pub(crate) fn check_bytes(pattern: &[u8]) -> Result<Checked, Refusal> {
    parse_checked(pattern).map(|(_, checked)| checked)
}

/// Parses and checks a pattern: the tree for the matcher, and its state count.
fn parse_checked(pattern: &[u8]) -> Result<(ast::Ast, Checked), Refusal> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(Refusal::Unsafe(format!(
            "a {} byte mask is longer than the {MAX_PATTERN_BYTES} bytes afpool allows",
            pattern.len()
        )));
    }
    if let Some(at) = pattern.iter().position(|b| *b == 0) {
        return Err(Refusal::Unsafe(format!("a NUL byte at {}", at + 1)));
    }
    let parsed = parse::parse(pattern)?;
    if parsed.cost.created > STATE_LIMIT {
        return Err(Refusal::TooManyStates(parsed.cost.created));
    }
    parse::check_depth(&parsed)?;
    let frames = parsed.cost.total_frames();
    if frames > MAX_MATCH_FRAMES {
        return Err(Refusal::Unsafe(format!(
            "too deep for afserver's matcher: up to {frames} nested steps (at most \
             {MAX_MATCH_FRAMES}; fewer capture groups or repeats in a row help)"
        )));
    }
    let states = parsed.cost.created as usize;
    Ok((parsed.ast, Checked { states }))
}
