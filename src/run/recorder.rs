//! A finished run lands in three places, in this order: its file in `runs/`, its rows in
//! the scoreboard (chained), and its line in the task's prompt.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::engine::{ComposeCli, Docker};
use crate::protocol::Report;
use crate::run::record::{self, DeploymentRecord, EngineRecord, Metrics, RunRecord, RunStatus};
use crate::score;
use crate::store::{NewRun, Store, VersionRow};
use crate::task::{HistoryRow, Prompt, RunUpdate};

/// Where the run came from: its task, its version, when it started.
pub struct Origin<'a> {
    pub uuid: Uuid,
    pub started: DateTime<Utc>,
    pub task_id: i64,
    pub task: &'a str,
    pub version: &'a VersionRow,
    pub change: &'a str,
}

pub struct Recorded {
    pub record: RunRecord,
    pub file: PathBuf,
    pub hash: String,
    pub tally: (u64, u64),
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(transparent)]
    File(#[from] crate::errors::RecordError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Prompt(#[from] crate::task::TaskError),
}

/// Why a run ended before its protocol did. Either way it is recorded as interrupted and
/// counts for nothing: no verdict on the config was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// SIGINT or SIGTERM; the exit code the harness ends with.
    Signal(u8),
    /// Another run of the same version decided it first (`why` says which run and how).
    Stopped { by: Uuid, why: String },
}

impl Cut {
    /// The run's `error`, and its history row's reason.
    pub fn reason(&self) -> String {
        match self {
            Cut::Signal(code) => format!("interrupted by signal (exit {code})"),
            Cut::Stopped { why, .. } => {
                format!("stopped: {why}; this run was cut short and counts for nothing")
            }
        }
    }

    /// The evidence of the step the cut interrupted.
    pub fn evidence(&self) -> String {
        match self {
            Cut::Signal(_) => {
                "the harness was interrupted (SIGINT/SIGTERM); the run's containers were removed"
                    .to_string()
            }
            Cut::Stopped { why, .. } => {
                format!("stopped: {why}; the run's containers were removed")
            }
        }
    }

    pub fn signal(&self) -> Option<u8> {
        match self {
            Cut::Signal(code) => Some(*code),
            Cut::Stopped { .. } => None,
        }
    }
}

/// `cut`: why the run ended before its protocol did, if it did.
pub fn build_record(
    origin: &Origin<'_>,
    report: &Report,
    docker: &Docker,
    compose: &ComposeCli,
    cut: Option<&Cut>,
) -> RunRecord {
    let status = RunStatus::judge(&report.steps, &report.partial, cut.is_some());
    let error = match cut {
        Some(cut) => Some(cut.reason()),
        None => faults(report),
    };
    let deployment = report.deployment.as_ref();
    RunRecord {
        timestamp: origin
            .started
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        task: origin.task.to_string(),
        version: origin.version.label(),
        config_hash: origin.version.hash.clone(),
        deployment: DeploymentRecord {
            api_port: deployment.and_then(|d| d.api_port),
            websocket_port: deployment.and_then(|d| d.websocket_port),
            instance_id: report.project.clone(),
            services_healthy: deployment.is_some_and(|d| d.services_healthy),
        },
        metrics: Metrics {
            startup_duration: deployment
                .map(|d| d.startup_ms as f64 / 1000.0)
                .unwrap_or(0.0),
            success: status == RunStatus::Success,
            duration_ms: (Utc::now() - origin.started).num_milliseconds().max(0) as u64,
            status: Some(status),
        },
        steps: report.steps.clone(),
        engine: EngineRecord {
            compose: compose.display_name(),
            docker: docker.server_version.clone(),
            api_version: docker.api_version.clone(),
        },
        partial: report.partial.clone(),
        error,
        execution_uuid: origin.uuid,
    }
}

/// The harness's own faults in a run, each with its step and what to do, if any.
fn faults(report: &Report) -> Option<String> {
    let mut faults: Vec<(super::Fault, Vec<&str>)> = Vec::new();
    for step in &report.steps {
        let Some(fault) = step.fault() else { continue };
        match faults.iter_mut().find(|(f, _)| *f == fault) {
            Some((_, steps)) => steps.push(&step.name),
            None => faults.push((fault, vec![&step.name])),
        }
    }
    let text: Vec<String> = faults
        .iter()
        .map(|(f, steps)| format!("{f} in {} — {}", steps.join(", "), f.fix()))
        .collect();
    (!text.is_empty()).then(|| format!("harness fault, not the config's: {}", text.join("; ")))
}

/// Writes the run file, the scoreboard rows and the prompt's metrics and history row.
pub fn record(
    origin: &Origin<'_>,
    record: RunRecord,
    runs_dir: &Path,
    store: &mut Store,
    prompt: &Prompt,
) -> Result<Recorded, RecordingError> {
    let stamp = origin.started.format("%Y%m%dT%H%M%SZ").to_string();
    let file = record::write(runs_dir, &record, &stamp)?;
    let json = record.to_json();
    // Other harnesses may be recording runs of this task right now: row, tally and prompt
    // row are made one run at a time, on the prompt as it is now, not as this run found it.
    let mut lock = TaskLock::new(prompt.path());
    let _held = lock.acquire();
    let prompt = &Prompt::load(prompt.path())?;
    let hash = store.insert_run(
        origin.task_id,
        &NewRun {
            uuid: &origin.uuid.to_string(),
            version_id: origin.version.id,
            started_at: &record.timestamp,
            status: record.status(),
            duration_ms: record.metrics.duration_ms,
            file: &file.to_string_lossy(),
            json: &json,
            steps: &record.steps,
        },
    )?;
    let tally = store.version_tally(origin.version.id)?;
    let update = RunUpdate {
        successes: tally.0,
        failures: tally.1,
        last_updated: Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        last_uuid: origin.uuid.to_string(),
        row: HistoryRow {
            version: origin.version.label(),
            change: origin.change.to_string(),
            result: result_text(&record, tally),
            uuid: origin.uuid.to_string(),
        },
    };
    let text = prompt.record_run(&update)?;
    Prompt::save(prompt.path(), &text)?;
    Ok(Recorded {
        record,
        file,
        hash,
        tally,
    })
}

/// An exclusive lock on the directory holding the task's prompt, held while a run is
/// recorded. Best effort: where the directory cannot be locked, recording goes on unlocked.
struct TaskLock(Option<fd_lock::RwLock<std::fs::File>>);

impl TaskLock {
    fn new(prompt: &Path) -> TaskLock {
        let dir = match prompt.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        match std::fs::File::open(dir) {
            Ok(f) => TaskLock(Some(fd_lock::RwLock::new(f))),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot lock the task's directory; recording unlocked");
                TaskLock(None)
            }
        }
    }

    fn acquire(&mut self) -> Option<fd_lock::RwLockWriteGuard<'_, std::fs::File>> {
        let lock = self.0.as_mut()?;
        match lock.write() {
            Ok(guard) => Some(guard),
            Err(e) => {
                tracing::warn!(error = %e, "cannot lock the task's directory; recording unlocked");
                None
            }
        }
    }
}

fn result_text(record: &RunRecord, (s, f): (u64, u64)) -> String {
    let ratio = score::ratio(s, f);
    match record.status() {
        RunStatus::Success => {
            let grad = if score::graduated(s, f) {
                ", graduated"
            } else {
                ""
            };
            return format!("✅ Success ({ratio}{grad})");
        }
        RunStatus::Partial => {
            let ran = record.steps.iter().filter(|s| s.passed()).count();
            return format!(
                "➖ Partial, not counted: {ran}/{} steps passed; {} ({ratio})",
                record.steps.len(),
                record.partial.join("; ")
            );
        }
        RunStatus::Error | RunStatus::Interrupted => {
            let why = record
                .error
                .clone()
                .unwrap_or_else(|| "harness fault".into());
            return format!("⚠️ Not judged: {why} ({ratio})");
        }
        RunStatus::Failure => {}
    }
    let failed: Vec<String> = record
        .steps
        .iter()
        .filter_map(|st| st.signature().map(|sig| format!("{} {sig}", st.name)))
        .collect();
    let why = if failed.is_empty() {
        record.error.clone().unwrap_or_else(|| "failed".into())
    } else {
        failed.join(", ")
    };
    format!("❌ Failed: {why} ({ratio})")
}
