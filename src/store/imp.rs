use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::schema::migrations;
use crate::run::Step;
use crate::run::record::RunStatus;

/// The chain of every task starts from this hash.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the scoreboard `{path}`: {source} — if it is corrupt, move it aside (the next run creates a new one) or pass another with --db (HARNESS_DB); else check that the path is readable and writable"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cannot migrate the scoreboard `{path}`: {source} — it may be corrupt or from a newer harness"
    )]
    Migrate {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error(
        "the scoreboard `{path}` is read-only, so no run could be recorded — make the file and its directory writable, or pass another with --db (HARNESS_DB)"
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "cannot create `{dir}`, the directory of the scoreboard `{path}`: {source} — create it, or pass another path with --db (HARNESS_DB)"
    )]
    Dir {
        dir: PathBuf,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the scoreboard `{path}` is not a file (a device, a directory or a pipe) — pass the path of a SQLite file with --db (HARNESS_DB); a missing one is created"
    )]
    NotAFile { path: PathBuf },
    #[error("scoreboard `{path}`: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

/// How long one statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts after a busy (or lost migration race) failure, with a growing pause.
const RETRIES: u32 = 5;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl StoreError {
    /// Worth another try: a lock held elsewhere, or a migration another process was making.
    fn is_transient(&self) -> bool {
        match self {
            StoreError::Open { source, .. } | StoreError::Sql { source, .. } => is_busy(source),
            // Another process migrated first ("table task already exists"), or holds the lock.
            StoreError::Migrate {
                source: rusqlite_migration::Error::RusqliteError { .. },
                ..
            } => true,
            StoreError::Migrate { .. } => false,
            StoreError::ReadOnly { .. } | StoreError::Dir { .. } | StoreError::NotAFile { .. } => {
                false
            }
        }
    }
}

/// A config version as the scoreboard knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub id: i64,
    pub number: i64,
    pub hash: String,
    /// The version it was made from: `None` for a task's seed.
    pub parent: Option<i64>,
    /// What made it: a mutation's id, `seed`, or `external` for a `--config` file.
    pub mutation: String,
    /// Why this version exists: the mutation's reason, or where the config came from.
    pub reason: String,
}

impl VersionRow {
    pub fn label(&self) -> String {
        format!("v{}", self.number)
    }
}

pub struct NewVersion<'a> {
    pub hash: &'a str,
    pub config: &'a str,
    pub parent: Option<i64>,
    pub mutation: &'a str,
    pub reason: &'a str,
}

pub struct NewRun<'a> {
    pub uuid: &'a str,
    pub version_id: i64,
    pub started_at: &'a str,
    pub status: RunStatus,
    pub duration_ms: u64,
    pub file: &'a str,
    /// The run file's bytes; hashed into the chain.
    pub json: &'a str,
    pub steps: &'a [Step],
}

/// One row of the scoreboard: a version and how its runs went.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VersionTally {
    pub task: String,
    pub version: i64,
    pub successes: u64,
    pub failures: u64,
    /// Runs that did not run the whole protocol: shown, never counted.
    pub partial: u64,
    /// Runs the harness could not judge (its own faults, interrupts): shown, never counted.
    pub errors: u64,
    pub last_run: Option<String>,
    /// The version's failure signatures, most frequent first, with their counts.
    pub signatures: Vec<(String, u64)>,
}

impl Store {
    /// Opens (creating and migrating) the scoreboard. Several processes may open a new file
    /// at once: one migrates, the others wait (busy timeout) and, if they lost the race,
    /// try again and find it migrated.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, false)
    }

    /// Opens the scoreboard for recording: a read-only one is refused before anything is
    /// read from it (so not even its -wal/-shm files appear), not after a deploy.
    pub fn open_writable(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, true)
    }

    fn open_with(path: &Path, writable: bool) -> Result<Store, StoreError> {
        let mut attempt = 0;
        loop {
            match Store::open_once(path, writable) {
                Err(e) if attempt < RETRIES && e.is_transient() => {
                    attempt += 1;
                    std::thread::sleep(RETRY_PAUSE * attempt);
                }
                other => return other,
            }
        }
    }

    /// SQLite would take `/dev/null` or a directory and fail later with "database is
    /// locked" or worse; the path is refused as what it is instead.
    pub fn is_a_file_or_nothing(path: &Path) -> Result<(), StoreError> {
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => Err(StoreError::NotAFile {
                path: path.to_path_buf(),
            }),
            _ => Ok(()),
        }
    }

    fn open_once(path: &Path, writable: bool) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        // A new scoreboard's directory is made like the runs dir is: `--db new/s.db` works.
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                dir: dir.to_path_buf(),
                path: path.to_path_buf(),
                source,
            })?;
        }
        Store::is_a_file_or_nothing(path)?;
        let mut conn = Connection::open(path).map_err(open_err)?;
        if writable && conn.is_readonly(rusqlite::MAIN_DB).map_err(open_err)? {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Runs `body` in a write transaction (BEGIN IMMEDIATE, so no two writers read the same
    /// chain head) and commits it. SQLITE_BUSY past the busy timeout rolls back and retries.
    pub(super) fn write_tx<T>(
        &mut self,
        mut body: impl FnMut(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .and_then(|tx| {
                    let value = body(&tx)?;
                    tx.commit()?;
                    Ok(value)
                });
            match result {
                Err(e) if attempt < RETRIES && is_busy(&e) => {
                    attempt += 1;
                    std::thread::sleep(RETRY_PAUSE * attempt);
                }
                other => {
                    return other.map_err(|source| StoreError::Sql {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
    }

    fn sql(&self) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// The task's id, creating the row on first sight.
    pub fn task_id(&self, name: &str, path: &str) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO task (name, path) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
                params![name, path],
            )
            .map_err(self.sql())?;
        self.conn
            .query_row("SELECT id FROM task WHERE name = ?1", [name], |r| r.get(0))
            .map_err(self.sql())
    }

    /// The version with this content, or a new one numbered after the task's last.
    pub fn version(
        &mut self,
        task_id: i64,
        new: &NewVersion<'_>,
    ) -> Result<VersionRow, StoreError> {
        self.write_tx(|tx| {
            if let Some(row) = version_by_hash(tx, task_id, new.hash)? {
                return Ok(row);
            }
            let number: i64 = tx.query_row(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM version WHERE task_id = ?1",
                [task_id],
                |r| r.get(0),
            )?;
            let created = chrono::Utc::now().to_rfc3339();
            let id = insert_version_tx(tx, task_id, number, new, &created)?;
            Ok(VersionRow {
                id,
                number,
                hash: new.hash.to_string(),
                parent: new.parent,
                mutation: new.mutation.to_string(),
                reason: new.reason.to_string(),
            })
        })
    }

    /// Records a run and its steps in one transaction, chained to the task's previous run.
    /// Returns the run's hash.
    pub fn insert_run(&mut self, task_id: i64, run: &NewRun<'_>) -> Result<String, StoreError> {
        self.write_tx(|tx| insert_run_tx(tx, task_id, run))
    }

    /// Successes and failures of every version, optionally of one task.
    /// `since` (an RFC 3339 prefix such as `2026-11-23`) counts only runs started then or later.
    pub fn tallies(
        &self,
        task: Option<&str>,
        since: Option<&str>,
    ) -> Result<Vec<VersionTally>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT v.id, t.name, v.number,
                        COALESCE(SUM(r.status = 'success'), 0), COALESCE(SUM(r.status = 'failure'), 0),
                        COALESCE(SUM(r.status = 'partial'), 0),
                        COALESCE(SUM(r.status IN ('error', 'interrupted')), 0), MAX(r.started_at)
                 FROM version v JOIN task t ON t.id = v.task_id
                 LEFT JOIN run r ON r.version_id = v.id AND (?2 IS NULL OR r.started_at >= ?2)
                 WHERE ?1 IS NULL OR t.name = ?1
                 GROUP BY v.id ORDER BY t.name, v.number",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![task, since], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    VersionTally {
                        task: r.get(1)?,
                        version: r.get(2)?,
                        successes: r.get::<_, i64>(3)? as u64,
                        failures: r.get::<_, i64>(4)? as u64,
                        partial: r.get::<_, i64>(5)? as u64,
                        errors: r.get::<_, i64>(6)? as u64,
                        last_run: r.get(7)?,
                        signatures: Vec::new(),
                    },
                ))
            })
            .map_err(self.sql())?;
        let mut tallies = rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())?;
        let mut sigs = self
            .conn
            .prepare_cached(
                "SELECT r.version_id, s.signature, COUNT(*) AS n FROM step s JOIN run r ON r.seq = s.run_seq
                 WHERE s.signature IS NOT NULL AND (?1 IS NULL OR r.started_at >= ?1)
                 GROUP BY r.version_id, s.signature ORDER BY n DESC, s.signature",
            )
            .map_err(self.sql())?;
        let found = sigs
            .query_map([since], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .map_err(self.sql())?;
        for row in found {
            let (version_id, sig, n) = row.map_err(self.sql())?;
            if let Some((_, t)) = tallies.iter_mut().find(|(id, _)| *id == version_id) {
                t.signatures.push((sig, n));
            }
        }
        Ok(tallies.into_iter().map(|(_, t)| t).collect())
    }

    /// Records one mutation the proposer tried for a version.
    pub fn record_attempt(
        &self,
        version_id: i64,
        mutation: &str,
        accepted: bool,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO mutation_attempt (version_id, mutation, accepted, reason, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    version_id,
                    mutation,
                    accepted,
                    reason,
                    chrono::Utc::now().to_rfc3339()
                ],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Records who proposed a version (the first proposal of a config is kept).
    pub fn record_provenance(
        &self,
        version_id: i64,
        proposer: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO version_provenance (version_id, proposer, json, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![version_id, proposer, json, chrono::Utc::now().to_rfc3339()],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// The content hashes of the task's versions that have run: a proposal of one of
    /// them would repeat what was already judged.
    pub fn ran_hashes(
        &self,
        task_id: i64,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT v.hash FROM version v JOIN run r ON r.version_id = v.id
                  WHERE v.task_id = ?1",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([task_id], |r| r.get::<_, String>(0))
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The json of a version's most recent run with a failing step, if it has one. A
    /// partial run counts for nothing, but what its steps found is still evidence to
    /// learn from.
    pub fn last_failed_run(&self, version_id: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT json FROM run WHERE version_id = ?1 AND (status = 'failure'
                    OR (status = 'partial' AND EXISTS
                        (SELECT 1 FROM step s WHERE s.run_seq = run.seq AND s.status = 'fail')))
                 ORDER BY seq DESC LIMIT 1",
                [version_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Successes and failures of one version: the runs that count.
    pub fn version_tally(&self, version_id: i64) -> Result<(u64, u64), StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(status = 'success'), 0), COALESCE(SUM(status = 'failure'), 0)
                 FROM run WHERE version_id = ?1",
                [version_id],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(self.sql())
    }
}

/// The task's version with this content hash, if it has one.
pub(super) fn version_by_hash(
    conn: &Connection,
    task_id: i64,
    hash: &str,
) -> rusqlite::Result<Option<VersionRow>> {
    conn.query_row(
        "SELECT id, number, hash, parent_id, CAST(mutation AS TEXT), reason
           FROM version WHERE task_id = ?1 AND hash = ?2",
        params![task_id, hash],
        |r| {
            Ok(VersionRow {
                id: r.get(0)?,
                number: r.get(1)?,
                hash: r.get(2)?,
                parent: r.get(3)?,
                mutation: r.get(4)?,
                reason: r.get(5)?,
            })
        },
    )
    .optional()
}

/// Inserts a version numbered `number`; its id.
pub(super) fn insert_version_tx(
    tx: &rusqlite::Transaction<'_>,
    task_id: i64,
    number: i64,
    new: &NewVersion<'_>,
    created_at: &str,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO version (task_id, number, hash, parent_id, mutation, reason, config, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![task_id, number, new.hash, new.parent, new.mutation, new.reason, new.config, created_at],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Inserts a run and its steps inside `tx`, chained to the task's last run; its hash.
pub(super) fn insert_run_tx(
    tx: &rusqlite::Transaction<'_>,
    task_id: i64,
    run: &NewRun<'_>,
) -> rusqlite::Result<String> {
    let prev: String = tx
        .query_row(
            "SELECT hash FROM run WHERE task_id = ?1 ORDER BY seq DESC LIMIT 1",
            [task_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS_HASH.to_string());
    let hash = chain_hash(&prev, run.json.as_bytes());
    tx.execute(
        "INSERT INTO run (uuid, task_id, version_id, started_at, success, status, duration_ms, file, json, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![run.uuid, task_id, run.version_id, run.started_at, run.status == RunStatus::Success,
            run.status.as_str(), run.duration_ms as i64, run.file, run.json, prev, hash],
    )?;
    let seq = tx.last_insert_rowid();
    let mut insert = tx.prepare_cached(
        "INSERT INTO step (run_seq, idx, name, status, duration_ms, signature, fault, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (idx, step) in run.steps.iter().enumerate() {
        insert.execute(params![
            seq,
            idx as i64,
            step.name,
            step.status(),
            step.duration_ms as i64,
            step.signature().map(|s| s.as_str()),
            step.fault().map(|f| f.as_str()),
            step.evidence.to_string()
        ])?;
    }
    Ok(hash)
}

/// `sha256(prev_hash ‖ run JSON)`, hex.
pub fn chain_hash(prev: &str, json: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(json);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(store: &mut Store, task: i64, hash: &str) -> VersionRow {
        store
            .version(
                task,
                &NewVersion {
                    hash,
                    config: "services: {}",
                    parent: None,
                    mutation: "seed",
                    reason: "r",
                },
            )
            .unwrap()
    }

    fn run(store: &mut Store, task: i64, v: i64, uuid: &str, success: bool) -> String {
        store
            .insert_run(
                task,
                &NewRun {
                    uuid,
                    version_id: v,
                    started_at: "2026-11-23T00:00:00Z",
                    status: if success {
                        RunStatus::Success
                    } else {
                        RunStatus::Failure
                    },
                    duration_ms: 5,
                    file: "f.json",
                    json: uuid,
                    steps: &[],
                },
            )
            .unwrap()
    }

    #[test]
    fn a_new_scoreboard_gets_its_directory_and_a_blocked_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("new/deeper/s.db");
        Store::open_writable(&nested).expect("the directories are made");
        assert!(nested.is_file());
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let err = Store::open_writable(&file.join("sub/s.db"))
            .err()
            .expect("refused");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Dir { .. }), "{text}");
        assert!(text.contains("a-file") && text.contains("--db"), "{text}");
    }

    #[test]
    fn versions_are_content_addressed_and_numbered_per_task() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let a = store.task_id("a", "a.md").unwrap();
        let b = store.task_id("b", "b.md").unwrap();
        assert_eq!(store.task_id("a", "a.md").unwrap(), a);
        let v1 = version(&mut store, a, "h1");
        let v2 = version(&mut store, a, "h2");
        assert_eq!((v1.number, v2.number), (1, 2));
        assert_eq!(version(&mut store, a, "h1"), v1);
        assert_eq!(version(&mut store, b, "h1").number, 1);
    }

    #[test]
    fn a_known_version_keeps_the_parent_and_mutation_it_was_made_with() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let t = store.task_id("a", "a.md").unwrap();
        let seed = version(&mut store, t, "h1");
        assert_eq!((seed.parent, seed.mutation.as_str()), (None, "seed"));
        let made = |parent, mutation| NewVersion {
            hash: "h2",
            config: "services: {}",
            parent,
            mutation,
            reason: "r",
        };
        let v2 = store
            .version(t, &made(Some(seed.id), "drop-version-key"))
            .unwrap();
        let again = store.version(t, &made(None, "external")).unwrap();
        assert_eq!(again, v2);
        assert_eq!(
            (again.parent, again.mutation.as_str()),
            (Some(seed.id), "drop-version-key")
        );
    }

    #[test]
    fn runs_are_chained_and_tallied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        let t = store.task_id("a", "a.md").unwrap();
        let v = version(&mut store, t, "h1");
        let h1 = run(&mut store, t, v.id, "u1", true);
        let h2 = run(&mut store, t, v.id, "u2", false);
        assert_eq!(h1, chain_hash(GENESIS_HASH, b"u1"));
        assert_eq!(h2, chain_hash(&h1, b"u2"));
        assert_eq!(store.version_tally(v.id).unwrap(), (1, 1));
        drop(store);
        let store = Store::open(&path).unwrap();
        let tallies = store.tallies(Some("a"), None).unwrap();
        assert_eq!(tallies.len(), 1);
        assert_eq!((tallies[0].successes, tallies[0].failures), (1, 1));
    }

    /// Four harnesses starting at once on a scoreboard that does not exist yet: one creates
    /// and migrates it, the others wait or retry — none fails with "table task already exists".
    #[test]
    fn four_first_opens_at_once_all_succeed() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.db");
            let start = std::sync::Arc::new(std::sync::Barrier::new(4));
            let openers: Vec<_> = (0..4)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        Store::open(&path).map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            for o in openers {
                assert_eq!(o.join().unwrap(), Ok(()));
            }
        }
    }

    /// Several processes' worth of writers on one file: every row lands, none is refused as
    /// "database is locked", and the chain links every row to the one before it.
    #[test]
    fn concurrent_writers_keep_every_row_and_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        let t = store.task_id("a", "a.md").unwrap();
        let v = version(&mut store, t, "h1");
        drop(store);
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    for i in 0..25 {
                        run(&mut store, t, v.id, &format!("w{w}-{i}"), i % 5 != 0);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let rows: Vec<(String, String, String)> = store
            .conn
            .prepare("SELECT json, prev_hash, hash FROM run ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 100);
        let mut prev = GENESIS_HASH.to_string();
        for (json, prev_hash, hash) in rows {
            assert_eq!(prev_hash, prev);
            assert_eq!(hash, chain_hash(&prev, json.as_bytes()));
            prev = hash;
        }
        assert_eq!(store.version_tally(v.id).unwrap(), (80, 20));
    }
}
