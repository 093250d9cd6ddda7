//! `GET /api/v1/audit[?since=2h&pool=NAME&job=ID]`: audit entries, oldest first, as a JSON array of
//! the objects `afpool audit --json` prints one per line.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::AppState;
use crate::store::audit::{parse_duration, AuditEntry, AuditFilter};

/// Query parameters, as `afpool audit`'s flags.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Only entries at most this old (`30m`, `2h`, `7d`).
    pub since: Option<String>,
    /// Only entries about this pool.
    pub pool: Option<String>,
    /// Only entries about this afserver job id.
    pub job: Option<i64>,
}

/// The entries the query selects.
pub async fn read(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let since = match query.since.as_deref() {
        Some(text) => Some(parse_duration(text).map_err(ApiError::BadQuery)?),
        None => None,
    };
    let filter = AuditFilter {
        since,
        pool: query.pool,
        job_id: query.job,
    };
    Ok(Json(state.audit.read(&filter).await?))
}
