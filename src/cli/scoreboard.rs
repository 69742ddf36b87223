use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use super::args::{Cli, ScoreboardArgs};
use super::error::ExpectedError;
use super::exit;
use crate::score::{self, Verdict};
use crate::store::{Store, VersionTally};

pub fn show(cli: &Cli, args: &ScoreboardArgs) -> Result<u8, ExpectedError> {
    let store = Store::open(&cli.db)?;
    let tallies = store.tallies(args.task.as_deref(), args.since.as_deref())?;
    if cli.json {
        let rows = json_rows(&tallies, args.min_confidence);
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{}", table(&tallies, args.min_confidence));
    }
    Ok(exit::SUCCESS)
}

fn verdict(t: &VersionTally, min_confidence: Option<f64>) -> Verdict {
    Verdict::judge(t.successes, t.failures, min_confidence)
}

/// `runs` counts only whole-protocol runs judged on the config; `partial` and `errors`
/// (harness faults and interrupts) are shown beside them and never counted.
pub fn json_rows(tallies: &[VersionTally], min_confidence: Option<f64>) -> serde_json::Value {
    tallies
        .iter()
        .map(|t| {
            let v = verdict(t, min_confidence);
            json!({"task": t.task, "version": format!("v{}", t.version), "runs": v.runs,
                "successes": t.successes, "failures": t.failures,
                "partial": t.partial, "errors": t.errors,
                "ratio": score::ratio(t.successes, t.failures),
                "wilson_lower": v.wilson_lower, "min_confidence": min_confidence,
                "graduated": v.graduated, "last_run": t.last_run,
                "signatures": t.signatures.iter().map(|(s, n)| json!({"signature": s, "count": n})).collect::<Vec<_>>()})
        })
        .collect()
}

pub fn table(tallies: &[VersionTally], min_confidence: Option<f64>) -> Table {
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
    for t in tallies {
        let v = verdict(t, min_confidence);
        table.add_row([
            t.task.clone(),
            format!("v{}", t.version),
            v.runs.to_string(),
            t.successes.to_string(),
            t.failures.to_string(),
            t.partial.to_string(),
            t.errors.to_string(),
            score::ratio(t.successes, t.failures),
            format!("{:.2}", v.wilson_lower),
            if v.graduated { "yes" } else { "no" }.to_string(),
            t.last_run.clone().unwrap_or_default(),
            t.signatures
                .iter()
                .take(3)
                .map(|(s, n)| format!("{s}×{n}"))
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    table
}
