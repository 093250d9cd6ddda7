//! The file backend of the audit log: `audit.jsonl` beside the pools file, one JSON entry per
//! line. Each entry, or each batch of entries, is appended with one `write` on a file opened with
//! `O_APPEND`, so entries from several processes never interleave, and no entry is ever
//! rewritten.
//!
//! Bounded by age without rewriting: the first append of a [`FileAudit`] looks at the oldest
//! entry, and when it is older than `keep_days` renames `audit.jsonl` to `audit.jsonl.1`
//! (replacing the previous `.1`) under the lock `audit.jsonl.lock`. So the files hold at most
//! about twice `keep_days`; reading covers both files and never shows entries older than
//! `keep_days`. Lines that do not parse (e.g. cut by a full disk) are skipped when reading.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use super::atomic;
use super::audit::{AuditEntry, AuditFilter, AuditLog};
use super::audit_routed;
use super::registry::PoolJob;
use super::StoreError;

/// File name of the audit log beside the pools file.
pub const FILE_NAME: &str = "audit.jsonl";

/// An audit log in a JSON-lines file.
#[derive(Debug, Clone)]
pub struct FileAudit {
    path: PathBuf,
    keep_days: u32,
    checked: Arc<AtomicBool>,
}

impl FileAudit {
    /// A log in `path` keeping `keep_days`; nothing is touched until the first operation.
    pub fn new(path: impl Into<PathBuf>, keep_days: u32) -> Self {
        FileAudit {
            path: path.into(),
            keep_days,
            checked: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The log beside the pools file `pools`.
    pub fn beside(pools: &Path, keep_days: u32) -> Self {
        FileAudit::new(atomic::dir_of(pools).join(FILE_NAME), keep_days)
    }

    /// The current log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rotated file, `audit.jsonl.1`.
    pub fn rotated_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".1");
        self.path.with_file_name(name)
    }

    fn io_error(&self, what: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("{what} {}: {e}", self.path.display()))
    }

    /// The time of the first entry of the current file, if there is one that parses.
    fn oldest(&self) -> Option<bson::DateTime> {
        let mut line = String::new();
        BufReader::new(File::open(&self.path).ok()?)
            .read_line(&mut line)
            .ok()?;
        Some(serde_json::from_str::<AuditEntry>(&line).ok()?.at)
    }

    /// Rotates the current file when its oldest entry is older than `keep_days`.
    fn rotate_if_old(&self) -> Result<(), StoreError> {
        let cutoff = AuditFilter::default().cutoff(self.keep_days);
        if self.oldest().is_none_or(|at| at >= cutoff) {
            return Ok(());
        }
        let _lock = atomic::lock(&self.path).map_err(|e| self.io_error("cannot lock", e))?;
        if self.oldest().is_some_and(|at| at < cutoff) {
            fs::rename(&self.path, self.rotated_path())
                .map_err(|e| self.io_error("cannot rotate", e))?;
        }
        Ok(())
    }

    fn append_now(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut lines = Vec::new();
        for entry in entries {
            serde_json::to_writer(&mut lines, entry)
                .map_err(|e| self.io_error("cannot encode", e))?;
            lines.push(b'\n');
        }
        self.append_lines(&lines)
    }

    /// Appends whole lines with one write.
    fn append_lines(&self, line: &[u8]) -> Result<(), StoreError> {
        if !self.checked.swap(true, Ordering::Relaxed) {
            self.rotate_if_old()?;
        }
        fs::create_dir_all(atomic::dir_of(&self.path))
            .map_err(|e| self.io_error("cannot create folder for", e))?;
        let mut file = File::options()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io_error("cannot open", e))?;
        file.write_all(line)
            .map_err(|e| self.io_error("cannot append to", e))
    }

    fn read_now(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let cutoff = filter.cutoff(self.keep_days);
        let mut entries = Vec::new();
        for path in [self.rotated_path(), self.path.clone()] {
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_error("cannot read", e)),
            };
            for line in BufReader::new(file).lines() {
                let line = line.map_err(|e| self.io_error("cannot read", e))?;
                let Ok(entry) = serde_json::from_str::<AuditEntry>(&line) else {
                    continue;
                };
                if entry.at >= cutoff && filter.matches(&entry) {
                    entries.push(entry);
                }
            }
        }
        entries.sort_by_key(|e| e.at);
        Ok(entries)
    }
}

#[async_trait]
impl AuditLog for FileAudit {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.append_many(std::slice::from_ref(entry)).await
    }

    async fn append_many(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (log, entries) = (self.clone(), entries.to_vec());
        tokio::task::spawn_blocking(move || log.append_now(&entries))
            .await
            .map_err(|e| StoreError::Unavailable(format!("audit task failed: {e}")))?
    }

    async fn append_routed(&self, jobs: Vec<(Arc<PoolJob>, String)>) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let log = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut lines = Vec::with_capacity(jobs.len() * 320);
            audit_routed::write_lines(&mut lines, bson::DateTime::now(), &jobs)
                .map_err(|e| log.io_error("cannot encode", e))?;
            log.append_lines(&lines)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("audit task failed: {e}")))?
    }

    async fn read(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let (log, filter) = (self.clone(), filter.clone());
        tokio::task::spawn_blocking(move || log.read_now(&filter))
            .await
            .map_err(|e| StoreError::Unavailable(format!("audit task failed: {e}")))?
    }
}
