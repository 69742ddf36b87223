//! What the HTML report shows, assembled from the scoreboard's read-only views.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::store::{ReadError, Reader, file_name};

use super::ReportError;

pub(crate) struct Task {
    pub id: i64,
    pub name: String,
    pub versions: Vec<Version>,
}

pub(crate) struct Version {
    pub number: i64,
    pub parent: Option<i64>,
    pub mutation: String,
    pub reason: String,
    pub created_at: String,
    /// Oldest first.
    pub runs: Vec<Run>,
}

impl Version {
    pub fn successes(&self) -> u64 {
        self.runs.iter().filter(|r| r.success).count() as u64
    }

    pub fn failures(&self) -> u64 {
        self.runs.len() as u64 - self.successes()
    }

    pub fn last_run(&self) -> Option<&str> {
        self.runs.iter().map(|r| r.started_at.as_str()).max()
    }

    /// Failure signatures of the version's runs, most frequent first (ties by name).
    pub fn signatures(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for step in self.runs.iter().flat_map(|r| &r.failed_steps) {
            *counts
                .entry(step.signature.as_deref().unwrap_or("unknown"))
                .or_default() += 1;
        }
        let mut out: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

pub(crate) struct Run {
    pub uuid: String,
    pub started_at: String,
    pub success: bool,
    /// The `file` column as recorded (a full path when written).
    pub file: String,
    pub error: Option<String>,
    pub failed_steps: Vec<FailedStep>,
}

pub(crate) struct FailedStep {
    pub name: String,
    pub signature: Option<String>,
}

/// Every task with its versions (by number) and their runs (oldest first), read through a
/// read-only view of the scoreboard at `path`.
pub(crate) fn load(path: &Path) -> Result<Vec<Task>, ReportError> {
    let reader = Reader::open(path)?;
    let mut failed: HashMap<i64, Vec<FailedStep>> = HashMap::new();
    for step in reader.failed_steps()? {
        failed.entry(step.run_seq).or_default().push(FailedStep {
            name: step.name,
            signature: step.signature,
        });
    }

    let mut runs: HashMap<i64, Vec<Run>> = HashMap::new();
    for run in reader.runs()? {
        // A run whose version id is gone (tampered) belongs to no version to show.
        let Some(version_id) = run.version_id else {
            continue;
        };
        runs.entry(version_id).or_default().push(Run {
            uuid: run.uuid,
            started_at: run.started_at,
            success: run.success,
            file: run.file,
            error: run.error,
            failed_steps: failed.remove(&run.seq).unwrap_or_default(),
        });
    }

    let mut versions: BTreeMap<i64, Vec<Version>> = BTreeMap::new();
    for v in reader.versions()? {
        versions.entry(v.task_id).or_default().push(Version {
            number: v.number,
            parent: v.parent,
            mutation: v.mutation,
            reason: v.reason,
            created_at: v.created_at,
            runs: runs.remove(&v.id).unwrap_or_default(),
        });
    }
    Ok(reader
        .tasks()?
        .into_iter()
        .map(|t| Task {
            versions: versions.remove(&t.id).unwrap_or_default(),
            id: t.id,
            name: t.name,
        })
        .collect())
}

impl From<ReadError> for ReportError {
    fn from(e: ReadError) -> ReportError {
        match e {
            ReadError::NoStore { path } => ReportError::NoStore { path },
            ReadError::Open { path, source } => ReportError::Open { path, source },
            ReadError::Sql { path, source } => ReportError::Sql { path, source },
        }
    }
}

impl Run {
    /// The run file: the recorded file name, under `runs_dir` (where `harness audit` looks).
    pub fn path_in(&self, runs_dir: &Path) -> PathBuf {
        runs_dir.join(file_name(&self.file))
    }
}
