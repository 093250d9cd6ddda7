//! The MongoDB backend of the audit log: collection `audit` beside `pools` in the same database,
//! insert only. `at` is a BSON date with a TTL index (`at_1`, `expireAfterSeconds` =
//! `keep_days`), so MongoDB itself drops old entries; reads also skip entries past `keep_days`
//! that the TTL monitor (which runs about once a minute) has not removed yet. If an `at_1`
//! index with another expiry exists already, a warning says so and it is kept as is (change it
//! with `collMod`).

use std::time::Duration;

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use futures_util::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use tokio::sync::OnceCell;

use super::audit::{AuditEntry, AuditFilter, AuditLog};
use super::StoreError;

/// The audit collection.
pub const COLLECTION: &str = "audit";
/// The TTL index on `at`.
pub const INDEX: &str = "at_1";

/// An audit log in a MongoDB collection.
#[derive(Debug)]
pub struct MongoAudit {
    coll: Collection<Document>,
    keep_days: u32,
    index: OnceCell<()>,
}

impl MongoAudit {
    /// The log in `db`'s `audit` collection of `client`, keeping `keep_days`.
    pub fn new(client: &mongodb::Client, db: &str, keep_days: u32) -> Self {
        MongoAudit {
            coll: client.database(db).collection(COLLECTION),
            keep_days,
            index: OnceCell::new(),
        }
    }

    fn unavailable(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("audit log {}: {e}", self.coll.namespace()))
    }

    /// Creates the TTL index once; a conflicting existing one is kept with a warning.
    async fn ensure_index(&self) -> Result<(), StoreError> {
        let create = || async {
            let expire = Duration::from_secs(u64::from(self.keep_days) * 86_400);
            let options = IndexOptions::builder()
                .name(INDEX.to_string())
                .expire_after(expire);
            let model = IndexModel::builder()
                .keys(doc! { "at": 1 })
                .options(options.build());
            match self.coll.create_index(model.build()).await {
                Ok(_) => Ok(()),
                Err(e) if is_index_conflict(&e) => {
                    tracing::warn!(collection = %self.coll.namespace(), error = %e,
                        "the audit TTL index exists with other options; keeping it");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        };
        let created = self.index.get_or_try_init(create).await;
        created.map(|_| ()).map_err(|e| self.unavailable(e))
    }

    fn decode(&self, mut doc: Document) -> Option<AuditEntry> {
        doc.remove("_id");
        let at = doc.get_datetime("at").ok()?.try_to_rfc3339_string().ok()?;
        doc.insert("at", at);
        bson::from_document(doc).ok()
    }
}

/// MongoDB's "index options conflict" errors (85, 86).
fn is_index_conflict(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 85 || c.code == 86)
}

/// The stored document of `entry` (`at` as a BSON date).
fn to_doc(entry: &AuditEntry) -> Result<Document, StoreError> {
    let mut doc = bson::to_document(entry)
        .map_err(|e| StoreError::Unavailable(format!("cannot encode audit entry: {e}")))?;
    doc.insert("at", entry.at);
    if let Some(id) = entry.job_id {
        doc.insert("job_id", id);
    }
    Ok(doc)
}

/// The query for `filter` with entries from `cutoff` on.
fn query(filter: &AuditFilter, cutoff: bson::DateTime) -> Document {
    let mut query = doc! { "at": { "$gte": cutoff } };
    if let Some(pool) = &filter.pool {
        let renamed = doc! { "kind": "pool_renamed", "after.name": pool.as_str() };
        query.insert("$or", vec![doc! { "pool": pool.as_str() }, renamed]);
    }
    if let Some(id) = filter.job_id {
        query.insert("job_id", Bson::Int64(id));
    }
    query
}

#[async_trait]
impl AuditLog for MongoAudit {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.ensure_index().await?;
        let inserted = self.coll.insert_one(to_doc(entry)?).await;
        inserted.map(|_| ()).map_err(|e| self.unavailable(e))
    }

    async fn append_many(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.ensure_index().await?;
        let docs = entries.iter().map(to_doc).collect::<Result<Vec<_>, _>>()?;
        let inserted = self.coll.insert_many(docs).await;
        inserted.map(|_| ()).map_err(|e| self.unavailable(e))
    }

    async fn read(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let find = self.coll.find(query(filter, filter.cutoff(self.keep_days)));
        let docs: Vec<Document> = find
            .sort(doc! { "at": 1, "_id": 1 })
            .await
            .map_err(|e| self.unavailable(e))?
            .try_collect()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(docs.into_iter().filter_map(|d| self.decode(d)).collect())
    }
}
