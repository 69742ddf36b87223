use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::args::{Cli, ScoreboardArgs};
use super::error::ExpectedError;
use super::exit;
use crate::score::Standing;
use crate::store::{Store, VersionTally};

pub fn show(cli: &Cli, args: &ScoreboardArgs) -> Result<u8, ExpectedError> {
    let store = Store::open(&cli.db)?;
    let tallies = store.tallies(args.only.task.as_deref(), args.since.as_deref())?;
    let rows = standings(&tallies, args.bar.min_confidence);
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{}", table(&rows));
    }
    Ok(exit::SUCCESS)
}

pub fn standings(tallies: &[VersionTally], min_confidence: Option<f64>) -> Vec<Standing> {
    let judge = |t| Standing::judge(t, min_confidence);
    tallies.iter().map(judge).collect()
}

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
        let top = r.signatures.iter().take(3);
        let top: Vec<String> = top
            .map(|s| format!("{}×{}", s.signature, s.count))
            .collect();
        table.add_row([
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
        ]);
    }
    table
}
