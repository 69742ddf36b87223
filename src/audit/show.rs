//! `harness show <uuid|prefix>`: one run's record, steps, evidence paths and verdict.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use uuid::Uuid;

use super::inspect::inspect;
use super::{AuditError, evidence};
use crate::run::record::RunRecord;
use crate::run::{RunDir, RunId, format_ms};
use crate::store::{Reader, RunRow};

/// Most candidates an ambiguous prefix lists.
const CANDIDATES: usize = 10;

/// The run's status, as the scoreboard holds it.
pub use crate::run::record::RunStatus as Verdict;

/// One step as the scoreboard's `step` table has it.
pub use crate::store::StepView;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidencePaths {
    /// `runs/<uuid8>/`; may not exist (a run that never deployed).
    pub dir: PathBuf,
    /// `runs/<uuid8>/compose/`, if it exists.
    pub compose_dir: Option<PathBuf>,
    /// `runs/<uuid8>/compose/override.yml`, if it exists.
    pub override_file: Option<PathBuf>,
    /// The captured container logs, sorted.
    pub logs: Vec<PathBuf>,
}

/// One run, as `harness show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub uuid: String,
    pub seq: i64,
    pub task: String,
    pub version: String,
    pub started_at: String,
    pub verdict: Verdict,
    /// `step signature` of every failed step.
    pub failures: Vec<String>,
    /// The run's error, if it stopped before finishing its steps.
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub steps: Vec<StepView>,
    /// The run file, under the runs directory.
    pub file: PathBuf,
    pub file_exists: bool,
    /// Whether the file's bytes are the scoreboard row's json (`harness audit` says more).
    pub file_matches_db: bool,
    /// The record as the scoreboard holds it (the chained json), if it parses.
    pub record: Option<RunRecord>,
    pub evidence: EvidencePaths,
    pub hash: String,
}

impl std::fmt::Display for RunView {
    /// The run, its steps, verdict, file and evidence, as `harness show` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (uuid, task, version) = (&self.uuid, &self.task, &self.version);
        writeln!(
            f,
            "run {uuid}   task {task}   {version}   {}",
            self.started_at
        )?;
        for step in &self.steps {
            let mark = match step.status.as_str() {
                "pass" => "✓",
                "fail" => "✗",
                _ => "-",
            };
            let sig = step.signature.as_deref().unwrap_or("");
            let duration = format_ms(step.duration_ms.max(0) as u64);
            writeln!(f, "  {mark} {:<15} {duration:>8}   {sig}", step.name)?;
        }
        writeln!(f, "verdict: {}", self.verdict)?;
        if let Some(error) = &self.error {
            writeln!(f, "error: {error}")?;
        }
        let matches = if self.file_matches_db {
            "matches the scoreboard"
        } else {
            "DIFFERS from the scoreboard — run `harness audit`"
        };
        let state = if self.file_exists { matches } else { "MISSING" };
        writeln!(f, "file: {} ({state})", self.file.display())?;
        write!(f, "evidence: {}", self.evidence.dir.display())?;
        for log in &self.evidence.logs {
            write!(f, "\n  {}", log.display())?;
        }
        Ok(())
    }
}

/// The run whose UUID is `uuid_or_prefix` or starts with it (hyphens optional).
pub fn show(
    store_path: &Path,
    runs_dir: &Path,
    uuid_or_prefix: &str,
) -> Result<RunView, AuditError> {
    let prefix = normalise(uuid_or_prefix)?;
    let conn = Reader::open(store_path)?;
    let pattern = format!("{prefix}*");
    let count = conn.count_runs_matching(&pattern)?;
    if count == 0 {
        return Err(AuditError::UnknownRun {
            hint: orphan_hint(runs_dir, &prefix),
            prefix,
            store: store_path.to_path_buf(),
        });
    }
    if count > 1 {
        return Err(ambiguous(&conn, prefix, &pattern, count));
    }
    let row = conn.run_matching(&pattern)?;
    let steps = conn.steps(row.seq)?;
    Ok(view(row, steps, runs_dir))
}

fn normalise(input: &str) -> Result<String, AuditError> {
    RunId::prefix(input).ok_or_else(|| AuditError::BadPrefix {
        value: input.to_string(),
    })
}

fn ambiguous(conn: &Reader, prefix: String, pattern: &str, count: usize) -> AuditError {
    let listed = match conn.runs_matching(pattern, CANDIDATES) {
        Ok(list) => list,
        Err(e) => return e.into(),
    };
    let mut candidates = listed
        .into_iter()
        .map(|(uuid, task, at)| format!("{uuid} ({}, {at})", task.unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ");
    if count > CANDIDATES {
        candidates.push_str(&format!(", and {} more", count - CANDIDATES));
    }
    AuditError::Ambiguous {
        prefix,
        count,
        candidates,
    }
}

/// Run files whose name matches the prefix although the scoreboard has no such run.
fn orphan_hint(runs_dir: &Path, prefix: &str) -> String {
    let short = RunId::short_of_prefix(prefix);
    let mut names: Vec<String> = fs::read_dir(runs_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    RunId::file_short_id(n)
                        .is_some_and(|u8| u8.starts_with(&short) || short.starts_with(u8))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        String::new()
    } else {
        format!(
            " (but {} has run files without a scoreboard row: {} — `harness audit` reports them)",
            runs_dir.display(),
            names.join(", ")
        )
    }
}

fn view(row: RunRow, steps: Vec<StepView>, runs_dir: &Path) -> RunView {
    let file = row.path_in(runs_dir);
    let bytes = fs::read(&file).ok();
    let record = inspect(&row.json).record;
    let evidence = match Uuid::try_parse(&row.uuid) {
        Ok(u) => evidence_paths(runs_dir, u),
        Err(_) => EvidencePaths {
            dir: runs_dir.join(
                row.uuid
                    .chars()
                    .filter(|c| *c != '-')
                    .take(8)
                    .collect::<String>(),
            ),
            compose_dir: None,
            override_file: None,
            logs: Vec::new(),
        },
    };
    let verdict = match (Verdict::parse(&row.status), &record) {
        (Some(status), _) => status,
        (None, Some(r)) => r.status(),
        (None, None) => Verdict::Failure,
    };
    let failures = steps
        .iter()
        .filter(|s| s.status == "fail")
        .map(|s| match &s.signature {
            Some(sig) => format!("{} {sig}", s.name),
            None => s.name.clone(),
        })
        .collect();
    RunView {
        uuid: row.uuid.clone(),
        seq: row.seq,
        task: row.task_label(),
        version: row.version_label().unwrap_or_default(),
        started_at: row.started_at.clone(),
        verdict,
        failures,
        error: record.as_ref().and_then(|r| r.error.clone()),
        duration_ms: row.duration_ms,
        steps,
        file_exists: bytes.is_some(),
        file_matches_db: bytes.as_deref() == Some(row.json.as_slice()),
        file,
        record,
        evidence,
        hash: row.hash,
    }
}

fn evidence_paths(runs_dir: &Path, uuid: Uuid) -> EvidencePaths {
    let dir = RunDir::new(runs_dir, uuid.into());
    let compose = dir.compose();
    let override_file = dir.override_file();
    EvidencePaths {
        logs: evidence::log_files(&dir.logs()),
        compose_dir: compose.is_dir().then_some(compose),
        override_file: override_file.is_file().then_some(override_file),
        dir: dir.path().to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(normalise(" 3F1C9A52 ").unwrap(), "3f1c9a52");
        assert_eq!(normalise("3f1c9a528d7e4").unwrap(), "3f1c9a52-8d7e-4");
        assert_eq!(
            normalise("3f1c9a528d7e4b6a9c0f1e2d3c4b5a69").unwrap(),
            "3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69"
        );
        assert!(normalise("").is_err());
        assert!(normalise("3f1c*").is_err());
        assert!(normalise("xyz").is_err());
    }
}
