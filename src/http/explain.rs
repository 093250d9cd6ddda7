//! `POST /api/v1/explain[?pool=NAME&file=NAME]`: a job file's JSON in (the `{"job":{...}}`
//! envelope or a bare job), the same explanation as `afpool explain --json` out, routed with the
//! running proxy's settings and inventory. Nothing is sent to afserver.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::AppState;
use crate::submit::explain::{explain as explain_job, json_line};
use crate::submit::jobfile;

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct ExplainQuery {
    /// Route into this pool (as `afpool explain --pool`).
    pub pool: Option<String>,
    /// The name shown as `file` in the reply (default `job`).
    pub file: Option<String>,
    /// Explain as if the job came from this client address (a pool's network rules are then
    /// checked; without it they are not).
    pub from: Option<std::net::IpAddr>,
}

/// Explains the job in the body.
pub async fn explain(
    State(state): State<AppState>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let body = body?;
    let envelope = jobfile::envelope(&body, query.pool.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("job file: {e}")))?;
    let router = state.router.clone();
    let file = query.file.unwrap_or_else(|| "job".to_string());
    let work = move || {
        let from = query.from.map(|a| a.to_canonical());
        let result = explain_job(&envelope, router.settings(), &router.inventory(), from);
        result.map(|e| json_line(&file, &e))
    };
    let line = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::BadRequest(format!("the job could not be explained: {e}")))?;
    match line {
        Ok(line) => Ok(Json(
            serde_json::from_str(&line).expect("json_line writes JSON"),
        )),
        Err(r) => Err(ApiError::Rejected(r.to_string())),
    }
}
