//! Grammar and matching tables. Every expectation was read from the real libstdc++ (g++ 12)
//! through `tests/std_regex/harness.cpp`, and `tests/ecma_agreement.rs` re-checks every pattern
//! of the `#[case(r"...")]` lines below against it.

use rstest::rstest;

use super::*;

fn states(pattern: &str) -> Result<usize, Refusal> {
    check_bytes(pattern.as_bytes()).map(|c| c.states)
}

/// Accepted by libstdc++, with the size of its NFA.
#[rstest]
#[case(r"", 4)]
#[case(r"a", 5)]
#[case(r"x{1}", 8)]
#[case(r"}", 5)]
#[case(r"]", 5)]
#[case(r"a**", 7)]
#[case(r"a+?", 6)]
#[case(r"(?=x)x", 9)]
#[case(r"(?!x).*", 10)]
#[case(r"(a)\1", 9)]
#[case(r"[a-]", 5)]
#[case(r"[[:alpha:]]", 5)]
#[case(r"\u0041", 5)]
#[case(r"\x41", 5)]
#[case(r"\cA", 5)]
#[case(r"\0", 5)]
#[case(r"[^]", 5)]
#[case(r"[]a]", 7)]
#[case(r".", 5)]
#[case(r"a|", 8)]
#[case(r"|", 7)]
#[case(r"()", 7)]
#[case(r"a{2}?", 9)]
#[case(r"a{2}??", 11)]
#[case(r"a{0}", 7)]
#[case(r"a{0,0}", 7)]
#[case(r"a{3,}", 11)]
#[case(r"[[:ALPHA:]]", 5)]
#[case(r"[[:w:]]", 5)]
#[case(r"[[:D:]]", 5)]
#[case(r"[[.a.]]", 5)]
#[case(r"[[.a.]-z]", 5)]
#[case(r"[[.hyphen.]]", 5)]
#[case(r"[[.zero.]]", 5)]
#[case(r"[[.NUL.]]", 5)]
#[case(r"[[=a=]]", 5)]
#[case(r"[[=A=]]", 5)]
#[case(r"[\w-]", 5)]
#[case(r"[--0]", 5)]
#[case(r"[a-z-0]", 5)]
#[case(r"[-a]", 5)]
#[case(r"[\b]", 5)]
#[case(r"\B", 5)]
#[case(r"\b", 5)]
#[case(r"\d\D\s\S\w\W", 10)]
#[case(r"(?:a)", 7)]
#[case(r"(?!a)", 8)]
#[case(r"(a)(b)\2\1", 14)]
#[case(r"(((((((((((a)))))))))))\11", 39)]
#[case(r"(?:a|b){3}", 34)]
#[case(r"(?:a|b){2,5}", 51)]
#[case(r"(?:a*)*", 9)]
#[case(r"(a*)*", 10)]
#[case(r"(a|)+", 12)]
#[case(r"[\x80-\xff]", 5)]
#[case(r"\xe9", 5)]
#[case(r"é", 6)]
#[case(r"[é]", 5)]
#[case(r"[^a-z]", 5)]
#[case(r"x|y|z", 13)]
#[case(r"render0[0-9]", 12)]
#[case(r"render[0-9]{2}", 15)]
#[case(r"gpu[.]node3", 13)]
#[case(r"(?!(?:render01|gpu[.]node3)$).*", 32)]
#[case(r"(old)|(new)", 19)]
#[case(r"a?+", 8)]
#[case(r"a+*", 7)]
#[case(r"a*?", 6)]
#[case(r"a??", 7)]
#[case(r"a{1}{2}", 16)]
#[case(r"a{1}*", 9)]
#[case(r"(?:)*", 7)]
#[case(r"()*", 8)]
#[case(r"(?:)+", 7)]
#[case(r"(|a)*", 12)]
#[case(r"\k", 5)]
#[case(r"\.", 5)]
#[case(r"\-", 5)]
#[case(r"\/", 5)]
#[case(r"a{01}", 8)]
#[case(r"a{00}", 7)]
#[case(r"a{1,01}", 8)]
#[case(r"^a$", 7)]
#[case(r"^$", 6)]
#[case(r"a^", 6)]
#[case(r"$a", 6)]
#[case(r"\ba\b", 7)]
#[case(r"\Ba", 6)]
fn accepted_with_states(#[case] pattern: &str, #[case] expected: usize) {
    assert_eq!(states(pattern), Ok(expected), "{pattern}");
}

/// Refused by libstdc++; the reason names the problem and where it is.
#[rstest]
#[case(r"[](]", "unmatched '(' at 3")]
#[case(r"(a{100}){1000}", "too many states")]
#[case(r"a{2,1}", "max below min at 2")]
#[case(r"a{,3}", "must start with a number")]
#[case(r"{", "nothing to repeat")]
#[case(r"a{", "must start with a number")]
#[case(
    r"*a",
    "nothing to repeat (a quantifier needs a character or group before it) at 1"
)]
#[case(r"\1(a)", "to a group not yet seen at 1")]
#[case(r"[z-a]", "range out of order")]
#[case(r"[\d-z]", "cannot start with a class")]
#[case(r"[[:foo:]]", "unknown character class '[:foo:]'")]
#[case(r"\", "at the end at 1")]
#[case(r"a\", "at the end at 2")]
#[case(r"(?:", "unmatched '(' at 1")]
#[case(r"(?<n>a)", "'(?' must be followed by ':', '=' or '!'")]
#[case(r"(?i)a", "no named groups or flags")]
#[case(r"\p{L}", "may hold only numbers")]
#[case(r"(", "unmatched '('")]
#[case(r")", "unmatched ')' at 1")]
#[case(r"a)", "unmatched ')' at 2")]
#[case(r"(a", "unmatched '('")]
#[case(r"^*", "nothing to repeat")]
#[case(r"$+", "nothing to repeat")]
#[case(r"\b?", "nothing to repeat")]
#[case(r"(?=a)*", "nothing to repeat")]
#[case(r"a{1,2", "unclosed '{'")]
#[case(r"a{1,2,3}", "unclosed '{'")]
#[case(r"a{x}", "may hold only numbers")]
#[case(r"a{,}", "must start with a number")]
#[case(r"[a", "unclosed '['")]
#[case(r"[", "unclosed '['")]
#[case(r"[^", "unclosed '['")]
#[case(r"[[", "unclosed '[['")]
#[case(r"[[:alpha:", "'[:' without a closing ':]'")]
#[case(r"[[:alpha]]", "'[:' without a closing ':]'")]
#[case(r"[[.0.]]", "unknown collating element '[.0.]'")]
#[case(r"[[==]]", "unknown equivalence class")]
#[case(r"[[::]]", "unknown character class")]
#[case(r"[\w-a]", "cannot start with a class")]
#[case(r"[a-\w]", "must end with a character")]
#[case(r"[\B]", "' inside '[...]' at 2")]
#[case(r"[\1]", "back-reference inside")]
#[case(r"\x4", "two hex digits")]
#[case(r"\x4g", "two hex digits")]
#[case(r"\u004", "four hex digits")]
#[case(r"\c", "needs a character after it")]
#[case(r"(?", "'(?' must be followed")]
#[case(r"(?x)", "'(?' must be followed")]
#[case(r"(?=", "unmatched '('")]
#[case(r"(a\1)", "inside its own group")]
#[case(r"\10", "not yet seen")]
#[case(r"(a)\10", "not yet seen")]
#[case(r"a{2147483647}", "too many states")]
#[case(r"a{99999}", "too many states")]
#[case(r"a{100000}", "too many states")]
#[case(r"[\x7f-\x80]", "range out of order")]
#[case(r"[a-\xe9]", "range out of order")]
fn refused_like_libstdcxx(#[case] pattern: &str, #[case] reason: &str) {
    let refusal = states(pattern).expect_err(pattern);
    assert!(!refusal.is_unsafe(), "{pattern}: {refusal}");
    let text = refusal.to_string();
    assert!(text.contains(reason), "{pattern}: {text}");
    assert_eq!(check(pattern), Err(text));
}

/// libstdc++ accepts these, but they could crash afserver or rely on integer wrap-around.
#[rstest]
#[case("a{2147483648}".to_string(), "repeat count at 2 is too large")]
#[case("a{4294967297}".to_string(), "too large")]
#[case("(){30000}x".to_string(), "too deep for afserver's matcher")]
#[case("(?:a??){10000}".to_string(), "too deep for afserver's matcher")]
#[case("a\0b".to_string(), "a NUL byte at 2")]
#[case(format!("[{}]", "x".repeat(MAX_PATTERN_BYTES)), "longer than the 65536 bytes")]
#[case("(".repeat(201) + &")".repeat(201), "nested more than 200 deep")]
#[case("a".to_string() + &"*".repeat(201), "nested more than 200 deep")]
#[case("a".repeat(20_001), "more than 20000 pieces in a row")]
fn refused_for_afservers_safety(#[case] pattern: String, #[case] reason: &str) {
    let refusal = states(&pattern).expect_err("refused");
    assert!(refusal.is_unsafe(), "{refusal}");
    assert!(refusal.to_string().contains(reason), "{refusal}");
}

/// Long but safe: afpool's own masks stay well inside the bounds.
#[rstest]
#[case((0..2000).map(|i| format!("render{i:04}")).collect::<Vec<_>>().join("|"))]
#[case(format!("(?!(?:{})$).*", (0..3000).map(|i| format!("n{i}")).collect::<Vec<_>>().join("|")))]
#[case("(a){0,10000}".to_string())]
#[case("[0-9]{2,1000}".to_string())]
#[case("(".repeat(200) + &")".repeat(200))]
fn long_masks_pass(#[case] pattern: String) {
    let checked = states(&pattern);
    assert!(checked.is_ok(), "{checked:?}");
}

/// `regex_match` on a whole name: case-sensitive as afserver 3.4, then with `icase`.
#[rstest]
#[case(r"render0[0-9]", r"render05", true, true)]
#[case(r"render0[0-9]", r"Render05", false, true)]
#[case(r"render0[0-9]", r"render10", false, false)]
#[case(r"render[0-9]{2}", r"render42", true, true)]
#[case(r"gpu[.]node3", r"gpuxnode3", false, false)]
#[case(r"gpu.node3", r"gpuxnode3", true, true)]
#[case(r".*", r"a.b", true, true)]
#[case(r"(?!(?:render01|gpu[.]node3)$).*", r"render01", false, false)]
#[case(r"(?!(?:render01|gpu[.]node3)$).*", r"render02", true, true)]
#[case(r"(?!(?:render01|gpu[.]node3)$).*", r"RENDER01", true, false)]
#[case(r"(?!(?:render01|gpu[.]node3)$).*", r"render011", true, true)]
#[case(r"(?=x)y", r"y", false, false)]
#[case(r"(a)\1", r"aA", false, true)]
#[case(r"(a|b)\1", r"ab", false, false)]
#[case(r"(?:(a)|b)\1", r"b", false, false)]
#[case(r"(?=(a))\1a", r"aa", true, true)]
#[case(r"(?:(?=(a))x|a)\1", r"aa", true, true)]
#[case(r"(?!(a)b)a\1", r"aa", false, false)]
#[case(r"a(?=^b)b", r"ab", true, true)]
#[case(r"(?=\bb)b", r"b", true, true)]
#[case(r"a\bb", r"ab", false, false)]
#[case(r"a\Bb", r"ab", true, true)]
#[case(r"a\b", r"a-", false, false)]
#[case(r"\cA", r"A", true, true)]
#[case(r"\u0141", r"A", true, true)]
#[case(r"[]a]", r"a]", false, false)]
#[case(r"]", r"]", true, true)]
#[case(r"[--0]", r"/", true, true)]
#[case(r"[[:alpha:]]", r"é", false, false)]
#[case(r"[[:upper:]]", r"a", false, true)]
#[case(r"[[:lower:][:digit:]]", r"A", false, true)]
#[case(r"[[=a=]]", r"A", true, true)]
#[case(r"[[.a.]-c]", r"b", true, true)]
#[case(r"[\W]", r"_", false, false)]
#[case(r"[a-z]", r"K", false, true)]
#[case(r"[^a-z]", r"K", true, false)]
#[case(r"[é]", r"é", false, false)]
#[case(r"é", r"é", true, true)]
#[case(r"é", r"É", false, false)]
#[case(r"[Z-a]", r"_", true, true)]
#[case(r"[Z-a]", r"z", false, true)]
#[case(r"a{2,3}", r"aaaa", false, false)]
#[case(r"(?:a|ab)(?:c|bcd)(?:d*)", r"abcd", true, true)]
#[case(r"(a*)*b", r"aaab", true, true)]
#[case(r"(|a)*", r"aa", true, true)]
#[case(r"(a?)*?b", r"ab", true, true)]
#[case(r"a^", r"a", false, false)]
#[case(r"a|", r"", true, true)]
#[case(r"a**", r"aaa", true, true)]
#[case(r"render-[0-9]+_[a-z]", r"render-12_x", true, true)]
fn matches_like_regex_match(
    #[case] pattern: &str,
    #[case] name: &str,
    #[case] exact: bool,
    #[case] icase: bool,
) {
    let m = Matcher::new(pattern).unwrap();
    assert_eq!(m.is_match(name), exact, "{pattern} on {name}");
    assert_eq!(m.is_match_icase(name), icase, "{pattern} on {name} (icase)");
}

/// Bytes raw strings cannot hold: `.` skips line breaks, `[^]` does not, `\cA` is `A`.
#[rstest]
#[case(r".", "\n", false)]
#[case(r"[^]", "\n", true)]
#[case(r"\cA", "\u{1}", false)]
#[case(r"\0", "a", false)]
#[case(r"\s", "\t", true)]
fn matches_control_bytes(#[case] pattern: &str, #[case] name: &str, #[case] expected: bool) {
    assert_eq!(Matcher::new(pattern).unwrap().is_match(name), expected);
}

#[test]
fn catastrophic_backtracking_is_too_complex_not_a_hang() {
    let m = Matcher::new("(?:(?:a*)*)*b").unwrap();
    assert_eq!(m.try_match(&[b'a'; 40], false), Err(TooComplex));
    assert!(!m.is_match(&"a".repeat(40)));
}
