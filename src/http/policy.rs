//! `/api/v1/pools/{name}/policy`: GET the pool's policy (`{}` for none); PUT a whole policy
//! (`{"allow": {"users": [...], "hosts": [...], "networks": [...], "if": CEL}, "deny": {...},
//! "on_refused": "reject"|"hold", "services": [...], "limits": {"priority": {"default": 50,
//! "max": 150}, ...}, "depend_mask_global": REGEX}`; `{}` clears it), validated and audited like
//! `afpool pool set`; a bad network or condition is a 400 `invalid_policy` that says where.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::auth::Writer;
use super::error::ApiError;
use super::AppState;
use crate::job::policy::PoolPolicy;
use crate::store::changes::PoolChange;

/// `GET /api/v1/pools/{name}/policy`: `{"pool", "policy", "summary": [line...]}`.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let pool = state.store.get(&name).await?;
    let summary = pool.policy.summary();
    Ok(Json(
        json!({ "pool": pool.name, "policy": pool.policy, "summary": summary }),
    ))
}

/// `PUT /api/v1/pools/{name}/policy` with the whole policy.
pub async fn set(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<PoolPolicy>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let policy = Box::new(body?.0);
    let change = PoolChange::Policy { name, policy };
    super::pools::apply_summary(&state, change, &who).await
}
