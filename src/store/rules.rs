//! Where the default pool rules ([`DefaultRules`]: `when CEL -> pool`, then the otherwise) live
//! beside the pools. The file store keeps them under the top-level key `default_rules` of its
//! JSON document (`{"pools": [...], "default_rules": {"rules": [{"when": "...", "pool":
//! "comp"}], "otherwise": "none" | "hold" | {"pool": "farm"}}}`); MongoDB in the collection
//! `rules` of the pools' database, one document `{_id: "default", rules, otherwise}` (not in
//! `pools`, so the older tool never reads it as a pool). No stored rules (`None`) means the
//! routing settings' `default_pool` applies; rules are checked on write (every condition
//! compiles, no pool name is empty; pools need not exist yet: a rule naming an unknown pool
//! routes like a job naming one). Stored rules that no longer read (a hand edit) hold every
//! job that names no pool, with a warning, rather than letting them all run anywhere.

use bson::{doc, Document};
use mongodb::Collection;
use serde_json::{Map, Value};

use super::StoreError;
pub use crate::job::rules::{DefaultRules, Otherwise, Rule};

/// The file store's top-level key.
pub const FILE_KEY: &str = "default_rules";
/// The MongoDB collection, in the pools' database.
pub const COLLECTION: &str = "rules";
/// The `_id` of the one document in [`COLLECTION`].
pub const DOCUMENT_ID: &str = "default";

/// `rules` as they will be stored: every condition compiles, every pool name is given.
pub(crate) fn checked(rules: &DefaultRules) -> Result<DefaultRules, StoreError> {
    rules
        .compile()
        .map_err(|e| StoreError::InvalidRules(e.to_string()))?;
    Ok(rules.clone())
}

/// Stored rules read back; rules that do not read hold every job naming no pool.
pub(crate) fn stored<E: std::fmt::Display>(read: Result<DefaultRules, E>) -> DefaultRules {
    read.unwrap_or_else(|e| {
        tracing::warn!(
            "the stored default pool rules do not read ({e}); every job naming no pool is held"
        );
        DefaultRules {
            rules: Vec::new(),
            otherwise: Otherwise::Hold,
        }
    })
}

/// The rules in the file store's document (`None` when it has none).
pub(super) fn from_file(extra: &Map<String, Value>) -> Option<DefaultRules> {
    let value = extra.get(FILE_KEY)?;
    Some(stored(serde_json::from_value(value.clone())))
}

/// Writes `rules` into the file store's document (removes them for `None`); true if it changed.
pub(super) fn into_file(extra: &mut Map<String, Value>, rules: Option<&DefaultRules>) -> bool {
    let value = rules.map(|r| serde_json::to_value(r).expect("rules always serialize"));
    if extra.get(FILE_KEY) == value.as_ref() {
        return false;
    }
    match value {
        Some(v) => extra.insert(FILE_KEY.to_string(), v),
        None => extra.remove(FILE_KEY),
    };
    true
}

/// The rules in MongoDB (`None` when the document does not exist).
pub(super) async fn from_mongo(
    coll: &Collection<Document>,
) -> Result<Option<DefaultRules>, mongodb::error::Error> {
    let Some(mut found) = coll.find_one(doc! { "_id": DOCUMENT_ID }).await? else {
        return Ok(None);
    };
    found.remove("_id");
    let json = serde_json::to_value(&found).map_err(|e| e.to_string());
    let read = json.and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()));
    Ok(Some(stored(read)))
}

/// Replaces (or, for `None`, deletes) the rules document in MongoDB.
pub(super) async fn into_mongo(
    coll: &Collection<Document>,
    rules: Option<&DefaultRules>,
) -> Result<(), mongodb::error::Error> {
    let filter = doc! { "_id": DOCUMENT_ID };
    let Some(rules) = rules else {
        return coll.delete_one(filter).await.map(|_| ());
    };
    let json = serde_json::to_value(rules).expect("rules always serialize");
    let mut document = bson::to_document(&json).expect("rules are a JSON object");
    document.insert("_id", DOCUMENT_ID);
    coll.replace_one(filter, document)
        .upsert(true)
        .await
        .map(|_| ())
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
            otherwise: Otherwise::Pool("farm".into()),
        }
    }

    #[test]
    fn file_key_round_trips_and_reports_changes() {
        let mut extra = Map::new();
        assert_eq!(from_file(&extra), None);
        assert!(into_file(&mut extra, Some(&nuke())));
        assert!(!into_file(&mut extra, Some(&nuke())));
        assert_eq!(
            serde_json::to_string(&extra[FILE_KEY]).unwrap(),
            r#"{"rules":[{"when":"'nuke' in services","pool":"comp"}],"otherwise":{"pool":"farm"}}"#
        );
        assert_eq!(from_file(&extra), Some(nuke()));
        assert!(into_file(&mut extra, None));
        assert_eq!(from_file(&extra), None);
    }

    #[test]
    fn unreadable_stored_rules_hold() {
        let extra: Map<String, Value> =
            serde_json::from_str(r#"{"default_rules": {"rules": 7}}"#).unwrap();
        let read = from_file(&extra).unwrap();
        assert_eq!((read.rules.len(), read.otherwise), (0, Otherwise::Hold));
    }

    #[test]
    fn written_rules_are_checked() {
        let mut bad = nuke();
        bad.rules[0].when = "services.exists(s, s ==".into();
        let err = checked(&bad).unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidRules(m) if m.contains("rule 1:")),
            "{err}"
        );
        bad.rules[0].when = "true".into();
        bad.rules[0].pool = " ".into();
        assert!(checked(&bad).is_err());
        assert_eq!(checked(&nuke()), Ok(nuke()));
    }
}
