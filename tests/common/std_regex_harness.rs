//! The libstdc++ harness (`tests/std_regex/harness.cpp`): afserver's regex engine, compiled once
//! per test binary with the machine's C++ compiler (`$CXX`, else `c++`), and run over many
//! patterns per process in its `batch` mode.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The harness binary, compiled once per test run.
pub fn harness() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/std_regex/harness.cpp");
        let bin = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("std_regex_harness");
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let status = Command::new(&cxx)
            .args(["-std=c++17", "-O1", "-o"])
            .arg(&bin)
            .arg(src)
            .status()
            .unwrap_or_else(|e| panic!("cannot run the C++ compiler '{cxx}' ({e}); install g++"));
        assert!(status.success(), "{cxx} failed on {src}");
        bin
    })
}

/// What libstdc++ makes of one pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `std::regex` throws: the `regex_error` code and message.
    Refused(i32, String),
    /// It compiles: the NFA's size, and per name whether `regex_match` matches, case-sensitively
    /// and with `icase` (`None` if only `icase` refuses).
    Accepted {
        states: usize,
        exact: Vec<bool>,
        icase: Option<Vec<bool>>,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn bits(field: &str) -> Vec<bool> {
    field
        .bytes()
        .filter(|b| *b != b'-')
        .map(|b| b == b'1')
        .collect()
}

/// Runs every `(pattern, names)` record through one harness process.
pub fn batch(records: &[(Vec<u8>, Vec<Vec<u8>>)]) -> Vec<Verdict> {
    let mut input = String::new();
    for (pattern, names) in records {
        let _ = writeln!(input, "P {}", hex(pattern));
        for n in names {
            let _ = writeln!(input, "N {}", hex(n));
        }
        input.push_str("E\n");
    }
    let mut child = Command::new(harness())
        .arg("batch")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("harness runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<Verdict> = text
        .lines()
        .take_while(|l| *l != "TIMEOUT")
        .map(parse_line)
        .collect();
    let next = records.get(verdicts.len()).map(|r| {
        let shown = String::from_utf8_lossy(&r.0);
        shown.chars().take(80).collect::<String>()
    });
    assert!(
        out.status.success() && verdicts.len() == records.len(),
        "harness stopped after {} of {} patterns; next: {next:?}",
        verdicts.len(),
        records.len(),
    );
    written.expect("harness reads every record");
    verdicts
}

fn parse_line(line: &str) -> Verdict {
    let mut f = line.splitn(4, ' ');
    match f.next() {
        Some("ERR") => {
            let code = f.next().unwrap().parse().unwrap();
            let rest: Vec<&str> = f.collect();
            Verdict::Refused(code, rest.join(" "))
        }
        Some("OK") => {
            let states = f.next().unwrap().parse().unwrap();
            let exact = bits(f.next().unwrap());
            let icase = f.next().unwrap();
            let icase = (icase != "E").then(|| bits(icase));
            Verdict::Accepted {
                states,
                exact,
                icase,
            }
        }
        _ => panic!("harness printed {line:?}"),
    }
}
