//! File helpers shared by the file backends (pools, job registry): an exclusive lock on a
//! sidecar `<file>.lock`, and an atomic replace (temporary file in the same folder, fsynced,
//! renamed over the old one, the old file's permissions kept). New files get mode 0666 less
//! the umask, so afpool running as another user can read them.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The folder holding `path` (`.` for a bare file name).
pub fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `<path>.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Creates the folder of `path` and takes the exclusive lock on `<path>.lock`; dropping the
/// returned file releases it.
pub fn lock(path: &Path) -> io::Result<File> {
    fs::create_dir_all(dir_of(path))?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(path))?;
    lock.lock()?;
    Ok(lock)
}

/// Writes `value` as pretty JSON (and a newline) to a temporary file next to `path`, syncs it and
/// renames it over `path`. Errors say which step failed.
pub fn replace_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
) -> Result<(), (&'static str, io::Error)> {
    let dir = dir_of(path);
    let mut tmp = new_temp_file(&dir).map_err(|e| ("cannot create a temporary file next to", e))?;
    let mut out = BufWriter::new(tmp.as_file_mut());
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| ("cannot write", e.into()))?;
    out.write_all(b"\n").map_err(|e| ("cannot write", e))?;
    out.flush().map_err(|e| ("cannot write", e))?;
    drop(out);
    tmp.as_file().sync_all().map_err(|e| ("cannot sync", e))?;
    if let Ok(meta) = fs::metadata(path) {
        // Keep the permissions of the file being replaced.
        let _ = fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| ("cannot replace", e.error))?;
    if let Ok(dir) = File::open(&dir) {
        let _ = dir.sync_all(); // make the rename durable; not supported everywhere
    }
    Ok(())
}

/// A temporary file in `dir` created like any new file: mode 0666 less the umask (0644 under
/// the usual umask 022).
pub fn new_temp_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}
