//! The MongoDB backend of the job registry: collection `jobs` beside `pools` in the same
//! database, one document per job (`job_id` with a unique index `job_id_1`, `submitted_at` a
//! BSON date, the rest as in [`PoolJob`]'s JSON). Standard driver operations only: upsert is a
//! `replace_one` with `upsert: true`, so several proxies can register at once.

use std::sync::Arc;

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use futures_util::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use tokio::sync::OnceCell;

use super::mongo::is_duplicate_key;
use super::registry::{JobRegistry, PoolJob};
use super::StoreError;

/// The registry's collection.
pub const COLLECTION: &str = "jobs";
/// The unique index on `job_id`.
pub const INDEX: &str = "job_id_1";

/// A job registry in a MongoDB collection.
#[derive(Debug)]
pub struct MongoRegistry {
    coll: Collection<Document>,
    index: OnceCell<()>,
}

impl MongoRegistry {
    /// The registry in `db`'s `jobs` collection of `client`.
    pub fn new(client: &mongodb::Client, db: &str) -> Self {
        MongoRegistry {
            coll: client.database(db).collection(COLLECTION),
            index: OnceCell::new(),
        }
    }

    fn unavailable(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("job registry {}: {e}", self.coll.namespace()))
    }

    async fn ensure_index(&self) -> Result<(), StoreError> {
        let create = || async {
            let options = IndexOptions::builder().unique(true).name(INDEX.to_string());
            let model = IndexModel::builder()
                .keys(doc! { "job_id": 1 })
                .options(options.build());
            self.coll.create_index(model.build()).await.map(|_| ())
        };
        let created = self.index.get_or_try_init(create).await;
        created.map(|_| ()).map_err(|e| self.unavailable(e))
    }

    async fn find(&self, filter: Document) -> Result<Vec<PoolJob>, StoreError> {
        let cursor = self.coll.find(filter).sort(doc! { "job_id": 1 });
        let docs: Vec<Document> = cursor
            .await
            .map_err(|e| self.unavailable(e))?
            .try_collect()
            .await
            .map_err(|e| self.unavailable(e))?;
        docs.into_iter().map(|d| self.decode(d)).collect()
    }

    fn decode(&self, mut doc: Document) -> Result<PoolJob, StoreError> {
        doc.remove("_id");
        if let Some(Bson::DateTime(at)) = doc.get("submitted_at") {
            let text = at
                .try_to_rfc3339_string()
                .map_err(|e| self.unavailable(e))?;
            doc.insert("submitted_at", text);
        }
        bson::from_document(doc).map_err(|e| self.unavailable(format!("invalid job: {e}")))
    }
}

/// The stored document of `job`.
fn to_doc(job: &PoolJob) -> Result<Document, StoreError> {
    let mut doc = bson::to_document(job)
        .map_err(|e| StoreError::Unavailable(format!("cannot encode job: {e}")))?;
    doc.insert("job_id", job.job_id);
    doc.insert("submitted_at", job.submitted_at);
    Ok(doc)
}

#[async_trait]
impl JobRegistry for MongoRegistry {
    async fn upsert(&self, job: &PoolJob) -> Result<(), StoreError> {
        self.ensure_index().await?;
        let doc = to_doc(job)?;
        let filter = doc! { "job_id": job.job_id };
        for _ in 0..2 {
            let replace = self
                .coll
                .replace_one(filter.clone(), doc.clone())
                .upsert(true);
            match replace.await {
                Ok(_) => return Ok(()),
                // Two upserts of a new job raced; the second one now finds the document.
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(self.unavailable(e)),
            }
        }
        Err(self.unavailable("concurrent registrations kept colliding"))
    }

    async fn remove(&self, job_id: i64) -> Result<bool, StoreError> {
        let result = self.coll.delete_many(doc! { "job_id": job_id }).await;
        Ok(result.map_err(|e| self.unavailable(e))?.deleted_count > 0)
    }

    async fn get(&self, job_id: i64) -> Result<Option<PoolJob>, StoreError> {
        Ok(self
            .find(doc! { "job_id": job_id })
            .await?
            .into_iter()
            .next())
    }

    async fn list(&self, pool: Option<&str>) -> Result<Vec<Arc<PoolJob>>, StoreError> {
        let filter = match pool {
            Some(pool) => doc! { "pool": pool },
            None => doc! {},
        };
        Ok(self.find(filter).await?.into_iter().map(Arc::new).collect())
    }

    async fn replace_if(&self, job: &PoolJob, expected: &PoolJob) -> Result<bool, StoreError> {
        let written = bson::to_bson(&expected.masks_written)
            .map_err(|e| StoreError::Unavailable(format!("cannot encode masks: {e}")))?;
        let filter = doc! {
            "job_id": job.job_id,
            "pool": expected.pool.as_str(),
            "masks_written": written,
        };
        let replace = self.coll.replace_one(filter, to_doc(job)?).await;
        Ok(replace.map_err(|e| self.unavailable(e))?.matched_count == 1)
    }
}
