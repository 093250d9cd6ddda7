//! The file store's pool document: the legacy MongoDB shape (`name`, `clients` of
//! `{hostname, engine, ip, port}`), with afpool's keys beside `name` only when set and every
//! unknown field kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::names;
use super::selection::{self, StoredWindows};
use super::{Pool, PoolPolicy, Selection, Spill};

/// One pool, in the legacy MongoDB document shape.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PoolDoc {
    pub(super) name: String,
    #[serde(default)]
    pub(super) clients: Vec<ClientDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) select: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) except: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) fallback: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) spill_below: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) spill_after: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) during: Vec<StoredWindows>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) time_zone: Option<String>,
    /// The pool's policy (kept as JSON so that a document that does not read stays as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) policy: Option<Value>,
    #[serde(flatten)]
    pub(super) extra: Map<String, Value>,
}

/// One member host; the legacy tool always writes all four keys.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ClientDoc {
    pub(super) hostname: String,
    #[serde(default)]
    pub(super) engine: String,
    #[serde(default)]
    pub(super) ip: String,
    #[serde(default)]
    pub(super) port: String,
    #[serde(flatten)]
    pub(super) extra: Map<String, Value>,
}

impl ClientDoc {
    pub(super) fn new(hostname: String) -> Self {
        let empty = String::new;
        ClientDoc {
            hostname,
            engine: empty(),
            ip: empty(),
            port: empty(),
            extra: Map::new(),
        }
    }
}

impl PoolDoc {
    pub(super) fn to_pool(&self) -> Pool {
        let hosts = self.clients.iter().map(|c| c.hostname.clone());
        // A document imported from MongoDB or a legacy Pool Server reply keeps its `_id`.
        let oid = self.extra.get("_id").and_then(|id| id.get("$oid"));
        Pool {
            name: self.name.clone(),
            hosts: names::dedupe_hosts(hosts),
            legacy_id: oid.and_then(Value::as_str).map(str::to_string),
            selection: Selection {
                select: self.select.clone(),
                except: self.except.clone(),
                during: selection::during_from_stored(&self.during),
                time_zone: self.time_zone.clone(),
            },
            spill: Spill {
                fallback: self.fallback.clone(),
                spill_below: self.spill_below,
                spill_after: self.spill_after.clone(),
            },
            policy: match &self.policy {
                None => PoolPolicy::default(),
                Some(v) => super::stored_policy(&self.name, PoolPolicy::deserialize(v)),
            },
        }
    }
}
