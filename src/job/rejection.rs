//! Why a job is not forwarded: [`Rejection`] (a shield rule or a routing policy), and the error reply
//! afpool sends in afserver's own shape.

use serde::Serialize;

/// Which shield rule refused a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShieldRule {
    /// Not a JSON object job envelope, or a field of the wrong type.
    Malformed,
    /// `user_name` missing or empty.
    NoUserName,
    /// `blocks` missing, not an array, or empty.
    NoBlocks,
    /// A block that would have no tasks, or is not an object.
    EmptyBlock,
    /// A hosts mask that is not a valid regex in regex mode.
    InvalidRegex,
    /// A backslash in a field afserver writes back unescaped (block masks, `user_name`,
    /// `host_name`, ...), which makes its replies and job store invalid JSON.
    Backslash,
    /// A double quote in a field afserver writes back unescaped.
    Quote,
    /// NUL (afserver cuts the text there) or a control character afserver writes back raw.
    ControlCharacter,
    /// A non-zero `id`: afserver registers the job under it and crashes when it is taken.
    JobId,
    /// A task count afserver cannot hold: over int32, a negative or too large `tasks_num`.
    TaskCount,
    /// Frame numbers whose arithmetic overflows afserver's 64-bit integers.
    FrameOverflow,
    /// A task that is not a JSON object (afserver reads it as one: undefined behaviour).
    TaskNotObject,
}

/// A job afpool will not forward. Display is one line starting with `afpool: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The job would crash or corrupt afserver, or could never run.
    #[error("afpool: {message}")]
    Shield {
        /// The rule that refused it.
        rule: ShieldRule,
        /// What is wrong, for the submitter.
        message: String,
    },
    /// A routing policy (`reject`) refused it.
    #[error("afpool: {message}")]
    Policy {
        /// The pool the job asked for.
        pool: String,
        /// What is wrong, for the submitter.
        message: String,
    },
}

impl Rejection {
    pub(crate) fn shield(rule: ShieldRule, message: impl Into<String>) -> Self {
        Rejection::Shield {
            rule,
            message: message.into(),
        }
    }

    /// The shield rule, if a shield rule refused the job.
    pub fn rule(&self) -> Option<ShieldRule> {
        match self {
            Rejection::Shield { rule, .. } => Some(*rule),
            Rejection::Policy { .. } => None,
        }
    }
}

/// afserver's error reply shape carrying `text`:
/// `{"id":0,"serial":0,"error":"<text>","info":{"kind":"error","text":"<text>"}}`.
pub fn error_reply_body(text: &str) -> Vec<u8> {
    let quoted = serde_json::to_string(text).expect("a string always serializes");
    format!(r#"{{"id":0,"serial":0,"error":{quoted},"info":{{"kind":"error","text":{quoted}}}}}"#)
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_is_afservers_shape_and_escaped() {
        let body = error_reply_body("afpool: job \"x\" \\ bad");
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.starts_with(
            r#"{"id":0,"serial":0,"error":"afpool: job \"x\" \\ bad","info":{"kind":"error""#
        ));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["info"]["text"], "afpool: job \"x\" \\ bad");
        assert_eq!(v["error"], v["info"]["text"]);
    }

    #[test]
    fn display_starts_with_afpool() {
        let r = Rejection::shield(ShieldRule::NoBlocks, "job 'x' has no blocks");
        assert_eq!(r.to_string(), "afpool: job 'x' has no blocks");
        assert_eq!(r.rule(), Some(ShieldRule::NoBlocks));
        let p = Rejection::Policy {
            pool: "gpu".into(),
            message: "unknown pool 'gpu'".into(),
        };
        assert_eq!(p.rule(), None);
    }
}
