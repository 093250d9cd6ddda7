//! Sending one job to afserver the way af.py does: a text-framed request (`AFANASY n JSON{...}`),
//! one request per connection, and afserver's reply read back and judged: `{"id":N,"serial":S}`
//! with `N > 0` is success; `id` 0, an `error` key or `info.kind == "error"` is a refusal carrying
//! afserver's own text.

use crate::protocol::{encode, frame};
use crate::upstream::{Upstream, UpstreamError};

/// Why a job was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// afserver (or the proxy) could not be reached or did not answer.
    #[error("cannot reach afserver at {}: {}", address(.0), reason(.0))]
    Unreachable(#[source] UpstreamError),
    /// afserver answered with a refusal.
    #[error("afserver refused the job: {0}")]
    Refused(String),
    /// afserver's answer could not be understood.
    #[error("unexpected reply from afserver: {0}")]
    BadReply(String),
}

/// What afserver answered to an accepted job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The new job's id.
    pub id: i64,
    /// Its serial number.
    pub serial: i64,
}

/// Send one request body (`{"job":{...}}`) and judge the reply.
pub async fn send_job(upstream: &Upstream, body: &[u8]) -> Result<Accepted, SendError> {
    let reply = upstream
        .exchange(&encode::text_request(body))
        .await
        .map_err(SendError::Unreachable)?;
    judge_reply(&reply)
}

/// The address an upstream error is about.
pub fn address(e: &UpstreamError) -> &str {
    match e {
        UpstreamError::Connect(addr, _)
        | UpstreamError::ConnectTimeout(addr, _)
        | UpstreamError::Io(addr, _)
        | UpstreamError::WriteTimeout(addr, _)
        | UpstreamError::ReplyTimeout(addr, ..)
        | UpstreamError::Cut(addr, _)
        | UpstreamError::OverBudget(addr, _) => addr,
    }
}

/// What went wrong, without repeating the address.
pub fn reason(e: &UpstreamError) -> String {
    match e {
        UpstreamError::Connect(_, e) => e.to_string(),
        UpstreamError::ConnectTimeout(_, t) => format!("no connection within {t:?}"),
        UpstreamError::Io(_, e) => format!("connection failed: {e}"),
        UpstreamError::WriteTimeout(_, t) => format!("the request was not taken within {t:?}"),
        UpstreamError::ReplyTimeout(_, t, 0) => format!("no reply within {t:?}"),
        UpstreamError::ReplyTimeout(_, t, n) => format!("only {n} bytes of a reply within {t:?}"),
        UpstreamError::Cut(_, n) => format!("the connection closed after {n} bytes of a reply"),
        UpstreamError::OverBudget(_, n) => format!("a reply of {n} bytes is over the byte budget"),
    }
}

/// Judge a whole framed reply (pure).
pub fn judge_reply(reply: &[u8]) -> Result<Accepted, SendError> {
    if reply.is_empty() {
        return Err(SendError::BadReply(
            "the connection closed without a reply".into(),
        ));
    }
    let framed = frame::parse_reply(reply).map_err(|e| SendError::BadReply(e.to_string()))?;
    let body = &reply[framed.body];
    let json: serde_json::Value = crate::renders::from_slice_lenient(body)
        .map_err(|e| SendError::BadReply(format!("{e}: {}", String::from_utf8_lossy(body))))?;
    judge_json(&json)
}

fn judge_json(json: &serde_json::Value) -> Result<Accepted, SendError> {
    if let Some(error) = json.get("error") {
        return Err(SendError::Refused(text_of(error)));
    }
    let info = &json["info"];
    if info["kind"] == "error" {
        return Err(SendError::Refused(text_of(&info["text"])));
    }
    match json["id"].as_i64() {
        Some(id) if id > 0 => Ok(Accepted {
            id,
            serial: json["serial"].as_i64().unwrap_or(0),
        }),
        Some(_) => Err(SendError::Refused(
            "the job was not registered (id 0)".into(),
        )),
        None => Err(SendError::BadReply(json.to_string())),
    }
}

fn text_of(v: &serde_json::Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &str) -> Vec<u8> {
        encode::text_request(body.as_bytes())
    }

    #[test]
    fn success_is_a_positive_id() {
        let ok = judge_reply(&text("{\n\"id\":7,\n\"serial\":3\n}")).unwrap();
        assert_eq!(ok, Accepted { id: 7, serial: 3 });
    }

    #[test]
    fn refusals_carry_afservers_text() {
        let cases = [
            (
                r#"{"id":0,"serial":0,"error":"Invalid job."}"#,
                "Invalid job.",
            ),
            (
                r#"{"info":{"kind":"error","text":"Invalid action."}}"#,
                "Invalid action.",
            ),
            (
                r#"{"id":0,"serial":0}"#,
                "the job was not registered (id 0)",
            ),
            (
                r#"{"error":"afpool: no pool named 'x'"}"#,
                "afpool: no pool named 'x'",
            ),
        ];
        for (body, want) in cases {
            match judge_reply(&text(body)) {
                Err(SendError::Refused(got)) => assert_eq!(got, want),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn nonsense_is_a_bad_reply() {
        assert!(matches!(judge_reply(b""), Err(SendError::BadReply(_))));
        assert!(matches!(
            judge_reply(&text(r#"{"x":1}"#)),
            Err(SendError::BadReply(_))
        ));
    }
}
