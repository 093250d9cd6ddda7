//! `GET /healthz`: 200 when afserver answered the last render list request in time and the pool
//! store's last read succeeded, else 503; the body says which, and how old the render list is.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

/// `{"ok", "afserver": {"reachable", "render_list_age_secs", "renders"}, "store": {"reachable",
/// "store", "pools"}}`.
pub async fn check(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let age = state.renders.age();
    let fresh = state.renders.interval().saturating_mul(2);
    let afserver = age.is_some_and(|a| a <= fresh);
    let store = state.pools.is_available();
    let body = json!({
        "ok": afserver && store,
        "afserver": {
            "reachable": afserver,
            "render_list_age_secs": age.map(|a| a.as_secs_f64()),
            "renders": state.renders.current().len(),
        },
        "store": {
            "reachable": store,
            "store": state.store.describe(),
            "pools": state.pools.current().len(),
        },
    });
    let status = if afserver && store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
