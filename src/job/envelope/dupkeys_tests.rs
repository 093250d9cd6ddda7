//! The duplicate-key scan: table cases, and agreement with a full serde_json parse that checks
//! every object's keys (the strict reader afpool used before the scan) on every fixture and on
//! generated bodies.

use std::collections::HashSet;
use std::fmt;

use rstest::rstest;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::*;
use crate::job::envelope::{checked_text, BodyError};

#[rstest]
#[case::none(r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#, None)]
#[case::top(r#"{"a":1,"a":2}"#, Some(("a", 7)))]
#[case::nested(r#"{"x":[{"k":"v","k":"w"}]}"#, Some(("k", 15)))]
#[case::value_is_not_a_key(r#"{"a":"a","b":"a"}"#, None)]
#[case::escaped(r#"{"job":1,"jo\u0062":2}"#, Some(("job", 9)))]
#[case::quote_in_key(r#"{"a\"":1,"a\"":2}"#, Some(("a\"", 9)))]
#[case::braces_in_strings(r#"{"a":"{\"a\":1}","b":"}"}"#, None)]
#[case::backslash_before_quote(r#"{"a":"\\","a":1}"#, Some(("a", 10)))]
#[case::after_closed_object(r#"{"a":{"b":1},"b":2}"#, None)]
#[case::spaces(" { \"a\" : 1 ,\n \"a\" : 2 } ", Some(("a", 14)))]
fn finds_duplicates(#[case] text: &str, #[case] want: Option<(&str, usize)>) {
    let got = scan(text).duplicate.map(|d| (d.key, d.at));
    assert_eq!(got, want.map(|(k, at)| (k.to_string(), at)));
}

#[test]
fn many_keys_go_through_a_set() {
    let mut keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    assert_eq!(scan(&format!("{{{}}}", keys.join(","))).duplicate, None);
    keys.push("\"k3\":0".into());
    let d = scan(&format!("{{{}}}", keys.join(","))).duplicate.unwrap();
    assert_eq!(d.key, "k3");
}

#[rstest]
#[case::plain(r#"{"a":[1,-2.5,"\u00e9",12345678901234567]}"#, false)]
#[case::exponent(r#"{"a":1e400}"#, true)]
#[case::long_integer(r#"{"a":123456789012345678901}"#, true)]
#[case::surrogate_pair(r#"{"a":"\ud83d\ude00"}"#, true)]
#[case::lone_surrogate(r#"{"a":"\uDC00"}"#, true)]
#[case::escaped_backslash_then_text(r#"{"a":"\\ud800"}"#, false)]
fn notes_values_a_skip_does_not_read(#[case] text: &str, #[case] suspect: bool) {
    assert_eq!(scan(text).suspect, suspect);
}

/// `{"a":` then `depth - 1` nested arrays (`[[...1...]]`), then `}`.
fn nested(depth: usize) -> String {
    format!(
        "{{\"a\":{}1{}}}",
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn deep_nesting_is_suspect_and_refused_past_serdes_limit() {
    assert!(!scan(&nested(DEEP)).suspect);
    assert!(scan(&nested(DEEP + 1)).suspect);
    // serde_json's skip of a raw value has no depth limit: without the scan's note, a job whose
    // task holds 100,000 nested arrays would reach afserver's recursive parser.
    let deep = format!(
        r#"{{"job":{{"name":"j","user_name":"u","blocks":[{{"tasks":[{{"x":{}1{}}}]}}]}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(crate::job::envelope::Envelope::parse(deep.as_bytes()).is_err());
    assert!(reference(&nested(120)).is_ok() && reference(&nested(135)).is_err());
    for depth in 120..=135 {
        agree(&nested(depth));
    }
}

#[rstest]
#[case("{\"a\":1}", 0, (1, 1))]
#[case("{\n \"a\":1}", 3, (2, 2))]
#[case("{\n\n\"a\":1}", 3, (3, 1))]
fn positions(#[case] text: &str, #[case] at: usize, #[case] want: (usize, usize)) {
    assert_eq!(line_column(text, at), want);
}

/// The reference: serde_json parses every value and checks each object's keys.
fn reference(text: &str) -> Result<(), Option<String>> {
    let mut dup = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let read = de
        .deserialize_map(Checked(&mut dup))
        .and_then(|()| de.end());
    match (read, dup) {
        (Ok(()), _) => Ok(()),
        (Err(_), d) => Err(d),
    }
}

struct Checked<'a>(&'a mut Option<String>);

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Checked(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.0 = Some(key);
                return Err(de::Error::custom("duplicate key"));
            }
            map.next_value_seed(Checked(&mut *self.0))?;
        }
        Ok(())
    }
}

/// Both readers accept the same bodies, and name the same key when both find a duplicate; an
/// accepted job's task lists are split as serde_json splits them.
pub(super) fn agree(text: &str) {
    super::tasks_tests::tasks_agree(text);
    let new = checked_text(text.as_bytes());
    let old = reference(text);
    assert_eq!(new.is_ok(), old.is_ok(), "{text}: {new:?} vs {old:?}");
    let env = crate::job::envelope::Envelope::parse(text.as_bytes());
    assert_eq!(env.is_ok(), old.is_ok(), "envelope: {text}");
    if let (Err(BodyError::DuplicateKey { key, .. }), Err(Some(old_key))) = (&new, &old) {
        assert_eq!(key, old_key, "{text}");
    }
}

#[test]
fn agrees_with_a_full_parse_on_every_fixture() {
    let mut n = 0;
    for dir in ["fixtures/jobs", "fixtures/submit", "fixtures/fuzz"] {
        for path in walk(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)) {
            let bytes = std::fs::read(&path).unwrap();
            if let Ok(text) = std::str::from_utf8(&bytes) {
                agree(text);
                n += 1;
            }
        }
    }
    assert!(n > 50, "only {n} fixtures read");
}

pub(super) fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        match path.is_dir() {
            true => out.extend(walk(path)),
            false => out.push(path),
        }
    }
    out
}

/// A random JSON value, depth-limited, with few distinct keys (so duplicates are common), and
/// the escapes and numbers a skip does not read.
pub(super) fn value(rng: &mut fastrand::Rng, depth: u32, out: &mut String) {
    const KEYS: [&str; 6] = ["a", "b", "job", "jo\\u0062", "a\\\"", "\\u0061"];
    const SCALARS: [&str; 12] = [
        "1",
        "-0",
        "2.5e3",
        "1e400",
        "-1e999",
        "123456789012345678901234",
        "true",
        "null",
        "\"x\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud800\"",
        "\"\\\\ud800\"",
    ];
    match (depth, rng.u8(0..4)) {
        (0, _) | (_, 0) => out.push_str(SCALARS[rng.usize(0..SCALARS.len())]),
        (_, 1) => {
            out.push('[');
            for i in 0..rng.usize(0..4) {
                if i > 0 {
                    out.push_str(", ");
                }
                value(rng, depth - 1, out);
            }
            out.push(']');
        }
        _ => object(rng, depth, out, &KEYS),
    }
}

fn object(rng: &mut fastrand::Rng, depth: u32, out: &mut String, keys: &[&str]) {
    out.push('{');
    for i in 0..rng.usize(0..4) {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(" \"{}\" : ", keys[rng.usize(0..keys.len())]));
        value(rng, depth - 1, out);
    }
    out.push('}');
}

/// [`agree`] on `n` generated bodies (seed `seed`), each passed through `shape`; how many the
/// reference reader accepted and refused.
fn agree_on_generated(seed: u64, n: usize, shape: impl Fn(String) -> String) -> (usize, usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..n {
        let mut text = String::new();
        object(&mut rng, 4, &mut text, &["job", "get", "x"]);
        let text = shape(text);
        agree(&text);
        match reference(&text) {
            Ok(()) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    (accepted, refused)
}

#[test]
fn agrees_with_a_full_parse_on_generated_bodies() {
    let (accepted, refused) = agree_on_generated(0x5eed, 20_000, |text| text);
    assert!(
        accepted > 1000 && refused > 1000,
        "{accepted} accepted, {refused} refused"
    );
}

/// `text` (an object) with a first member of `SCAN_BESIDE` bytes, so its duplicate keys are
/// scanned on a second thread.
pub(super) fn padded(text: &str) -> String {
    let pad = "p".repeat(crate::job::envelope::SCAN_BESIDE);
    let rest = &text[1..];
    let sep = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    format!(r#"{{"~pad~":"{pad}"{sep}{rest}"#)
}

#[test]
fn large_bodies_scanned_beside_the_parse_get_the_same_verdict() {
    let (accepted, refused) = agree_on_generated(0xb16, 40, |text| padded(&text));
    assert!(
        accepted > 5 && refused > 5,
        "{accepted} accepted, {refused} refused"
    );
    // A parse error comes before a duplicate key, as when the scan ran after the parse.
    let cut = padded(r#"{"a":1,"a":2,"b":"#);
    let got = crate::job::envelope::Envelope::parse(cut.as_bytes()).unwrap_err();
    assert!(!matches!(got, BodyError::DuplicateKey { .. }), "{got:?}");
    // The scan runs on text serde_json has not read yet: cut inside a key, it must not panic.
    for cut in [r#"{"a":1,"é"#, r#"{"a":1,""#, r#"{"a":1,"é\"#] {
        let got = crate::job::envelope::Envelope::parse(padded(cut).as_bytes()).unwrap_err();
        assert!(matches!(got, BodyError::Json(_)), "{cut}: {got:?}");
    }
    let dup = padded(r#"{"job":{"blocks":[],"blocks":[1]}}"#);
    let got = crate::job::envelope::Envelope::parse(dup.as_bytes()).unwrap_err();
    assert!(
        matches!(got, BodyError::DuplicateKey { ref key, .. } if key == "blocks"),
        "{got:?}"
    );
}

/// The word-at-a-time search finds what `memchr2` finds, at every length and position, with
/// bytes that differ from `"` and `\` by one bit, and high bytes (which its zero test borrows
/// through).
#[test]
fn quote_or_backslash_finds_what_memchr2_finds() {
    let mut rng = fastrand::Rng::with_seed(0x5a4);
    let alphabet = [
        b'"',
        b'\\',
        b'#',
        b'\x22' ^ 0x80,
        b'\\' ^ 1,
        0x00,
        0x01,
        0xff,
        0x80,
        b'a',
    ];
    for _ in 0..100_000 {
        let len = rng.usize(0..40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.u8(0..4) {
                0 => alphabet[rng.usize(0..alphabet.len())],
                _ => rng.u8(..),
            })
            .collect();
        assert_eq!(
            quote_or_backslash(&bytes),
            memchr::memchr2(b'"', b'\\', &bytes),
            "{bytes:?}"
        );
    }
}
