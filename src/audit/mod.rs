//! `harness audit` and `harness show`: verify that every run landed, unchanged, in its three
//! places — its file in `runs/`, its chained row in the scoreboard, its row in the task's
//! prompt — and that its captured evidence carries its UUID.
//!
//! Read only: the scoreboard is opened with `SQLITE_OPEN_READ_ONLY` and nothing is written.
//! A failed check is a [`Finding`], not an error; an [`AuditError`] means the audit could not
//! look at all. An empty [`AuditReport::findings`] is a clean audit.

mod cache;
mod chain;
mod check;
mod db;
mod evidence;
mod inspect;
mod prompts;
mod show;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::Serialize;

pub use check::audit;
pub use show::{EvidencePaths, RunView, StepView, Verdict, show};

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Only this task's runs, files and prompts (by task name, the prompt's file stem).
    pub task: Option<String>,
    /// The directory holding `<timestamp>_<uuid8>.json` run files and `<uuid8>/` evidence.
    pub runs_dir: PathBuf,
    /// Prompt files whose Evolution History and Last UUID are cross-checked; none named:
    /// the prompt file each task was recorded from.
    pub prompts: Vec<PathBuf>,
    /// Where verdicts of earlier audits are kept ([`audit_cache_path`]): a run verified
    /// clean before whose row and files have not changed is not read again. `None`
    /// reads everything.
    pub cache: Option<PathBuf>,
}

/// The audit cache of the scoreboard at `store`: `<store>-audit`, beside it.
pub fn audit_cache_path(store: &std::path::Path) -> PathBuf {
    cache::AuditCache::path_for(store)
}

/// What kind of disagreement a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A run's UUID (scoreboard row or record) is not a canonical lower-case UUID v4.
    InvalidUuid,
    /// A scoreboard row's run file is not in `runs/` (removed).
    MissingFile,
    /// A run file (or a row's json) cannot be read or does not parse as a run record.
    InvalidRecord,
    /// `execution_uuid` is not the last key of the run's JSON.
    UuidNotLast,
    /// The run file's bytes differ from the scoreboard row's json.
    Edited,
    /// A run file in `runs/` that no scoreboard row records (invented, or copied in
    /// without the database).
    UnknownRun,
    /// A scoreboard row's columns (uuid, task, version, success, duration, start, file name)
    /// disagree with its own json.
    RowMismatch,
    /// A row's hash is not `sha256(prev_hash ‖ json)`: the row was changed.
    HashMismatch,
    /// A row's `prev_hash` is not the previous row's hash: a row before it was deleted,
    /// inserted or reordered.
    ChainBroken,
    /// A row after the first broken link of its task's chain: it cannot be verified.
    ChainUnverifiable,
    /// The scoreboard's step rows disagree with the record's steps.
    StepMismatch,
    /// A prompt file that cannot be parsed.
    PromptUnreadable,
    /// A prompt history row whose UUID is no run of that task.
    PromptRowUnknown,
    /// A prompt history row that names the wrong version, or a UUID listed twice.
    PromptRowMismatch,
    /// A run of the task that has no row in the prompt's Evolution History.
    PromptRowMissing,
    /// The prompt's Last UUID is not the task's latest run.
    PromptLastUuid,
    /// The run's captured container logs exist but none contains its UUID.
    EvidenceMissingUuid,
    /// The run's compose override does not label the run with its UUID.
    OverrideMismatch,
    /// A successful run whose override, captured logs or step rows are missing: a
    /// success must show what it rests on.
    EvidenceMissing,
    /// A run recorded as a success whose steps show it did not run the whole protocol
    /// (a step selection, one instance, a step skipped for a reason other than a failure).
    PartialAsSuccess,
    /// A proposal transcript (`proposals/*.md`) holds a secret of this environment.
    SecretInTranscript,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::InvalidUuid => "invalid_uuid",
            FindingKind::MissingFile => "missing_file",
            FindingKind::InvalidRecord => "invalid_record",
            FindingKind::UuidNotLast => "uuid_not_last",
            FindingKind::Edited => "edited",
            FindingKind::UnknownRun => "unknown_run",
            FindingKind::RowMismatch => "row_mismatch",
            FindingKind::HashMismatch => "hash_mismatch",
            FindingKind::ChainBroken => "chain_broken",
            FindingKind::ChainUnverifiable => "chain_unverifiable",
            FindingKind::StepMismatch => "step_mismatch",
            FindingKind::PromptUnreadable => "prompt_unreadable",
            FindingKind::PromptRowUnknown => "prompt_row_unknown",
            FindingKind::PromptRowMismatch => "prompt_row_mismatch",
            FindingKind::PromptRowMissing => "prompt_row_missing",
            FindingKind::PromptLastUuid => "prompt_last_uuid",
            FindingKind::EvidenceMissingUuid => "evidence_missing_uuid",
            FindingKind::OverrideMismatch => "override_mismatch",
            FindingKind::EvidenceMissing => "evidence_missing",
            FindingKind::PartialAsSuccess => "partial_as_success",
            FindingKind::SecretInTranscript => "secret_in_transcript",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One disagreement, named by the run's UUID and the file it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub uuid: Option<String>,
    pub file: Option<String>,
    pub message: String,
}

impl Finding {
    pub(crate) fn new(
        kind: FindingKind,
        uuid: Option<&str>,
        file: Option<String>,
        message: String,
    ) -> Finding {
        Finding {
            kind,
            uuid: uuid.map(str::to_string),
            file,
            message,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(uuid) = &self.uuid {
            write!(f, " {uuid}")?;
        }
        if let Some(file) = &self.file {
            write!(f, " ({file})")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    /// Scoreboard run rows checked.
    pub runs_checked: usize,
    /// Run files in `runs/` verified (recorded and unknown): read, or unchanged since an
    /// earlier audit verified them.
    pub files_checked: usize,
    /// Runs verified by an earlier audit whose row and files have not changed since: not
    /// read again (`harness audit --full` reads them).
    pub runs_unchanged: usize,
    pub findings: Vec<Finding>,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

impl std::fmt::Display for AuditReport {
    /// One line per finding, then what was checked and the verdict, as `harness audit`
    /// prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for finding in &self.findings {
            let uuid = finding.uuid.as_deref().unwrap_or("-");
            let file = finding.file.as_deref().unwrap_or("-");
            let (kind, message) = (finding.kind.as_str(), &finding.message);
            writeln!(f, "{kind:<18} {uuid}  {file}  {message}")?;
        }
        let unchanged = match self.runs_unchanged {
            0 => String::new(),
            n => format!(
                " ({n} unchanged since an earlier audit verified them; --full re-reads them)"
            ),
        };
        let verdict = if self.is_clean() {
            "clean".to_string()
        } else {
            format!("{} finding(s)", self.findings.len())
        };
        write!(
            f,
            "{} runs, {} run files checked{unchanged}: {verdict}",
            self.runs_checked, self.files_checked
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "no scoreboard at `{}` — run `harness run` first, or pass the scoreboard's path",
        .path.display()
    )]
    NoStore { path: PathBuf },
    #[error(
        "cannot open the scoreboard `{}` read-only: {source} — check that the file is readable and is a harness scoreboard",
        .path.display()
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cannot read the scoreboard `{}`: {source} — it may be corrupt, or from an older harness: open it once with `harness scoreboard` to migrate it",
        .path.display()
    )]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cannot read the runs directory `{}`: {source} — pass the directory that holds the run files (`runs/`)",
        .path.display()
    )]
    RunsDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the runs directory `{}` does not exist but the scoreboard records runs — pass the directory that holds the run files (`runs/`)",
        .path.display()
    )]
    NoRunsDir { path: PathBuf },
    #[error(
        "cannot read the prompt `{}`: {source} — pass an existing prompt file (e.g. `prompts/<task>.md`)",
        .path.display()
    )]
    Prompt {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{value}` is not a run UUID or UUID prefix — give hex digits and hyphens, e.g. the 8 characters of a run file name `…_3f1c9a52.json`"
    )]
    BadPrefix { value: String },
    #[error("no run in `{}` matches `{prefix}`{hint} — list runs with `harness scoreboard`, or `grep -r {prefix} runs/ prompts/`", .store.display())]
    UnknownRun {
        prefix: String,
        store: PathBuf,
        /// Run files that match but have no scoreboard row, if any.
        hint: String,
    },
    #[error("`{prefix}` matches {count} runs: {candidates} — give more characters of the UUID")]
    Ambiguous {
        prefix: String,
        count: usize,
        candidates: String,
    },
}
