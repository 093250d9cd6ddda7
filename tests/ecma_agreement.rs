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

/// What the comparison found.
#[derive(Default)]
struct Tally {
    /// Disagreements: the pattern, then what differs.
    bad: Vec<String>,
    /// Patterns libstdc++ accepts and afpool refuses for afserver's safety.
    unsafe_refusals: usize,
    accepted: usize,
    hits: usize,
    undecided: usize,
}

impl Tally {
    fn fail(&mut self, pattern: &[u8], what: String) {
        self.bad
            .push(format!("{:?}: {what}", String::from_utf8_lossy(pattern)));
    }

    /// One pattern: the model's verdict and state count against libstdc++'s.
    fn pattern(&mut self, pattern: &[u8], names: &[Vec<u8>], verdict: Verdict) {
        match (check_bytes(pattern), verdict) {
            (Err(r), Verdict::Accepted { .. }) if r.is_unsafe() => self.unsafe_refusals += 1,
            (Err(r), Verdict::Accepted { states, .. }) => self.fail(
                pattern,
                format!("model refuses ({r}), libstdc++ accepts with {states} states"),
            ),
            (Ok(c), Verdict::Refused(code, what)) => self.fail(
                pattern,
                format!(
                    "model accepts ({} states), libstdc++ refuses: {code} {what}",
                    c.states
                ),
            ),
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
                    let what = format!("model counts {} states, libstdc++ {states}", c.states);
                    self.fail(pattern, what);
                }
                self.accepted += 1;
                self.hits += exact.iter().filter(|b| **b).count();
                self.names(pattern, names, false, &exact);
                if let Some(icase) = icase {
                    self.names(pattern, names, true, &icase);
                }
            }
        }
    }

    /// The model's `regex_match` on each name against libstdc++'s.
    fn names(&mut self, pattern: &[u8], names: &[Vec<u8>], icase: bool, theirs: &[bool]) {
        let m = Matcher::from_bytes(pattern).expect("checked patterns compile");
        for (name, theirs) in names.iter().zip(theirs) {
            match m.try_match(name, icase) {
                Ok(ours) if ours != *theirs => {
                    let name = String::from_utf8_lossy(name);
                    let what =
                        format!("{name:?} (icase {icase}): model {ours}, libstdc++ {theirs}");
                    self.fail(pattern, what);
                }
                Ok(_) => {}
                Err(_) => self.undecided += 1,
            }
        }
    }
}

/// Compares the model with libstdc++ on every record.
fn compare(records: &[(Vec<u8>, Vec<Vec<u8>>)]) -> Tally {
    let mut tally = Tally::default();
    for ((pattern, names), verdict) in records.iter().zip(batch(records)) {
        tally.pattern(pattern, names, verdict);
    }
    eprintln!(
        "{} patterns: libstdc++ accepts {}, afpool refuses {} of them for safety; {} names \
         match; {} matches too complex to decide",
        records.len(),
        tally.accepted + tally.unsafe_refusals,
        tally.unsafe_refusals,
        tally.hits,
        tally.undecided
    );
    tally
}

fn assert_agree(records: &[(Vec<u8>, Vec<Vec<u8>>)], max_unsafe: usize) {
    let tally = compare(records);
    let shown = tally.bad.iter().take(25).cloned().collect::<Vec<_>>();
    assert!(
        tally.bad.is_empty(),
        "{} disagreements:\n{}",
        tally.bad.len(),
        shown.join("\n")
    );
    let n = tally.unsafe_refusals;
    assert!(n <= max_unsafe, "{n} safety refusals");
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
    let accepted: Vec<_> = records
        .iter()
        .filter(|(p, _)| check_bytes(p).is_ok())
        .collect();
    let n = accepted.len();
    assert!(
        (1500..3500).contains(&n),
        "{n} of 4000 random patterns accepted"
    );
    let undecided = accepted
        .iter()
        .filter(|(_, names)| names.is_empty())
        .count();
    assert!(undecided < 40, "names dropped for {undecided} patterns");
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

#[test]
fn safety_refusals_are_patterns_libstdcxx_accepts() {
    // Compiled only: matching `(){30000}x` overflows the matcher's stack in libstdc++. (A run of
    // 65,537 characters overflows the compiler's stack in this -O1 harness: hence a class.)
    let patterns = [
        "a{2147483648}".to_string(),
        "a{4294967297}".to_string(),
        "(){30000}x".to_string(),
        "(?:a??){10000}".to_string(),
        "a\0b".to_string(),
        format!("[{}]", "x".repeat(ecma::MAX_PATTERN_BYTES)),
        "(".repeat(201) + &")".repeat(201),
        "a".to_string() + &"*".repeat(201),
        "a".repeat(20_001),
    ];
    let records: Vec<_> = patterns
        .iter()
        .map(|p| (p.clone().into_bytes(), Vec::new()))
        .collect();
    for (p, verdict) in patterns.iter().zip(batch(&records)) {
        let shown: String = p.chars().take(40).collect();
        assert!(
            matches!(verdict, Verdict::Accepted { .. }),
            "{shown}: {verdict:?}"
        );
        let refusal = check_bytes(p.as_bytes()).expect_err(&shown);
        assert!(refusal.is_unsafe(), "{shown}: {refusal}");
    }
}

/// The collating-element names libstdc++ knows, read from its own header.
fn libstdcxx_collating_names() -> Vec<String> {
    let header = std::fs::read_dir("/usr/include/c++")
        .expect("libstdc++ headers (g++ is installed for the harness)")
        .filter_map(|d| std::fs::read_to_string(d.ok()?.path().join("bits/regex.tcc")).ok())
        .next()
        .expect("bits/regex.tcc");
    let start = header.find("__collatenames[] =").expect("the name table");
    let table = &header[start..start + header[start..].find("};").unwrap()];
    table
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn every_collating_element_and_equivalence_class_agrees() {
    let names = libstdcxx_collating_names();
    assert_eq!(names.len(), 128, "{names:?}");
    let bytes: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let records: Vec<_> = names
        .iter()
        .flat_map(|n| {
            [
                format!("[[.{n}.]]"),
                format!("[[={n}=]]"),
                format!("[^[.{n}.]-~]"),
            ]
        })
        .map(|p| (p.into_bytes(), bytes.clone()))
        .collect();
    assert_agree(&records, 0);
}

#[test]
fn every_class_and_range_agrees_on_every_byte() {
    let classes = "d w s alnum alpha blank cntrl digit graph lower print punct space upper xdigit";
    let mut patterns: Vec<String> = classes
        .split(' ')
        .flat_map(|c| {
            [
                format!("[[:{c}:]]"),
                format!("[^[:{c}:]]"),
                format!("[[:{}:]]", c.to_uppercase()),
            ]
        })
        .collect();
    let more = r". \d \D \w \W \s \S [\d] [\D] [\w\S] [^\W] [\x00-\x7f] [\x80-\xff] [A-z] [Z-a] [^a-z] a Z 5 _ \b \x80";
    patterns.extend(more.split(' ').map(str::to_string));
    let bytes: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let records: Vec<_> = patterns
        .into_iter()
        .map(|p| (p.into_bytes(), bytes.clone()))
        .collect();
    assert_agree(&records, 0);
}

/// The mask afpool writes under `key` for a job routed to `pool` in `farm`.
fn afpool_mask(farm: &[String], pool: &[String], mode: afpool::job::MaskMode, key: &str) -> String {
    use afpool::job::{route, Inventory, RouteSettings};
    let inventory = Inventory::new(
        vec![afpool::store::Pool::new("p", pool)],
        farm.iter()
            .map(|n| afpool::renders::RenderInfo::named(n))
            .collect(),
    );
    let settings = RouteSettings {
        mask_mode: mode,
        ..RouteSettings::default()
    };
    let body =
        br#"{"job":{"name":"j","user_name":"u","pool":"p","blocks":[{"tasks":[{"name":"t"}]}]}}"#;
    let out = route(body, &settings, &inventory).expect("routes");
    let job: serde_json::Value = serde_json::from_slice(&out.body.expect("a body")).unwrap();
    job["job"][key].as_str().expect("a mask").to_string()
}

#[test]
fn afpools_own_masks_pass_and_match_like_libstdcxx() {
    use afpool::job::MaskMode;
    let numbered: Vec<String> = (1..=5000).map(|i| format!("render{i:05}")).collect();
    let racks: Vec<String> = (0..300)
        .flat_map(|r| (0..40).map(move |n| format!("node-{r:03}-{n:02}.farm.example")))
        .collect();
    let gpus: Vec<String> = (1..=3000).map(|i| format!("gpu{i:04}.render")).collect();
    let masks = [
        afpool_mask(
            &numbered,
            &numbered[2000..2025],
            MaskMode::Exclude,
            "hosts_mask_exclude",
        ),
        afpool_mask(
            &racks,
            &racks[400..520],
            MaskMode::Exclude,
            "hosts_mask_exclude",
        ),
        afpool_mask(&gpus, &gpus[100..1700], MaskMode::Include, "hosts_mask"),
    ];
    let mut records = Vec::new();
    for (mask, farm) in masks.iter().zip([&numbered, &racks, &gpus]) {
        assert!(check_bytes(mask.as_bytes()).is_ok(), "{mask:.80}");
        let names = farm
            .iter()
            .step_by(7)
            .flat_map(|n| [n.clone(), n.to_uppercase(), format!("{n}0")]);
        records.push((
            mask.clone().into_bytes(),
            names.map(String::into_bytes).collect(),
        ));
    }
    assert_agree(&records, 0);
}
