//! The audit cache's own SQLite file (`<db>-audit`, beside the scoreboard): the verdicts of
//! earlier audits, per run, for one runs directory. Its SQL sits here with the scoreboard's
//! so that every statement the harness runs is in `store/`; what a verdict means (digest,
//! file stamps) is the audit's, so rows come and go as opaque bytes.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS meta (runs_dir TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS verified (
        uuid TEXT PRIMARY KEY, digest BLOB NOT NULL, basis BLOB NOT NULL, carrier TEXT
    ) WITHOUT ROWID;";

/// One stored verdict, as bytes the audit encoded.
#[derive(Debug, Clone)]
pub(crate) struct CachedVerdict<'a> {
    pub uuid: &'a str,
    pub digest: &'a [u8],
    pub basis: Vec<u8>,
    pub carrier: Option<&'a str>,
}

/// The cache file could not be read or written; it only costs speed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct CacheError(#[from] rusqlite::Error);

impl CacheError {
    /// The file is not a SQLite database at all (truncated, overwritten).
    pub fn is_not_a_database(&self) -> bool {
        self.0.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase)
    }
}

/// The audit cache file at a path.
pub(crate) struct AuditCacheDb<'a> {
    pub path: &'a Path,
    /// The cache's format: a file of another format is ignored, and rewritten.
    pub format: i64,
    /// The runs directory the verdicts are about: another's are ignored, and replaced.
    pub runs_dir: &'a str,
}

impl AuditCacheDb<'_> {
    /// Hands every stored verdict to `each` (uuid, digest, basis, carrier); none if the
    /// file is missing, of another format or for another runs directory.
    pub fn read(
        &self,
        mut each: impl FnMut(String, Vec<u8>, Vec<u8>, Option<String>),
    ) -> Result<(), CacheError> {
        if !self.path.is_file() {
            return Ok(());
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(self.path, flags)?;
        let format: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let dir: Option<String> =
            conn.query_row("SELECT max(runs_dir) FROM meta", [], |r| r.get(0))?;
        if format != self.format || dir.as_deref() != Some(self.runs_dir) {
            return Ok(());
        }
        let mut stmt = conn.prepare("SELECT uuid, digest, basis, carrier FROM verified")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        }
        Ok(())
    }

    /// Adds `fresh` in one transaction, first emptying a cache of another format or
    /// runs directory.
    pub fn write<'v>(
        &self,
        fresh: impl IntoIterator<Item = CachedVerdict<'v>>,
    ) -> Result<(), CacheError> {
        let mut conn = Connection::open(self.path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let format: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        let dir: Option<String> =
            tx.query_row("SELECT max(runs_dir) FROM meta", [], |r| r.get(0))?;
        if format != self.format || dir.as_deref() != Some(self.runs_dir) {
            // Another format or runs directory: start over.
            tx.execute_batch("DELETE FROM verified; DELETE FROM meta;")?;
            tx.execute("INSERT INTO meta (runs_dir) VALUES (?1)", [self.runs_dir])?;
            tx.pragma_update(None, "user_version", self.format)?;
        }
        {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO verified (uuid, digest, basis, carrier) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for v in fresh {
                insert.execute(params![v.uuid, v.digest, v.basis, v.carrier])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
