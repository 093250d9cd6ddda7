//! afpool's model of libstdc++'s ECMAScript regex (`src/job/ecma.rs`) against the real thing:
//! libstdc++'s `std::regex` through the C++ harness (`tests/std_regex/harness.cpp`, one process
//! for many patterns). For every hand case of the unit tables, thousands of seeded random
//! patterns and large patterns near the 100,000-state limit, the model must give libstdc++'s
//! verdict (or refuse for afserver's safety, which is reported apart), exactly its NFA state
//! count, and its `regex_match` result on host-like names, case-sensitively and with `icase`.

#[path = "../src/job/ecma.rs"]
mod ecma;
#[path = "common/ecma_patterns.rs"]
mod ecma_patterns;
#[path = "common/std_regex_harness.rs"]
mod std_regex_harness;

use ecma::{check_bytes, Matcher, Refusal};
use ecma_patterns::{names, random_pattern};
use std_regex_harness::{batch, Verdict};

/// Where the model and libstdc++ part.
#[derive(Debug)]
struct Disagreement {
    pattern: String,
    what: String,
}

/// Compares the model with libstdc++ on every record; returns the disagreements and how many
/// patterns afpool refuses for safety although libstdc++ accepts them.
fn compare(records: &[(Vec<u8>, Vec<Vec<u8>>)]) -> (Vec<Disagreement>, usize) {
    let verdicts = batch(records);
    let mut bad = Vec::new();
    let mut unsafe_refusals = 0;
    let (mut accepted, mut hits, mut too_complex) = (0, 0, 0);
    for ((pattern, names), verdict) in records.iter().zip(verdicts) {
        let shown = String::from_utf8_lossy(pattern).into_owned();
        let mut fail = |what: String| {
            bad.push(Disagreement {
                pattern: shown.clone(),
                what,
            })
        };
        match (check_bytes(pattern), verdict) {
            (Err(r), Verdict::Accepted { .. }) if r.is_unsafe() => unsafe_refusals += 1,
            (Err(r), Verdict::Accepted { states, .. }) => fail(format!(
                "model refuses ({r}), libstdc++ accepts with {states} states"
            )),
            (Ok(c), Verdict::Refused(code, what)) => fail(format!(
                "model accepts ({} states), libstdc++ refuses: {code} {what}",
                c.states
            )),
            (Err(_), Verdict::Refused(..)) => {}
            (
                Ok(c),
                Verdict::Accepted {
                    states,
                    exact,
                    icase,
                },
            ) => {
                if c.states != states {
                    fail(format!(
                        "model counts {} states, libstdc++ {states}",
                        c.states
                    ));
                }
                accepted += 1;
                hits += exact.iter().filter(|b| **b).count();
                let m = Matcher::from_bytes(pattern).expect("checked patterns compile");
                for (i, name) in names.iter().enumerate() {
                    let shown = String::from_utf8_lossy(name);
                    match m.try_match(name, false) {
                        Ok(ours) if ours != exact[i] => {
                            fail(format!("{shown:?}: model {ours}, libstdc++ {}", exact[i]))
                        }
                        Ok(_) => {}
                        Err(_) => too_complex += 1,
                    }
                    if let (Ok(ours), Some(theirs)) = (m.try_match(name, true), &icase) {
                        if ours != theirs[i] {
                            fail(format!(
                                "{shown:?} icase: model {ours}, libstdc++ {}",
                                theirs[i]
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "{} patterns: libstdc++ accepts {}, afpool refuses {unsafe_refusals} of them for safety; \
         {hits} names match; {too_complex} matches too complex to decide",
        records.len(),
        accepted + unsafe_refusals
    );
    (bad, unsafe_refusals)
}

fn assert_agree(records: &[(Vec<u8>, Vec<Vec<u8>>)], max_unsafe: usize) {
    let (bad, unsafe_refusals) = compare(records);
    let shown: Vec<String> = bad
        .iter()
        .take(25)
        .map(|d| format!("{:?}: {}", d.pattern, d.what))
        .collect();
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        shown.join("\n")
    );
    assert!(
        unsafe_refusals <= max_unsafe,
        "{unsafe_refusals} safety refusals"
    );
}

#[test]
fn hand_cases_of_the_unit_tables_agree() {
    let source = include_str!("../src/job/ecma/tests.rs");
    let mut rng = fastrand::Rng::with_seed(7);
    let mut records: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    for line in source
        .lines()
        .filter(|l| l.trim_start().starts_with("#[case("))
    {
        let literals = raw_strings(line);
        let Some(pattern) = literals.first() else {
            continue;
        };
        let mut names = names(&mut rng, pattern.as_bytes());
        names.extend(literals.iter().skip(1).map(|n| n.as_bytes().to_vec()));
        records.push((pattern.as_bytes().to_vec(), names));
    }
    assert!(
        records.len() > 150,
        "only {} hand cases found",
        records.len()
    );
    assert_agree(&records, 4);
}

/// The raw string literals (`r"..."`, `r#"..."#`) on a line, in order.
fn raw_strings(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = raw_start(rest) {
        let hashes = usize::from(rest[i..].starts_with("r#"));
        let start = i + 2 + hashes;
        let close = if hashes == 1 { "\"#" } else { "\"" };
        let len = rest[start..].find(close).expect("closed literal");
        out.push(rest[start..start + len].to_string());
        rest = &rest[start + len + close.len()..];
    }
    out
}

/// Where the next raw string literal starts: an `r` that ends no word, before `"` or `#"`.
fn raw_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| {
        let opens = bytes[i + 1..].starts_with(b"\"") || bytes[i + 1..].starts_with(b"#\"");
        bytes[i] == b'r' && opens && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
    })
}

/// Drops the names of a record the model refuses or cannot decide within its step budget:
/// libstdc++ would backtrack at least as long on them (minutes, for the worst random patterns).
fn decidable(mut record: (Vec<u8>, Vec<Vec<u8>>)) -> (Vec<u8>, Vec<Vec<u8>>) {
    let hard = match Matcher::from_bytes(&record.0) {
        Ok(m) => record
            .1
            .iter()
            .any(|n| m.try_match(n, false).is_err() || m.try_match(n, true).is_err()),
        Err(_) => true,
    };
    if hard {
        record.1.clear();
    }
    record
}

#[test]
fn seeded_random_patterns_agree() {
    let mut rng = fastrand::Rng::with_seed(0xec3a_2026);
    let records: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0..4000)
        .map(|_| {
            let pattern = random_pattern(&mut rng);
            let names = names(&mut rng, &pattern);
            decidable((pattern, names))
        })
        .collect();
    let accepted = records
        .iter()
        .filter(|(p, _)| check_bytes(p).is_ok())
        .count();
    assert!(
        (800..3200).contains(&accepted),
        "{accepted} of 4000 random patterns accepted"
    );
    assert_agree(&records, 40);
}

/// Patterns whose state count straddles 100,000: `make(n)` for n around the limit.
fn near_the_limit(make: impl Fn(usize) -> String) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let states = |n| match check_bytes(make(n).as_bytes()) {
        Ok(c) => c.states as u64,
        Err(Refusal::TooManyStates(s)) => s,
        Err(e) => panic!("{}: {e}", make(n)),
    };
    let (mut lo, mut hi) = (4, 4);
    while states(hi) <= ecma::STATE_LIMIT {
        (lo, hi) = (hi, hi * 2);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if states(mid) <= ecma::STATE_LIMIT {
            lo = mid
        } else {
            hi = mid
        }
    }
    let names = vec![b"ab".to_vec(), b"render01".to_vec(), Vec::new()];
    [lo - 1, lo, hi]
        .iter()
        .map(|n| (make(*n).into_bytes(), names.clone()))
        .collect()
}

#[test]
fn large_patterns_count_states_exactly_near_the_limit() {
    let families: Vec<Box<dyn Fn(usize) -> String>> = vec![
        Box::new(|n| format!("(?:ab|c){{{n}}}")),
        Box::new(|n| format!("(a{{{n}}}){{3}}")),
        Box::new(|n| format!("((?:x|y){{2,4}}z?){{{n}}}")),
        Box::new(|n| format!("(?:[a-z]+(?=b)\\d*){{2,{n}}}")),
        Box::new(|n| format!("(?:render0[0-9]|gpu[.]node[1-3]|x){{{n}}}")),
        Box::new(|n| format!("(?:a(?:b(?:c){{2}}){{3}}){{{n},}}")),
        Box::new(|n| format!("(?!(?:r{{{n}}}|s)$).*")),
    ];
    let records: Vec<_> = families.iter().flat_map(near_the_limit).collect();
    assert_agree(&records, 0);
}
