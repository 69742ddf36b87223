//! `harness export --jsonl`: every run as one self-contained JSON line — its task, its
//! version (config included), its scoreboard row with the run file's bytes and the chain
//! hash — streamed in chain order (task, seq), so `harness import` can verify and re-create it.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::run::record::RunStatus;

use super::StoreError;
use super::read::{ReadError, Reader, file_name};

/// The `format` of every line; a reader refuses any other.
pub const FORMAT: &str = "harness-run/1";

/// One exported run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLine {
    pub format: String,
    pub task: TaskLine,
    pub version: VersionLine,
    pub run: RunLine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskLine {
    pub name: String,
    /// The prompt file the task was run from.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionLine {
    pub number: i64,
    /// sha256 of the normalised config.
    pub hash: String,
    /// The parent version's number and content hash.
    pub parent: Option<i64>,
    pub parent_hash: Option<String>,
    pub mutation: String,
    pub reason: String,
    pub config: String,
    pub created_at: String,
    /// Who proposed it (proposer, model, hashes of what was sent and received, tokens,
    /// latency), where the scoreboard knows; absent in older exports and for the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLine {
    pub uuid: String,
    pub started_at: String,
    pub success: bool,
    /// Absent in exports made before runs had a status: then the run file's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    pub duration_ms: u64,
    /// The run file's name in `runs/` (no directory).
    pub file: String,
    pub prev_hash: String,
    /// `sha256(prev_hash ‖ json)`.
    pub hash: String,
    /// The run file's bytes, as the scoreboard holds them.
    pub json: String,
}

impl From<ReadError> for TransferError {
    fn from(e: ReadError) -> TransferError {
        match e {
            ReadError::NoStore { path } => TransferError::NoStore { path },
            ReadError::Open { path, source } | ReadError::Sql { path, source } => {
                TransferError::Sql { path, source }
            }
        }
    }
}

/// Why one line of an import stream is refused. Its words follow the line number.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("not a `harness export --jsonl` line: {0}")]
    NotALine(#[source] serde_json::Error),
    #[error("format `{0}` is not `{FORMAT}`: written by another harness version")]
    Format(String),
    #[error("run {uuid}: hash is not sha256(prev_hash ‖ json): the line was edited")]
    Hash { uuid: String },
    #[error("run {uuid}: its json is not a run record: {source}")]
    NotARecord {
        uuid: String,
        #[source]
        source: serde_json::Error,
    },
    /// Each difference in the import's words, joined with `; `.
    #[error("run {uuid}: the row disagrees with its json: {diffs}")]
    Disagrees { uuid: String, diffs: String },
    #[error("run {uuid}: the UUID is not a UUID v4")]
    NotV4 { uuid: String },
    #[error("run {uuid}: file `{file}` is not a run file name ending in `{suffix}`")]
    FileName {
        uuid: String,
        file: String,
        suffix: String,
    },
    /// `after` says where the chain breaks.
    #[error("run {uuid}: chain broken: {after} — a line was removed, reordered or edited")]
    Chain { uuid: String, after: String },
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(
        "no scoreboard at `{}` — pass the scoreboard to export with --db (or HARNESS_DB)",
        .path.display()
    )]
    NoStore { path: PathBuf },
    #[error(
        "cannot read the scoreboard `{}`: {source} — check that it is a readable harness scoreboard",
        .path.display()
    )]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "cannot read `{name}`: {source} — pass a file written by `harness export --jsonl`, or `-` for stdin"
    )]
    Read {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the export to stdout: {0}")]
    Write(#[source] std::io::Error),
    #[error(
        "{name}:{line}: {why} — nothing was imported; export the runs again with `harness export --jsonl`"
    )]
    Line {
        name: String,
        line: usize,
        why: LineError,
    },
    #[error(
        "cannot write the run file `{}`: {source} — check that --runs-dir (HARNESS_RUNS_DIR) is a writable directory",
        .path.display()
    )]
    RunFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

const SELECT: &str = "SELECT t.name, t.path, v.number, v.hash, pv.number, v.mutation, v.reason,
        v.config, v.created_at, r.uuid, r.started_at, r.success, r.duration_ms, r.file,
        r.prev_hash, r.hash, r.json, pv.hash, r.status, vp.json
     FROM run r JOIN task t ON t.id = r.task_id JOIN version v ON v.id = r.version_id
     LEFT JOIN version pv ON pv.id = v.parent_id
     LEFT JOIN version_provenance vp ON vp.version_id = v.id
     WHERE ?1 IS NULL OR t.name = ?1
     ORDER BY r.task_id, r.seq";

/// Writes every run (or `task`'s) to `out`, one line each; how many.
/// Reads only: the scoreboard is opened read-only and must exist.
pub fn export(db: &Path, task: Option<&str>, out: &mut dyn Write) -> Result<usize, TransferError> {
    let reader = Reader::open(db)?;
    let sql = |source| TransferError::Sql {
        path: db.to_path_buf(),
        source,
    };
    let mut stmt = reader.conn.prepare(SELECT).map_err(sql)?;
    let mut rows = stmt.query([task]).map_err(sql)?;
    let mut n = 0;
    while let Some(row) = rows.next().map_err(sql)? {
        let line = line_of(row).map_err(sql)?;
        serde_json::to_writer(&mut *out, &line)
            .map_err(|e| TransferError::Write(std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(TransferError::Write)?;
        n += 1;
    }
    out.flush().map_err(TransferError::Write)?;
    Ok(n)
}

fn line_of(r: &Row<'_>) -> rusqlite::Result<ExportLine> {
    let file: String = r.get(13)?;
    Ok(ExportLine {
        format: FORMAT.to_string(),
        task: TaskLine {
            name: r.get(0)?,
            path: r.get(1)?,
        },
        version: VersionLine {
            number: r.get(2)?,
            hash: r.get(3)?,
            parent: r.get(4)?,
            parent_hash: r.get(17)?,
            mutation: r.get(5)?,
            reason: r.get(6)?,
            config: r.get(7)?,
            created_at: r.get(8)?,
            provenance: r
                .get::<_, Option<String>>(19)?
                .and_then(|json| serde_json::from_str(&json).ok()),
        },
        run: RunLine {
            uuid: r.get(9)?,
            started_at: r.get(10)?,
            success: r.get(11)?,
            status: RunStatus::parse(&r.get::<_, String>(18)?),
            duration_ms: r.get::<_, i64>(12)?.max(0) as u64,
            file: file_name(&file).to_string(),
            prev_hash: r.get(14)?,
            hash: r.get(15)?,
            json: r.get(16)?,
        },
    })
}
