//! afserver `action` messages on jobs, shaped as afwatch and CGRU's `af.py` `Cmd` send them:
//! `{"action":{"type":"jobs","ids":[...],"user_name":U,"host_name":H,"params":{...}}}` (applied by
//! `Work::jsonRead`) or with `"operation":{"type":"pause"}`; and sending one, where only an
//! answer that is not an `error` counts as done.

use serde_json::{json, Map, Value};

use crate::protocol::{encode, frame};
use crate::store::registry::JobMasks;
use crate::upstream::Upstream;

/// Who afpool's own actions are from, as afserver logs them.
pub const ACTOR: &str = "afpool";

/// Why an action did not land.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// afserver could not be asked.
    #[error(transparent)]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// afserver closed without an answer or answered something unreadable.
    #[error("afserver gave no readable answer to an action ({0})")]
    NoAnswer(String),
    /// afserver answered with an error.
    #[error("afserver refused an action: {0}")]
    Refused(String),
}

/// This host's name for the `host_name` afserver requires.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "afpool".to_string())
}

/// The `params` that give a job `masks` (fields left `None` are not sent).
pub fn params(masks: &JobMasks) -> Map<String, Value> {
    let mut params = Map::new();
    let fields = [
        ("hosts_mask", &masks.hosts_mask),
        ("hosts_mask_exclude", &masks.hosts_mask_exclude),
        ("hosts_mask_type", &masks.hosts_mask_type),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            params.insert(key.to_string(), json!(v));
        }
    }
    params
}

/// An action body setting `params` on jobs `ids`.
pub fn set_params(ids: &[i64], params: &Map<String, Value>) -> Vec<u8> {
    let action = json!({"action": {
        "type": "jobs", "ids": ids, "user_name": ACTOR, "host_name": host_name(),
        "params": params,
    }});
    serde_json::to_vec(&action).expect("a JSON value serialises")
}

/// An action body running `operation` (`pause`, `start`...) on jobs `ids`.
pub fn operation(ids: &[i64], operation: &str) -> Vec<u8> {
    let action = json!({"action": {
        "type": "jobs", "ids": ids, "user_name": ACTOR, "host_name": host_name(),
        "operation": {"type": operation},
    }});
    serde_json::to_vec(&action).expect("a JSON value serialises")
}

/// Sends one JSON body (text framing) and checks afserver's answer.
pub async fn send(upstream: &Upstream, body: &[u8]) -> Result<Value, ActionError> {
    let reply = upstream.exchange(&encode::text_request(body)).await?;
    let answer = read_answer(&reply).map_err(ActionError::NoAnswer)?;
    if answer["info"]["kind"] == "error" {
        let text = answer["info"]["text"].as_str().unwrap_or("").to_string();
        return Err(ActionError::Refused(text));
    }
    Ok(answer)
}

/// The JSON of a framed reply, read leniently like the render list.
pub fn read_answer(reply: &[u8]) -> Result<Value, String> {
    read_reply_body(reply)
}

/// afserver's framed `reply` body read as `T` (raw backslashes afserver writes unescaped are
/// repaired when the body does not parse as it is).
pub fn read_reply_body<T: serde::de::DeserializeOwned>(reply: &[u8]) -> Result<T, String> {
    let frame = frame::parse_reply(reply).map_err(|e| format!("{e} ({} bytes)", reply.len()))?;
    let body = &reply[frame.body];
    crate::renders::from_slice_lenient(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_params_is_shaped_like_afwatch_edits() {
        let masks = JobMasks {
            hosts_mask: None,
            hosts_mask_exclude: Some("(?!(?:a)$).*".into()),
            hosts_mask_type: Some("regex".into()),
        };
        let body: Value = serde_json::from_slice(&set_params(&[3, 4], &params(&masks))).unwrap();
        let action = &body["action"];
        assert_eq!(action["type"], "jobs");
        assert_eq!(action["ids"], json!([3, 4]));
        assert_eq!(action["user_name"], ACTOR);
        assert!(action["host_name"].as_str().is_some_and(|h| !h.is_empty()));
        assert_eq!(
            action["params"],
            json!({"hosts_mask_exclude": "(?!(?:a)$).*", "hosts_mask_type": "regex"})
        );
        let pause: Value = serde_json::from_slice(&operation(&[3], "pause")).unwrap();
        assert_eq!(pause["action"]["operation"], json!({"type": "pause"}));
    }

    #[test]
    fn answers_are_read_leniently() {
        let reply = encode::text_request(br#"{"info":{"kind":"log","text":"C:\x"}}"#);
        assert_eq!(read_answer(&reply).unwrap()["info"]["kind"], "log");
        assert!(read_answer(b"").is_err());
    }
}
