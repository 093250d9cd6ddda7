//! The MongoDB store: pools in the legacy `afpools.pools` collection, read and written in place
//! so the old Python Pool Manager, Pool Server and AfStarter keep working next to afpool.
//!
//! Documents are `{_id, name, clients: [{hostname, engine, ip, port}]}`. afpool always writes all
//! four client keys (`""` for engine/ip/port) and `clients: []` on create, keeps the unique
//! `name_1` index, and leaves `_id` and unknown fields alone. A selector pool also has `select`
//! (a string) and `except` (host names) beside `name`, and a pool with a policy a `policy`
//! document (`afpool::job::policy::PoolPolicy`), set with `$set`/`$unset`. Reading is tolerant: missing
//! `clients`, clients without some keys, extra fields and duplicate hosts (de-duplicated
//! case-insensitively, first spelling wins) are all accepted.
//!
//! Host changes are single atomic updates with standard operators. Adding reads the pool, keeps
//! the hosts not yet present (case-insensitively) and `$push`es them with a filter requiring that
//! none of them is present (`clients.hostname $nin` anchored case-insensitive regexes); if a
//! concurrent writer added one meanwhile, nothing matches and afpool re-reads and retries.
//! Removing `$pull`s every stored spelling (`hostname $in` the same regexes). So concurrent
//! afpool writers never add a host twice nor lose an update. A legacy tool writing at the same
//! time with plain `$push` can still add a duplicate, which reads tolerate.

use std::time::Duration;

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use futures_util::TryStreamExt;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, IndexModel};
use tokio::sync::OnceCell;

use super::mongo_keys as keys;
use super::names;
use super::{ChangeFeed, Pool, PoolPolicy, PoolStore, Selection, Spill, StoreError};
use crate::secret::{is_encoded_userinfo, redact_uri, uri_hosts, uri_userinfo};

/// The legacy tool's database.
pub const DEFAULT_DATABASE: &str = "afpools";
/// The legacy tool's collection.
pub const DEFAULT_COLLECTION: &str = "pools";
/// The unique index on `name`, as pymongo names it.
pub const NAME_INDEX: &str = "name_1";
/// Server selection and connect timeout unless the URI sets its own.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Polling interval when the server offers no change streams.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Attempts to add hosts to a pool that concurrent writers keep changing.
const MAX_ATTEMPTS: usize = 16;

/// A pool store in a MongoDB collection.
#[derive(Debug)]
pub struct MongoStore {
    coll: Collection<Document>,
    /// The default pool rules' collection ([`super::rules::COLLECTION`]), same database.
    rules: Collection<Document>,
    described: String,
    index: OnceCell<()>,
}

impl MongoStore {
    /// Prepares a store for `uri` (passed to the driver as is), database `db`, collection `coll`.
    /// Does not wait for the server: operations report `Unavailable` until it is reachable.
    pub async fn connect(uri: &str, db: &str, coll: &str) -> Result<Self, StoreError> {
        let described = format!("{}/{db}.{coll}", uri_hosts(uri));
        let client = client(uri).await?;
        let coll = client.database(db).collection(coll);
        let rules = client.database(db).collection(super::rules::COLLECTION);
        Ok(MongoStore {
            coll,
            rules,
            described,
            index: OnceCell::new(),
        })
    }

    fn unavailable(&self, e: mongodb::error::Error) -> StoreError {
        StoreError::Unavailable(format!("{}: {e}", self.described))
    }

    /// Creates the unique `name_1` index once per store, as the legacy tool does on connect.
    async fn ensure_index(&self) -> Result<(), StoreError> {
        let create = || async {
            let options = IndexOptions::builder()
                .unique(true)
                .name(NAME_INDEX.to_string());
            let model = IndexModel::builder()
                .keys(doc! { "name": 1 })
                .options(options.build());
            self.coll.create_index(model.build()).await.map(|_| ())
        };
        self.index
            .get_or_try_init(create)
            .await
            .map(|_| ())
            .map_err(|e| self.unavailable(e))
    }

    async fn find_doc(&self, name: &str) -> Result<Document, StoreError> {
        let found = self.coll.find_one(doc! { "name": name }).await;
        found
            .map_err(|e| self.unavailable(e))?
            .ok_or_else(|| StoreError::NotFound(name.into()))
    }

    /// Runs `update` on the first document matching `filter`; returns the pool after it.
    async fn update_pool(
        &self,
        filter: Document,
        update: Document,
    ) -> Result<Option<Pool>, StoreError> {
        let after = self
            .coll
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After);
        Ok(after
            .await
            .map_err(|e| self.unavailable(e))?
            .as_ref()
            .and_then(pool_from_doc))
    }
}

/// A driver client for `uri` (passed as is) with afpool's timeouts; does not wait for the
/// server. Also used by the registry and audit backends.
pub async fn client(uri: &str) -> Result<Client, StoreError> {
    let bad_uri = |e: mongodb::error::Error| {
        StoreError::Unavailable(format!("bad MongoDB URI {}: {e}", redact_uri(uri)))
    };
    check_userinfo(uri)?;
    let mut options = ClientOptions::parse(uri).await.map_err(bad_uri)?;
    options.server_selection_timeout.get_or_insert(TIMEOUT);
    options.connect_timeout.get_or_insert(TIMEOUT);
    options.app_name.get_or_insert_with(|| "afpool".to_string());
    Client::with_options(options).map_err(bad_uri)
}

/// Refuses a user name or password that is not percent-encoded. The driver would cut such a URI
/// elsewhere than [`redact_uri`] does, and could then name a piece of the password as a host in
/// its errors.
fn check_userinfo(uri: &str) -> Result<(), StoreError> {
    if !uri_userinfo(uri).is_none_or(is_encoded_userinfo) {
        return Err(StoreError::Unavailable(format!(
            "bad MongoDB URI {}: percent-encode the user name and password \
             (`@` as %40, `/` as %2F, `:` as %3A, `?` as %3F, `#` as %23)",
            redact_uri(uri)
        )));
    }
    Ok(())
}

/// Anchored, escaped, case-insensitive regexes matching exactly these host names.
fn host_patterns(hosts: &[String]) -> Vec<Bson> {
    let pattern = |h: &String| format!("^{}$", regex::escape(h));
    let regex = |h| {
        Bson::RegularExpression(bson::Regex {
            pattern: pattern(h),
            options: "i".into(),
        })
    };
    hosts.iter().map(regex).collect()
}

/// A client sub-document with all four legacy keys.
fn client_doc(hostname: &str) -> Document {
    doc! { "hostname": hostname, "engine": "", "ip": "", "port": "" }
}

/// Stored host names of a raw document, in order, duplicates included.
fn raw_hosts(doc: &Document) -> Vec<String> {
    let Ok(clients) = doc.get_array("clients") else {
        return Vec::new();
    };
    let hostname = |c: &Bson| Some(c.as_document()?.get_str("hostname").ok()?.to_string());
    clients.iter().filter_map(hostname).collect()
}

/// Reads a pool document tolerantly; `None` if it has no string `name`.
fn pool_from_doc(doc: &Document) -> Option<Pool> {
    let name = doc.get_str("name").ok()?.to_string();
    Some(Pool {
        name,
        hosts: names::dedupe_hosts(raw_hosts(doc)),
        legacy_id: doc.get_object_id("_id").ok().map(|id| id.to_hex()),
        selection: keys::selection_from_doc(doc),
        spill: keys::spill_from_doc(doc),
        policy: policy_from_doc(doc),
    })
}

/// The `policy` beside `name`; absent is none, one that does not read refuses every job.
fn policy_from_doc(doc: &Document) -> PoolPolicy {
    let Some(policy) = doc.get("policy") else {
        return PoolPolicy::default();
    };
    let name = doc.get_str("name").unwrap_or_default();
    let json = policy.clone().into_relaxed_extjson();
    super::stored_policy(name, serde_json::from_value::<PoolPolicy>(json))
}

/// True for MongoDB's duplicate key error (code 11000).
pub fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    }
}

#[async_trait]
impl PoolStore for MongoStore {
    async fn list(&self) -> Result<Vec<Pool>, StoreError> {
        let cursor = self
            .coll
            .find(doc! {})
            .await
            .map_err(|e| self.unavailable(e))?;
        let docs: Vec<Document> = cursor
            .try_collect()
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut pools: Vec<Pool> = docs.iter().filter_map(pool_from_doc).collect();
        crate::natural::sort_by_name(&mut pools, |p| &p.name);
        Ok(pools)
    }

    async fn get(&self, name: &str) -> Result<Pool, StoreError> {
        let doc = self.find_doc(name).await?;
        pool_from_doc(&doc).ok_or_else(|| StoreError::NotFound(name.to_string()))
    }

    async fn create(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError> {
        let name = names::validate_pool_name(name)?;
        let hosts = names::validate_hosts(hosts)?;
        self.ensure_index().await?;
        let clients: Vec<Document> = hosts.iter().map(|h| client_doc(h)).collect();
        match self
            .coll
            .insert_one(doc! { "name": name, "clients": clients })
            .await
        {
            Ok(inserted) => Ok(Pool {
                name: name.to_string(),
                hosts,
                legacy_id: inserted.inserted_id.as_object_id().map(|id| id.to_hex()),
                selection: Selection::default(),
                spill: Spill::default(),
                policy: PoolPolicy::default(),
            }),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::AlreadyExists(name.to_string())),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    async fn rename(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let new = names::validate_pool_name(new)?;
        self.ensure_index().await?;
        if old == new {
            return self.find_doc(old).await.map(|_| ());
        }
        let update = doc! { "$set": { "name": new } };
        match self.coll.update_one(doc! { "name": old }, update).await {
            Ok(r) if r.matched_count == 0 => Err(StoreError::NotFound(old.to_string())),
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::AlreadyExists(new.to_string())),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        let result = self.coll.delete_one(doc! { "name": name }).await;
        match result.map_err(|e| self.unavailable(e))?.deleted_count {
            0 => Err(StoreError::NotFound(name.to_string())),
            _ => Ok(()),
        }
    }

    async fn add_hosts(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError> {
        let hosts = names::validate_hosts(hosts)?;
        for _ in 0..MAX_ATTEMPTS {
            let doc = self.find_doc(name).await?;
            let pool = pool_from_doc(&doc).ok_or_else(|| StoreError::NotFound(name.into()))?;
            let missing = names::missing_hosts(&pool.hosts, &hosts);
            if missing.is_empty() {
                return Ok(pool);
            }
            let new: Vec<Document> = missing.iter().map(|h| client_doc(h)).collect();
            let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
            let (filter, update) = match doc.get("clients") {
                Some(Bson::Array(_)) | None => (
                    doc! { "_id": id, "clients.hostname": { "$nin": host_patterns(&missing) } },
                    doc! { "$push": { "clients": { "$each": new } } },
                ),
                // A hand-edited non-array `clients`: replace it if it is still the same.
                Some(other) => (
                    doc! { "_id": id, "clients": { "$eq": other.clone() } },
                    doc! { "$set": { "clients": new } },
                ),
            };
            if let Some(pool) = self.update_pool(filter, update).await? {
                return Ok(pool);
            }
            // Deleted, or a concurrent writer added one of these hosts: re-read and retry.
        }
        Err(StoreError::Unavailable(format!(
            "pool '{name}' kept changing; try again"
        )))
    }

    async fn remove_hosts(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError> {
        let hosts = names::hosts_to_remove(hosts)?;
        let pull = doc! { "hostname": { "$in": host_patterns(&hosts) } };
        let update = doc! { "$pull": { "clients": pull } };
        let after = self.update_pool(doc! { "name": name }, update).await?;
        after.ok_or_else(|| StoreError::NotFound(name.to_string()))
    }

    async fn set_selection(&self, name: &str, selection: &Selection) -> Result<Pool, StoreError> {
        let selection = selection.validated()?;
        let except = (!selection.except.is_empty()).then(|| Bson::from(selection.except.clone()));
        let during =
            (!selection.during.is_empty()).then(|| keys::during_to_bson(&selection.during));
        let update = keys::set_or_unset([
            ("select", selection.select.as_deref().map(Bson::from)),
            ("except", except),
            ("during", during),
            ("time_zone", selection.time_zone.as_deref().map(Bson::from)),
        ]);
        let after = self.update_pool(doc! { "name": name }, update).await?;
        after.ok_or_else(|| StoreError::NotFound(name.to_string()))
    }

    async fn set_spill(&self, name: &str, spill: &Spill) -> Result<Pool, StoreError> {
        let spill = spill.validated(name)?;
        let fallback = (!spill.fallback.is_empty()).then(|| Bson::from(spill.fallback.clone()));
        let update = keys::set_or_unset([
            ("fallback", fallback),
            (
                "spill_below",
                spill.spill_below.map(|k| Bson::Int64(k.into())),
            ),
            ("spill_after", spill.spill_after.as_deref().map(Bson::from)),
        ]);
        let after = self.update_pool(doc! { "name": name }, update).await?;
        after.ok_or_else(|| StoreError::NotFound(name.to_string()))
    }

    async fn set_policy(&self, name: &str, policy: &PoolPolicy) -> Result<Pool, StoreError> {
        let policy = super::checked_policy(policy)?;
        // Through JSON, so that limits keep their names as keys and numbers stay numbers.
        let json = serde_json::to_value(&policy).expect("a policy always serializes");
        let update = match policy.is_empty() {
            true => doc! { "$unset": { "policy": "" } },
            false => {
                let value =
                    bson::to_bson(&json).map_err(|e| StoreError::InvalidPolicy(e.to_string()))?;
                doc! { "$set": { "policy": value } }
            }
        };
        let after = self.update_pool(doc! { "name": name }, update).await?;
        after.ok_or_else(|| StoreError::NotFound(name.to_string()))
    }

    async fn rules(&self) -> Result<Option<super::rules::DefaultRules>, StoreError> {
        let read = super::rules::from_mongo(&self.rules).await;
        read.map_err(|e| self.unavailable(e))
    }

    async fn set_rules(
        &self,
        rules: Option<&super::rules::DefaultRules>,
    ) -> Result<(), StoreError> {
        let rules = rules.map(super::rules::checked).transpose()?;
        let write = super::rules::into_mongo(&self.rules, rules.as_ref()).await;
        write.map_err(|e| self.unavailable(e))
    }

    fn describe(&self) -> String {
        self.described.clone()
    }

    /// A change stream on the pools' collection merged with one on the rules' collection;
    /// polling when the server has none (e.g. standalone). See [`super::mongo_feed`].
    async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        super::mongo_feed::changes(&self.coll, &self.rules, &self.described, POLL_INTERVAL).await
    }
}

#[cfg(test)]
#[path = "mongo_tests.rs"]
mod tests;
