//! One file per `afpool` subcommand; each exposes `run(..) -> anyhow::Result<()>`. This file holds
//! what they share: turning global flags and the config file into settings, and opening the store.

pub mod audit;
pub mod check_config;
pub mod completions;
pub mod completions_args;
pub mod doctor;
pub mod explain;
pub mod hosts;
pub mod jobs;
pub mod keeper;
pub mod legacy;
pub mod pool;
pub mod pool_policy;
pub mod pool_spill;
pub mod rules;
pub mod scan;
pub mod serve;

use anyhow::Context;

use crate::config::Config;
use crate::secret::SecretUri;
use crate::store::audit::{SharedAudit, DEFAULT_KEEP_DAYS};
use crate::store::recorder::Recorder;
use crate::store::{self, SharedStore, StoreOptions};

/// The store spec the config names: `--store`, else the legacy config file's MongoDB, else the
/// embedded file store at its default path.
pub fn store_spec(config: &Config) -> anyhow::Result<SecretUri> {
    if let Some(spec) = &config.store {
        return Ok(spec.clone());
    }
    if let Some(path) = &config.legacy_config {
        return store::legacy_config_uri(std::path::Path::new(path)).map(SecretUri::from);
    }
    let path = store::default_file_path();
    Ok(SecretUri::new(format!("file:{}", path.display())))
}

/// Open the store the config names.
pub async fn open_store(config: &Config) -> anyhow::Result<SharedStore> {
    let spec = store_spec(config)?;
    let store = store::open(spec.expose())
        .await
        .context("cannot open the pool store")?;
    Ok(store)
}

/// Open the job registry and audit log beside the store the config names.
pub async fn open_recorder(config: &Config) -> anyhow::Result<Recorder> {
    let spec = store_spec(config)?;
    let keep_days = config.audit_keep_days.unwrap_or(DEFAULT_KEEP_DAYS);
    let options = StoreOptions::default();
    let recorder = Recorder::open(spec.expose(), &options, keep_days).await;
    recorder.context("cannot open the audit log")
}

/// Open the audit log beside the store the config names.
pub async fn open_audit(config: &Config) -> anyhow::Result<SharedAudit> {
    Ok(open_recorder(config).await?.audit)
}
