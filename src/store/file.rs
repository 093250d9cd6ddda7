//! The embedded file store, afpool's default: one JSON file holding pools in the legacy document
//! shape, so it can be imported into or exported from MongoDB as is.
//!
//! Format (written pretty-printed, unknown fields at every level are kept):
//! `{"pools": [{"name": "lighting", "clients": [{"hostname": "pc-1", "engine": "", "ip": "",
//! "port": ""}]}]}`, plus a selector pool's `select` and `except`, scheduled members' `during`
//! and `time_zone`, a spilling pool's `fallback`, `spill_below` and `spill_after`, and a pool's
//! `policy` beside `name` (only when set), and the default pool rules under the top-level key
//! `default_rules` ([`super::rules`]). A top-level array of pool documents (e.g. the body of a legacy Pool Server
//! reply, `_id` included) is accepted on read; the next write turns it into the object form.
//! A missing or empty file means "no pools" (the live view tells it apart, see
//! [`super::fault`]); the file and its parent folders are created on the first write, like any
//! new file (0666 less the umask, so 0644 usually: readable by afpool running as another user),
//! and an existing file keeps its mode; the lock file is created the same way.
//!
//! Every change is a read-modify-write under an exclusive lock on the sidecar `<file>.lock`, and
//! the new content is written to a temporary file in the same folder, fsynced and renamed over
//! the old one. So several afpool processes can change the file at once without losing an
//! update, and readers (which take no lock) always see a complete file.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::atomic;
use super::file_doc::{ClientDoc, PoolDoc};
use super::names::{self, same_host};
use super::selection;
use super::{ChangeFeed, Pool, PoolPolicy, PoolStore, Selection, Snapshot, Spill, StoreError};

/// How often [`super::live::LivePools`] checks the file's metadata.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A pool store in one JSON file.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FileDoc {
    #[serde(default)]
    pools: Vec<PoolDoc>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl FileDoc {
    fn find(&self, name: &str) -> Result<usize, StoreError> {
        self.pools
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| StoreError::NotFound(name.to_string()))
    }
}

impl FileStore {
    /// A store backed by `path`; nothing is touched until the first operation.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }

    /// The JSON file this store uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("{what} {}: {e}", self.path.display()))
    }

    /// The document; a missing or blank file reads as one without pools.
    fn read_doc(&self) -> Result<FileDoc, StoreError> {
        self.read_file().map(|doc| doc.unwrap_or_default())
    }

    /// The document, or why there is none (`"missing"`, `"empty"`).
    fn read_file(&self) -> Result<Result<FileDoc, &'static str>, StoreError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Err("missing")),
            Err(e) => return Err(self.io_error("cannot read", e)),
        };
        if text.trim().is_empty() {
            return Ok(Err("empty"));
        }
        let parsed = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(pools)) => {
                serde_json::from_value(Value::Array(pools)).map(|pools| FileDoc {
                    pools,
                    extra: Map::new(),
                })
            }
            Ok(doc) => serde_json::from_value(doc),
            Err(e) => Err(e),
        };
        parsed
            .map(Ok)
            .map_err(|e| self.io_error("invalid pools file", e))
    }

    fn write_doc(&self, doc: &FileDoc) -> Result<(), StoreError> {
        atomic::replace_json(&self.path, doc).map_err(|(what, e)| self.io_error(what, e))
    }

    /// Every pool, in natural order of names, from a read document.
    fn pools(doc: &FileDoc) -> Vec<Pool> {
        let mut pools: Vec<Pool> = doc.pools.iter().map(PoolDoc::to_pool).collect();
        crate::natural::sort_by_name(&mut pools, |p| &p.name);
        pools
    }

    /// Runs `change` on the current content under the exclusive lock and writes the result back
    /// when `change` reports it changed something.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut FileDoc) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let _lock = atomic::lock(&self.path).map_err(|e| self.io_error("cannot lock", e))?;
        let mut doc = self.read_doc()?;
        let (value, changed) = change(&mut doc)?;
        if changed {
            self.write_doc(&doc)?;
        }
        Ok(value) // dropping `_lock` releases it
    }

    /// Runs blocking file work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&FileStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| StoreError::Unavailable(format!("file store task failed: {e}")))?
    }
}

#[async_trait]
impl PoolStore for FileStore {
    async fn list(&self) -> Result<Vec<Pool>, StoreError> {
        self.blocking(|s| Ok(FileStore::pools(&s.read_doc()?)))
            .await
    }

    async fn get(&self, name: &str) -> Result<Pool, StoreError> {
        let name = name.to_string();
        self.blocking(move |s| {
            let doc = s.read_doc()?;
            Ok(doc.pools[doc.find(&name)?].to_pool())
        })
        .await
    }

    async fn create(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError> {
        let name = names::validate_pool_name(name)?.to_string();
        let hosts = names::validate_hosts(hosts)?;
        self.blocking(move |s| {
            s.modify(|doc| {
                if doc.pools.iter().any(|p| p.name == name) {
                    return Err(StoreError::AlreadyExists(name));
                }
                let clients = hosts.into_iter().map(ClientDoc::new).collect();
                let pool = PoolDoc {
                    name,
                    clients,
                    select: None,
                    except: Vec::new(),
                    fallback: Vec::new(),
                    spill_below: None,
                    spill_after: None,
                    during: Vec::new(),
                    time_zone: None,
                    policy: None,
                    extra: Map::new(),
                };
                let created = pool.to_pool();
                doc.pools.push(pool);
                Ok((created, true))
            })
        })
        .await
    }

    async fn rename(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let new = names::validate_pool_name(new)?.to_string();
        let old = old.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&old)?;
                if old == new {
                    return Ok(((), false));
                }
                if doc.pools.iter().any(|p| p.name == new) {
                    return Err(StoreError::AlreadyExists(new));
                }
                doc.pools[at].name = new;
                Ok(((), true))
            })
        })
        .await
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&name)?;
                doc.pools.remove(at);
                Ok(((), true))
            })
        })
        .await
    }

    async fn add_hosts(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError> {
        let hosts = names::validate_hosts(hosts)?;
        let name = name.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&name)?;
                let pool = &mut doc.pools[at];
                let missing = names::missing_hosts(&pool.to_pool().hosts, &hosts);
                let changed = !missing.is_empty();
                pool.clients.extend(missing.into_iter().map(ClientDoc::new));
                Ok((pool.to_pool(), changed))
            })
        })
        .await
    }

    async fn remove_hosts(&self, name: &str, hosts: &[String]) -> Result<Pool, StoreError> {
        let hosts = names::hosts_to_remove(hosts)?;
        let name = name.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&name)?;
                let pool = &mut doc.pools[at];
                let before = pool.clients.len();
                pool.clients
                    .retain(|c| !hosts.iter().any(|h| same_host(h, &c.hostname)));
                let changed = pool.clients.len() != before;
                Ok((pool.to_pool(), changed))
            })
        })
        .await
    }

    async fn set_selection(&self, name: &str, selection: &Selection) -> Result<Pool, StoreError> {
        let selection = selection.validated()?;
        let name = name.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&name)?;
                let pool = &mut doc.pools[at];
                let changed = pool.to_pool().selection != selection;
                pool.select = selection.select;
                pool.except = selection.except;
                pool.during = selection::during_to_stored(&selection.during);
                pool.time_zone = selection.time_zone;
                Ok((pool.to_pool(), changed))
            })
        })
        .await
    }

    async fn set_spill(&self, name: &str, spill: &Spill) -> Result<Pool, StoreError> {
        let spill = spill.validated(name)?;
        let name = name.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&name)?;
                let pool = &mut doc.pools[at];
                let before = (&pool.fallback, pool.spill_below, &pool.spill_after);
                let changed = before != (&spill.fallback, spill.spill_below, &spill.spill_after);
                pool.fallback = spill.fallback;
                pool.spill_below = spill.spill_below;
                pool.spill_after = spill.spill_after;
                Ok((pool.to_pool(), changed))
            })
        })
        .await
    }

    async fn set_policy(&self, name: &str, policy: &PoolPolicy) -> Result<Pool, StoreError> {
        let policy = super::checked_policy(policy)?;
        let value = (!policy.is_empty())
            .then(|| serde_json::to_value(&policy).expect("a policy always serializes"));
        let name = name.to_string();
        self.blocking(move |s| {
            s.modify(|doc| {
                let at = doc.find(&name)?;
                let pool = &mut doc.pools[at];
                let changed = pool.policy != value;
                pool.policy = value;
                Ok((pool.to_pool(), changed))
            })
        })
        .await
    }

    async fn rules(&self) -> Result<Option<super::rules::DefaultRules>, StoreError> {
        self.blocking(|s| Ok(super::rules::from_file(&s.read_doc()?.extra)))
            .await
    }

    async fn set_rules(
        &self,
        rules: Option<&super::rules::DefaultRules>,
    ) -> Result<(), StoreError> {
        let rules = rules.map(super::rules::checked).transpose()?;
        self.blocking(move |s| {
            s.modify(|doc| Ok(((), super::rules::into_file(&mut doc.extra, rules.as_ref()))))
        })
        .await
    }

    fn describe(&self) -> String {
        format!("file:{}", self.path.display())
    }

    /// [`Snapshot::Absent`] when the file is missing or blank.
    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.blocking(|s| {
            Ok(match s.read_file()? {
                Ok(doc) => Snapshot::Pools(FileStore::pools(&doc)),
                Err(why) => Snapshot::Absent(why),
            })
        })
        .await
    }

    async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        Ok(ChangeFeed::Poll(POLL_INTERVAL))
    }

    async fn fingerprint(&self) -> Result<Option<String>, StoreError> {
        self.blocking(|s| Ok(Some(s.metadata_fingerprint()?))).await
    }
}

impl FileStore {
    /// Identity, size and mtime of the file: every atomic replace changes at least the inode.
    fn metadata_fingerprint(&self) -> Result<String, StoreError> {
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok("missing".into()),
            Err(e) => return Err(self.io_error("cannot stat", e)),
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let id = ();
        Ok(format!("{id:?}/{mtime:?}/{}", meta.len()))
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
