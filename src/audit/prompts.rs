//! The prompts' side: every Evolution History row points at a run of its task, every run of
//! the task has a row, and Last UUID is the task's latest run.

use std::collections::HashMap;
use std::path::PathBuf;

use uuid::Uuid;

use super::{AuditError, Finding, FindingKind};
use crate::store::{Reader, RunPlace};
use crate::task::{Prompt, TaskError};

/// Loads the prompts (of `task` only, if given). A prompt that does not parse is a finding;
/// one that does not exist is an error (a wrong path, not a tampered record).
pub(crate) fn load(
    paths: &[PathBuf],
    task: Option<&str>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Prompt>, AuditError> {
    let mut prompts = Vec::new();
    for path in paths {
        let stem = path.file_stem().and_then(|s| s.to_str());
        if task.is_some_and(|t| stem != Some(t)) {
            continue;
        }
        match Prompt::load(path) {
            Ok(p) => prompts.push(p),
            Err(TaskError::Read { path, source }) => {
                return Err(AuditError::Prompt { path, source });
            }
            Err(e) => findings.push(Finding::new(
                FindingKind::PromptUnreadable,
                None,
                Some(path.display().to_string()),
                format!("cannot check this prompt's history: {e}"),
            )),
        }
    }
    Ok(prompts)
}

/// What a history cell holds when no run has filled it yet.
fn is_placeholder(cell: &str) -> bool {
    let c = cell.trim().to_ascii_lowercase();
    c.is_empty()
        || c == "tbd"
        || c == "-"
        || c == "—"
        || c == "n/a"
        || c.starts_with("none")
        || c.starts_with('[')
}

pub(crate) fn check(
    conn: &Reader,
    prompts: &[Prompt],
    findings: &mut Vec<Finding>,
) -> Result<(), AuditError> {
    for prompt in prompts {
        let file = prompt.path().display().to_string();
        let task = prompt.name();
        let mut push = |kind, uuid: Option<&str>, message: String| {
            findings.push(Finding::new(kind, uuid, Some(file.clone()), message));
        };
        let task_id = conn.task_id(task)?;

        // History rows → runs.
        let mut listed: HashMap<Uuid, usize> = HashMap::new();
        for (i, row) in prompt.history().iter().enumerate() {
            let cell = row.uuid.trim().trim_matches('`').trim();
            if is_placeholder(cell) {
                continue;
            }
            let n = i + 1;
            let Ok(uuid) = Uuid::try_parse(cell) else {
                push(
                    FindingKind::PromptRowUnknown,
                    Some(cell),
                    format!("history row {n} ({}): `{cell}` is not a UUID", row.version),
                );
                continue;
            };
            let canonical = uuid.to_string();
            if let Some(first) = listed.insert(uuid, n) {
                push(
                    FindingKind::PromptRowMismatch,
                    Some(&canonical),
                    format!("history rows {first} and {n} list the same run"),
                );
            }
            match conn.run_place(&canonical)? {
                None => push(
                    FindingKind::PromptRowUnknown,
                    Some(&canonical),
                    format!(
                        "history row {n} ({}) points at no run: the scoreboard has no run with this UUID",
                        row.version
                    ),
                ),
                Some(RunPlace {
                    task_id: id,
                    task: name,
                    ..
                }) if id != task_id || task_id.is_none() => push(
                    FindingKind::PromptRowUnknown,
                    Some(&canonical),
                    format!(
                        "history row {n} ({}) points at a run of task {}, not of {task}",
                        row.version,
                        name.as_deref().unwrap_or("?")
                    ),
                ),
                Some(RunPlace { version, .. }) => {
                    let actual = version.map(|v| format!("v{v}"));
                    if actual.as_deref() != Some(row.version.trim()) {
                        push(
                            FindingKind::PromptRowMismatch,
                            Some(&canonical),
                            format!(
                                "history row {n} says version `{}`, the scoreboard records the run as {}",
                                row.version,
                                actual.as_deref().unwrap_or("<no version>")
                            ),
                        );
                    }
                }
            }
        }

        // Runs → history rows, and the latest run.
        let mut latest: Option<String> = None;
        if let Some(id) = task_id {
            conn.for_each_run_uuid(id, |uuid| {
                let in_history = Uuid::try_parse(&uuid).is_ok_and(|u| listed.contains_key(&u));
                if !in_history {
                    push(
                        FindingKind::PromptRowMissing,
                        Some(&uuid),
                        format!(
                            "this run of task {task} has no row in the prompt's Evolution History"
                        ),
                    );
                }
                latest = Some(uuid);
            })?;
        }

        let last = prompt.metrics().last_uuid;
        let last_parsed = last.as_deref().map(|l| {
            let cell = l.trim().trim_matches('`').trim();
            Uuid::try_parse(cell)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| cell.to_string())
        });
        match (&last_parsed, &latest) {
            (None, None) => {}
            (Some(l), Some(run)) if l == run => {}
            (None, Some(run)) => push(
                FindingKind::PromptLastUuid,
                Some(run),
                format!("Last UUID is a placeholder, but the task's latest run is {run}"),
            ),
            (Some(l), None) => push(
                FindingKind::PromptLastUuid,
                Some(l),
                format!("Last UUID is `{l}`, but the scoreboard has no run of task {task}"),
            ),
            (Some(l), Some(run)) => push(
                FindingKind::PromptLastUuid,
                Some(l),
                format!("Last UUID is `{l}`, but the task's latest run is {run}"),
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders() {
        for p in [
            "TBD",
            "",
            " tbd ",
            "None - first execution",
            "[GENERATE]",
            "-",
        ] {
            assert!(super::is_placeholder(p), "{p}");
        }
        assert!(!super::is_placeholder(
            "3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69"
        ));
    }
}
