//! The audit proper: one streamed pass over the scoreboard's runs in chain order (task, seq),
//! each row checked against its file, its steps and its evidence; then the prompts; then
//! the run files no row accounts for.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Statement};
use serde_json::Value;

use super::db::{self, RUN_COLUMNS, RUN_FROM, RunRow};
use super::{AuditError, AuditOptions, Finding, FindingKind, Report, evidence, prompts};
use crate::record::{RunRecord, uuid8};
use crate::store::GENESIS_HASH;

/// Verifies every run of the scoreboard at `store_path` (or of `opts.task`) against
/// `opts.runs_dir` and `opts.prompts`. Reads only; an empty `findings` is a clean audit.
pub fn audit(store_path: &Path, opts: &AuditOptions) -> Result<Report, AuditError> {
    let conn = db::open(store_path)?;
    let sql = db::sql_err(store_path);
    let mut report = Report::default();

    // Files first, then prompts, then the scoreboard snapshot: a run is written in that
    // order (file, row, prompt), so a run recorded while we audit cannot look deleted.
    let listing = list_run_files(&opts.runs_dir)?;
    let runs_dir_exists = listing.is_some();
    let prompt_files = if opts.prompts.is_empty() {
        db::task_prompts(&conn, opts.task.as_deref()).map_err(&sql)?
    } else {
        opts.prompts.clone()
    };
    let loaded = prompts::load(&prompt_files, opts.task.as_deref(), &mut report.findings)?;
    let mut unclaimed = listing.unwrap_or_default();

    let tx = conn.unchecked_transaction().map_err(&sql)?;
    if !runs_dir_exists && any_run(&tx, opts.task.as_deref()).map_err(&sql)? {
        return Err(AuditError::NoRunsDir {
            path: opts.runs_dir.clone(),
        });
    }
    {
        let mut ctx = RunCheck {
            runs_dir: &opts.runs_dir,
            store: store_path,
            steps: tx
                .prepare(
                    "SELECT idx, name, status, signature FROM step WHERE run_seq = ?1 ORDER BY idx",
                )
                .map_err(&sql)?,
            chain: Chain::default(),
            report: &mut report,
        };
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM {RUN_FROM}
                 WHERE ?1 IS NULL OR t.name = ?1 ORDER BY r.task_id, r.seq"
            ))
            .map_err(&sql)?;
        let mut rows = stmt.query([opts.task.as_deref()]).map_err(&sql)?;
        while let Some(r) = rows.next().map_err(&sql)? {
            let row = RunRow::from_row(r).map_err(&sql)?;
            unclaimed.remove(db::file_name(&row.file));
            ctx.check(&row).map_err(&sql)?;
        }
    }
    if let Some(task) = &opts.task {
        // Files of the other tasks are accounted for by their rows.
        let mut stmt = tx
            .prepare("SELECT r.file FROM run r LEFT JOIN task t ON t.id = r.task_id WHERE t.name IS NOT ?1")
            .map_err(&sql)?;
        let mut rows = stmt.query([task]).map_err(&sql)?;
        while let Some(r) = rows.next().map_err(&sql)? {
            let file: String = r.get(0).map_err(&sql)?;
            unclaimed.remove(db::file_name(&file));
        }
    }
    prompts::check(&tx, store_path, &loaded, &mut report.findings)?;
    drop(tx);

    let mut unclaimed: Vec<String> = unclaimed.into_iter().collect();
    unclaimed.sort();
    for name in unclaimed {
        let path = opts.runs_dir.join(&name);
        unknown_file(&conn, store_path, opts, &name, &path, &mut report)?;
    }
    Ok(report)
}

/// Names of the top-level `*.json` files of `runs/`, or `None` if the directory does not exist.
fn list_run_files(dir: &Path) -> Result<Option<HashSet<String>>, AuditError> {
    let io_err = |source| AuditError::RunsDir {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let mut files = HashSet::new();
    for entry in entries {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        if entry.path().is_file() {
            files.insert(name);
        }
    }
    Ok(Some(files))
}

fn any_run(conn: &Connection, task: Option<&str>) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM run r LEFT JOIN task t ON t.id = r.task_id
         WHERE ?1 IS NULL OR t.name = ?1)",
        [task],
        |r| r.get(0),
    )
}

/// Where the current task's chain stands.
#[derive(Default)]
struct Chain {
    task_id: Option<Option<i64>>,
    /// The previous row's stored hash (genesis at a task's start).
    last_hash: String,
    /// The previous row: seq and uuid.
    last: Option<(i64, String)>,
    /// The task's first broken link: seq and uuid.
    broken: Option<(i64, String)>,
}

struct RunCheck<'a, 'c> {
    runs_dir: &'a Path,
    store: &'a Path,
    steps: Statement<'c>,
    chain: Chain,
    report: &'a mut Report,
}

impl RunCheck<'_, '_> {
    fn push(&mut self, kind: FindingKind, uuid: &str, file: &str, message: String) {
        self.report.findings.push(Finding::new(
            kind,
            Some(uuid),
            Some(file.to_string()),
            message,
        ));
    }

    fn check(&mut self, row: &RunRow) -> rusqlite::Result<()> {
        self.report.runs_checked += 1;
        let path = row.path_in(self.runs_dir);
        let file = path.display().to_string();
        let db_label = format!("{} (run seq {})", self.store.display(), row.seq);
        let uuid = &row.uuid;

        let run_uuid = match db::uuid_v4(uuid) {
            Ok(u) => Some(u),
            Err(why) => {
                self.push(FindingKind::InvalidUuid, uuid, &file, why);
                None
            }
        };

        let bytes = match fs::read(&path) {
            Ok(bytes) => {
                self.report.files_checked += 1;
                Some(bytes)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.push(
                    FindingKind::MissingFile,
                    uuid,
                    &file,
                    format!(
                        "the scoreboard records this run (task {}, seq {}) but its file is gone: removed or never written",
                        row.task_label(),
                        row.seq
                    ),
                );
                None
            }
            Err(e) => {
                self.push(
                    FindingKind::InvalidRecord,
                    uuid,
                    &file,
                    format!("cannot read the run file: {e}"),
                );
                None
            }
        };

        self.check_chain(row, &file, bytes.as_deref());

        let from_db = inspect(&row.json);
        let record = match &bytes {
            Some(b) if *b == row.json => {
                self.report_inspection(uuid, &file, &from_db);
                from_db.record
            }
            other => {
                self.report_inspection(uuid, &db_label, &from_db);
                let mut record = from_db.record;
                if let Some(b) = other {
                    self.push(FindingKind::Edited, uuid, &file, edited_message(row, b));
                    let from_file = inspect(b);
                    self.report_inspection(uuid, &file, &from_file);
                    record = record.or(from_file.record);
                }
                record
            }
        };

        if let Some(record) = &record {
            self.check_columns(row, record, &file);
            self.check_steps(row, record, &file)?;
        }
        if let Some(u) = run_uuid {
            for (kind, file, message) in evidence::check(self.runs_dir, u) {
                self.push(kind, uuid, &file, message);
            }
        }
        Ok(())
    }

    fn check_chain(&mut self, row: &RunRow, file: &str, bytes: Option<&[u8]>) {
        let chain = &mut self.chain;
        if chain.task_id != Some(row.task_id) {
            *chain = Chain {
                task_id: Some(row.task_id),
                last_hash: GENESIS_HASH.to_string(),
                ..Chain::default()
            };
        }
        let link_ok = row.prev_hash == chain.last_hash;
        let self_ok = db::chain_hash(&row.prev_hash, &row.json) == row.hash;
        let mut found = Vec::new();
        if !link_ok {
            let why = match &chain.last {
                None => format!(
                    "the first row of task {} does not start from the genesis hash: earlier rows were deleted, or this row was inserted",
                    row.task_label()
                ),
                Some((seq, prev)) => format!(
                    "its prev_hash is not the hash of the task's previous row (seq {seq}, {prev}): a row between them was deleted, or this row was inserted or reordered"
                ),
            };
            found.push((FindingKind::ChainBroken, format!("seq {}: {why}", row.seq)));
        }
        if !self_ok {
            let file_matches = bytes.is_some_and(|b| db::chain_hash(&row.prev_hash, b) == row.hash);
            let detail = if file_matches {
                "its json was changed in the scoreboard; the run file still matches the chain"
            } else {
                "the row (json or hash) was changed"
            };
            found.push((
                FindingKind::HashMismatch,
                format!(
                    "seq {}: the stored hash is not sha256(prev_hash ‖ json): {detail}",
                    row.seq
                ),
            ));
        }
        match (&chain.broken, found.is_empty()) {
            (Some((seq, at)), true) => found.push((
                FindingKind::ChainUnverifiable,
                format!(
                    "seq {}: cannot be verified: the chain of task {} is broken at seq {seq} ({at})",
                    row.seq,
                    row.task_label()
                ),
            )),
            (None, false) => chain.broken = Some((row.seq, row.uuid.clone())),
            _ => {}
        }
        chain.last_hash = row.hash.clone();
        chain.last = Some((row.seq, row.uuid.clone()));
        for (kind, message) in found {
            self.push(kind, &row.uuid, file, message);
        }
    }

    fn report_inspection(&mut self, uuid: &str, file: &str, inspection: &Inspection) {
        for (kind, message) in &inspection.problems {
            self.push(*kind, uuid, file, message.clone());
        }
    }

    /// The row's own columns against its json: the parts outside the hash.
    fn check_columns(&mut self, row: &RunRow, record: &RunRecord, file: &str) {
        let mut diffs = Vec::new();
        let mut differ = |what: &str, column: String, json: String| {
            if column != json {
                diffs.push(format!("{what}: row `{column}`, json `{json}`"));
            }
        };
        differ("uuid", row.uuid.clone(), record.execution_uuid.to_string());
        differ("task", row.task_label(), record.task.clone());
        differ(
            "version",
            row.version_label().unwrap_or_else(|| "<none>".into()),
            record.version.clone(),
        );
        differ(
            "started_at",
            row.started_at.clone(),
            record.timestamp.clone(),
        );
        differ(
            "success",
            show_int(row.success),
            i64::from(record.metrics.success).to_string(),
        );
        differ(
            "duration_ms",
            show_int(row.duration_ms),
            record.metrics.duration_ms.to_string(),
        );
        let suffix = format!("_{}.json", uuid8(record.execution_uuid));
        let name = db::file_name(&row.file);
        if !name.ends_with(&suffix) {
            diffs.push(format!(
                "file name `{name}` does not end with `{suffix}` of the record's UUID"
            ));
        }
        if !diffs.is_empty() {
            let message = format!(
                "scoreboard row seq {} disagrees with its own json — changed outside the hash: {}",
                row.seq,
                diffs.join("; ")
            );
            self.push(FindingKind::RowMismatch, &row.uuid, file, message);
        }
    }

    fn check_steps(
        &mut self,
        row: &RunRow,
        record: &RunRecord,
        file: &str,
    ) -> rusqlite::Result<()> {
        let mut stored = Vec::new();
        let mut rows = self.steps.query([row.seq])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(1)?;
            let status: String = r.get(2)?;
            let signature: Option<String> = r.get(3)?;
            stored.push((name, status, signature));
        }
        drop(rows);
        let recorded: Vec<(String, String, Option<String>)> = record
            .steps
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.status().to_string(),
                    s.signature().map(|g| g.as_str().to_string()),
                )
            })
            .collect();
        if stored == recorded {
            return Ok(());
        }
        let show = |s: Option<&(String, String, Option<String>)>| match s {
            None => "nothing".to_string(),
            Some((name, status, sig)) => match sig {
                Some(sig) => format!("`{name}` {status} ({sig})"),
                None => format!("`{name}` {status}"),
            },
        };
        let at = (0..stored.len().max(recorded.len()))
            .find(|&i| stored.get(i) != recorded.get(i))
            .unwrap_or(0);
        let message = format!(
            "the scoreboard has {} step rows, the record {} steps; first difference at step {at}: scoreboard {}, record {}",
            stored.len(),
            recorded.len(),
            show(stored.get(at)),
            show(recorded.get(at))
        );
        self.push(FindingKind::StepMismatch, &row.uuid, file, message);
        Ok(())
    }
}

fn show_int(v: Option<i64>) -> String {
    v.map_or_else(|| "<not an integer>".to_string(), |v| v.to_string())
}

fn edited_message(row: &RunRow, file: &[u8]) -> String {
    let at = file
        .iter()
        .zip(&row.json)
        .position(|(a, b)| a != b)
        .unwrap_or(file.len().min(row.json.len()));
    let line = 1 + file[..at.min(file.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let which = if db::chain_hash(&row.prev_hash, &row.json) == row.hash {
        "the scoreboard row matches the chain, so the file was edited"
    } else if db::chain_hash(&row.prev_hash, file) == row.hash {
        "the file matches the chain, so the scoreboard row was edited"
    } else {
        "neither matches the chain"
    };
    format!(
        "the run file differs from the scoreboard row's json (seq {}) from byte {at} (line {line}; {} vs {} bytes): {which}",
        row.seq,
        file.len(),
        row.json.len()
    )
}

/// A run's JSON, parsed once: the record if it is one, and what is wrong with it.
pub(crate) struct Inspection {
    pub record: Option<RunRecord>,
    pub problems: Vec<(FindingKind, String)>,
}

pub(crate) fn inspect(bytes: &[u8]) -> Inspection {
    let mut problems = Vec::new();
    let invalid = |why: String| Inspection {
        record: None,
        problems: vec![(FindingKind::InvalidRecord, why)],
    };
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return invalid(format!("not valid JSON: {e}")),
    };
    let Some(object) = value.as_object() else {
        return invalid("not a JSON object".to_string());
    };
    let last = object.keys().next_back().map(String::as_str);
    if last != Some("execution_uuid") {
        let position = object.keys().position(|k| k == "execution_uuid");
        let message = match position {
            Some(i) => format!(
                "`execution_uuid` is key {} of {}, not the last; the last key is `{}`",
                i + 1,
                object.len(),
                last.unwrap_or_default()
            ),
            None => "there is no `execution_uuid` key".to_string(),
        };
        problems.push((FindingKind::UuidNotLast, message));
    }
    // By value: the steps' evidence is moved into the record, not cloned.
    let record = match serde_json::from_value::<RunRecord>(value) {
        Ok(r) => Some(r),
        Err(e) => {
            problems.push((FindingKind::InvalidRecord, format!("not a run record: {e}")));
            None
        }
    };
    Inspection { record, problems }
}

/// A run file no scoreboard row claims. Runs recorded while the audit ran are skipped.
fn unknown_file(
    conn: &Connection,
    store: &Path,
    opts: &AuditOptions,
    name: &str,
    path: &Path,
    report: &mut Report,
) -> Result<(), AuditError> {
    let sql = db::sql_err(store);
    let file = path.display().to_string();
    let (record, unreadable) = match fs::read(path) {
        Ok(bytes) => {
            report.files_checked += 1;
            let inspection = inspect(&bytes);
            let why = inspection
                .problems
                .iter()
                .find(|(k, _)| *k == FindingKind::InvalidRecord)
                .map(|(_, m)| m.clone());
            (inspection.record, why)
        }
        Err(e) => (None, Some(format!("cannot read it: {e}"))),
    };
    if let (Some(task), Some(r)) = (&opts.task, &record)
        && r.task != *task
    {
        return Ok(());
    }
    let uuid = record.as_ref().map(|r| r.execution_uuid.to_string());
    let known: Option<(String, Option<String>)> = match &uuid {
        Some(u) => conn
            .query_row(
                "SELECT r.file, t.name FROM run r LEFT JOIN task t ON t.id = r.task_id WHERE r.uuid = ?1",
                [u],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(&sql)?,
        None => None,
    };
    let message = match (&known, &unreadable) {
        (Some((recorded, _)), _) if db::file_name(recorded) == name => return Ok(()),
        (Some((recorded, task)), _) => format!(
            "no scoreboard row records this file; its UUID belongs to a run of task {} recorded as `{recorded}` — a copy or a forgery",
            task.as_deref().unwrap_or("?")
        ),
        (None, Some(why)) => {
            format!("no scoreboard row records this file, and it is not a run record ({why})")
        }
        (None, None) => format!(
            "no scoreboard row records this run (task {}): invented, or copied in without the scoreboard",
            record.as_ref().map_or("?", |r| r.task.as_str())
        ),
    };
    report.findings.push(Finding::new(
        FindingKind::UnknownRun,
        uuid.as_deref(),
        Some(file),
        message,
    ));
    Ok(())
}
