//! `harness export --jsonl` and `harness import FILE|-`.

use std::io::{BufRead, BufReader};

use serde::Serialize;

use super::args::{Cli, ExportArgs, ImportArgs};
use super::exit;
use crate::store::{self, Fate, Store};

pub fn export(cli: &Cli, args: &ExportArgs) -> anyhow::Result<u8> {
    // One format: `--jsonl` says so explicitly and is also the default.
    let _ = args.jsonl;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    store::export(&cli.db, args.task.as_deref(), &mut out)?;
    Ok(exit::SUCCESS)
}

/// What `--json` prints.
#[derive(Debug, Default, Serialize)]
struct Summary {
    imported: usize,
    duplicates: usize,
    restored_files: usize,
    conflicts: Vec<Conflict>,
}

#[derive(Debug, Serialize)]
struct Conflict {
    line: usize,
    uuid: String,
    why: String,
}

pub fn import(cli: &Cli, args: &ImportArgs) -> anyhow::Result<u8> {
    let name = args.file.display().to_string();
    let entries = if name == "-" {
        store::read_stream("<stdin>", std::io::stdin().lock())?
    } else {
        store::read_stream(&name, open(&args.file)?)?
    };
    // Both places a run lands must take it before either is touched.
    crate::cycle::writable_dir(&cli.runs_dir)?;
    let mut store = Store::open_writable(&cli.db)?;
    let mut summary = Summary::default();
    for e in &entries {
        let outcome = store.import_entry(&cli.runs_dir, e)?;
        let uuid = &e.data.run.uuid;
        match outcome {
            Fate::Imported => {
                summary.imported += 1;
                line(
                    cli,
                    &format!(
                        "imported {uuid}  {} v{}",
                        e.data.task.name, e.data.version.number
                    ),
                );
            }
            Fate::Duplicate { restored_file } => {
                summary.duplicates += 1;
                let note = if restored_file {
                    summary.restored_files += 1;
                    " (its missing run file restored)"
                } else {
                    ""
                };
                line(
                    cli,
                    &format!("skipped  {uuid}  already in the scoreboard{note}"),
                );
            }
            Fate::Conflict { why } => {
                line(cli, &format!("conflict {uuid}  line {}: {why}", e.line));
                summary.conflicts.push(Conflict {
                    line: e.line,
                    uuid: uuid.clone(),
                    why,
                });
            }
        }
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} imported, {} already present, {} conflict(s) into {}",
            summary.imported,
            summary.duplicates,
            summary.conflicts.len(),
            cli.db.display()
        );
    }
    Ok(if summary.conflicts.is_empty() {
        exit::SUCCESS
    } else {
        exit::RUN_FAILED
    })
}

fn open(path: &std::path::Path) -> anyhow::Result<impl BufRead> {
    let file = std::fs::File::open(path).map_err(|source| store::TransferError::Read {
        name: path.display().to_string(),
        source,
    })?;
    Ok(BufReader::new(file))
}

/// One line per run as it lands (stdout is line-buffered: a killed import has printed
/// exactly the runs it committed, or fewer).
fn line(cli: &Cli, text: &str) {
    if !cli.json {
        println!("{text}");
    }
}
