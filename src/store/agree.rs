//! Whether a scoreboard row agrees with the json it chains: the columns outside the hash
//! (uuid, task, version, start, success, status, duration, file name) must say what the
//! record says. The audit asks it of every row, `harness import` of every line.

use crate::run::record::{RunRecord, RunStatus};

/// A run's columns as the caller holds them, to be set against the record.
#[derive(Debug, Clone)]
pub struct RowColumns<'a> {
    pub uuid: &'a str,
    /// The task's name (or a placeholder naming a dangling id).
    pub task: &'a str,
    /// The version's number; `None` if the row points at no version.
    pub version: Option<i64>,
    /// The version's config hash, where the caller has it (an export line does).
    pub version_hash: Option<&'a str>,
    pub started_at: &'a str,
    pub success: Success,
    /// The status column as stored (a tampered one may name no status).
    pub status: &'a str,
    /// `None` if the stored value is not an integer.
    pub duration_ms: Option<i64>,
    /// The recorded file, where the caller checks its name here.
    pub file: Option<&'a str>,
}

/// The `success` column, in the form its holder has it: the scoreboard stores an integer
/// (of any value, if tampered), an export line a boolean. Differences are shown that way.
#[derive(Debug, Clone, Copy)]
pub enum Success {
    Stored(Option<i64>),
    Flag(bool),
}

/// One way a row disagrees with its json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// A column says `column`, the json `json`.
    Column {
        what: &'static str,
        column: String,
        json: String,
    },
    /// The recorded file name does not end with the record's `_<uuid8>.json`.
    FileName { name: String, suffix: String },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Column { what, column, json } => {
                write!(f, "{what}: row `{column}`, json `{json}`")
            }
            Difference::FileName { name, suffix } => write!(
                f,
                "file name `{name}` does not end with `{suffix}` of the record's UUID"
            ),
        }
    }
}

/// Every column of `row` that disagrees with `record`, in column order; empty if it agrees.
/// A success the scoreboard downgraded to partial agrees: the audit reports that apart.
pub fn row_differences(row: &RowColumns<'_>, record: &RunRecord) -> Vec<Difference> {
    let mut diffs = Vec::new();
    let mut differ = |what: &'static str, column: String, json: String| {
        if column != json {
            diffs.push(Difference::Column { what, column, json });
        }
    };
    differ(
        "uuid",
        row.uuid.to_string(),
        record.execution_uuid.to_string(),
    );
    differ("task", row.task.to_string(), record.task.clone());
    differ(
        "version",
        row.version
            .map_or_else(|| "<none>".to_string(), |n| format!("v{n}")),
        record.version.clone(),
    );
    if let Some(hash) = row.version_hash {
        differ("version hash", hash.to_string(), record.config_hash.clone());
    }
    differ(
        "started_at",
        row.started_at.to_string(),
        record.timestamp.clone(),
    );
    let (column, json) = match row.success {
        Success::Stored(v) => (show_int(v), i64::from(record.metrics.success).to_string()),
        Success::Flag(b) => (b.to_string(), record.metrics.success.to_string()),
    };
    differ("success", column, json);
    let agrees = RunStatus::parse(row.status)
        .is_some_and(|status| RunStatus::row_agrees(status, record.status()));
    if !agrees {
        differ(
            "status",
            row.status.to_string(),
            record.status().to_string(),
        );
    }
    differ(
        "duration_ms",
        show_int(row.duration_ms),
        record.metrics.duration_ms.to_string(),
    );
    if let Some(file) = row.file {
        let name = super::file_name(file);
        if !record.id().names_file(name) {
            diffs.push(Difference::FileName {
                name: name.to_string(),
                suffix: record.id().file_suffix(),
            });
        }
    }
    diffs
}

fn show_int(v: Option<i64>) -> String {
    v.map_or_else(|| "<not an integer>".to_string(), |v| v.to_string())
}
