//! The routes of the HTTP API, their body limits, the JSON 404/405 answers, and the latency
//! histogram every matched route feeds.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::Uri;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;

use super::error::ApiError;
use super::{
    audit, events, explain, health, hosts, jobs, metrics, page, policy, pools, rules, selection,
    spill, AppState,
};
use super::{BODY_LIMIT, EXPLAIN_BODY_LIMIT};

/// Every route, with `state`.
pub fn app(state: AppState) -> Router {
    let explain_route = post(explain::explain).layer(DefaultBodyLimit::max(EXPLAIN_BODY_LIMIT));
    Router::new()
        .route("/api/v1/pools", get(pools::list).post(pools::create))
        .route(
            "/api/v1/pools/{name}",
            get(pools::show).patch(pools::rename).delete(pools::delete),
        )
        .route(
            "/api/v1/pools/{name}/hosts",
            post(pools::add_hosts).delete(pools::remove_hosts),
        )
        .route("/api/v1/pools/{name}/selection", put(selection::set))
        .route(
            "/api/v1/pools/{name}/policy",
            get(policy::show).put(policy::set),
        )
        .route("/api/v1/pools/{name}/members", get(selection::list))
        .route(
            "/api/v1/pools/{name}/members/preview",
            post(selection::preview),
        )
        .route("/api/v1/pools/{name}/spill", put(spill::set))
        .route(
            "/api/v1/rules",
            get(rules::show).put(rules::replace).post(rules::add),
        )
        .route("/api/v1/rules/otherwise", put(rules::set_otherwise))
        .route("/api/v1/rules/{index}", delete(rules::remove))
        .route("/api/v1/hosts", get(hosts::list))
        .route("/api/v1/explain", explain_route)
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/audit", get(audit::read))
        .route("/api/v1/events", get(events::stream))
        .route("/healthz", get(health::check))
        .route("/metrics", get(metrics::scrape))
        .route("/", get(page::index))
        .route("/static/{file}", get(page::asset))
        .route_layer(middleware::from_fn_with_state(state.clone(), timed))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Records the latency of a matched route.
async fn timed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |m| m.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .observe_http(&route, &method, started.elapsed());
    response
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_string())
}

async fn method_not_allowed(request: Request) -> Response {
    let text = format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    let body = serde_json::json!({ "error": text, "kind": "method_not_allowed" });
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}
