//! Finding a job's pool reference, first one found wins: the job key `"pool"`, the
//! `afpool_routed` mark of an earlier pass, a `"pool"` key in the JSON held by `custom_data`, a
//! `pool:NAME` token in `hosts_mask` then `hosts_mask_exclude` (a job with none of them gets what
//! [`super::unnamed`] chooses). The `pool` key, every
//! `pool:NAME` token and the mark are stripped before forwarding (routing writes the mark again).
//! A token may hold a pool expression (`pool:gpu&!old`, `pool:(gpu|cpu)&!old`: `|` only inside
//! parentheses, where it cannot be a mask separator), and several tokens in one field name their
//! union (`pool:gpu|pool:cpu`).

use serde::{Deserialize, Serialize};

use super::envelope::{Fields, Job};
use super::mask::SEPARATORS;
use super::rejection::{Rejection, ShieldRule};

/// The job key afpool leaves on every job it routed, held or passed (afserver ignores unknown
/// keys). It is a pool reference like the others, never a pass: a job that comes through afpool
/// again (afsubmit into a proxy, two proxies) is routed again, to the same masks.
pub const ROUTED_KEY: &str = "afpool_routed";

/// The legacy tool's "no pool" choice (owned by the store's name rules: no pool may be named so).
pub use crate::store::names::NO_POOL_SENTINEL;

/// Where the pool name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolSource {
    /// The job key `"pool"`.
    JobKey,
    /// `"pool"` inside the JSON in `custom_data`.
    CustomData,
    /// A `pool:NAME` token in `hosts_mask`.
    HostsMaskToken,
    /// A `pool:NAME` token in `hosts_mask_exclude`.
    HostsMaskExcludeToken,
    /// The [`ROUTED_KEY`] mark of an earlier pass through afpool.
    RoutedMark,
    /// A stored default pool rule that held for a job naming no pool ([`super::rules`]).
    DefaultRule,
    /// What a job naming no pool and matching no rule gets: the rules' otherwise, or
    /// `default_pool` of the settings when no rules are stored ([`super::unnamed`]).
    Default,
}

/// A pool reference: the name as given and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolChoice {
    /// Pool name as given (may be empty or the sentinel, meaning no pool).
    pub name: String,
    /// Where it was found.
    pub source: PoolSource,
}

impl PoolChoice {
    /// True when the reference means "no pool" (empty, or the legacy sentinel).
    pub fn is_no_pool(&self) -> bool {
        self.name.trim().is_empty() || self.name == NO_POOL_SENTINEL
    }
}

/// What [`take`] found and whether it changed the job.
#[derive(Debug)]
pub(crate) struct Found {
    pub choice: Option<PoolChoice>,
    pub stripped: bool,
}

/// Finds the pool reference and strips the `pool` key and every `pool:NAME` token from the job.
pub(crate) fn take(job: &mut Job<'_>) -> Result<Found, Rejection> {
    let key = take_key(job)?;
    let stripped_key = key.is_some();
    let mut choice = key.map(|name| PoolChoice {
        name,
        source: PoolSource::JobKey,
    });
    // The mark stands where the job key or a token stood before afpool stripped them, so it
    // ranks right after the job key: a routed job read again keeps its pool even when
    // `custom_data` names another one (routing is idempotent).
    let mark = job.str_of(ROUTED_KEY);
    let mut stripped = stripped_key | job.remove(ROUTED_KEY);
    if let Some(name) = mark.filter(|n| !n.trim().is_empty() && n != NO_POOL_SENTINEL) {
        choice = choice.or(Some(PoolChoice {
            name,
            source: PoolSource::RoutedMark,
        }));
    }
    if choice.is_none() {
        choice = custom_data_pool(job).map(|name| PoolChoice {
            name,
            source: PoolSource::CustomData,
        });
    }
    for (field, source) in [
        ("hosts_mask", PoolSource::HostsMaskToken),
        ("hosts_mask_exclude", PoolSource::HostsMaskExcludeToken),
    ] {
        let Some(mask) = job.str_of(field) else {
            continue;
        };
        let (rest, names) = strip_tokens(&mask);
        if !names.is_empty() {
            job.set_str(field, &rest);
            stripped = true;
            // Several tokens in one field name their union (`pool:gpu|pool:cpu`).
            let name = names.join("|");
            choice = choice.or(Some(PoolChoice { name, source }));
        }
    }
    Ok(Found { choice, stripped })
}

/// Removes the job key `pool`; `null` reads as "no pool", other non-strings are refused.
fn take_key(job: &mut Job<'_>) -> Result<Option<String>, Rejection> {
    let Some(raw) = job.raw("pool").map(str::to_owned) else {
        return Ok(None);
    };
    job.remove("pool");
    match serde_json::from_str::<Option<String>>(&raw) {
        Ok(name) => Ok(Some(name.unwrap_or_default())),
        Err(_) => Err(Rejection::shield(
            ShieldRule::Malformed,
            format!("the job key 'pool' must be a pool name string, not {raw}"),
        )),
    }
}

/// `"pool"` from the JSON object in `custom_data`, if it holds one with a string `pool`.
fn custom_data_pool(job: &Job<'_>) -> Option<String> {
    #[derive(Deserialize)]
    struct CustomData {
        pool: Option<serde_json::Value>,
    }
    let text = job.str_of("custom_data")?;
    match serde_json::from_str::<CustomData>(&text).ok()?.pool? {
        serde_json::Value::String(name) => Some(name),
        _ => None,
    }
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')
}

/// The length of a token's pool reference: name characters and the expression operators
/// `& ! ( )`, and `|` inside parentheses (outside them it separates mask entries).
fn token_len(b: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut len = 0;
    for &c in b {
        match c {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'|' if depth > 0 => {}
            b'&' | b'!' => {}
            c if is_name_char(c) => {}
            _ => break,
        }
        len += 1;
    }
    len
}

fn is_sep(c: u8) -> bool {
    SEPARATORS.iter().any(|&s| s as u8 == c)
}

/// The byte range of the first `pool:NAME` token (between separators or ends), with its name.
fn find_token(mask: &str) -> Option<(usize, usize)> {
    let b = mask.as_bytes();
    let mut from = 0;
    while let Some(pos) = mask[from..].find("pool:") {
        let start = from + pos;
        let name_start = start + 5;
        let end = name_start + token_len(&b[name_start..]);
        let bounded = (start == 0 || is_sep(b[start - 1])) && (end == b.len() || is_sep(b[end]));
        if bounded && end > name_start {
            return Some((start, end));
        }
        from = start + 1;
    }
    None
}

/// Removes every `pool:NAME` token, with the separators before it (or after it, at the start).
/// Returns the mask left and the names in order.
pub(crate) fn strip_tokens(mask: &str) -> (String, Vec<String>) {
    let mut rest = mask.to_string();
    let mut names = Vec::new();
    while let Some((start, end)) = find_token(&rest) {
        names.push(rest[start + 5..end].to_string());
        let b = rest.as_bytes();
        let before = b[..start].iter().rev().take_while(|&&c| is_sep(c)).count();
        let (cut_start, cut_end) = if before > 0 && before < start {
            (start - before, end)
        } else {
            (0, end + b[end..].iter().take_while(|&&c| is_sep(c)).count())
        };
        rest.replace_range(cut_start..cut_end, "");
    }
    (rest, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::envelope::Envelope;
    use rstest::rstest;

    #[rstest]
    #[case("pool:gpu", "", &["gpu"])]
    #[case("render01|pool:gpu", "render01", &["gpu"])]
    #[case("pool:gpu|render01", "render01", &["gpu"])]
    #[case("a|pool:gpu|b", "a|b", &["gpu"])]
    #[case("a, pool:gpu.x", "a", &["gpu.x"])]
    #[case("pool:a:pool:b", "", &["a", "b"])]
    #[case("mypool:gpu", "mypool:gpu", &[])]
    #[case("pool:", "pool:", &[])]
    #[case("(pool:gpu)", "(pool:gpu)", &[])]
    #[case("pool:gpu&!old|r1", "r1", &["gpu&!old"])]
    #[case("r1|pool:(gpu|cpu)&!old", "r1", &["(gpu|cpu)&!old"])]
    #[case("pool:gpu|pool:cpu", "", &["gpu", "cpu"])]
    #[case("pool:gpu) r1", "r1", &["gpu)"])]
    #[case("render.*", "render.*", &[])]
    fn strips_tokens(#[case] mask: &str, #[case] rest: &str, #[case] names: &[&str]) {
        let (got, found) = strip_tokens(mask);
        assert_eq!(got, rest);
        assert_eq!(found, names);
    }

    fn found(job: &str) -> (Option<(String, PoolSource)>, String) {
        let body = format!(r#"{{"job":{job}}}"#);
        let mut env = Envelope::parse(body.as_bytes()).unwrap();
        let f = take(env.job_mut().unwrap()).unwrap();
        let out = String::from_utf8(env.to_vec()).unwrap();
        (f.choice.map(|c| (c.name, c.source)), out)
    }

    #[rstest]
    #[case(
        r#"{"pool":"a","custom_data":"{\"pool\":\"b\"}","hosts_mask":"pool:c"}"#,
        "a",
        PoolSource::JobKey
    )]
    #[case(
        r#"{"custom_data":"{\"pool\":\"b\"}","hosts_mask":"pool:c"}"#,
        "b",
        PoolSource::CustomData
    )]
    #[case(
        r#"{"hosts_mask":"pool:c","hosts_mask_exclude":"pool:d"}"#,
        "c",
        PoolSource::HostsMaskToken
    )]
    #[case(
        r#"{"hosts_mask_exclude":"r1 pool:d"}"#,
        "d",
        PoolSource::HostsMaskExcludeToken
    )]
    #[case(
        r#"{"hosts_mask":"pool:gpu|pool:cpu&!old,r1","hosts_mask_exclude":"pool:d"}"#,
        "gpu|cpu&!old",
        PoolSource::HostsMaskToken
    )]
    #[case(r#"{"pool":""}"#, "", PoolSource::JobKey)]
    #[case(r#"{"pool":null}"#, "", PoolSource::JobKey)]
    fn precedence(#[case] job: &str, #[case] name: &str, #[case] source: PoolSource) {
        let (choice, out) = found(job);
        assert_eq!(choice, Some((name.to_string(), source)));
        assert!(
            !out.contains("\"pool\":") && !out.contains("pool:"),
            "{out}"
        );
    }

    #[rstest]
    #[case(r#"{"name":"x","hosts_mask":"r1"}"#)]
    #[case(r#"{"custom_data":"not json"}"#)]
    #[case(r#"{"custom_data":"{\"pool\":7}"}"#)]
    fn no_reference(#[case] job: &str) {
        let (choice, out) = found(job);
        assert_eq!(choice, None);
        assert_eq!(out, format!(r#"{{"job":{job}}}"#));
    }

    #[test]
    fn custom_data_is_left_as_is() {
        let (_, out) = found(r#"{"custom_data":"{\"pool\": \"gpu\"}"}"#);
        assert_eq!(out, r#"{"job":{"custom_data":"{\"pool\": \"gpu\"}"}}"#);
    }

    #[test]
    fn non_string_pool_key_is_refused() {
        let mut env = Envelope::parse(br#"{"job":{"pool":5}}"#).unwrap();
        let err = take(env.job_mut().unwrap()).unwrap_err();
        assert_eq!(err.rule(), Some(ShieldRule::Malformed));
    }

    #[rstest]
    #[case("", true)]
    #[case(" ", true)]
    #[case(NO_POOL_SENTINEL, true)]
    #[case("gpu", false)]
    fn no_pool_names(#[case] name: &str, #[case] none: bool) {
        assert_eq!(
            PoolChoice {
                name: name.into(),
                source: PoolSource::JobKey
            }
            .is_no_pool(),
            none
        );
    }
}
