//! `GET /api/v1/jobs[?pool=NAME]`: the registry of pool jobs (`jobs.json` or the `jobs`
//! collection beside the pools), by job id: what afpool routed into each pool.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::AppState;
use crate::store::registry::PoolJob;

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct JobsQuery {
    /// Only jobs of this pool.
    pub pool: Option<String>,
}

/// The registered jobs.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<Json<Vec<Arc<PoolJob>>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    Ok(Json(state.registry.list(query.pool.as_deref()).await?))
}
