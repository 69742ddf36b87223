//! The Evolution History table: a GitHub-flavoured markdown table with four
//! columns (Version | Change & Reason | Result | UUID) under the
//! `**Evolution History**` line.

use std::ops::Range;
use std::path::Path;

use super::error::{TableProblem, TaskError};
use super::lines::{self, Line};

const COLUMNS: usize = 4;

/// One row of the evolution table; cell text is unescaped (`\|` reads as `|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub version: String,
    pub change: String,
    pub result: String,
    pub uuid: String,
}

impl HistoryRow {
    pub fn new(
        version: impl Into<String>,
        change: impl Into<String>,
        result: impl Into<String>,
        uuid: impl Into<String>,
    ) -> Self {
        HistoryRow {
            version: version.into(),
            change: change.into(),
            result: result.into(),
            uuid: uuid.into(),
        }
    }

    /// The row as it reads back after being written (single-line, trimmed).
    pub(crate) fn cleaned(&self) -> HistoryRow {
        HistoryRow::new(
            clean_cell(&self.version),
            clean_cell(&self.change),
            clean_cell(&self.result),
            clean_cell(&self.uuid),
        )
    }

    /// The seed's placeholder row for a version that has not run yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.result.eq_ignore_ascii_case("TBD") && self.uuid.eq_ignore_ascii_case("TBD")
    }

    fn from_cells(cells: Vec<String>) -> Option<HistoryRow> {
        let [version, change, result, uuid]: [String; COLUMNS] = cells.try_into().ok()?;
        Some(HistoryRow {
            version,
            change,
            result,
            uuid,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub rows: Vec<HistoryRow>,
    /// Content byte ranges of the data rows, parallel to `rows`.
    pub row_ranges: Vec<Range<usize>>,
    /// End of the last row's (or the separator's) content: a new row is
    /// inserted here, preceded by `eol`, so the old terminator ends the new row.
    pub insert_at: usize,
    pub indent: String,
    pub eol: String,
}

pub(crate) fn parse(
    path: &Path,
    lines: &[Line<'_>],
    fenced: &[bool],
    label_line: usize,
) -> Result<Table, TaskError> {
    let broken = |line: usize, problem| TaskError::Table {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let is_row = |l: &Line<'_>| {
        !fenced.get(l.index).copied().unwrap_or(false)
            && l.content.trim_start_matches([' ', '\t']).starts_with('|')
    };
    let mut rest = lines
        .iter()
        .skip(label_line + 1)
        .skip_while(|l| l.is_blank());

    let header = rest
        .next()
        .filter(|l| is_row(l))
        .ok_or_else(|| broken(label_line + 2, TableProblem::MissingHeader))?;
    let header_cells = split_cells(header.content).map_or(0, |c| c.len());
    if header_cells != COLUMNS {
        return Err(broken(
            header.number(),
            TableProblem::HeaderCells(header_cells),
        ));
    }

    let separator = rest
        .next()
        .filter(|l| is_row(l))
        .ok_or_else(|| broken(header.number() + 1, TableProblem::MissingSeparator))?;
    if !is_separator(separator.content) {
        return Err(broken(separator.number(), TableProblem::BadSeparator));
    }

    let mut table = Table {
        rows: Vec::new(),
        row_ranges: Vec::new(),
        insert_at: separator.content_end(),
        indent: lines::indentation(separator.content).to_string(),
        eol: eol_or_default(separator, lines),
    };
    for line in rest.take_while(|l| is_row(l)) {
        let cells = split_cells(line.content).unwrap_or_default();
        let count = cells.len();
        let row = HistoryRow::from_cells(cells)
            .ok_or_else(|| broken(line.number(), TableProblem::RowCells(count)))?;
        table.rows.push(row);
        table.row_ranges.push(line.start..line.content_end());
        table.insert_at = line.content_end();
        table.indent = lines::indentation(line.content).to_string();
        table.eol = eol_or_default(line, lines);
    }
    Ok(table)
}

/// `| a | b |` written with the table's indentation. Cells are cleaned so the
/// row always stays one line with exactly four cells.
pub(crate) fn format_row(indent: &str, row: &HistoryRow) -> String {
    let cells = [&row.version, &row.change, &row.result, &row.uuid].map(|c| escape(&clean_cell(c)));
    format!("{indent}| {} |", cells.join(" | "))
}

/// Line breaks and other control characters would split the row; they become
/// spaces.
pub(crate) fn clean_cell(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Cells of a table row, or `None` if the line is not one. As in GFM, a pipe
/// preceded by a backslash is cell text, and the trailing pipe is optional.
pub(crate) fn split_cells(content: &str) -> Option<Vec<String>> {
    let row = content.trim_matches([' ', '\t']);
    if !row.starts_with('|') {
        return None;
    }
    let mut cuts = Vec::new();
    let mut prev = None;
    for (i, c) in row.char_indices() {
        if c == '|' && prev != Some('\\') {
            cuts.push(i);
        }
        prev = Some(c);
    }
    if cuts.last().is_some_and(|&last| last + 1 < row.len()) {
        cuts.push(row.len());
    }
    let cells = cuts
        .windows(2)
        .map(|w| row[w[0] + 1..w[1]].trim().replace("\\|", "|"))
        .collect();
    Some(cells)
}

fn is_separator(content: &str) -> bool {
    split_cells(content).is_some_and(|cells| {
        cells.len() == COLUMNS
            && cells.iter().all(|c| {
                let dashes = c.strip_prefix(':').unwrap_or(c);
                let dashes = dashes.strip_suffix(':').unwrap_or(dashes);
                !dashes.is_empty() && dashes.chars().all(|ch| ch == '-')
            })
    })
}

fn eol_or_default(line: &Line<'_>, all: &[Line<'_>]) -> String {
    match line.eol {
        "" => lines::dominant_eol(all).to_string(),
        eol => eol.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cells_with_escapes_and_optional_trailing_pipe() {
        assert_eq!(
            split_cells("  | v1 | a \\| b | TBD | TBD |"),
            Some(vec![
                "v1".into(),
                "a | b".into(),
                "TBD".into(),
                "TBD".into()
            ])
        );
        assert_eq!(split_cells("| a | b"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(split_cells("| a \\|"), Some(vec!["a |".into()]));
        assert_eq!(split_cells("|"), Some(vec![]));
        assert_eq!(split_cells("a | b"), None);
    }

    #[test]
    fn escaped_cells_round_trip() {
        for text in [
            "a | b",
            "a \\| b",
            "ends with \\",
            "\\",
            "||",
            "multi\nline\r\ntext",
            "  pad  ",
        ] {
            let row = HistoryRow::new("v2", text, "✅ Success", "u");
            let line = format_row("  ", &row);
            assert!(!line.contains('\n'), "{line}");
            let cells = split_cells(&line).expect("row");
            assert_eq!(HistoryRow::from_cells(cells), Some(row.cleaned()), "{line}");
        }
    }

    #[test]
    fn separator_shapes() {
        assert!(is_separator(
            "| :------ | :-------------- | :----- | :--- |"
        ));
        assert!(is_separator("|---|:-:|--:|-|"));
        assert!(!is_separator("| --- | --- | --- |"));
        assert!(!is_separator("| v1 | x | y | z |"));
        assert!(!is_separator("| : | --- | --- | --- |"));
    }
}
