//! `GET /metrics`: every metric of [`crate::metrics::Metrics`] in OpenMetrics text (Prometheus
//! reads it), with the state gauges set from the live pools and render list at scrape time.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::AppState;
use crate::metrics::StateView;

/// The OpenMetrics content type.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics text.
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let (pools, renders) = (state.resolved.current(), state.renders.current());
    state.metrics.set_state(StateView {
        store_available: state.pools.is_available(),
        pools: &pools,
        renders: &renders,
        render_list_age: state.renders.age(),
    });
    (
        [(CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)],
        state.metrics.encode(),
    )
}
