//! `harness import`: read a stream written by `harness export --jsonl`, verify all of it
//! (each line's own hash, its link to the task's previous line, its row against its run
//! file), then load it run by run — one transaction each — into this scoreboard and runs/.
//!
//! A run whose UUID is already here with the same bytes is skipped; with other bytes it is a
//! conflict, reported and left alone. The imported rows are chained onto this scoreboard's
//! own chain: into a fresh scoreboard the hashes come out as in the stream.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::agree::{Difference, RowColumns, Success, row_differences};
use super::export::{ExportLine, FORMAT, LineError, TransferError};
use super::imp::{GENESIS_HASH, chain_hash, insert_run_tx, insert_version_tx, version_by_hash};
use super::{NewRun, NewVersion, Store};
use crate::run::record::RunRecord;

/// One verified line of the stream.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line number in the stream.
    pub line: usize,
    pub data: ExportLine,
    pub record: RunRecord,
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Fate {
    Imported,
    /// Already here with the same bytes; `restored_file` if its run file was missing.
    Duplicate {
        restored_file: bool,
    },
    /// Already here with different content, or its version clashes with one here.
    Conflict {
        why: String,
    },
}

/// What one import did, as `harness import --json` prints it.
#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    pub imported: usize,
    pub duplicates: usize,
    pub restored_files: usize,
    pub conflicts: Vec<Conflict>,
}

/// A line left alone, and why.
#[derive(Debug, Serialize)]
pub struct Conflict {
    pub line: usize,
    pub uuid: String,
    pub why: String,
}

impl Entry {
    /// What became of the run, as `harness import` prints it when it lands.
    pub fn landed(&self, fate: &Fate) -> String {
        let uuid = &self.data.run.uuid;
        match fate {
            Fate::Imported => format!(
                "imported {uuid}  {} v{}",
                self.data.task.name, self.data.version.number
            ),
            Fate::Duplicate { restored_file } => {
                let note = if *restored_file {
                    " (its missing run file restored)"
                } else {
                    ""
                };
                format!("skipped  {uuid}  already in the scoreboard{note}")
            }
            Fate::Conflict { why } => format!("conflict {uuid}  line {}: {why}", self.line),
        }
    }
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} imported, {} already present, {} conflict(s)",
            self.imported,
            self.duplicates,
            self.conflicts.len()
        )
    }
}

impl ImportSummary {
    fn count(&mut self, e: &Entry, fate: &Fate) {
        match fate {
            Fate::Imported => self.imported += 1,
            Fate::Duplicate { restored_file } => {
                self.duplicates += 1;
                self.restored_files += usize::from(*restored_file);
            }
            Fate::Conflict { why } => self.conflicts.push(Conflict {
                line: e.line,
                uuid: e.data.run.uuid.clone(),
                why: why.clone(),
            }),
        }
    }
}

/// [`read_stream`] of the file at `path`.
pub fn read_file(path: &Path) -> Result<Vec<Entry>, TransferError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| TransferError::Read {
        name: name.clone(),
        source,
    })?;
    read_stream(&name, std::io::BufReader::new(file))
}

/// Reads and verifies the whole stream; nothing is written. `name` labels errors.
pub fn read_stream(name: &str, reader: impl BufRead) -> Result<Vec<Entry>, TransferError> {
    let mut heads: HashMap<String, (String, usize)> = HashMap::new();
    let mut entries = Vec::new();
    for (i, text) in reader.lines().enumerate() {
        let line = i + 1;
        let text = text.map_err(|source| TransferError::Read {
            name: name.to_string(),
            source,
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let bad = |why: LineError| TransferError::Line {
            name: name.to_string(),
            line,
            why,
        };
        let data: ExportLine =
            serde_json::from_str(&text).map_err(|e| bad(LineError::NotALine(e)))?;
        let record = check_line(&data).map_err(bad)?;
        let head = heads
            .entry(data.task.name.clone())
            .or_insert_with(|| (GENESIS_HASH.to_string(), 0));
        check_link(&data, head).map_err(bad)?;
        *head = (data.run.hash.clone(), line);
        entries.push(Entry { line, data, record });
    }
    Ok(entries)
}

/// The line's hash over its own json, and every column against that json.
fn check_line(data: &ExportLine) -> Result<RunRecord, LineError> {
    if data.format != FORMAT {
        return Err(LineError::Format(data.format.clone()));
    }
    let run = &data.run;
    let uuid = || run.uuid.clone();
    if chain_hash(&run.prev_hash, run.json.as_bytes()) != run.hash {
        return Err(LineError::Hash { uuid: uuid() });
    }
    let record: RunRecord =
        serde_json::from_str(&run.json).map_err(|source| LineError::NotARecord {
            uuid: uuid(),
            source,
        })?;
    let columns = RowColumns {
        uuid: &run.uuid,
        task: &data.task.name,
        version: Some(data.version.number),
        version_hash: Some(&data.version.hash),
        started_at: &run.started_at,
        success: Success::Flag(run.success),
        status: run.status.unwrap_or(record.status()).as_str(),
        duration_ms: i64::try_from(run.duration_ms).ok(),
        // The file name is checked below, with its own message.
        file: None,
    };
    let diffs: Vec<String> = row_differences(&columns, &record)
        .iter()
        .map(|d| match d {
            // The import's words since it was written: `what `column` vs json `json``.
            Difference::Column { what, column, json } => {
                format!("{what} `{column}` vs json `{json}`")
            }
            other => other.to_string(),
        })
        .collect();
    if !diffs.is_empty() {
        return Err(LineError::Disagrees {
            uuid: uuid(),
            diffs: diffs.join("; "),
        });
    }
    if record.execution_uuid.get_version_num() != 4 {
        return Err(LineError::NotV4 { uuid: uuid() });
    }
    check_file_name(&run.file, &record)?;
    Ok(record)
}

/// A bare `<stamp>_<uuid8>.json` name: nothing that could land outside runs/.
fn check_file_name(file: &str, record: &RunRecord) -> Result<(), LineError> {
    let suffix = record.id().file_suffix();
    let bare = !file.contains(['/', '\\']) && !file.starts_with('.');
    if !bare || !record.id().names_file(file) {
        return Err(LineError::FileName {
            uuid: record.execution_uuid.to_string(),
            file: file.to_string(),
            suffix,
        });
    }
    Ok(())
}

/// The line continues its task's chain: its prev_hash is the previous line's hash.
fn check_link(data: &ExportLine, (head, at): &(String, usize)) -> Result<(), LineError> {
    if data.run.prev_hash == *head {
        return Ok(());
    }
    let after = if *at == 0 {
        format!(
            "the task `{}` starts here, but not from the genesis hash",
            data.task.name
        )
    } else {
        format!(
            "it does not link to line {at}, the previous run of task `{}`",
            data.task.name
        )
    };
    Err(LineError::Chain {
        uuid: data.run.uuid.clone(),
        after,
    })
}

/// What to do with an entry, as the scoreboard stands.
enum Action {
    New,
    Duplicate { file: String },
    Conflict(String),
}

fn plan(conn: &Connection, e: &Entry) -> rusqlite::Result<Action> {
    let run = &e.data.run;
    let here: Option<(String, String)> = conn
        .query_row(
            "SELECT json, file FROM run WHERE uuid = ?1",
            [&run.uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((json, file)) = here {
        return Ok(if json == run.json {
            Action::Duplicate { file }
        } else {
            Action::Conflict(format!(
                "the scoreboard already holds run {} with different content (recorded as `{file}`); kept it, skipped line {}",
                run.uuid, e.line
            ))
        });
    }
    let task: Option<i64> = conn
        .query_row(
            "SELECT id FROM task WHERE name = ?1",
            [&e.data.task.name],
            |r| r.get(0),
        )
        .optional()?;
    let Some(task_id) = task else {
        return Ok(Action::New);
    };
    let v = &e.data.version;
    if let Some(row) = version_by_hash(conn, task_id, &v.hash)? {
        if row.number != v.number {
            return Ok(Action::Conflict(format!(
                "its config is v{} of task `{}` here but v{} in the stream: the two scoreboards numbered their versions differently",
                row.number, e.data.task.name, v.number
            )));
        }
        return Ok(Action::New);
    }
    let taken: Option<String> = conn
        .query_row(
            "SELECT hash FROM version WHERE task_id = ?1 AND number = ?2",
            params![task_id, v.number],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match taken {
        Some(other) => Action::Conflict(format!(
            "v{} of task `{}` here is another config (hash {}…, the stream's {}…)",
            v.number,
            e.data.task.name,
            other.get(..12).unwrap_or(&other),
            v.hash.get(..12).unwrap_or(&v.hash)
        )),
        None => Action::New,
    })
}

impl Store {
    /// Loads every entry in order, telling `landed` each one's fate as it is committed.
    pub fn import_all(
        &mut self,
        runs_dir: &Path,
        entries: &[Entry],
        landed: &mut dyn FnMut(&Entry, &Fate),
    ) -> Result<ImportSummary, TransferError> {
        let mut summary = ImportSummary::default();
        for e in entries {
            let fate = self.import_entry(runs_dir, e)?;
            landed(e, &fate);
            summary.count(e, &fate);
        }
        Ok(summary)
    }

    /// Loads one verified entry: its run file into `runs_dir` (first, as a run is
    /// recorded), then its task, version, run and step rows in one transaction.
    pub fn import_entry(&mut self, runs_dir: &Path, e: &Entry) -> Result<Fate, TransferError> {
        let sql = |source| TransferError::Sql {
            path: self.path.clone(),
            source,
        };
        match plan(&self.conn, e).map_err(sql)? {
            Action::Conflict(why) => return Ok(Fate::Conflict { why }),
            Action::Duplicate { file } => return restore(runs_dir, e, &file),
            Action::New => {}
        }
        let path = runs_dir.join(&e.data.run.file);
        if !place_file(&path, runs_dir, &e.data.run.json)? {
            return Ok(Fate::Conflict {
                why: format!(
                    "`{}` exists with other bytes; kept it, skipped line {}",
                    path.display(),
                    e.line
                ),
            });
        }
        let file = path.to_string_lossy().into_owned();
        let outcome = self.write_tx(|tx| match plan(tx, e)? {
            Action::Conflict(why) => Ok(Fate::Conflict { why }),
            Action::Duplicate { .. } => Ok(Fate::Duplicate {
                restored_file: false,
            }),
            Action::New => {
                insert_entry(tx, e, &file)?;
                Ok(Fate::Imported)
            }
        })?;
        Ok(outcome)
    }
}

fn insert_entry(tx: &rusqlite::Transaction<'_>, e: &Entry, file: &str) -> rusqlite::Result<()> {
    let (task, v, run) = (&e.data.task, &e.data.version, &e.data.run);
    tx.execute(
        "INSERT INTO task (name, path) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
        params![task.name, task.path],
    )?;
    let task_id: i64 = tx.query_row("SELECT id FROM task WHERE name = ?1", [&task.name], |r| {
        r.get(0)
    })?;
    let version_id = match version_by_hash(tx, task_id, &v.hash)? {
        Some(row) => row.id,
        None => {
            // The parent by content: the same number here may be another config.
            let parent = match &v.parent_hash {
                Some(h) => version_by_hash(tx, task_id, h)?.map(|p| p.id),
                None => None,
            };
            let new = NewVersion {
                hash: &v.hash,
                config: &v.config,
                parent,
                mutation: &v.mutation,
                reason: &v.reason,
            };
            insert_version_tx(tx, task_id, v.number, &new, &v.created_at)?
        }
    };
    if let Some(provenance) = &v.provenance {
        // Informational, like the scoreboard's own: the first word on a version is kept.
        let proposer = provenance["proposer"].as_str().unwrap_or("unknown");
        tx.execute(
            "INSERT OR IGNORE INTO version_provenance (version_id, proposer, json, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![version_id, proposer, provenance.to_string(), v.created_at],
        )?;
    }
    insert_run_tx(
        tx,
        task_id,
        &NewRun {
            uuid: &run.uuid,
            version_id,
            started_at: &run.started_at,
            status: run.status.unwrap_or(e.record.status()),
            duration_ms: run.duration_ms,
            file,
            json: &run.json,
            steps: &e.record.steps,
        },
    )?;
    Ok(())
}

/// A duplicate whose run file is missing here gets it back (same name, same bytes).
fn restore(runs_dir: &Path, e: &Entry, recorded: &str) -> Result<Fate, TransferError> {
    let same_name = super::file_name(recorded) == e.data.run.file;
    let path = runs_dir.join(&e.data.run.file);
    let restored_file =
        same_name && !path.exists() && place_file(&path, runs_dir, &e.data.run.json)?;
    Ok(Fate::Duplicate { restored_file })
}

/// Writes `bytes` to `path` atomically unless it exists; false if it exists with other bytes.
fn place_file(path: &Path, dir: &Path, bytes: &str) -> Result<bool, TransferError> {
    let err = |path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |source| TransferError::RunFile { path, source }
    };
    match std::fs::read(path) {
        Ok(existing) => return Ok(existing == bytes.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(path)(e)),
    }
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(err(&tmp))?;
        f.write_all(bytes.as_bytes()).map_err(err(&tmp))?;
        f.sync_all().map_err(err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(err(path))?;
    Ok(true)
}
