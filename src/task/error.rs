//! Errors are shown to users as-is, so each one names the file, the place
//! (line where known) and what to do about it.

use std::io;
use std::path::PathBuf;

use super::fence::PROTOCOL_LANG;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{}: cannot read the task prompt: {source} — check that the file exists and is readable, or pass the task's prompt with --task", .path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error("{}:{line}: the task prompt is not valid UTF-8 (first bad byte at offset {offset}) — re-save the file as UTF-8", .path.display())]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
    },

    #[error("{}: cannot save the task prompt: {source} — check that its directory is writable and the disk is not full (the original file was left unchanged)", .path.display())]
    Write { path: PathBuf, source: io::Error },

    #[error("{}: cannot derive a task name from this file name — name the prompt `<task>.md`, e.g. `prompts/web_stack.md`", .path.display())]
    BadFileName { path: PathBuf },

    #[error("{}: no ```yaml block found — the task's candidate compose config must be in exactly one fenced ```yaml block{}", .path.display(), indented_hint(*.indented))]
    NoConfigBlock {
        path: PathBuf,
        /// Line of an indented ```yaml fence, which is deliberately not taken.
        indented: Option<usize>,
    },

    #[error("{}:{line}: second ```yaml block (first at line {first_line}) — keep exactly one candidate config; label examples with another language, e.g. ```text", .path.display())]
    DuplicateConfigBlock {
        path: PathBuf,
        line: usize,
        first_line: usize,
    },

    #[error("{}:{line}: second ```{PROTOCOL_LANG} block (first at line {first_line}) — keep exactly one protocol block; label examples with another language, e.g. ```text", .path.display())]
    DuplicateProtocolBlock {
        path: PathBuf,
        line: usize,
        first_line: usize,
    },

    #[error("{}:{line}: the fenced block `{opener}` opened here is never closed — add a line `{closer}` after its content", .path.display())]
    UnterminatedFence {
        path: PathBuf,
        line: usize,
        opener: String,
        closer: String,
    },

    #[error("{}: missing the `**{field}**` line — add it to the `## 📊 TASK METRICS & HISTORY` section as `{expected}`", .path.display())]
    MissingField {
        path: PathBuf,
        field: &'static str,
        expected: &'static str,
    },

    #[error("{}:{line}: cannot read `**{field}**` from `{found}` — write the line as `{expected}`", .path.display())]
    MalformedField {
        path: PathBuf,
        line: usize,
        field: &'static str,
        expected: &'static str,
        found: String,
    },

    #[error("{}:{line}: broken Evolution History table: {problem}", .path.display())]
    Table {
        path: PathBuf,
        line: usize,
        problem: TableProblem,
    },

    #[error("{}: cannot record the run: Last UUID `{value}` is not a UUID — pass the run's UUID (e.g. `Uuid::new_v4()`)", .path.display())]
    InvalidUuid { path: PathBuf, value: String },

    #[error("{}:{line}: the new config would end the ```yaml block early: its line `{found}` is a closing fence — indent that line or change it", .path.display())]
    ConfigClosesFence {
        path: PathBuf,
        line: usize,
        found: String,
    },

    #[error("{}: internal error: the edited prompt does not read back as written ({detail}) — nothing was saved; please report this as a harness bug", .path.display())]
    EditCheck { path: PathBuf, detail: String },
}

/// What is wrong with the evolution table; kept separate so callers can match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableProblem {
    #[error("expected the header row `{HEADER}` right after the `**Evolution History**` line")]
    MissingHeader,
    #[error("the header row has {0} cells, expected 4: `{HEADER}`")]
    HeaderCells(usize),
    #[error("expected the separator row `{SEPARATOR}` right after the header row")]
    MissingSeparator,
    #[error("the separator row must be 4 cells of dashes, like `{SEPARATOR}`")]
    BadSeparator,
    #[error(
        "this row has {0} cells, expected 4 (Version | Change & Reason | Result | UUID) — write a literal `|` inside a cell as `\\|`"
    )]
    RowCells(usize),
}

pub(crate) const HEADER: &str = "| Version | Change & Reason | Result | UUID |";
pub(crate) const SEPARATOR: &str = "| :------ | :-------------- | :----- | :--- |";

fn indented_hint(line: Option<usize>) -> String {
    match line {
        Some(line) => format!(
            " (the ```yaml fence at line {line} is indented, so it is not taken as the config; start it at the beginning of the line)"
        ),
        None => String::new(),
    }
}
