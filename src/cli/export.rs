//! `harness export --jsonl` and `harness import FILE|-`.

use super::args::{Cli, ExportArgs, ImportArgs};
use super::error::ExpectedError;
use super::exit;
use crate::store::{self, Entry, Fate, Store};

pub fn export(cli: &Cli, args: &ExportArgs) -> Result<u8, ExpectedError> {
    // One format: `--jsonl` says so explicitly and is also the default.
    let _ = args.jsonl;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    store::export(&cli.db, args.only.task.as_deref(), &mut out)?;
    Ok(exit::SUCCESS)
}

pub fn import(cli: &Cli, args: &ImportArgs) -> Result<u8, ExpectedError> {
    let entries = if args.file.as_os_str() == "-" {
        store::read_stream("<stdin>", std::io::stdin().lock())?
    } else {
        store::read_file(&args.file)?
    };
    // Both places a run lands must take it before either is touched.
    crate::cycle::writable_dir(&cli.runs_dir)?;
    let mut store = Store::open_writable(&cli.db)?;
    let mut landed = |e: &Entry, fate: &Fate| {
        if !cli.json {
            println!("{}", line(e, fate));
        }
    };
    let summary = store.import_all(&cli.runs_dir, &entries, &mut landed)?;
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

/// One line per run as it lands (stdout is line-buffered: a killed import has printed
/// exactly the runs it committed, or fewer).
fn line(e: &Entry, fate: &Fate) -> String {
    let uuid = &e.data.run.uuid;
    match fate {
        Fate::Imported => format!(
            "imported {uuid}  {} v{}",
            e.data.task.name, e.data.version.number
        ),
        Fate::Duplicate { restored_file } => {
            let note = if *restored_file {
                " (its missing run file restored)"
            } else {
                ""
            };
            format!("skipped  {uuid}  already in the scoreboard{note}")
        }
        Fate::Conflict { why } => format!("conflict {uuid}  line {}: {why}", e.line),
    }
}
