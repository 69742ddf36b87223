//! `Prompt`: a parsed task prompt plus the edits the harness makes to it.

use std::path::{Path, PathBuf};

use super::edit::Edits;
use super::error::TaskError;
use super::fence::{self, ConfigBlock};
use super::fields::{self, Metrics, MetricsLayout};
use super::history::{self, HistoryRow, Table};
use super::lines;
use super::save;

/// A task prompt as loaded. Immutable: edits return the new text, which the
/// caller saves with [`Prompt::save`] (and can re-parse to continue).
#[derive(Debug, Clone)]
pub struct Prompt {
    path: PathBuf,
    name: String,
    text: String,
    metrics: Metrics,
    config: ConfigBlock,
    protocol: Option<ConfigBlock>,
    fields: MetricsLayout,
    table: Table,
}

/// What one finished run changes in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunUpdate {
    pub successes: u64,
    pub failures: u64,
    /// Written verbatim (line breaks become spaces).
    pub last_updated: String,
    /// The run's UUID; must parse as a UUID and is written in canonical
    /// hyphenated lower-case form to `**Last UUID**` and `**Execution UUID**`.
    pub last_uuid: String,
    /// Replaces the last row if it is this version's `TBD | TBD` placeholder,
    /// otherwise appended.
    pub row: HistoryRow,
}

impl Prompt {
    pub fn load(path: &Path) -> Result<Prompt, TaskError> {
        let bytes = crate::user_file::read(path).map_err(|source| TaskError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            TaskError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                offset,
            }
        })?;
        Prompt::parse(path.to_path_buf(), text)
    }

    /// Validates everything the harness reads or edits; `path` is used for
    /// the task name and in error messages only.
    pub fn parse(path: PathBuf, text: String) -> Result<Prompt, TaskError> {
        let name = task_name(&path)?;
        let lines = lines::split(&text);
        let fences = fence::scan(&path, &lines)?;
        let config = fence::config_block(&path, &lines, &fences)?;
        let protocol = fence::protocol_block(&path, &lines, &fences)?;
        let (metrics, fields) = fields::parse(&path, &lines, &fences.fenced)?;
        let table = history::parse(&path, &lines, &fences.fenced, fields.history_line)?;
        Ok(Prompt {
            path,
            name,
            text,
            metrics,
            config,
            protocol,
            fields,
            table,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file stem, e.g. `web_stack`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Content of the single ```yaml block, fences excluded, line endings as
    /// in the file.
    pub fn config_yaml(&self) -> &str {
        self.text
            .get(self.config.content.clone())
            .unwrap_or_default()
    }

    /// 1-based prompt line of the first config line, to map YAML error
    /// positions back into the prompt (`config_line() + yaml_line - 1`).
    pub fn config_line(&self) -> usize {
        self.config.first_line
    }

    /// Content of the ```harness-protocol block and the 1-based prompt line of its first
    /// content line; `None` when the task declares no protocol.
    pub fn protocol_block(&self) -> Option<(&str, usize)> {
        let block = self.protocol.as_ref()?;
        Some((
            self.text.get(block.content.clone()).unwrap_or_default(),
            block.first_line,
        ))
    }

    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    pub fn history(&self) -> &[HistoryRow] {
        &self.table.rows
    }

    /// The new full text after recording a run. Only the ratio numbers, the
    /// Last Updated / Last UUID / Execution UUID values and one table row
    /// change; the result is re-parsed and checked before it is returned.
    pub fn record_run(&self, update: &RunUpdate) -> Result<String, TaskError> {
        let uuid = uuid::Uuid::try_parse(update.last_uuid.trim())
            .map_err(|_| TaskError::InvalidUuid {
                path: self.path.clone(),
                value: update.last_uuid.clone(),
            })?
            .to_string();
        let mut edits = Edits::default();
        edits.replace(
            self.fields.ratio.clone(),
            format!("{}:{}", update.successes, update.failures),
        );
        let updated = history::clean_cell(&update.last_updated);
        let slot = &self.fields.last_updated;
        edits.replace(slot.range.clone(), slot.render(&updated));
        for slot in [
            Some(&self.fields.last_uuid),
            self.fields.execution_uuid.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            edits.replace(slot.range.clone(), slot.render(&uuid));
        }
        let replaces = self.replaces_last_row(&update.row);
        self.edit_history(&mut edits, &update.row, replaces);
        let text = edits.apply(&self.text).map_err(|d| self.edit_check(d))?;

        let expected = Metrics {
            successes: update.successes,
            failures: update.failures,
            last_updated: updated,
            last_uuid: Some(uuid),
        };
        let mut rows = self.table.rows.clone();
        if replaces {
            rows.pop();
        }
        rows.push(update.row.cleaned());
        self.check_reparse(&text, &expected, &rows, self.config_yaml())?;
        Ok(text)
    }

    /// The new full text with the config block's content replaced by `yaml`
    /// (its line endings converted to the file's).
    pub fn replace_config(&self, yaml: &str) -> Result<String, TaskError> {
        let block = &self.config;
        let mut content = String::with_capacity(yaml.len() + 64);
        for (i, line) in yaml.lines().enumerate() {
            if fence::closes(line, block.marker, block.len) {
                return Err(TaskError::ConfigClosesFence {
                    path: self.path.clone(),
                    line: block.first_line + i,
                    found: line.to_string(),
                });
            }
            content.push_str(line);
            content.push_str(&block.eol);
        }
        let mut edits = Edits::default();
        edits.replace(block.content.clone(), content.clone());
        let text = edits.apply(&self.text).map_err(|d| self.edit_check(d))?;
        self.check_reparse(&text, &self.metrics, &self.table.rows, &content)?;
        Ok(text)
    }

    /// Atomically replaces the file at `path` with `text`, keeping its
    /// permissions (temp file in the same directory, fsync, rename).
    pub fn save(path: &Path, text: &str) -> Result<(), TaskError> {
        save::save(path, text)
    }

    fn replaces_last_row(&self, row: &HistoryRow) -> bool {
        self.table.rows.last().is_some_and(|last| {
            last.is_pending() && last.version == history::clean_cell(&row.version)
        })
    }

    fn edit_history(&self, edits: &mut Edits, row: &HistoryRow, replaces: bool) {
        let table = &self.table;
        let line = history::format_row(&table.indent, row);
        match table.row_ranges.last() {
            Some(range) if replaces => edits.replace(range.clone(), line),
            _ => edits.insert(table.insert_at, format!("{}{line}", table.eol)),
        }
    }

    /// Guards the user's file against a layout bug: the edit must read back
    /// exactly as intended before anyone saves it.
    fn check_reparse(
        &self,
        text: &str,
        metrics: &Metrics,
        rows: &[HistoryRow],
        yaml: &str,
    ) -> Result<(), TaskError> {
        let after = Prompt::parse(self.path.clone(), text.to_string())
            .map_err(|e| self.edit_check(format!("re-parse failed: {e}")))?;
        if after.metrics != *metrics {
            return Err(self.edit_check(format!("metrics read back as {:?}", after.metrics)));
        }
        if after.table.rows != rows {
            return Err(self.edit_check(format!("history read back as {:?}", after.table.rows)));
        }
        if after.config_yaml() != yaml {
            return Err(self.edit_check("config block changed".to_string()));
        }
        let protocol = |p: &Prompt| p.protocol_block().map(|(text, _)| text.to_string());
        if protocol(&after) != protocol(self) {
            return Err(self.edit_check("protocol block changed".to_string()));
        }
        Ok(())
    }

    fn edit_check(&self, detail: impl ToString) -> TaskError {
        TaskError::EditCheck {
            path: self.path.clone(),
            detail: detail.to_string(),
        }
    }
}

fn task_name(path: &Path) -> Result<String, TaskError> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| TaskError::BadFileName {
            path: path.to_path_buf(),
        })
}
