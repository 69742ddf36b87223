//! The scoreboard as `harness scoreboard` and `harness iterate` print it.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::Standing;

/// Top failures shown per version.
const TOP_SIGNATURES: usize = 3;

/// One row per version: its counts, ratio, Wilson bound, graduation and top failures.
pub fn table(rows: &[Standing]) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "task",
        "version",
        "runs",
        "✓",
        "✗",
        "partial",
        "error",
        "ratio",
        "wilson",
        "graduated",
        "last run",
        "top failures",
    ]);
    for r in rows {
        table.add_row(row(r));
    }
    table
}

fn row(r: &Standing) -> [String; 12] {
    let top = r.signatures.iter().take(TOP_SIGNATURES);
    let top: Vec<String> = top
        .map(|s| format!("{}×{}", s.signature, s.count))
        .collect();
    [
        r.task.clone(),
        r.version.clone(),
        r.runs.to_string(),
        r.successes.to_string(),
        r.failures.to_string(),
        r.partial.to_string(),
        r.errors.to_string(),
        r.ratio.clone(),
        format!("{:.2}", r.wilson_lower),
        if r.graduated { "yes" } else { "no" }.to_string(),
        r.last_run.clone().unwrap_or_default(),
        top.join(" "),
    ]
}
