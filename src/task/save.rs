//! Atomic replace: a crash or a full disk leaves either the old or the new
//! prompt, never a truncated one.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::error::TaskError;

pub(crate) fn save(path: &Path, text: &str) -> Result<(), TaskError> {
    write_atomically(path, text).map_err(|source| TaskError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    // Renaming over a symlink would replace the link itself; write its target.
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    // Hidden and unique, so concurrent saves and editors' globs don't collide.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = write_tmp(&tmp, &target, text).and_then(|()| fs::rename(&tmp, &target));
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(&dir);
    Ok(())
}

fn write_tmp(tmp: &Path, target: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    file.write_all(text.as_bytes())?;
    // Keep the mode the user gave the prompt (e.g. group-writable).
    if let Ok(meta) = fs::metadata(target) {
        file.set_permissions(meta.permissions())?;
    }
    file.sync_all()
}

/// Makes the rename itself durable. Not every filesystem supports syncing a
/// directory, and the data is already safe, so failures are ignored.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
