//! Read-only access to the scoreboard, tolerant of tampered column types: a value of the
//! wrong type is something to report, not a reason to stop the audit.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};
use uuid::Uuid;

use super::AuditError;

const MMAP_BYTES: i64 = 1 << 31;

pub(crate) fn open(path: &Path) -> Result<Connection, AuditError> {
    if !path.is_file() {
        return Err(AuditError::NoStore {
            path: path.to_path_buf(),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| AuditError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let open_err = |source| AuditError::Open {
        path: path.to_path_buf(),
        source,
    };
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(open_err)?;
    // The audit reads every page once, in order: mapped, not copied in 4 KiB reads (a
    // 100 000-run scoreboard is half a gigabyte). SQLite caps it at its build's maximum.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)
        .map_err(open_err)?;
    Ok(conn)
}

/// The prompt file each task was recorded from (`harness run --task`), where it still is:
/// the prompts an audit checks when none are named.
pub(crate) fn task_prompts(
    conn: &Connection,
    task: Option<&str>,
) -> Result<Vec<PathBuf>, rusqlite::Error> {
    let mut stmt = conn.prepare("SELECT name, path FROM task ORDER BY name")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut paths = Vec::new();
    for row in rows {
        let (name, path) = row?;
        let path = PathBuf::from(path);
        if task.is_none_or(|t| t == name) && path.is_file() {
            paths.push(path);
        }
    }
    Ok(paths)
}

pub(crate) fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> AuditError + '_ {
    move |source| AuditError::Sql {
        path: path.to_path_buf(),
        source,
    }
}

/// The columns every query about a run selects, in this order.
pub(crate) const RUN_COLUMNS: &str = "r.seq, r.uuid, r.task_id, t.name, v.number, r.started_at,
     r.success, r.duration_ms, r.file, r.json, r.prev_hash, r.hash, r.status";

/// The FROM clause that goes with [`RUN_COLUMNS`].
pub(crate) const RUN_FROM: &str =
    "run r LEFT JOIN task t ON t.id = r.task_id LEFT JOIN version v ON v.id = r.version_id";

/// A `step` row as stored: name, status, signature.
pub(crate) type StepRow = (String, String, Option<String>);

/// One `run` row as stored, whatever its column types.
#[derive(Debug, Clone)]
pub(crate) struct RunRow {
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

impl RunRow {
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
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
pub(crate) fn file_name(recorded: &str) -> &str {
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

pub(crate) use crate::store::chain_hash;

/// The UUID if `value` is a canonical (lower-case, hyphenated) UUID v4, else why not.
pub(crate) fn uuid_v4(value: &str) -> Result<Uuid, String> {
    let uuid = Uuid::try_parse(value).map_err(|e| format!("`{value}` is not a UUID: {e}"))?;
    if uuid.get_version() != Some(uuid::Version::Random)
        || uuid.get_variant() != uuid::Variant::RFC4122
    {
        return Err(format!(
            "`{value}` is a UUID but not a random UUID v4 (version {})",
            uuid.get_version_num()
        ));
    }
    if uuid.to_string() != value {
        return Err(format!(
            "`{value}` is not in canonical form `{uuid}`: `grep` for the canonical UUID would miss it"
        ));
    }
    Ok(uuid)
}
