//! `/api/v1/rules`: the default pool rules (which pool a job naming none gets). GET shows them
//! numbered from 1 as routing reads them (with the routing settings' `default_pool` when no
//! rules are stored); PUT replaces the whole list (`null` removes it, so `default_pool` applies
//! again); POST adds one rule (`{"when", "pool", "at"?}`), `DELETE /api/v1/rules/{index}` removes
//! one, and `PUT /api/v1/rules/otherwise` sets what a job matching no rule gets. Every write is
//! one [`RulesEdit`] made by the store layer that `afpool rules` uses, checked (400
//! `invalid_rules` saying which rule, line and column; nothing stored) and audited
//! (`rules_changed`, before and after) with the caller's name.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Writer;
use super::error::ApiError;
use super::AppState;
use crate::store::rules::{DefaultRules, Otherwise, Rule};
use crate::store::rules_change::{self, otherwise_words, RulesEdit};

/// `POST /api/v1/rules` body: one rule and where it goes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// The CEL condition over the job.
    pub when: String,
    /// The pool a matching job gets.
    pub pool: String,
    /// Its position, from 1 (default: at the end).
    #[serde(default)]
    pub at: Option<usize>,
}

/// `GET /api/v1/rules`.
pub async fn show(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let stored = state.store.rules().await?;
    Ok(Json(view(stored.as_ref(), default_pool(&state))))
}

/// `PUT /api/v1/rules` with a whole rule list, or `null` to remove it.
pub async fn replace(
    Writer(who): Writer,
    State(state): State<AppState>,
    body: Result<Json<Option<DefaultRules>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    edit(&state, RulesEdit::Replace(body?.0), &who).await
}

/// `POST /api/v1/rules`: 201 with the rules after the rule was added.
pub async fn add(
    Writer(who): Writer,
    State(state): State<AppState>,
    body: Result<Json<NewRule>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let NewRule { when, pool, at } = body?.0;
    let rule = Rule { when, pool };
    let reply = edit(&state, RulesEdit::Add { rule, at }, &who).await?;
    Ok((StatusCode::CREATED, reply))
}

/// `DELETE /api/v1/rules/{index}` (from 1).
pub async fn remove(
    Writer(who): Writer,
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let index = index.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "'{index}' is not a rule number (rules are numbered from 1)"
        ))
    })?;
    edit(&state, RulesEdit::Remove { index }, &who).await
}

/// `PUT /api/v1/rules/otherwise` with `"none"`, `"hold"` or `{"pool": NAME}`.
pub async fn set_otherwise(
    Writer(who): Writer,
    State(state): State<AppState>,
    body: Result<Json<Otherwise>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    edit(&state, RulesEdit::Otherwise(body?.0), &who).await
}

/// Makes `change` as `who`, audits it (a change that could not be audited still stands, with a
/// warning), and answers the rules after it with `"change"`: what was done, in words.
async fn edit(state: &AppState, change: RulesEdit, who: &str) -> Result<Json<Value>, ApiError> {
    let default = default_pool(state);
    let applied = rules_change::apply_over(&state.store, change, who, default).await?;
    let line = applied.summary.trim_end();
    tracing::info!(who, "API: {line}");
    if let Err(e) = state.audit.append(&applied.entry).await {
        tracing::warn!("the change was made but not audited: {e}");
    }
    let mut reply = view(applied.rules.as_ref(), default);
    reply["change"] = json!(line);
    Ok(Json(reply))
}

/// The routing settings' `default_pool`, when set.
fn default_pool(state: &AppState) -> Option<&str> {
    let settings = state.router.settings();
    settings.default_pool.as_deref().filter(|p| !p.is_empty())
}

/// `{"stored", "rules": [{"index", "when", "pool"}], "otherwise", "default_pool"?, "summary"}`:
/// the stored rules, or (none stored) the list `default_pool` stands for.
fn view(stored: Option<&DefaultRules>, default_pool: Option<&str>) -> Value {
    let effective = match stored {
        Some(rules) => rules.clone(),
        None => DefaultRules::from_default_pool(default_pool),
    };
    let rules: Vec<Value> = (effective.rules.iter().enumerate())
        .map(|(i, r)| json!({ "index": i + 1, "when": r.when, "pool": r.pool }))
        .collect();
    let mut view = json!({
        "stored": stored.is_some(),
        "rules": rules,
        "otherwise": effective.otherwise,
        "summary": summary(&effective, stored.is_some()),
    });
    if let Some(pool) = default_pool {
        view["default_pool"] = json!(pool);
    }
    view
}

/// One line per rule, then the otherwise line.
fn summary(rules: &DefaultRules, stored: bool) -> Vec<String> {
    let mut lines: Vec<String> = (rules.rules.iter().enumerate())
        .map(|(i, r)| format!("rule {}: {} → {}", i + 1, r.when, r.pool))
        .collect();
    let otherwise = otherwise_words(&rules.otherwise);
    lines.push(match stored {
        true => format!("otherwise: {otherwise}"),
        false => format!("otherwise: {otherwise} (no rules stored: default_pool applies)"),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nuke() -> DefaultRules {
        DefaultRules {
            rules: vec![Rule {
                when: "'nuke' in services".into(),
                pool: "comp".into(),
            }],
            otherwise: Otherwise::Hold,
        }
    }

    #[test]
    fn views_number_rules_from_one_and_fall_back_to_default_pool() {
        let cases: &[(Option<DefaultRules>, Option<&str>, Value)] = &[
            (
                None,
                None,
                json!({"stored": false, "rules": [], "otherwise": "none",
                    "summary": ["otherwise: no pool (no rules stored: default_pool applies)"]}),
            ),
            (
                None,
                Some("farm"),
                json!({"stored": false, "rules": [], "otherwise": {"pool": "farm"},
                    "default_pool": "farm",
                    "summary": ["otherwise: pool 'farm' (no rules stored: default_pool applies)"]}),
            ),
            (
                Some(nuke()),
                Some("farm"),
                json!({"stored": true, "otherwise": "hold", "default_pool": "farm",
                    "rules": [{"index": 1, "when": "'nuke' in services", "pool": "comp"}],
                    "summary": ["rule 1: 'nuke' in services → comp", "otherwise: held"]}),
            ),
        ];
        for (stored, default, want) in cases {
            assert_eq!(
                view(stored.as_ref(), *default),
                *want,
                "{stored:?} {default:?}"
            );
        }
    }

    #[test]
    fn a_new_rule_takes_an_optional_position_and_nothing_else() {
        let r: NewRule = serde_json::from_str(r#"{"when":"true","pool":"a"}"#).unwrap();
        assert_eq!(
            (r.when.as_str(), r.pool.as_str(), r.at),
            ("true", "a", None)
        );
        let r: NewRule = serde_json::from_str(r#"{"when":"true","pool":"a","at":2}"#).unwrap();
        assert_eq!(r.at, Some(2));
        assert!(serde_json::from_str::<NewRule>(r#"{"when":"true","pool":"a","x":1}"#).is_err());
    }
}
