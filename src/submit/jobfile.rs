//! Job files: the JSON af.py builds, either the envelope `{"job":{...}}` or a bare job object. A
//! file is read, checked to be a JSON object, wrapped if bare, optionally given a pool (the
//! top-level `"pool"` key, which the router reads first) and turned into the request body.

use std::io::Read;

use serde_json::{Map, Value};

/// What `-` means on the command line.
pub const STDIN: &str = "-";

/// Why a job file cannot be submitted (before anything is sent).
#[derive(Debug, thiserror::Error)]
pub enum JobFileError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[from] std::io::Error),
    /// The file is not valid JSON.
    #[error("invalid JSON at line {line}, column {column}: {reason}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's reason, without its position suffix.
        reason: String,
    },
    /// Valid JSON, but not a job.
    #[error("not a job: {0}")]
    NotAJob(&'static str),
}

/// Read a job file (`-` = standard input).
pub fn read(path: &str) -> Result<Vec<u8>, JobFileError> {
    if path == STDIN {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        return Ok(buf);
    }
    Ok(std::fs::read(path)?)
}

/// The request body `{"job":{...}}` for a job file's bytes, with the top-level `"pool"` key set to
/// `pool` when given. Key order is kept.
pub fn envelope(bytes: &[u8], pool: Option<&str>) -> Result<Vec<u8>, JobFileError> {
    let value: Value = serde_json::from_slice(bytes).map_err(json_error)?;
    let Value::Object(top) = value else {
        return Err(JobFileError::NotAJob(
            "the file holds JSON that is not an object",
        ));
    };
    let mut job = job_object(top)?;
    if let Some(pool) = pool {
        job.insert("pool".into(), Value::String(pool.into()));
    }
    let mut envelope = Map::new();
    envelope.insert("job".into(), Value::Object(job));
    Ok(serde_json::to_vec(&Value::Object(envelope)).expect("a JSON value always serializes"))
}

/// The job object of an envelope, or the object itself when it is a bare job.
fn job_object(mut top: Map<String, Value>) -> Result<Map<String, Value>, JobFileError> {
    match top.remove("job") {
        Some(Value::Object(job)) if top.is_empty() => Ok(job),
        Some(Value::Object(_)) => Err(JobFileError::NotAJob(
            "\"job\" has sibling keys; expected {\"job\":{...}}",
        )),
        Some(_) => Err(JobFileError::NotAJob("\"job\" is not an object")),
        None => Ok(top),
    }
}

fn json_error(e: serde_json::Error) -> JobFileError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let reason = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
    JobFileError::Json {
        line: e.line(),
        column: e.column(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_of(body: &[u8]) -> Value {
        serde_json::from_slice::<Value>(body).unwrap()["job"].clone()
    }

    #[test]
    fn wraps_a_bare_job_and_keeps_an_envelope() {
        let bare = envelope(br#"{"name":"a","blocks":[]}"#, None).unwrap();
        let wrapped = envelope(br#"{"job":{"name":"a","blocks":[]}}"#, None).unwrap();
        assert_eq!(bare, wrapped);
        assert_eq!(bare, br#"{"job":{"name":"a","blocks":[]}}"#);
    }

    #[test]
    fn pool_sets_or_overrides_the_top_level_key() {
        let set = envelope(br#"{"name":"a"}"#, Some("gpu")).unwrap();
        assert_eq!(job_of(&set)["pool"], "gpu");
        let over = envelope(br#"{"job":{"pool":"cpu","name":"a"}}"#, Some("gpu")).unwrap();
        assert_eq!(over, br#"{"job":{"pool":"gpu","name":"a"}}"#);
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let err = envelope(b"{\n  \"name\": \"a\",\n  oops\n}", None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("invalid JSON at line 3, column 3: "),
            "{text}"
        );
        assert!(!text.ends_with("column 3"), "{text}");
    }

    #[test]
    fn non_jobs_are_refused() {
        for body in [&b"[1]"[..], br#"{"job":3}"#, br#"{"job":{},"get":{}}"#] {
            assert!(
                matches!(envelope(body, None), Err(JobFileError::NotAJob(_))),
                "{body:?}"
            );
        }
    }
}
