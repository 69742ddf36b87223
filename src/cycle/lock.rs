//! One `iterate` per task and scoreboard. Two loops on one task would each build the next
//! version from the one they last ran, though the other may already have replaced it: a
//! fix applied by one would be missing from the other's next version, and each would run
//! versions it did not propose. The lock is the kernel's (`flock`), so a killed harness
//! holds it no longer than its life.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held while the loop runs; dropping it lets the next loop in.
#[derive(Debug)]
pub struct IterateLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "task `{task}` is being iterated by another harness (pid {holder}, lock `{}`) on the same scoreboard — two loops would each build the next version from one the other replaced; wait for it to end or stop it, or give this one its own --db",
        .path.display()
    )]
    Held {
        task: String,
        holder: String,
        path: PathBuf,
    },
    #[error(transparent)]
    Scoreboard(#[from] crate::store::StoreError),
    #[error("cannot take the lock `{}` for task `{task}` — make the scoreboard's directory writable, or choose another --db", .path.display())]
    Io {
        task: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl IterateLock {
    /// The lock for `task` on the scoreboard `db`, or who holds it.
    pub fn take(db: &Path, task: &str) -> Result<IterateLock, LockError> {
        // The lock goes beside the scoreboard: not beside a device or into /dev.
        crate::store::Store::is_a_file_or_nothing(db)?;
        let path = lock_path(db, task);
        let io = |source| LockError::Io {
            task: task.to_string(),
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Only for the message: an unreadable pid is still a held lock.
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Held {
                    task: task.to_string(),
                    holder: Some(holder.trim())
                        .filter(|h| !h.is_empty())
                        .unwrap_or("unknown")
                        .to_string(),
                    path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(io)?;
        Ok(IterateLock { _file: file })
    }
}

/// Beside the scoreboard, as its audit cache is: `scoreboard.db-iterate-<task>.lock`.
fn lock_path(db: &Path, task: &str) -> PathBuf {
    let safe: String = task
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '_',
            },
        )
        .collect();
    let name = db.file_name().unwrap_or_default().to_string_lossy();
    db.with_file_name(format!("{name}-iterate-{safe}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_loop_on_the_task_is_told_who_holds_it_until_it_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("scoreboard.db");
        let held = IterateLock::take(&db, "web app").expect("first");
        let err = IterateLock::take(&db, "web app").expect_err("second");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())) && text.contains("--db"),
            "{text}"
        );
        assert!(lock_path(&db, "web app").ends_with("scoreboard.db-iterate-web_app.lock"));
        // Another task on the same scoreboard is free.
        IterateLock::take(&db, "other").expect("another task");
        drop(held);
        IterateLock::take(&db, "web app").expect("free again");
    }

    #[test]
    fn a_scoreboard_that_is_not_a_file_is_named_and_nothing_is_made_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = IterateLock::take(dir.path(), "t").expect_err("a directory");
        assert!(err.to_string().contains("is not a file"), "{err}");
        let err = IterateLock::take(Path::new("/dev/null"), "t").expect_err("a device");
        assert!(
            err.to_string().contains("`/dev/null` is not a file"),
            "{err}"
        );
        assert!(!lock_path(Path::new("/dev/null"), "t").exists());
    }

    #[test]
    fn an_unwritable_place_is_named() {
        let err = IterateLock::take(Path::new("/proc/no/such/scoreboard.db"), "t").expect_err("io");
        assert!(
            err.to_string()
                .contains("/proc/no/such/scoreboard.db-iterate-t.lock"),
            "{err}"
        );
    }
}
