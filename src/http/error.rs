//! [`ApiError`]: the one error type of the HTTP API. Every failure becomes a status code and a
//! JSON body `{"error": "...", "kind": "..."}` (plus `invalid` for refused host names); store
//! errors map one to one, so the API and `afpool pool` refuse the same input with the same words.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::store::StoreError;

/// A host name the API refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidHost {
    /// The name as given.
    pub host: String,
    /// Why it was refused.
    pub why: String,
}

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The pool store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some host names are not acceptable; nothing was written.
    #[error("{}", invalid_hosts_text(.0))]
    InvalidHosts(Vec<InvalidHost>),
    /// The body is not the JSON this route expects.
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter is not acceptable.
    #[error("{0}")]
    BadQuery(String),
    /// The body is larger than the route accepts.
    #[error("request body too large (at most {0} bytes)")]
    TooLarge(usize),
    /// The body is not `application/json`.
    #[error("expected a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// A write without credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// A write with credentials that are not accepted, or from where writes are not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such route.
    #[error("no such API route: {0}")]
    NoRoute(String),
    /// The job was refused (shield rule); there is nothing to explain.
    #[error("{0}")]
    Rejected(String),
    /// The pool still has live jobs; deleting it needs `?force=true`.
    #[error("{0}")]
    LiveJobs(String),
}

fn invalid_hosts_text(hosts: &[InvalidHost]) -> String {
    let each: Vec<String> = hosts
        .iter()
        .map(|h| format!("'{}': {}", h.host, h.why))
        .collect();
    format!("invalid host name(s), nothing changed: {}", each.join("; "))
}

impl ApiError {
    /// The status code and the `kind` word.
    pub fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Store(StoreError::NotFound(_)) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Store(StoreError::AlreadyExists(_)) => {
                (StatusCode::CONFLICT, "already_exists")
            }
            ApiError::Store(StoreError::InvalidName(..)) => {
                (StatusCode::BAD_REQUEST, "invalid_name")
            }
            ApiError::Store(StoreError::InvalidHost(..)) | ApiError::InvalidHosts(_) => {
                (StatusCode::BAD_REQUEST, "invalid_host")
            }
            ApiError::Store(StoreError::InvalidRule(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_rule")
            }
            ApiError::Store(StoreError::InvalidSpill(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_spill")
            }
            ApiError::Store(StoreError::InvalidSchedule(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_schedule")
            }
            ApiError::Store(StoreError::InvalidPolicy(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_policy")
            }
            ApiError::Store(StoreError::InvalidRules(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_rules")
            }
            ApiError::Store(StoreError::Unavailable(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::BadQuery(_) => (StatusCode::BAD_REQUEST, "bad_query"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "no_route"),
            ApiError::Rejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "rejected"),
            ApiError::LiveJobs(_) => (StatusCode::CONFLICT, "live_jobs"),
        }
    }

    /// An error for a body extractor's rejection: too large, wrong type, or unreadable JSON.
    fn from_body(status: StatusCode, text: String, limit: usize) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(limit),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            _ => ApiError::BadRequest(text),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::from_body(r.status(), r.body_text(), super::BODY_LIMIT)
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        ApiError::from_body(r.status(), r.body_text(), super::EXPLAIN_BODY_LIMIT)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let mut body = json!({ "error": self.to_string(), "kind": kind });
        if let ApiError::InvalidHosts(hosts) = &self {
            body["invalid"] = json!(hosts);
        }
        if status.is_server_error() {
            tracing::warn!(kind, "API request failed: {self}");
        }
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: close, so a client does not reuse the connection.
            let close = header::HeaderValue::from_static("close");
            response.headers_mut().insert(header::CONNECTION, close);
        }
        if status == StatusCode::UNAUTHORIZED {
            let bearer = header::HeaderValue::from_static("Bearer");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, bearer);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(ApiError::Store(StoreError::NotFound("x".into())), 404, "not_found")]
    #[case(ApiError::Store(StoreError::AlreadyExists("x".into())), 409, "already_exists")]
    #[case(ApiError::Store(StoreError::InvalidName("".into(), "e".into())), 400, "invalid_name")]
    #[case(ApiError::Store(StoreError::InvalidHost("a b".into(), "e".into())), 400, "invalid_host")]
    #[case(ApiError::Store(StoreError::InvalidRule("e".into())), 400, "invalid_rule")]
    #[case(ApiError::Store(StoreError::InvalidSpill("e".into())), 400, "invalid_spill")]
    #[case(ApiError::Store(StoreError::InvalidSchedule("e".into())), 400, "invalid_schedule")]
    #[case(ApiError::Store(StoreError::InvalidPolicy("e".into())), 400, "invalid_policy")]
    #[case(ApiError::Store(StoreError::InvalidRules("e".into())), 400, "invalid_rules")]
    #[case(ApiError::Store(StoreError::Unavailable("down".into())), 503, "unavailable")]
    #[case(ApiError::TooLarge(1), 413, "too_large")]
    #[case(ApiError::Unauthorized("who".into()), 401, "unauthorized")]
    #[case(ApiError::Forbidden("no".into()), 403, "forbidden")]
    #[case(ApiError::Rejected("crash".into()), 422, "rejected")]
    fn statuses(#[case] error: ApiError, #[case] status: u16, #[case] kind: &str) {
        let (s, k) = error.status_and_kind();
        assert_eq!((s.as_u16(), k), (status, kind));
    }

    #[test]
    fn invalid_hosts_are_listed() {
        let e = ApiError::InvalidHosts(vec![InvalidHost {
            host: "a b".into(),
            why: "character ' ' is not allowed".into(),
        }]);
        assert_eq!(
            e.to_string(),
            "invalid host name(s), nothing changed: 'a b': character ' ' is not allowed"
        );
    }
}
