//! Read-only views of the scoreboard for audit, show, report and export: every query they
//! make, returning typed rows. Tolerant of tampered column types where the audit needs it:
//! a value of the wrong type is something to report, not a reason to stop reading.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction};
use serde::Serialize;

/// The audit reads every page once, in order: mapped, not copied in 4 KiB reads (a
/// 100 000-run scoreboard is half a gigabyte). SQLite caps it at its build's maximum.
const MMAP_BYTES: i64 = 1 << 31;

/// Why a read-only view could not be had; each caller words it for its own command.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no scoreboard at `{}`", .path.display())]
    NoStore { path: PathBuf },
    #[error("cannot open the scoreboard `{}` read-only: {source}", .path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot read the scoreboard `{}`: {source}", .path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// A scoreboard opened read-only: nothing through it can write, nor migrate.
pub struct Reader {
    pub(super) conn: Connection,
    path: PathBuf,
}

/// While it lives, every query through its [`Reader`] sees one consistent snapshot, even
/// as other processes record runs. Dropping it ends the read transaction.
pub struct Snapshot<'a> {
    _tx: Transaction<'a>,
}

/// The columns every query about a run selects, in [`RunRow::from_row`]'s order.
const RUN_COLUMNS: &str = "r.seq, r.uuid, r.task_id, t.name, v.number, r.started_at,
     r.success, r.duration_ms, r.file, r.json, r.prev_hash, r.hash, r.status";

/// The FROM clause that goes with [`RUN_COLUMNS`].
const RUN_FROM: &str =
    "run r LEFT JOIN task t ON t.id = r.task_id LEFT JOIN version v ON v.id = r.version_id";

/// A `step` row as stored: name, status, signature.
pub type StepRow = (String, String, Option<String>);

/// One `run` row as stored, whatever its column types.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub seq: i64,
    pub uuid: String,
    pub task_id: Option<i64>,
    pub task: Option<String>,
    pub version: Option<i64>,
    pub started_at: String,
    pub success: Option<i64>,
    pub status: String,
    pub duration_ms: Option<i64>,
    pub file: String,
    pub json: Vec<u8>,
    pub prev_hash: String,
    pub hash: String,
}

/// One step as the scoreboard's `step` table has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepView {
    pub name: String,
    pub status: String,
    pub signature: Option<String>,
    pub duration_ms: i64,
}

/// Where the run with a given UUID belongs: its task (id and name) and version number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlace {
    pub task_id: Option<i64>,
    pub task: Option<String>,
    pub version: Option<i64>,
}

/// A task as the report lists it.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    pub id: i64,
    pub name: String,
}

/// A failed step of a run, as the report lists it.
#[derive(Debug, Clone)]
pub struct FailedStepEntry {
    pub run_seq: i64,
    pub name: String,
    pub signature: Option<String>,
}

/// A run as the report lists it.
#[derive(Debug, Clone)]
pub struct RunEntry {
    pub seq: i64,
    pub version_id: Option<i64>,
    pub uuid: String,
    pub started_at: String,
    pub success: bool,
    /// The `file` column as recorded (a full path when written).
    pub file: String,
    /// A failed run's error, from its json.
    pub error: Option<String>,
}

/// A version as the report lists it.
#[derive(Debug, Clone)]
pub struct VersionEntry {
    pub id: i64,
    pub task_id: i64,
    pub number: i64,
    pub parent: Option<i64>,
    pub mutation: String,
    pub reason: String,
    pub created_at: String,
}

impl Reader {
    /// Opens the scoreboard at `path` read-only; it must exist (opening would create it).
    pub fn open(path: &Path) -> Result<Reader, ReadError> {
        if !path.is_file() {
            return Err(ReadError::NoStore {
                path: path.to_path_buf(),
            });
        }
        let open_err = |source| ReadError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(open_err)?;
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)
            .map_err(open_err)?;
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub(super) fn sql(&self) -> impl Fn(rusqlite::Error) -> ReadError + '_ {
        move |source| ReadError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Every row of `sql` with `params`, read by `row`.
    fn collect<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, ReadError> {
        let sql_err = self.sql();
        let mut stmt = self.conn.prepare(sql).map_err(&sql_err)?;
        stmt.query_map(params, row)
            .map_err(&sql_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&sql_err)
    }

    /// Starts a read transaction: see [`Snapshot`].
    pub fn snapshot(&self) -> Result<Snapshot<'_>, ReadError> {
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        Ok(Snapshot { _tx: tx })
    }

    /// Every task's name and the prompt file it was recorded from, by name.
    pub fn task_paths(&self) -> Result<Vec<(String, String)>, ReadError> {
        self.collect("SELECT name, path FROM task ORDER BY name", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    }

    /// Whether the scoreboard records any run (of `task`).
    pub fn any_run(&self, task: Option<&str>) -> Result<bool, ReadError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM run r LEFT JOIN task t ON t.id = r.task_id
                 WHERE ?1 IS NULL OR t.name = ?1)",
                [task],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Every run (of `task`) in chain order (task, seq) with its step rows, handed to
    /// `each` as it is read; `each` returns false to stop. Two streamed queries merged in
    /// step, not one query per run: this is the audit's hot path.
    pub fn for_each_run(
        &self,
        task: Option<&str>,
        mut each: impl FnMut(RunRow, Vec<StepRow>) -> bool,
    ) -> Result<(), ReadError> {
        let sql = self.sql();
        let mut runs = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM {RUN_FROM}
                 WHERE ?1 IS NULL OR t.name = ?1 ORDER BY r.task_id, r.seq"
            ))
            .map_err(&sql)?;
        let mut steps = self
            .conn
            .prepare(
                "SELECT s.run_seq, s.name, s.status, s.signature
                 FROM step s JOIN run r ON r.seq = s.run_seq LEFT JOIN task t ON t.id = r.task_id
                 WHERE ?1 IS NULL OR t.name = ?1 ORDER BY r.task_id, r.seq, s.idx",
            )
            .map_err(&sql)?;
        let mut rows = runs.query([task]).map_err(&sql)?;
        let mut step_rows = steps.query([task]).map_err(&sql)?;
        let mut next_step = read_step(&mut step_rows).map_err(&sql)?;
        while let Some(r) = rows.next().map_err(&sql)? {
            let row = RunRow::from_row(r).map_err(&sql)?;
            let mut steps = Vec::new();
            while let Some((_, step)) = next_step.take_if(|(seq, _)| *seq == row.seq) {
                steps.push(step);
                next_step = read_step(&mut step_rows).map_err(&sql)?;
            }
            if !each(row, steps) {
                break;
            }
        }
        Ok(())
    }

    /// The run file names (last path component) recorded for every task but `task`.
    pub fn files_of_other_tasks(&self, task: &str) -> Result<Vec<String>, ReadError> {
        self.collect(
            "SELECT r.file FROM run r LEFT JOIN task t ON t.id = r.task_id WHERE t.name IS NOT ?1",
            [task],
            |r| Ok(file_name(&r.get::<_, String>(0)?).to_string()),
        )
    }

    /// The id of the task named `name`.
    pub fn task_id(&self, name: &str) -> Result<Option<i64>, ReadError> {
        self.conn
            .query_row("SELECT id FROM task WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(self.sql())
    }

    /// The task and version of the run `uuid`, if the scoreboard has it. Cached: the
    /// prompt check asks once per history row.
    pub fn run_place(&self, uuid: &str) -> Result<Option<RunPlace>, ReadError> {
        let sql = self.sql();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.task_id, t.name, v.number FROM run r
                 LEFT JOIN task t ON t.id = r.task_id LEFT JOIN version v ON v.id = r.version_id
                 WHERE r.uuid = ?1",
            )
            .map_err(&sql)?;
        stmt.query_row([uuid], |r| {
            Ok(RunPlace {
                task_id: r.get(0)?,
                task: r.get(1)?,
                version: r.get(2)?,
            })
        })
        .optional()
        .map_err(&sql)
    }

    /// The UUIDs of the task's runs, oldest first, handed to `each` as they are read.
    pub fn for_each_run_uuid(
        &self,
        task_id: i64,
        mut each: impl FnMut(String),
    ) -> Result<(), ReadError> {
        let sql = self.sql();
        let mut stmt = self
            .conn
            .prepare("SELECT uuid FROM run WHERE task_id = ?1 ORDER BY seq")
            .map_err(&sql)?;
        let mut rows = stmt.query([task_id]).map_err(&sql)?;
        while let Some(r) = rows.next().map_err(&sql)? {
            each(r.get(0).map_err(&sql)?);
        }
        Ok(())
    }

    /// The recorded file and the task name of the run `uuid`, if the scoreboard has it.
    pub fn run_file(&self, uuid: &str) -> Result<Option<(String, Option<String>)>, ReadError> {
        self.conn
            .query_row(
                "SELECT r.file, t.name FROM run r LEFT JOIN task t ON t.id = r.task_id WHERE r.uuid = ?1",
                [uuid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sql())
    }

    /// How many runs' UUIDs match the GLOB `pattern`.
    pub fn count_runs_matching(&self, pattern: &str) -> Result<usize, ReadError> {
        let n = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM run WHERE uuid GLOB ?1",
                [pattern],
                |r| r.get::<_, i64>(0),
            )
            .map_err(self.sql())?;
        Ok(n.try_into().unwrap_or(0))
    }

    /// The run whose UUID matches the GLOB `pattern` (the first, if several do).
    pub fn run_matching(&self, pattern: &str) -> Result<RunRow, ReadError> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.uuid GLOB ?1"),
                [pattern],
                RunRow::from_row,
            )
            .map_err(self.sql())
    }

    /// Up to `limit` runs matching the GLOB `pattern`, by UUID: uuid, task name, start.
    pub fn runs_matching(
        &self,
        pattern: &str,
        limit: usize,
    ) -> Result<Vec<(String, Option<String>, String)>, ReadError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.collect(
            "SELECT r.uuid, t.name, r.started_at FROM run r LEFT JOIN task t ON t.id = r.task_id
             WHERE r.uuid GLOB ?1 ORDER BY r.uuid LIMIT ?2",
            rusqlite::params![pattern, limit],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// The step rows of the run `seq`, in order.
    pub fn steps(&self, seq: i64) -> Result<Vec<StepView>, ReadError> {
        self.collect(
            "SELECT name, status, signature, duration_ms FROM step WHERE run_seq = ?1 ORDER BY idx",
            [seq],
            |r| {
                Ok(StepView {
                    name: r.get(0)?,
                    status: r.get(1)?,
                    signature: r.get(2)?,
                    duration_ms: r.get(3)?,
                })
            },
        )
    }

    // The report's views. Columns are cast in SQL, so a tampered type shows as text
    // rather than stopping the report.

    /// Every task, by name.
    pub fn tasks(&self) -> Result<Vec<TaskEntry>, ReadError> {
        self.collect(
            "SELECT id, CAST(name AS TEXT) FROM task ORDER BY name, id",
            [],
            |r| {
                Ok(TaskEntry {
                    id: r.get(0)?,
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                })
            },
        )
    }

    /// Every failed step, by run and index.
    pub fn failed_steps(&self) -> Result<Vec<FailedStepEntry>, ReadError> {
        self.collect(
            "SELECT run_seq, CAST(name AS TEXT), CAST(signature AS TEXT) FROM step
                 WHERE status = 'fail' ORDER BY run_seq, idx",
            [],
            |r| {
                Ok(FailedStepEntry {
                    run_seq: r.get(0)?,
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    signature: r.get(2)?,
                })
            },
        )
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunEntry>, ReadError> {
        self.collect(
            "SELECT seq, version_id, CAST(uuid AS TEXT), CAST(started_at AS TEXT),
                        CAST(success AS INTEGER), CAST(file AS TEXT),
                        CASE WHEN success = 0 AND json_valid(json) THEN json_extract(json, '$.error') END
                 FROM run ORDER BY seq",
            [],
            |r| {
                Ok(RunEntry {
                    seq: r.get(0)?,
                    version_id: r.get(1)?,
                    uuid: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    started_at: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    success: r.get::<_, Option<i64>>(4)?.unwrap_or(0) != 0,
                    file: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    // An `error` that is not text (tampered json) is no error to show.
                    error: r.get::<_, Option<String>>(6).ok().flatten(),
                })
            },
        )
    }

    /// Every version with its parent's number, by task and number.
    pub fn versions(&self) -> Result<Vec<VersionEntry>, ReadError> {
        self.collect(
            "SELECT v.id, v.task_id, v.number, p.number, CAST(v.mutation AS TEXT),
                        CAST(v.reason AS TEXT), CAST(v.created_at AS TEXT)
                 FROM version v LEFT JOIN version p ON p.id = v.parent_id
                 ORDER BY v.task_id, v.number, v.id",
            [],
            |r| {
                Ok(VersionEntry {
                    id: r.get(0)?,
                    task_id: r.get(1)?,
                    number: r.get(2)?,
                    parent: r.get(3)?,
                    mutation: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    reason: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    created_at: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                })
            },
        )
    }
}

fn read_step(rows: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<(i64, StepRow)>> {
    rows.next()?
        .map(|s| Ok((s.get(0)?, (s.get(1)?, s.get(2)?, s.get(3)?))))
        .transpose()
}

impl RunRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
        Ok(RunRow {
            seq: r.get(0)?,
            uuid: text(r.get_ref(1)?),
            task_id: int(r.get_ref(2)?),
            task: opt_text(r.get_ref(3)?),
            version: int(r.get_ref(4)?),
            started_at: text(r.get_ref(5)?),
            success: int(r.get_ref(6)?),
            status: text(r.get_ref(12)?),
            duration_ms: int(r.get_ref(7)?),
            file: text(r.get_ref(8)?),
            json: bytes(r.get_ref(9)?),
            prev_hash: text(r.get_ref(10)?),
            hash: text(r.get_ref(11)?),
        })
    }

    /// The task's name, or a placeholder naming the dangling id.
    pub fn task_label(&self) -> String {
        match (&self.task, self.task_id) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => format!("<unknown task id {id}>"),
            (None, None) => "<no task>".to_string(),
        }
    }

    pub fn version_label(&self) -> Option<String> {
        self.version.map(|n| format!("v{n}"))
    }

    /// The run file's path: its recorded file name, under `runs_dir`.
    pub fn path_in(&self, runs_dir: &Path) -> PathBuf {
        runs_dir.join(file_name(&self.file))
    }
}

/// The last path component of a recorded `file` column (written as a full path).
pub fn file_name(recorded: &str) -> &str {
    recorded.rsplit(['/', '\\']).next().unwrap_or(recorded)
}

fn text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

fn opt_text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        other => Some(text(other)),
    }
}

fn int(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        _ => None,
    }
}

fn bytes(v: ValueRef<'_>) -> Vec<u8> {
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => t.to_vec(),
        other => text(other).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_missing_scoreboard_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.db");
        assert!(matches!(
            Reader::open(&path),
            Err(ReadError::NoStore { .. })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn a_reader_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        Store::open(&path).unwrap().task_id("a", "a.md").unwrap();
        let reader = Reader::open(&path).unwrap();
        assert_eq!(
            reader.task_paths().unwrap(),
            vec![("a".into(), "a.md".into())]
        );
        assert!(reader.conn.execute("DELETE FROM task", []).is_err());
        assert_eq!(reader.task_id("a").unwrap(), Some(1));
    }
}
