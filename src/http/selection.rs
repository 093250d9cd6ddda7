//! `/api/v1/pools/{name}/selection` (PUT: set the `select` rule, `except` list, member windows
//! `during` and `time_zone`, replacing them all, audited like `afpool pool set`; a bad rule is a
//! 400 `invalid_rule` that says where, a bad window or zone a 400 `invalid_schedule`) and
//! `/api/v1/pools/{name}/members` (GET: the pool's members over the proxy's render list, each
//! with why: `static`, or the values its rule read; with `member_now`, and for scheduled
//! members their windows `during` and `next_change`).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::auth::Writer;
use super::error::ApiError;
use super::AppState;
use crate::select::resolve::members;
use crate::store::changes::{self, PoolChange};
use crate::store::Selection;

/// `PUT /api/v1/pools/{name}/selection` with `{"select": RULE|null, "except": [HOST...],
/// "during": {HOST|"*": [WINDOW...]}, "time_zone": ZONE|null}` (keys left out are cleared).
pub async fn set(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<Selection>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let selection = body?.0;
    let change = PoolChange::Select { name, selection };
    let applied = changes::apply(&state.store, change, &who).await?;
    tracing::info!(who, "API: {}", applied.summary.trim_end());
    if let Err(e) = changes::record(state.audit.as_ref(), &applied).await {
        tracing::warn!("the change was made but not audited: {e}");
    }
    Ok(Json(
        json!({ "pool": applied.pool, "summary": applied.summary.trim_end() }),
    ))
}

/// `GET /api/v1/pools/{name}/members`: `{"pool", "members": [{host, why, listed, member_now,
/// during?, next_change?}]}`.
pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let pool = state.store.get(&name).await?;
    let renders = state.renders.current();
    Ok(Json(
        json!({ "pool": pool.name, "members": members(&pool, &renders, jiff::Timestamp::now()) }),
    ))
}
