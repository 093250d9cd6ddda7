//! `/api/v1/pools` and `/api/v1/pools/{name}[/hosts]`: list, show, create, rename (PATCH), delete,
//! add and remove hosts. Reads come from the store itself (what `afpool pool list` shows); every
//! write is a [`PoolChange`] made by the store layer that `afpool pool` uses, then audited with
//! the caller's name. Host names are checked all at once first, so a request with one bad name
//! changes nothing and says which names were refused.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Writer;
use super::error::{ApiError, InvalidHost};
use super::AppState;
use crate::store::changes::{self, Applied, PoolChange};
use crate::store::names::{hosts_to_remove, validate_host};
use crate::store::{Pool, StoreError};

/// `POST /api/v1/pools` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPool {
    /// The pool's name.
    pub name: String,
    /// Its first hosts.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// `PATCH /api/v1/pools/{name}` body: the new name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// The new name.
    pub name: String,
}

/// Host names for `POST`/`DELETE /api/v1/pools/{name}/hosts`: `{"hosts": [...]}` or a bare list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum HostNames {
    /// `{"hosts": ["a", "b"]}`.
    Object {
        /// The names.
        hosts: Vec<String>,
    },
    /// `["a", "b"]`.
    List(Vec<String>),
}

impl HostNames {
    fn into_vec(self) -> Vec<String> {
        match self {
            HostNames::Object { hosts } | HostNames::List(hosts) => hosts,
        }
    }
}

/// `GET /api/v1/pools`: every pool, by name.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Pool>>, ApiError> {
    Ok(Json(state.store.list().await?))
}

/// `GET /api/v1/pools/{name}`.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Pool>, ApiError> {
    Ok(Json(state.store.get(&name).await?))
}

/// `POST /api/v1/pools`: 201 with the new pool.
pub async fn create(
    Writer(who): Writer,
    State(state): State<AppState>,
    body: Result<Json<NewPool>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(new) = body?;
    check_hosts(&new.hosts)?;
    let change = PoolChange::Create {
        name: new.name,
        hosts: new.hosts,
    };
    let applied = apply(&state, change, &who).await?;
    Ok((StatusCode::CREATED, Json(json!(applied.pool))))
}

/// `PATCH /api/v1/pools/{name}` with `{"name": NEW}`: the renamed pool.
pub async fn rename(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(old): Path<String>,
    body: Result<Json<Rename>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(Rename { name: new }) = body?;
    let applied = apply(&state, PoolChange::Rename { old, new }, &who).await?;
    Ok(Json(json!(applied.pool)))
}

/// `DELETE /api/v1/pools/{name}[?force=true]`.
#[derive(Debug, Default, Deserialize)]
pub struct DeleteQuery {
    /// Delete even if live jobs are in the pool (they then follow the unknown-pool policy).
    #[serde(default)]
    force: bool,
}

/// `DELETE /api/v1/pools/{name}`: `{"deleted": NAME}`; a pool with live jobs (registered by
/// the proxy) needs `?force=true`, as `afpool pool delete` needs `--force`.
pub async fn delete(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<Json<Value>, ApiError> {
    if !query.force {
        let live = state.registry.list(Some(&name)).await?;
        if !live.is_empty() {
            return Err(ApiError::LiveJobs(format!(
                "pool '{name}' has {} live jobs; delete it with ?force=true and they follow the \
                 unknown-pool policy",
                live.len()
            )));
        }
    }
    apply(&state, PoolChange::Delete { name: name.clone() }, &who).await?;
    Ok(Json(json!({ "deleted": name })))
}

/// `POST /api/v1/pools/{name}/hosts`: adds hosts.
pub async fn add_hosts(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<HostNames>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let hosts = body?.0.into_vec();
    check_hosts(&hosts)?;
    let applied = apply(&state, PoolChange::Add { name, hosts }, &who).await?;
    Ok(Json(hosts_reply(applied, true)))
}

/// `DELETE /api/v1/pools/{name}/hosts`: removes hosts (an odd legacy name can be removed).
pub async fn remove_hosts(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<HostNames>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let hosts = body?.0.into_vec();
    hosts_to_remove(&hosts)?;
    let applied = apply(&state, PoolChange::Remove { name, hosts }, &who).await?;
    Ok(Json(hosts_reply(applied, false)))
}

/// `{"pool", "added", "already_members", "invalid": [], "summary"}` for an add,
/// `{"pool", "removed", "not_members", "summary"}` for a removal. (`invalid` is always empty in a
/// success: one refused name refuses the whole request, with the names in the error's `invalid`.)
fn hosts_reply(applied: Applied, adding: bool) -> Value {
    let summary = applied.summary.trim_end();
    if adding {
        json!({ "pool": applied.pool, "added": applied.changed,
            "already_members": applied.skipped, "invalid": [], "summary": summary })
    } else {
        json!({ "pool": applied.pool, "removed": applied.changed,
            "not_members": applied.skipped, "summary": summary })
    }
}

/// Every refused host name at once (the store stops at the first).
fn check_hosts(hosts: &[String]) -> Result<(), ApiError> {
    let invalid: Vec<InvalidHost> = hosts
        .iter()
        .filter_map(|h| match validate_host(h) {
            Err(StoreError::InvalidHost(host, why)) => Some(InvalidHost { host, why }),
            _ => None,
        })
        .collect();
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidHosts(invalid))
    }
}

/// Makes the change in the store, then audits it; an audit failure is logged, the change stands.
/// Applies `change` as `who`, logs it and audits it (a change that could not be audited still
/// stands, with a warning).
pub(super) async fn apply(
    state: &AppState,
    change: PoolChange,
    who: &str,
) -> Result<Applied, ApiError> {
    let applied = changes::apply(&state.store, change, who).await?;
    tracing::info!(who, "API: {}", applied.summary.trim_end());
    if let Err(e) = changes::record(state.audit.as_ref(), &applied).await {
        tracing::warn!("the change was made but not audited: {e}");
    }
    Ok(applied)
}

/// [`apply`], answered `{"pool": POOL, "summary": "..."}` (the settings routes' reply).
pub(super) async fn apply_summary(
    state: &AppState,
    change: PoolChange,
    who: &str,
) -> Result<Json<Value>, ApiError> {
    let applied = apply(state, change, who).await?;
    Ok(Json(
        json!({ "pool": applied.pool, "summary": applied.summary.trim_end() }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lists_come_wrapped_or_bare() {
        let wrapped: HostNames = serde_json::from_str(r#"{"hosts":["a"]}"#).unwrap();
        let bare: HostNames = serde_json::from_str(r#"["a"]"#).unwrap();
        assert_eq!(wrapped.into_vec(), bare.into_vec());
        assert!(serde_json::from_str::<HostNames>(r#"{"host":"a"}"#).is_err());
    }

    #[test]
    fn every_bad_host_is_named() {
        let hosts = ["ok".to_string(), "a b".to_string(), "".to_string()];
        let Err(ApiError::InvalidHosts(bad)) = check_hosts(&hosts) else {
            panic!("refused")
        };
        let names: Vec<&str> = bad.iter().map(|b| b.host.as_str()).collect();
        assert_eq!(names, ["a b", ""]);
    }
}
