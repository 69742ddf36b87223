//! The run record: seed 001's output shape, extended, with `execution_uuid` as the last key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Fault, Outcome, RunId, Signature, Skip, Step, StepKind};
use crate::errors::RecordError;

/// What a run says about its version. Only `Success` and `Failure` count toward the
/// ratio: a partial run did not run the whole protocol, and an error or an interrupt is
/// the harness's or the machine's doing, not the config's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Success,
    Failure,
    Partial,
    Error,
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Success,
        RunStatus::Failure,
        RunStatus::Partial,
        RunStatus::Error,
        RunStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Failure => "failure",
            RunStatus::Partial => "partial",
            RunStatus::Error => "error",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a scoreboard row's status may stand for a record stating `record`: the
    /// same, or a success the scoreboard has since downgraded to partial (never upgraded).
    pub fn row_agrees(row: RunStatus, record: RunStatus) -> bool {
        row == record || (row == RunStatus::Partial && record == RunStatus::Success)
    }

    /// Whether the run moves its version's ratio.
    pub fn counts(self) -> bool {
        matches!(self, RunStatus::Success | RunStatus::Failure)
    }

    /// The verdict on a run from its steps. `partial` lists why the plan was not the whole
    /// protocol; a skip for any reason but an earlier failure adds to it. An interrupt
    /// outranks a fault, a fault outranks partiality (nothing was judged), and partiality
    /// outranks a failure (the run does not count, whatever its steps found).
    pub fn judge(steps: &[Step], partial: &[String], interrupted: bool) -> RunStatus {
        let fault = steps.iter().any(|s| matches!(s.outcome, Outcome::Error(_)));
        let skipped = steps
            .iter()
            .any(|s| s.outcome == Outcome::Skip(Skip::NotRun));
        if interrupted {
            RunStatus::Interrupted
        } else if fault {
            RunStatus::Error
        } else if !partial.is_empty() || skipped || steps.is_empty() {
            RunStatus::Partial
        } else if steps.iter().all(Step::held) {
            RunStatus::Success
        } else {
            RunStatus::Failure
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeploymentRecord {
    pub api_port: Option<u16>,
    pub websocket_port: Option<u16>,
    pub instance_id: String,
    pub services_healthy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// Seconds from `up` to every service ready, as in the seed.
    pub startup_duration: f64,
    /// True only for a run whose status is `success` (seed 001's field).
    pub success: bool,
    pub duration_ms: u64,
    /// Absent only in records written before runs had a status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EngineRecord {
    pub compose: String,
    pub docker: String,
    pub api_version: String,
}

/// Field order is the file's key order; `execution_uuid` must stay last.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub timestamp: String,
    pub task: String,
    pub version: String,
    pub config_hash: String,
    pub deployment: DeploymentRecord,
    pub metrics: Metrics,
    pub steps: Vec<Step>,
    pub engine: EngineRecord,
    /// Why the run was not the whole protocol (a step selection, one instance, a step
    /// that could not run here). Empty for a whole run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub execution_uuid: Uuid,
}

impl RunRecord {
    pub fn id(&self) -> RunId {
        RunId::from(self.execution_uuid)
    }

    /// The status the record states; older records stated only success or not (and an
    /// interrupt as a failing step signed `interrupted`).
    pub fn status(&self) -> RunStatus {
        let interrupted = || {
            self.steps
                .iter()
                .any(|s| s.signature() == Some(Signature::Interrupted))
        };
        match self.metrics.status {
            Some(status) => status,
            None if self.metrics.success => RunStatus::Success,
            None if interrupted() => RunStatus::Interrupted,
            None => RunStatus::Failure,
        }
    }

    /// The status its steps and reasons give, whatever the record states: audit compares
    /// the two (a record that claims success for a partial run is a finding).
    pub fn judged_status(&self) -> RunStatus {
        let missing: Vec<&str> = StepKind::ALL
            .iter()
            .map(|k| k.name())
            .filter(|name| !self.steps.iter().any(|s| s.name == *name))
            .collect();
        let mut partial = self.partial.clone();
        if !missing.is_empty() {
            partial.push(format!("steps not in the record: {}", missing.join(", ")));
        }
        let interrupted = self.status() == RunStatus::Interrupted
            || self
                .steps
                .iter()
                .any(|s| s.fault() == Some(Fault::Interrupted));
        RunStatus::judge(&self.steps, &partial, interrupted)
    }

    /// The bytes written to `runs/`, and hashed into the scoreboard's chain.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Writes `runs/<timestamp>_<uuid8>.json` atomically (temp file, fsync, rename).
pub fn write(runs: &Path, record: &RunRecord, file_stamp: &str) -> Result<PathBuf, RecordError> {
    let path = runs.join(record.id().file_name(file_stamp));
    let tmp = runs.join(record.id().temp_file_name(file_stamp));
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RecordError { path, source }
    };
    std::fs::create_dir_all(runs).map_err(err(runs))?;
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp).map_err(err(&tmp))?;
        file.write_all(record.to_json().as_bytes())
            .map_err(err(&tmp))?;
        file.sync_all().map_err(err(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(err(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> RunRecord {
        RunRecord {
            timestamp: "2026-11-23T14:00:00Z".into(),
            task: "t".into(),
            version: "v1".into(),
            config_hash: "ab".into(),
            deployment: DeploymentRecord {
                api_port: Some(49153),
                websocket_port: Some(49154),
                instance_id: "h-t-12345678-0".into(),
                services_healthy: true,
            },
            metrics: Metrics {
                startup_duration: 1.5,
                success: true,
                duration_ms: 3000,
                status: Some(RunStatus::Success),
            },
            steps: vec![Step {
                name: "deploy".into(),
                outcome: Outcome::Pass,
                duration_ms: 1500,
                evidence: crate::run::Evidence::read("deploy", serde_json::json!({})),
            }],
            engine: EngineRecord {
                compose: "1.29.2".into(),
                docker: "20.10".into(),
                api_version: "1.41".into(),
            },
            partial: Vec::new(),
            error: None,
            execution_uuid: Uuid::new_v4(),
        }
    }

    #[test]
    fn execution_uuid_is_the_last_key_and_the_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let record = sample();
        let path = write(dir.path(), &record, "20261123T140000Z").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys.last().unwrap().as_str(), "execution_uuid");
        assert_eq!(serde_json::from_str::<RunRecord>(&text).unwrap(), record);
        assert!(
            record
                .id()
                .names_file(path.file_name().unwrap().to_str().unwrap())
        );
    }

    #[test]
    fn a_step_the_task_does_not_declare_keeps_the_run_whole_and_successful() {
        let step = |outcome| Step {
            name: "redis".into(),
            outcome,
            duration_ms: 0,
            evidence: crate::run::Evidence::reason("the task declares no dependencies"),
        };
        let pass = step(Outcome::Pass);
        let undeclared = step(Outcome::Skip(crate::run::Skip::NotDeclared));
        let not_run = step(Outcome::Skip(crate::run::Skip::NotRun));
        let judge = |steps: &[Step]| RunStatus::judge(steps, &[], false);
        assert_eq!(
            judge(&[pass.clone(), undeclared.clone()]),
            RunStatus::Success
        );
        assert_eq!(judge(&[pass.clone(), not_run]), RunStatus::Partial);
        let failed = step(Outcome::Fail(crate::run::Signature::DataLost));
        assert_eq!(judge(&[failed, undeclared.clone()]), RunStatus::Failure);
        let text = serde_json::to_string(&undeclared).unwrap();
        assert!(text.contains(r#""skip":"not_declared""#), "{text}");
        assert_eq!(serde_json::from_str::<Step>(&text).unwrap(), undeclared);
    }
}
