//! Pool storage: the [`PoolStore`] trait, its error type, and [`open`], which picks a backend from a
//! store spec (`file:PATH` for the embedded file store, `mongodb://...` for MongoDB in the legacy
//! `afpools.pools` shape).
//!
//! Backends: [`file::FileStore`] (the default, a JSON file), [`mongo::MongoStore`] (the legacy
//! MongoDB collection). Both share the rules in [`names`]. [`live::LivePools`] keeps an
//! always-current in-memory copy for the proxy, keeping the last good pools through faults
//! ([`fault`]).
//!
//! Beside the pools live the registry of pool jobs ([`registry`]) and the audit log ([`audit`]),
//! opened together by [`recorder::Recorder::open`] from the same store spec.

pub mod atomic;
pub mod audit;
pub mod audit_file;
pub mod audit_mongo;
pub mod audit_routed;
pub mod changes;
pub mod error;
pub mod fault;
pub mod file;
mod file_doc;
pub mod live;
pub mod mongo;
mod mongo_feed;
mod mongo_keys;
pub mod names;
pub mod recorder;
pub mod registry;
pub mod registry_file;
pub mod registry_journal;
pub mod registry_mongo;
pub mod rules;
pub mod rules_change;
pub mod selection;
pub mod spill;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use crate::job::policy::PoolPolicy;
pub use error::StoreError;
pub use selection::Selection;
pub use spill::Spill;

/// One pool: a name, the render host names typed into it, spelled as stored, and how it selects
/// more ([`Selection`]; empty for a typed list).
///
/// Equality compares the name, the hosts, the selection and the policy, not [`Pool::legacy_id`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pool {
    /// Pool name: non-empty, no `|`, never the legacy sentinel `Don't use pool.`.
    pub name: String,
    /// Member host names as stored (membership is compared case-insensitively).
    pub hosts: Vec<String>,
    /// The document's MongoDB ObjectId as 24 hex digits, when the store has one (the MongoDB
    /// store, or a file store document carrying `_id.$oid`); the legacy Pool Server answers
    /// with it. Not part of the pool's JSON.
    #[serde(skip)]
    pub legacy_id: Option<String>,
    /// The `select` rule and `except` list.
    #[serde(flatten)]
    pub selection: Selection,
    /// The `fallback` pools and spill triggers.
    #[serde(flatten)]
    pub spill: Spill,
    /// Who may submit into the pool, and the defaults and maxima of its jobs (empty: none).
    #[serde(default, skip_serializing_if = "PoolPolicy::is_empty")]
    pub policy: PoolPolicy,
}

impl PartialEq for Pool {
    fn eq(&self, other: &Pool) -> bool {
        self.name == other.name
            && self.hosts == other.hosts
            && self.selection == other.selection
            && self.spill == other.spill
            && self.policy == other.policy
    }
}

impl Eq for Pool {}

impl Pool {
    /// A pool named `name` with `hosts`, spelled as given.
    pub fn new(name: impl Into<String>, hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Pool {
        Pool {
            name: name.into(),
            hosts: hosts.into_iter().map(|h| h.as_ref().to_string()).collect(),
            legacy_id: None,
            selection: Selection::default(),
            spill: Spill::default(),
            policy: PoolPolicy::default(),
        }
    }

    /// This pool with `selection`.
    pub fn with_selection(self, selection: Selection) -> Pool {
        Pool { selection, ..self }
    }

    /// True when `host` is a member, compared case-insensitively.
    pub fn contains(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// `policy` as it will be stored ([`PoolPolicy::validated`]).
pub(crate) fn checked_policy(policy: &PoolPolicy) -> Result<PoolPolicy, StoreError> {
    policy
        .validated()
        .map_err(|e| StoreError::InvalidPolicy(e.to_string()))
}

/// A stored `policy` value read back; one that no longer reads as a policy (a hand-edited
/// document) refuses every job rather than letting them all in.
pub(crate) fn stored_policy<E: std::fmt::Display>(
    pool: &str,
    read: Result<PoolPolicy, E>,
) -> PoolPolicy {
    read.unwrap_or_else(|e| {
        tracing::warn!(
            pool,
            "the stored policy does not read ({e}); the pool refuses every job"
        );
        PoolPolicy {
            deny: crate::job::policy::Acl {
                when: Some("true".into()),
                ..Default::default()
            },
            ..PoolPolicy::default()
        }
    })
}

/// A place where pools live.
#[async_trait]
pub trait PoolStore: Send + Sync {
    /// Every pool, in a stable order (by name).
    async fn list(&self) -> Result<Vec<Pool>, StoreError>;
    /// One pool by exact name.
    async fn get(&self, name: &str) -> Result<Pool, StoreError>;
    /// Create a pool with optional initial hosts.
    async fn create(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError>;
    /// Rename a pool; `AlreadyExists` if `new` is taken.
    async fn rename(&self, old: &str, new: &str) -> Result<(), StoreError>;
    /// Delete a pool.
    async fn delete(&self, name: &str) -> Result<(), StoreError>;
    /// Add hosts (never twice, compared case-insensitively); returns the pool after the change.
    async fn add_hosts(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError>;
    /// Remove hosts (compared case-insensitively); returns the pool after the change.
    async fn remove_hosts(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError>;
    /// Replace the pool's selection settings (validated: see [`Selection::validated`]); returns
    /// the pool after the change.
    async fn set_selection(&self, name: &str, selection: &Selection) -> Result<Pool, StoreError>;
    /// Replace the pool's spill-over settings (validated: see [`Spill::validated`]); returns the
    /// pool after the change.
    async fn set_spill(&self, name: &str, spill: &Spill) -> Result<Pool, StoreError>;
    /// Replace the pool's policy (validated: see [`PoolPolicy::validated`]); returns the pool
    /// after the change.
    async fn set_policy(&self, name: &str, policy: &PoolPolicy) -> Result<Pool, StoreError>;
    /// The default pool rules for jobs naming no pool ([`rules`]); `None` when none are stored
    /// (the routing settings' `default_pool` then applies).
    async fn rules(&self) -> Result<Option<rules::DefaultRules>, StoreError>;
    /// Replace the default pool rules (checked: see [`rules`]); `None` removes them.
    async fn set_rules(&self, rules: Option<&rules::DefaultRules>) -> Result<(), StoreError>;
    /// A short human description (`file:/path`, `mongodb://host/afpools.pools`), no secrets.
    fn describe(&self) -> String;

    /// Every pool, or [`Snapshot::Absent`] when the store holds no data at all (the file store's
    /// file is missing or blank), which [`live::LivePools`] tells apart from "no pools". The
    /// default is [`PoolStore::list`].
    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.list().await.map(Snapshot::Pools)
    }

    /// How [`live::LivePools`] learns about changes. The default polls every 2 s.
    async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        Ok(ChangeFeed::Poll(Duration::from_secs(2)))
    }

    /// A cheap opaque fingerprint of the stored data, if the backend has one; when it is
    /// unchanged, a poll skips reloading. `None` (the default) means "reload and compare".
    async fn fingerprint(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// What a store holds, as [`PoolStore::snapshot`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    /// Every pool, in natural order of names ([`crate::natural`]; possibly none, stored as such).
    Pools(Vec<Pool>),
    /// No data at all, and why: `"missing"` or `"empty"` (the file store's file).
    Absent(&'static str),
}

/// How a backend signals that its pools may have changed.
pub enum ChangeFeed {
    /// Check [`PoolStore::fingerprint`] (or reload) at this interval.
    Poll(Duration),
    /// One item per change. An error or the end of the stream means the feed broke and must be
    /// reopened with [`PoolStore::changes`].
    Stream(BoxStream<'static, Result<(), StoreError>>),
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeFeed::Poll(every) => f.debug_tuple("Poll").field(every).finish(),
            ChangeFeed::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// A shared, dynamically dispatched store.
pub type SharedStore = Arc<dyn PoolStore>;

/// Where the MongoDB backend keeps pools; the defaults are the legacy tool's `afpools.pools`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Database name (default `afpools`).
    pub database: String,
    /// Collection name (default `pools`).
    pub collection: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            database: mongo::DEFAULT_DATABASE.to_string(),
            collection: mongo::DEFAULT_COLLECTION.to_string(),
        }
    }
}

/// Opens the store named by `spec` with default options; see [`open_with`].
pub async fn open(spec: &str) -> Result<SharedStore, StoreError> {
    open_with(spec, &StoreOptions::default()).await
}

/// Opens the store named by `spec`:
/// - `mongodb://...` or `mongodb+srv://...`: MongoDB (the URI goes to the driver unchanged, so
///   auth, TLS and `replicaSet` options work), database and collection from `options` (a
///   database in the URI path only selects where to authenticate, as usual for MongoDB);
/// - `file:PATH` or a bare `PATH`: the embedded JSON file store (`file:` alone means
///   [`default_file_path`]).
///
/// A MongoDB server need not be reachable yet: operations report [`StoreError::Unavailable`]
/// until it is. A malformed spec or URI is reported as `Unavailable` too.
pub async fn open_with(spec: &str, options: &StoreOptions) -> Result<SharedStore, StoreError> {
    Ok(match locate(spec)? {
        Location::Mongo(uri) => {
            let store = mongo::MongoStore::connect(&uri, &options.database, &options.collection);
            Arc::new(store.await?)
        }
        Location::File(path) => Arc::new(file::FileStore::new(path)),
    })
}

/// Where a store spec points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A MongoDB URI, to pass to the driver as is.
    Mongo(String),
    /// The file store's pools file.
    File(PathBuf),
}

/// Reads a store spec as [`open_with`] does.
pub fn locate(spec: &str) -> Result<Location, StoreError> {
    let spec = spec.trim();
    if spec.starts_with("mongodb://") || spec.starts_with("mongodb+srv://") {
        return Ok(Location::Mongo(spec.to_string()));
    }
    let path = match spec.strip_prefix("file:") {
        Some("") => default_file_path(),
        Some(path) => PathBuf::from(path),
        None if spec.is_empty() => {
            return Err(StoreError::Unavailable("empty store spec".to_string()))
        }
        // A mistyped URI (`mongodb:/u:pw@h`) is neither a store nor a path to show in logs.
        None if spec.starts_with("mongodb:") || spec.starts_with("mongodb+srv:") => {
            let why = "malformed MongoDB URI: expected mongodb://[USER:PASSWORD@]HOST[:PORT]";
            return Err(StoreError::Unavailable(why.to_string()));
        }
        None => PathBuf::from(spec),
    };
    Ok(Location::File(path))
}

/// The default file store location: `$AFPOOL_HOME/pools.json`, else
/// `$XDG_DATA_HOME/afpool/pools.json`, else `$HOME/.local/share/afpool/pools.json`
/// (`./pools.json` when none of them is set).
pub fn default_file_path() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(home) = var("AFPOOL_HOME") {
        return home.join("pools.json");
    }
    if let Some(data) = var("XDG_DATA_HOME") {
        return data.join("afpool").join("pools.json");
    }
    match var("HOME") {
        Some(home) => home.join(".local/share/afpool/pools.json"),
        None => PathBuf::from("pools.json"),
    }
}

/// The legacy Pool Manager's `poolmanager/config.json`.
#[derive(Debug, Deserialize)]
struct LegacyConfig {
    #[serde(default = "legacy_default_host")]
    mongodb_host: String,
    #[serde(default = "legacy_default_port")]
    mongodb_port: u16,
}

fn legacy_default_host() -> String {
    "localhost".to_string()
}

fn legacy_default_port() -> u16 {
    27017
}

/// Reads the legacy tool's `poolmanager/config.json` (`{"mongodb_host": str, "mongodb_port":
/// int}`, defaults `localhost`/27017 as in the old tool) into a `mongodb://host:port` URI.
pub fn legacy_config_uri(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading legacy config {}", path.display()))?;
    let config: LegacyConfig = serde_json::from_str(&text)
        .with_context(|| format!("parsing legacy config {}", path.display()))?;
    let host = match config.mongodb_host.trim() {
        "" => legacy_default_host(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_string(),
    };
    Ok(format!("mongodb://{host}:{}", config.mongodb_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy(json: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        legacy_config_uri(&path).unwrap()
    }

    #[test]
    fn legacy_config() {
        let uri = legacy(r#"{"mongodb_host": "192.168.1.107", "mongodb_port": 27017}"#);
        assert_eq!(uri, "mongodb://192.168.1.107:27017");
        assert_eq!(legacy("{}"), "mongodb://localhost:27017");
        assert_eq!(
            legacy(r#"{"mongodb_host": "::1", "mongodb_port": 1}"#),
            "mongodb://[::1]:1"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(legacy_config_uri(&dir.path().join("missing.json")).is_err());
    }

    #[tokio::test]
    async fn open_picks_backend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let store = open(&format!("file:{}", path.display())).await.unwrap();
        assert_eq!(store.describe(), format!("file:{}", path.display()));
        let bare = open(path.to_str().unwrap()).await.unwrap();
        assert_eq!(bare.describe(), store.describe());
        let mongo = open("mongodb://user:secret@127.0.0.1:9/?tls=true")
            .await
            .unwrap();
        assert_eq!(mongo.describe(), "mongodb://127.0.0.1:9/afpools.pools");
        assert!(matches!(open("").await, Err(StoreError::Unavailable(_))));
        let typo = open("mongodb:/u:pw@h").await.err().unwrap().to_string();
        assert!(typo.contains("malformed") && !typo.contains("pw"), "{typo}");
    }
}
