//! `/api/v1/pools/{name}/spill` (PUT: set the pool's `fallback` pools and spill triggers,
//! audited `spill_changed` like `afpool pool set`; refused settings are a 400 `invalid_spill`
//! that says why; `{}` clears them).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use super::auth::Writer;
use super::error::ApiError;
use super::AppState;
use crate::store::changes::PoolChange;
use crate::store::Spill;

/// `PUT /api/v1/pools/{name}/spill` with `{"fallback": [POOL...], "spill_below": K,
/// "spill_after": "30m"}` (keys left out are unset).
pub async fn set(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<Spill>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let spill = body?.0;
    let change = PoolChange::Spill { name, spill };
    super::pools::apply_summary(&state, change, &who).await
}
