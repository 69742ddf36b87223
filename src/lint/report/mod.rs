//! A lint run as the tools that consume it want it: terminal lines, a versioned JSON
//! wrapper, SARIF 2.1.0, GitHub workflow annotations, JUnit XML. Rendering only: every
//! format is a pure function of a [`Report`]; `--rules` is a table of the catalog.

mod github;
mod human;
mod json;
mod junit;
mod rules;
mod sarif;

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::{Finding, Level};
use super::fix::Fix;

pub use github::github;
pub use human::human;
pub use json::json;
pub use junit::junit;
pub use rules::rules_table;
pub use sarif::sarif;

/// The tool name every format reports.
pub const TOOL: &str = "harness-lint";
/// The version of the JSON wrapper's shape.
pub const JSON_VERSION: u32 = 1;

/// One linted file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file as named on the command line (a relative path stays relative).
    pub path: String,
    pub findings: Vec<Finding>,
    /// By finding fingerprint, the fix `--fix` would make.
    pub fixes: BTreeMap<String, Fix>,
    /// The original text, for formats that show positions of fixes.
    pub text: String,
}

/// A file that could not be linted: unreadable, not YAML, not a compose file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl LoadError {
    /// The message without the `file:line:column: ` it may start with, for formats that
    /// give the position their own way.
    pub fn detail(&self) -> &str {
        let Some(rest) = self.message.strip_prefix(self.file.as_str()) else {
            return &self.message;
        };
        let rest = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
        rest.trim_start()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub errors: Vec<LoadError>,
}

impl Report {
    pub fn count(&self, level: Level) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.findings)
            .filter(|f| f.level == level)
            .count()
    }

    pub fn findings(&self) -> impl Iterator<Item = (&FileReport, &Finding)> {
        self.files
            .iter()
            .flat_map(|file| file.findings.iter().map(move |f| (file, f)))
    }
}

/// `line:column` of a byte offset, both 1-based, the column in characters.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
pub(crate) mod tests;
