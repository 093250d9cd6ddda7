//! Host masks as afserver reads them, and the regexes afpool writes.
//!
//! Everything emitted here means the same on afserver 3.3 (case-insensitive full match) and 3.4
//! (case-sensitive full match, ECMAScript) for exactly spelled names, and never holds a backslash
//! (afserver writes block masks into its JSON unescaped). A metacharacter `c` is written as the
//! class `[c]`. Four characters cannot be written that way in both dialects without a backslash:
//! `[`, `]`, `^`, `\`. Host names cannot contain them (`[A-Za-z0-9._-]`); an emitted host name
//! writes them as `.`, and a find token holding one (it can match no host name) is dropped.
//!
//! Validation and matching follow afserver's own engine, libstdc++'s `std::regex`, through
//! [`super::ecma`]: look-ahead and back-references are fine, `[](]` is not.

use super::ecma::Matcher;

/// What afserver's find mode splits a mask on.
pub(crate) const SEPARATORS: [char; 5] = ['|', ';', ',', ':', ' '];

/// A regex that matches no name at all (`a` followed by start of text), valid in both dialects.
pub(crate) const MATCH_NOTHING: &str = "a^";

/// Writes `c` as a regex literal; false when it cannot be written without a backslash.
pub(crate) fn push_literal(c: char, out: &mut String) -> bool {
    match c {
        '[' | ']' | '^' | '\\' => false,
        '-' | '_' => {
            out.push(c);
            true
        }
        c if c.is_ascii_punctuation() => {
            out.push('[');
            out.push(c);
            out.push(']');
            true
        }
        c => {
            out.push(c);
            true
        }
    }
}

/// A host name as an exact regex; the four unwritable characters become `.`.
pub(crate) fn escape_host(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if !push_literal(c, &mut out) {
            out.push('.');
        }
    }
    out
}

/// Host names as one exact alternation (`a|b|gpu[.]n3`), in the order given.
pub(crate) fn alternation<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for name in names {
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(&escape_host(name));
    }
    out
}

/// A find-mode token as the regex `escape(token).*`; `None` when it holds an unwritable character.
fn token_to_regex(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len() + 8);
    for c in token.chars() {
        if !push_literal(c, &mut out) {
            return None;
        }
    }
    out.push_str(".*");
    Some(out)
}

/// Translates a find-mode mask (prefix tokens split on `|;,: `) into an equivalent full-match regex.
/// No tokens gives `""` (no restriction, as afserver reads it); tokens that can match no host name
/// are dropped, and if none is left the result is [`MATCH_NOTHING`].
pub(crate) fn find_to_regex(mask: &str) -> String {
    let tokens: Vec<&str> = mask.split(SEPARATORS).filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = tokens.into_iter().filter_map(token_to_regex).collect();
    if parts.is_empty() {
        return MATCH_NOTHING.to_string();
    }
    parts.join("|")
}

/// Merges two alternatives as `(old)|(new)`; an empty side is left out.
pub(crate) fn merge(old: &str, new: &str) -> String {
    match (old.is_empty(), new.is_empty()) {
        (true, _) => new.to_string(),
        (false, true) => old.to_string(),
        (false, false) => format!("({old})|({new})"),
    }
}

/// How afpool's pool exclusion starts and ends: `(?!(?:MEMBERS)$).*` matches every name that is not
/// exactly one of the pool's members, including hosts that register after the job was submitted.
const LOOKAHEAD_OPEN: &str = "(?!(?:";
const LOOKAHEAD_CLOSE: &str = ")$).*";

/// The exclude mask that keeps a job on the pool whose members `members` (an exact alternation,
/// see [`alternation`]) names: a negative look-ahead, so no list of outsiders is needed.
pub(crate) fn pool_lookahead(members: &str) -> String {
    format!("{LOOKAHEAD_OPEN}{members}{LOOKAHEAD_CLOSE}")
}

/// Does `mask` have the shape of an exclusion afpool writes ([`pool_lookahead`], or `.*` for a held
/// job)? Removing such a part can only drop a restriction, and routing adds the pool's own again.
fn is_pool_lookahead(mask: &str) -> bool {
    if mask == ".*" {
        return true; // the fence of a held job
    }
    let Some(inner) = mask
        .strip_prefix(LOOKAHEAD_OPEN)
        .and_then(|m| m.strip_suffix(LOOKAHEAD_CLOSE))
    else {
        return false;
    };
    !inner.is_empty()
        && !inner.contains("(?=")
        && !inner.contains("(?!")
        && !inner.chars().any(|c| c == '\\' || c.is_control())
}

/// The user's own part of an exclude mask afpool may have written before (a job that passes afpool
/// twice): `(USER)|(POOL)` gives `USER`, `POOL` alone gives `""`, anything else is all the user's.
/// `USER` is split off only when `valid` accepts it on its own, so the pool part was a top-level
/// alternative; routing then writes the same mask again (idempotent).
pub(crate) fn user_part(mask: &str, valid: impl Fn(&str) -> bool) -> &str {
    if is_pool_lookahead(mask) {
        return "";
    }
    let split = ")|(";
    let Some(body) = mask.strip_prefix('(').and_then(|m| m.strip_suffix(')')) else {
        return mask;
    };
    let mut from = 0;
    while let Some(pos) = body[from..].find(split) {
        let at = from + pos;
        let (user, pool) = (&body[..at], &body[at + split.len()..]);
        if is_pool_lookahead(pool) && valid(user) {
            return user;
        }
        from = at + 1;
    }
    mask
}

/// Checks that `pattern` is a regex afserver accepts and can use safely: libstdc++'s grammar and
/// state limit, as [`super::ecma`] models them. The error is one line.
pub(crate) fn check_regex(pattern: &str) -> Result<(), String> {
    super::ecma::check(pattern).map(|_| ())
}

/// `pattern` compiled for full-match tests, as afserver's `regex_match` applies it.
pub(crate) fn full_match(pattern: &str) -> Result<Matcher, String> {
    Matcher::new(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn matches(pattern: &str, name: &str) -> bool {
        full_match(pattern).expect("valid").is_match(name)
    }

    #[rstest]
    #[case("render01", "render01")]
    #[case("gpu.node3", "gpu[.]node3")]
    #[case("a+b(c)", "a[+]b[(]c[)]")]
    #[case("web-01_x", "web-01_x")]
    #[case("we^ird]", "we.ird.")]
    fn escapes_hosts(#[case] name: &str, #[case] want: &str) {
        assert_eq!(escape_host(name), want);
    }

    #[test]
    fn every_ascii_punctuation_is_an_exact_literal() {
        for c in (0x21u8..0x7f)
            .map(char::from)
            .filter(|c| c.is_ascii_punctuation())
        {
            let name = format!("a{c}b");
            let pattern = escape_host(&name);
            assert!(!pattern.contains('\\'), "{pattern}");
            check_regex(&pattern).unwrap_or_else(|e| panic!("{c}: {e}"));
            if !matches!(c, '[' | ']' | '^' | '\\') {
                assert!(matches(&pattern, &name), "{c}");
                assert!(!matches(&pattern, "axb"), "{c}");
            }
        }
    }

    #[test]
    fn alternation_is_exact_full_match() {
        let alt = alternation(["r1", "gpu.node3"]);
        assert_eq!(alt, "r1|gpu[.]node3");
        assert!(matches(&alt, "r1"));
        assert!(!matches(&alt, "r10"), "prefix trap");
        assert!(!matches(&alt, "gpuxnode3"), "dot trap");
        assert!(!matches(&alt, "xr1"));
    }

    #[rstest]
    #[case("render0", "render0.*")]
    #[case("foo,render01", "foo.*|render01.*")]
    #[case("a| b;;c:d", "a.*|b.*|c.*|d.*")]
    #[case("gpu.n", "gpu[.]n.*")]
    #[case("render0[12]", MATCH_NOTHING)]
    #[case("gpu\\..*|r1", "r1.*")]
    #[case("", "")]
    #[case(" | ", "")]
    fn translates_find_masks(#[case] mask: &str, #[case] want: &str) {
        let got = find_to_regex(mask);
        assert_eq!(got, want);
        assert!(!got.contains('\\'));
        check_regex(&got).expect("translation is always valid");
    }

    #[rstest]
    #[case("render0", "render01", true)]
    #[case("render0", "xrender01", false)]
    #[case("der01", "render01", false)]
    #[case("RENDER01", "render01", false)]
    #[case("r1", "r10", true)]
    #[case("render0[12]", "render01", false)]
    fn translation_keeps_find_semantics(#[case] mask: &str, #[case] name: &str, #[case] hit: bool) {
        assert_eq!(matches(&find_to_regex(mask), name), hit);
    }

    #[rstest]
    #[case("", "b", "b")]
    #[case("a", "", "a")]
    #[case("a|x", "b", "(a|x)|(b)")]
    fn merges(#[case] old: &str, #[case] new: &str, #[case] want: &str) {
        assert_eq!(merge(old, new), want);
    }

    #[rstest]
    #[case("render(", false)]
    #[case("(?i)render", false)]
    #[case("[](]", false)]
    #[case("(a{100}){1000}", false)]
    #[case("[[:alpha:]]+", true)]
    #[case("(?=a)a", true)]
    #[case("(?!(?:r1|r2)$).*", true)]
    #[case("(?:render)0[12]", true)]
    #[case("gpu\\..*", true)]
    #[case("render0[1-9]|gpu[.].*", true)]
    fn validates_regexes(#[case] pattern: &str, #[case] ok: bool) {
        let got = check_regex(pattern);
        assert_eq!(got.is_ok(), ok, "{got:?}");
        if let Err(text) = got {
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[rstest]
    #[case("(?!(?:r1|r2)$).*", "")]
    #[case(".*", "")]
    #[case("(a|b)|((?!(?:gpu[.]n1)$).*)", "a|b")]
    #[case("(x)|(.*)", "x")]
    #[case("(a)|(b)|((?!(?:r1)$).*)", "(a)|(b)|((?!(?:r1)$).*)")]
    #[case("((a)|(b))|((?!(?:r1)$).*)", "(a)|(b)")]
    #[case("((?!(?:r1)$).*)|(a)", "((?!(?:r1)$).*)|(a)")]
    #[case("(?!(?:r1\\d)$).*", "(?!(?:r1\\d)$).*")]
    #[case("(?!(?:(?=x)r1)$).*", "(?!(?:(?=x)r1)$).*")]
    #[case("render.*", "render.*")]
    #[case("(a[)|(]b)|((?!(?:r1)$).*)", "a[)|(]b")]
    fn finds_the_users_part(#[case] mask: &str, #[case] user: &str) {
        let valid = |u: &str| check_regex(u).is_ok();
        assert_eq!(user_part(mask, valid), user);
        let again = merge(user, &pool_lookahead("r1"));
        assert_eq!(user_part(&again, valid), user, "idempotent");
    }

    #[test]
    fn match_nothing_matches_nothing() {
        for name in ["", "a", "render01", "a^"] {
            assert!(!matches(MATCH_NOTHING, name));
        }
    }
}
