//! `GET /api/v1/hosts`: every render in the proxy's render list with its state (`online`,
//! `offline`, `busy`, `nimby`), its pools now and why (static, rule values, windows), plus pool
//! members afserver does not list: the same
//! report as `afpool hosts --json`, from the running proxy's render cache instead of a new request.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::commands::hosts::report;

/// `{"renders": [...], "unknown_members": [...], "render_list_age_secs": N|null}`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let pools = state.store.list().await?;
    let renders = state.renders.current();
    let mut body = json!(report(&renders, &pools, jiff::Timestamp::now()));
    body["render_list_age_secs"] = json!(state.renders.age().map(|a| a.as_secs_f64()));
    Ok(Json(body))
}
