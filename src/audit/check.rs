//! The audit proper: one streamed pass over the scoreboard's runs in chain order (task, seq),
//! each row checked against its file, its steps and its evidence; then the prompts; then
//! the run files no row accounts for.
//!
//! Two stages, so both cores work: one thread reads the scoreboard in one transaction and
//! links each row to the one before it (sequential by nature), handing rows over in
//! batches; each batch's hashing, file and evidence checks, independent per run, run in
//! parallel; the results are tallied in the scoreboard's order whatever the scheduling.
//! With an [`AuditCache`], a run verified by an earlier audit whose row and files have not
//! changed is not read again.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::SystemTime;

use rayon::prelude::*;

use super::cache::{self, AuditCache, Verified};
use super::chain::{Breaks, Link, Links};
use super::db;
use super::inspect::inspect;
use super::prompts;
use super::{AuditError, AuditOptions, AuditReport, Finding, FindingKind, evidence};
use crate::run::RunId;
use crate::run::record::{RunRecord, RunStatus};
use crate::store::{self, RowColumns, RunRow, StepRow, Success};
use crate::task::Prompt;

/// Rows handed from the reader to the checkers at a time: large enough that the hand-over
/// costs nothing, small enough that memory stays flat (a row holds its json).
const BATCH: usize = 256;

/// Verifies every run of the scoreboard at `store_path` (or of `opts.task`) against
/// `opts.runs_dir` and `opts.prompts`. Reads only; an empty `findings` is a clean audit.
pub fn audit(store_path: &Path, opts: &AuditOptions) -> Result<AuditReport, AuditError> {
    audit_as_of(store_path, opts, SystemTime::now())
}

/// [`audit`], started at `started`: the audit cache trusts only files settled before it.
pub(crate) fn audit_as_of(
    store_path: &Path,
    opts: &AuditOptions,
    started: SystemTime,
) -> Result<AuditReport, AuditError> {
    std::thread::scope(|s| {
        // The cache loads while the runs directory is listed.
        let cache = s.spawn(|| {
            let path = opts.cache.as_deref()?;
            Some(AuditCache::load(path, &opts.runs_dir, started))
        });
        let conn = store::Reader::open(store_path)?;
        let mut report = AuditReport::default();

        // Files first, then prompts, then the scoreboard snapshot: a run is written in that
        // order (file, row, prompt), so a run recorded while we audit cannot look deleted.
        let listing = list_run_files(&opts.runs_dir)?;
        let runs_dir_exists = listing.is_some();
        let prompt_files = if opts.prompts.is_empty() {
            db::task_prompts(&conn, opts.task.as_deref())?
        } else {
            opts.prompts.clone()
        };
        let loaded = prompts::load(&prompt_files, opts.task.as_deref(), &mut report.findings)?;
        let cache = cache
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let mut tally = Tally {
            report,
            unclaimed: listing.unwrap_or_default(),
            fresh: Vec::new(),
            breaks: Breaks::default(),
        };
        let checker = RunCheck {
            runs_dir: &opts.runs_dir,
            store: store_path,
            cache: cache.as_ref(),
        };
        let reader = Reader {
            opts,
            runs_dir_exists,
            prompts: &loaded,
        };
        let (conn, rest) = check_runs(&reader, conn, &checker, &mut tally)?;
        if let Some(cache) = &cache {
            cache.save(&tally.fresh);
        }
        let Tally {
            mut report,
            mut unclaimed,
            ..
        } = tally;
        for name in rest.other_tasks_files {
            unclaimed.remove(&name);
        }
        report.findings.extend(rest.prompt_findings);
        unknown_files(&conn, opts, unclaimed, &mut report)?;
        Ok(report)
    })
}

/// The runs, read by one thread and checked in parallel batches, tallied in order.
fn check_runs(
    reader: &Reader<'_>,
    conn: store::Reader,
    checker: &RunCheck<'_>,
    tally: &mut Tally,
) -> Result<(store::Reader, Rest), AuditError> {
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Vec<Pending>>(4);
        let reading = s.spawn(move || reader.read(conn, tx));
        for batch in rx {
            let outcomes: Vec<Checked> = batch.par_iter().map(|p| checker.check(p)).collect();
            for (pending, checked) in batch.iter().zip(outcomes) {
                tally.add(pending, checked, checker.runs_dir);
            }
        }
        reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The report as the checked runs come in, in scoreboard order.
struct Tally {
    report: AuditReport,
    /// Run files no row has claimed yet.
    unclaimed: HashSet<String>,
    /// Clean verdicts of this audit, for the cache.
    fresh: Vec<(String, Verified)>,
    breaks: Breaks,
}

impl Tally {
    fn add(&mut self, pending: &Pending, checked: Checked, runs_dir: &Path) {
        let row = &pending.row;
        let report = &mut self.report;
        self.unclaimed.remove(store::file_name(&row.file));
        report.runs_checked += 1;
        report.files_checked += usize::from(checked.file_read || checked.unchanged);
        report.runs_unchanged += usize::from(checked.unchanged);
        report.findings.extend(checked.findings);
        if let Some(why) = self.breaks.next(row, checked.chain_sound) {
            let file = row.path_in(runs_dir).display().to_string();
            report.findings.push(Finding::new(
                FindingKind::ChainUnverifiable,
                Some(&row.uuid),
                Some(file),
                why,
            ));
        }
        if let Some(verified) = checked.fresh {
            self.fresh.push((row.uuid.clone(), verified));
        }
    }
}

/// The run files no row accounts for, in name order.
fn unknown_files(
    conn: &store::Reader,
    opts: &AuditOptions,
    unclaimed: HashSet<String>,
    report: &mut AuditReport,
) -> Result<(), AuditError> {
    let mut unclaimed: Vec<String> = unclaimed.into_iter().collect();
    unclaimed.sort();
    for name in unclaimed {
        let path = opts.runs_dir.join(&name);
        unknown_file(conn, opts, &name, &path, report)?;
    }
    Ok(())
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
        if !RunId::is_file_name(&name) {
            continue;
        }
        // The entry's own type, no `stat` per file: a runs dir holds 100 000 of them.
        let is_file = match entry.file_type() {
            Ok(t) if t.is_symlink() => entry.path().is_file(),
            Ok(t) => t.is_file(),
            Err(_) => false,
        };
        if is_file {
            files.insert(name);
        }
    }
    Ok(Some(files))
}

/// A row on its way from the reader to the checkers, with what only the reader can know.
struct Pending {
    row: RunRow,
    steps: Vec<StepRow>,
    link: Link,
}

/// What the reader found besides the runs.
struct Rest {
    /// Run files of the tasks not audited: accounted for by their rows.
    other_tasks_files: Vec<String>,
    prompt_findings: Vec<Finding>,
}

/// The scoreboard side of the audit, in one read transaction: a consistent snapshot.
struct Reader<'a> {
    opts: &'a AuditOptions,
    runs_dir_exists: bool,
    prompts: &'a [Prompt],
}

impl Reader<'_> {
    /// Streams the runs to `out`, then reads the rest; hands the connection back.
    fn read(
        &self,
        conn: store::Reader,
        out: SyncSender<Vec<Pending>>,
    ) -> Result<(store::Reader, Rest), AuditError> {
        let task = self.opts.task.as_deref();
        let rest = {
            let _snapshot = conn.snapshot()?;
            if !self.runs_dir_exists && conn.any_run(task)? {
                return Err(AuditError::NoRunsDir {
                    path: self.opts.runs_dir.clone(),
                });
            }
            stream_runs(&conn, task, out)?;
            let other_tasks_files = match task {
                Some(task) => conn.files_of_other_tasks(task)?,
                None => Vec::new(),
            };
            let mut prompt_findings = Vec::new();
            prompts::check(&conn, self.prompts, &mut prompt_findings)?;
            Rest {
                other_tasks_files,
                prompt_findings,
            }
        };
        Ok((conn, rest))
    }
}

/// Every run (of `task`) in chain order, with its step rows and its link, in batches.
fn stream_runs(
    conn: &store::Reader,
    task: Option<&str>,
    out: SyncSender<Vec<Pending>>,
) -> Result<(), AuditError> {
    let mut links = Links::default();
    let mut batch = Vec::with_capacity(BATCH);
    conn.for_each_run(task, |row, steps| {
        let link = links.next(&row);
        batch.push(Pending { row, steps, link });
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            // The checkers are gone: a panic, which `audit` resumes.
            return out.send(full).is_ok();
        }
        true
    })?;
    if !batch.is_empty() {
        // As above: an error here means the checkers panicked.
        let _ = out.send(batch);
    }
    Ok(())
}

/// One run's findings, and whether its file could be read.
#[derive(Default)]
struct Checked {
    findings: Vec<Finding>,
    file_read: bool,
    /// Verified by an earlier audit, and nothing it rested on has changed.
    unchanged: bool,
    /// This audit's clean verdict, to keep for the next.
    fresh: Option<Verified>,
    /// The row's json is the one chained, after the row it claims to follow.
    chain_sound: bool,
}

/// The per-run checks: the row against its file, its own columns, its steps and its
/// evidence. Independent of every other run.
struct RunCheck<'a> {
    runs_dir: &'a Path,
    store: &'a Path,
    cache: Option<&'a AuditCache>,
}

impl RunCheck<'_> {
    fn check(&self, pending: &Pending) -> Checked {
        let Some(cache) = self.cache else {
            return self.read_and_check(pending).0;
        };
        let chained = pending.link.check(&pending.row, None);
        let digest = cache::digest(&pending.row, &pending.steps);
        if chained.is_sound()
            && let Some(earlier) = cache.get(&pending.row.uuid)
            && earlier.digest == digest
            && let Ok(uuid) = db::uuid_v4(&pending.row.uuid)
            && cache.basis(&pending.row, uuid, earlier.carrier()).as_ref() == Some(&earlier.basis)
        {
            return Checked {
                unchanged: true,
                chain_sound: true,
                ..Checked::default()
            };
        }
        let (mut checked, carrier) = self.read_and_check(pending);
        if checked.findings.is_empty()
            && let Ok(uuid) = db::uuid_v4(&pending.row.uuid)
            && let Some(basis) = cache.basis(&pending.row, uuid, carrier.as_deref())
            && cache.admits(&basis)
        {
            checked.fresh = Some(Verified { digest, basis });
        }
        checked
    }

    /// Every check, every file read; also names the log that carried the UUID.
    fn read_and_check(&self, pending: &Pending) -> (Checked, Option<String>) {
        let Pending { row, steps, link } = pending;
        let path = row.path_in(self.runs_dir);
        let file = path.display().to_string();
        let uuid = row.uuid.as_str();
        let mut found: Vec<(FindingKind, String, String)> = Vec::new();
        let mut push = |kind, file: &str, message| found.push((kind, file.to_string(), message));

        let run_uuid = match db::uuid_v4(uuid) {
            Ok(u) => Some(u),
            Err(why) => {
                push(FindingKind::InvalidUuid, &file, why.to_string());
                None
            }
        };

        let bytes = match fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                push(
                    FindingKind::MissingFile,
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
                push(
                    FindingKind::InvalidRecord,
                    &file,
                    format!("cannot read the run file: {e}"),
                );
                None
            }
        };

        let chained = link.check(row, bytes.as_deref());
        let chain_sound = chained.is_sound();
        for (kind, message) in chained.findings {
            push(kind, &file, message);
        }

        let from_db = inspect(&row.json);
        let record = match &bytes {
            Some(b) if *b == row.json => {
                for (kind, message) in from_db.problems {
                    push(kind, &file, message);
                }
                from_db.record
            }
            other => {
                let db_label = format!("{} (run seq {})", self.store.display(), row.seq);
                for (kind, message) in from_db.problems {
                    push(kind, &db_label, message);
                }
                let mut record = from_db.record;
                if let Some(b) = other {
                    push(FindingKind::Edited, &file, edited_message(row, b));
                    let from_file = inspect(b);
                    for (kind, message) in from_file.problems {
                        push(kind, &file, message);
                    }
                    record = record.or(from_file.record);
                }
                record
            }
        };

        if let Some(record) = &record {
            if let Some(message) = column_mismatch(row, record) {
                push(FindingKind::RowMismatch, &file, message);
            }
            if let Some(message) = step_mismatch(steps, record) {
                push(FindingKind::StepMismatch, &file, message);
            }
            if let Some(message) = partial_as_success(row, record) {
                push(FindingKind::PartialAsSuccess, &file, message);
            }
            if record.status() == RunStatus::Success && steps.is_empty() {
                let message = "a successful run with no step rows in the scoreboard".to_string();
                push(FindingKind::EvidenceMissing, &file, message);
            }
        }
        let claims_success = record
            .as_ref()
            .is_some_and(|r| r.status() == RunStatus::Success);
        let mut carrier = None;
        if let Some(u) = run_uuid {
            let evidence = evidence::check(self.runs_dir, u, claims_success);
            for (kind, file, message) in evidence.findings {
                push(kind, &file, message);
            }
            carrier = evidence.carrier;
        }
        let checked = Checked {
            findings: found
                .into_iter()
                .map(|(kind, file, message)| Finding::new(kind, Some(uuid), Some(file), message))
                .collect(),
            file_read: bytes.is_some(),
            chain_sound,
            ..Checked::default()
        };
        (checked, carrier)
    }
}

/// The row's own columns against its json: the parts outside the hash.
fn column_mismatch(row: &RunRow, record: &RunRecord) -> Option<String> {
    let task = row.task_label();
    let columns = RowColumns {
        uuid: &row.uuid,
        task: &task,
        version: row.version,
        version_hash: None,
        started_at: &row.started_at,
        success: Success::Stored(row.success),
        status: &row.status,
        duration_ms: row.duration_ms,
        file: Some(&row.file),
    };
    let diffs = store::row_differences(&columns, record);
    (!diffs.is_empty()).then(|| {
        let diffs: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        format!(
            "scoreboard row seq {} disagrees with its own json — changed outside the hash: {}",
            row.seq,
            diffs.join("; ")
        )
    })
}

/// A record that claims success for a run that was not the whole protocol: its own
/// steps say so, or the scoreboard has since found it partial.
fn partial_as_success(row: &RunRow, record: &RunRecord) -> Option<String> {
    if record.status() != RunStatus::Success {
        return None;
    }
    let judged = record.judged_status();
    if judged != RunStatus::Success {
        return Some(format!(
            "the record claims success, but its steps make it `{judged}`{}",
            if record.partial.is_empty() {
                String::new()
            } else {
                format!(" ({})", record.partial.join("; "))
            }
        ));
    }
    (row.status == RunStatus::Partial.as_str()).then(|| {
        "the record claims success, but it did not run the whole protocol (the scoreboard counts it as partial)".to_string()
    })
}

/// The scoreboard's step rows against the record's steps.
fn step_mismatch(stored: &[StepRow], record: &RunRecord) -> Option<String> {
    let recorded: Vec<StepRow> = record
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
    if stored == recorded.as_slice() {
        return None;
    }
    let show = |s: Option<&StepRow>| match s {
        None => "nothing".to_string(),
        Some((name, status, sig)) => match sig {
            Some(sig) => format!("`{name}` {status} ({sig})"),
            None => format!("`{name}` {status}"),
        },
    };
    let at = (0..stored.len().max(recorded.len()))
        .find(|&i| stored.get(i) != recorded.get(i))
        .unwrap_or(0);
    Some(format!(
        "the scoreboard has {} step rows, the record {} steps; first difference at step {at}: scoreboard {}, record {}",
        stored.len(),
        recorded.len(),
        show(stored.get(at)),
        show(recorded.get(at))
    ))
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

/// A run file no scoreboard row claims. Runs recorded while the audit ran are skipped.
fn unknown_file(
    conn: &store::Reader,
    opts: &AuditOptions,
    name: &str,
    path: &Path,
    report: &mut AuditReport,
) -> Result<(), AuditError> {
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
        Some(u) => conn.run_file(u)?,
        None => None,
    };
    let message = match (&known, &unreadable) {
        (Some((recorded, _)), _) if store::file_name(recorded) == name => return Ok(()),
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
