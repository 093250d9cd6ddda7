//! Every case in `fixtures/jobs/` through `afpool::job::route`, compared byte for byte.
//!
//! A case is a directory holding `input.json` (a job body; captures hold the exact bytes sent by
//! af.py and afcmd), `case.json` (`about`, optional `settings` overrides, the expected `verdict`,
//! `pool`, `source`, and `unchanged` when the original bytes must be forwarded), and either
//! `expected.json` (the exact body afpool forwards) or `rejected.txt` (the exact rejection text).
//! All cases share `fixtures/jobs/inventory.json` (renders and pools).
//!
//! `AFPOOL_BLESS=1 cargo test --test job_fixtures` writes the expected files from the current
//! output instead of comparing; review the diff before committing.

use std::fs;
use std::path::{Path, PathBuf};

use afpool::job::{self, Inventory, Outcome, Rejection, RouteSettings};
use afpool::renders::RenderInfo;
use afpool::store::Pool;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct RenderRow {
    name: String,
    online: bool,
}

#[derive(Deserialize)]
struct InventoryFile {
    renders: Vec<RenderRow>,
    pools: Vec<Pool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    #[serde(default)]
    settings: RouteSettings,
    verdict: Option<String>,
    pool: Option<String>,
    source: Option<String>,
    #[serde(default)]
    unchanged: bool,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jobs")
}

fn inventory() -> Inventory {
    let text = fs::read_to_string(fixtures().join("inventory.json")).unwrap();
    let file: InventoryFile = serde_json::from_str(&text).unwrap();
    let renders = file
        .renders
        .into_iter()
        .map(|r| RenderInfo {
            online: r.online,
            ..RenderInfo::named(&r.name)
        })
        .collect();
    Inventory::new(file.pools, renders)
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn as_text<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Checks what every forwarded body must satisfy: a job submission whose masks are valid
/// full-match regexes when it is in regex mode, with no backslash in any block-level mask.
fn check_forwardable(body: &[u8]) -> Result<(), String> {
    if !job::is_job_submission(body) {
        return Err("output is not a job submission".into());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let job = &v["job"];
    let regex_mode = job["hosts_mask_type"] == "regex";
    let blocks = job["blocks"].as_array().ok_or("no blocks array")?;
    for (level, obj) in std::iter::once(("job", job)).chain(blocks.iter().map(|b| ("block", b))) {
        for key in ["hosts_mask", "hosts_mask_exclude"] {
            let Some(mask) = obj[key].as_str() else {
                continue;
            };
            if level == "block" && mask.contains('\\') {
                return Err(format!("block {key} '{mask}' has a backslash"));
            }
            if regex_mode {
                fancy_regex::Regex::new(&format!("^(?:{mask})$"))
                    .map_err(|e| format!("{key}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn check_outcome(dir: &Path, case: &Case, outcome: &Outcome, bless: bool) -> Result<(), String> {
    let want = (&case.verdict, &case.pool, &case.source);
    let pool = outcome.pool.as_ref();
    let got = (
        &Some(as_text(outcome.verdict)),
        &pool.map(|p| p.name.clone()),
        &pool.map(|p| as_text(p.source)),
    );
    if want != got {
        return Err(format!("verdict/pool/source: want {want:?}, got {got:?}"));
    }
    if case.unchanged {
        return match &outcome.body {
            None => Ok(()),
            Some(b) => Err(format!(
                "expected unchanged, got {}",
                String::from_utf8_lossy(b)
            )),
        };
    }
    let body = outcome
        .body
        .as_deref()
        .ok_or("expected a rewritten body, got none")?;
    check_forwardable(body)?;
    let path = dir.join("expected.json");
    if bless {
        fs::write(&path, [body, b"\n"].concat()).unwrap();
    }
    let expected = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if expected.strip_suffix(b"\n").unwrap_or(&expected) != body {
        return Err(format!(
            "body differs:\nwant {}\ngot  {}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(body)
        ));
    }
    Ok(())
}

fn check_rejection(dir: &Path, rejection: &Rejection, bless: bool) -> Result<(), String> {
    let path = dir.join("rejected.txt");
    if bless {
        fs::write(&path, format!("{rejection}\n")).unwrap();
    }
    let want =
        fs::read_to_string(&path).map_err(|_| format!("unexpected rejection: {rejection}"))?;
    if want.trim_end() != rejection.to_string() {
        return Err(format!(
            "rejection differs:\nwant {}\ngot  {rejection}",
            want.trim_end()
        ));
    }
    Ok(())
}

fn run_case(dir: &Path, inv: &Inventory, bless: bool) -> Result<(), String> {
    let input = fs::read(dir.join("input.json")).map_err(|e| e.to_string())?;
    let case: Case =
        serde_json::from_slice(&fs::read(dir.join("case.json")).map_err(|e| e.to_string())?)
            .map_err(|e| format!("case.json: {e}"))?;
    if !job::is_job_submission(&input) {
        return Err("input is not a job submission".into());
    }
    let result = match job::route(&input, &case.settings, inv) {
        Ok(outcome) => check_outcome(dir, &case, &outcome, bless),
        Err(rejection) if case.verdict.is_none() => check_rejection(dir, &rejection, bless),
        Err(rejection) => Err(format!(
            "expected {:?}, got rejection: {rejection}",
            case.verdict
        )),
    };
    result.map_err(|e| format!("{e}\n(case: {})", case.about))
}

#[test]
fn every_fixture_case() {
    let bless = std::env::var_os("AFPOOL_BLESS").is_some();
    let inv = inventory();
    let dirs = case_dirs();
    assert!(dirs.len() >= 12, "only {} fixture cases", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            run_case(d, &inv, bless)
                .err()
                .map(|e| format!("{}: {e}", d.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
