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
use crate::store::changes::PoolChange;
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
    super::pools::apply_summary(&state, change, &who).await
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

/// `POST /api/v1/pools/{name}/members/preview` with a selection as for the PUT: `{"pool",
/// "members", "selected"}` as the pool would resolve with it now, over the proxy's render list;
/// nothing is written. A bad rule is a 400 `invalid_rule` that says where. While no pool has a
/// rule the proxy's render list holds no hardware facts: a preview of a rule asks afserver for
/// them once and waits for that refresh (up to 5 s).
pub async fn preview(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<Selection>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let selection = body?.0.validated()?;
    let pool = state.store.get(&name).await?.with_selection(selection);
    if pool.selection.select.is_some() {
        with_resources(&state.renders).await;
    }
    let renders = state.renders.current();
    let members = members(&pool, &renders, jiff::Timestamp::now());
    let selected = members.iter().filter(|m| m.why != "static").count();
    Ok(Json(
        json!({ "pool": pool.name, "members": members, "selected": selected }),
    ))
}

/// Makes sure the render list carries hardware facts: if the cache was not asking for them, asks
/// and waits for the next refresh (bounded).
async fn with_resources(renders: &crate::routing::RendersCache) {
    let refreshes = *renders.subscribe().borrow();
    if !renders.ask_resources(true) {
        let next = renders.wait_refreshes(refreshes + 1);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), next).await;
    }
}
