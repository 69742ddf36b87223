use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use super::args::{Cli, ScoreboardArgs};
use super::exit;
use crate::score;
use crate::store::{Store, VersionTally};

pub fn show(cli: &Cli, args: &ScoreboardArgs) -> anyhow::Result<u8> {
    let store = Store::open(&cli.db)?;
    let tallies = store.tallies(args.task.as_deref(), args.since.as_deref())?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&json_rows(&tallies))?);
    } else {
        println!("{}", table(&tallies));
    }
    Ok(exit::SUCCESS)
}

pub fn json_rows(tallies: &[VersionTally]) -> serde_json::Value {
    tallies
        .iter()
        .map(|t| {
            json!({"task": t.task, "version": format!("v{}", t.version), "runs": t.successes + t.failures,
                "successes": t.successes, "failures": t.failures,
                "ratio": score::ratio(t.successes, t.failures),
                "wilson_lower": score::wilson_lower(t.successes, t.failures),
                "graduated": score::graduated(t.successes, t.failures), "last_run": t.last_run,
                "signatures": t.signatures.iter().map(|(s, n)| json!({"signature": s, "count": n})).collect::<Vec<_>>()})
        })
        .collect()
}

pub fn table(tallies: &[VersionTally]) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "task",
        "version",
        "runs",
        "✓",
        "✗",
        "ratio",
        "wilson",
        "graduated",
        "last run",
        "top failures",
    ]);
    for t in tallies {
        table.add_row([
            t.task.clone(),
            format!("v{}", t.version),
            (t.successes + t.failures).to_string(),
            t.successes.to_string(),
            t.failures.to_string(),
            score::ratio(t.successes, t.failures),
            format!("{:.2}", score::wilson_lower(t.successes, t.failures)),
            if score::graduated(t.successes, t.failures) {
                "yes"
            } else {
                "no"
            }
            .to_string(),
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
