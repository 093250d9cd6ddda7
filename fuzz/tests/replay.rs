//! Replays, without AFL, every input in `fixtures/fuzz/<target>/` (past findings) and the seed
//! fixtures through the fuzz targets' checks: a finding fixed once stays fixed.

use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn replay(target: &str, run: impl Fn(&[u8]), seeds: &[&str]) {
    let mut inputs = files(&Path::new(ROOT).join("fixtures/fuzz").join(target));
    for dir in seeds {
        inputs.extend(files(&Path::new(ROOT).join(dir)));
    }
    assert!(!inputs.is_empty(), "{target}: no inputs");
    for path in inputs {
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(result.is_ok(), "{target} fails on {}", path.display());
    }
}

#[test]
fn request_frame_inputs() {
    replay(
        "request_frame",
        afpool_fuzz::request_frame,
        &["fixtures/captures"],
    );
}

#[test]
fn reply_frame_inputs() {
    replay(
        "reply_frame",
        afpool_fuzz::reply_frame,
        &["fixtures/captures"],
    );
}

#[test]
fn envelope_inputs() {
    replay(
        "envelope",
        afpool_fuzz::envelope,
        &["fixtures/jobs", "fixtures/submit"],
    );
}

#[test]
fn route_inputs() {
    let inv = afpool_fuzz::inventory();
    let run = |data: &[u8]| afpool_fuzz::route(data, &inv);
    replay("route", run, &["fixtures/jobs", "fixtures/submit"]);
}

#[cfg(feature = "legacy")]
#[test]
fn legacy_request_inputs() {
    replay("legacy_request", afpool_fuzz::legacy_request, &[]);
}
