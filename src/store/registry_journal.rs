//! The file registry on disk: a snapshot `jobs.json` (`{"jobs": [PoolJob...]}`, pretty-printed)
//! and a journal `jobs.json.journal`, one JSON line per change since the snapshot
//! (`{"upsert": PoolJob}` or `{"remove": JOB_ID}`). A change appends a line, so recording a batch
//! of routed jobs costs the batch, not the whole registry; the journal is folded into a new
//! snapshot once it outgrows it (atomic replace, then the journal is emptied). Replaying a journal
//! over a snapshot that already holds it gives the same jobs, so a crash between the two steps
//! loses nothing. A torn last line (a writer died mid-append) is cut off; a line that does not
//! parse is skipped with a warning (the reconcile loop adopts what it described).
//!
//! [`State`] is one process's view, refreshed from the files under the registry's lock before
//! every operation: only what other writers appended since is read again, and the snapshot only
//! when it was replaced.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::atomic;
use super::registry::PoolJob;
use super::StoreError;

/// The journal is folded into the snapshot once it is this long and longer than the snapshot.
const COMPACT_AT: u64 = 1 << 20;

/// One change, one journal line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Insert or replace the job with this id.
    Upsert(Arc<PoolJob>),
    /// Remove the job with this id.
    Remove(i64),
}

#[derive(Deserialize, Default)]
struct SnapshotIn {
    #[serde(default)]
    jobs: Vec<PoolJob>,
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    jobs: Vec<&'a PoolJob>,
}

/// Which snapshot file a view was read from: a replaced file is a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn file_id(path: &Path) -> io::Result<Option<FileId>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(FileId {
            ino: inode(&meta),
            len: meta.len(),
            modified: meta.modified().ok(),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &fs::Metadata) -> u64 {
    0
}

/// The journal beside the snapshot `path`: `<path>.journal`.
pub fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".journal");
    path.with_file_name(name)
}

/// One process's view of the registry files.
#[derive(Default)]
pub struct State {
    /// The snapshot the view was built from; `None` before the first read or after a failure.
    snapshot: Option<Option<FileId>>,
    /// Journal bytes already applied.
    journal_at: u64,
    /// The jobs, by id (shared with the job index and the lists handed out).
    jobs: BTreeMap<i64, Arc<PoolJob>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("jobs", &self.jobs.len())
            .field("journal_at", &self.journal_at)
            .finish()
    }
}

/// The changes one operation makes, applied to the view as they are made.
pub struct Tx<'a> {
    jobs: &'a mut BTreeMap<i64, Arc<PoolJob>>,
    ops: Vec<Op>,
}

impl Tx<'_> {
    /// The job with this id.
    pub fn get(&self, id: i64) -> Option<&Arc<PoolJob>> {
        self.jobs.get(&id)
    }

    /// Every job, by id.
    pub fn all(&self) -> impl Iterator<Item = &Arc<PoolJob>> {
        self.jobs.values()
    }

    /// Inserts or replaces `job`; nothing is written when the record is already this.
    pub fn upsert(&mut self, job: Arc<PoolJob>) {
        if self.jobs.get(&job.job_id) != Some(&job) {
            self.jobs.insert(job.job_id, job.clone());
            self.ops.push(Op::Upsert(job));
        }
    }

    /// Removes the job with this id; `false` when there was none.
    pub fn remove(&mut self, id: i64) -> bool {
        let removed = self.jobs.remove(&id).is_some();
        if removed {
            self.ops.push(Op::Remove(id));
        }
        removed
    }
}

impl State {
    /// Runs `change` on the current jobs and writes what it changed; the caller holds the lock.
    pub fn transact<T>(
        &mut self,
        path: &Path,
        change: impl FnOnce(&mut Tx<'_>) -> T,
    ) -> Result<T, StoreError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!("{what} {}: {e}", path.display()))
        };
        if let Err((what, e)) = self.refresh(path) {
            self.snapshot = None;
            return Err(fail(what, &e));
        }
        let mut tx = Tx {
            jobs: &mut self.jobs,
            ops: Vec::new(),
        };
        let value = change(&mut tx);
        let ops = tx.ops;
        if !ops.is_empty() {
            if let Err((what, e)) = self.commit(path, &ops) {
                // The view went ahead of the files: read them again next time.
                self.snapshot = None;
                return Err(fail(what, &e));
            }
        }
        Ok(value)
    }

    /// Brings the view up to date with the files.
    fn refresh(&mut self, path: &Path) -> Result<(), (&'static str, String)> {
        let id = file_id(path).map_err(|e| ("cannot read", e.to_string()))?;
        let journal = journal_path(path);
        let journal_len = match fs::metadata(&journal) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(("cannot read", e.to_string())),
        };
        if self.snapshot != Some(id) || journal_len < self.journal_at {
            self.jobs = read_snapshot(path)?;
            self.journal_at = 0;
            self.snapshot = Some(id);
        }
        if journal_len > self.journal_at {
            self.replay(&journal)
                .map_err(|e| ("cannot read the journal", e.to_string()))?;
        }
        Ok(())
    }

    /// Applies the journal's lines past what the view has; cuts a torn last line.
    fn replay(&mut self, journal: &Path) -> io::Result<()> {
        let mut file = File::options().read(true).write(true).open(journal)?;
        file.seek(SeekFrom::Start(self.journal_at))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < bytes.len() {
            tracing::warn!(
                "{}: cutting a torn last line of {} bytes (a writer stopped mid-append)",
                journal.display(),
                bytes.len() - whole
            );
            file.set_len(self.journal_at + whole as u64)?;
        }
        for line in bytes[..whole].split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Op>(line) {
                Ok(op) => apply(&mut self.jobs, op),
                Err(e) => tracing::warn!("{}: skipping a line: {e}", journal.display()),
            }
        }
        self.journal_at += whole as u64;
        Ok(())
    }

    /// Appends `ops` to the journal; folds it into the snapshot once it has grown enough.
    fn commit(&mut self, path: &Path, ops: &[Op]) -> Result<(), (&'static str, String)> {
        let mut lines = Vec::new();
        for op in ops {
            serde_json::to_writer(&mut lines, op).map_err(|e| ("cannot encode", e.to_string()))?;
            lines.push(b'\n');
        }
        let journal = journal_path(path);
        let mut file = File::options()
            .create(true)
            .append(true)
            .open(&journal)
            .map_err(|e| ("cannot open the journal of", e.to_string()))?;
        file.write_all(&lines)
            .map_err(|e| ("cannot append to the journal of", e.to_string()))?;
        self.journal_at += lines.len() as u64;
        let snapshot_len = self.snapshot.flatten().map_or(0, |id| id.len);
        if self.journal_at >= COMPACT_AT && self.journal_at >= snapshot_len {
            self.compact(path, &journal)?;
        }
        Ok(())
    }

    fn compact(&mut self, path: &Path, journal: &Path) -> Result<(), (&'static str, String)> {
        let doc = SnapshotOut {
            jobs: self.jobs.values().map(|job| &**job).collect(),
        };
        atomic::replace_json(path, &doc).map_err(|(what, e)| (what, e.to_string()))?;
        File::options()
            .write(true)
            .open(journal)
            .and_then(|f| f.set_len(0))
            .map_err(|e| ("cannot empty the journal of", e.to_string()))?;
        self.snapshot = Some(file_id(path).map_err(|e| ("cannot read", e.to_string()))?);
        self.journal_at = 0;
        Ok(())
    }
}

fn apply(jobs: &mut BTreeMap<i64, Arc<PoolJob>>, op: Op) {
    match op {
        Op::Upsert(job) => {
            jobs.insert(job.job_id, job);
        }
        Op::Remove(id) => {
            jobs.remove(&id);
        }
    }
}

fn read_snapshot(path: &Path) -> Result<BTreeMap<i64, Arc<PoolJob>>, (&'static str, String)> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(("cannot read", e.to_string())),
    };
    let doc: SnapshotIn = if text.trim().is_empty() {
        SnapshotIn::default()
    } else {
        serde_json::from_str(&text).map_err(|e| ("invalid jobs file", e.to_string()))?
    };
    Ok(doc
        .jobs
        .into_iter()
        .map(|j| (j.job_id, Arc::new(j)))
        .collect())
}
