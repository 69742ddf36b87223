//! `harness export --jsonl` and `harness import FILE|-`.

use super::args::{Cli, ExportArgs, ImportArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::print;
use crate::store::{self, Entry, Fate, Store};

pub fn export(cli: &Cli, args: &ExportArgs) -> Result<u8, ExpectedError> {
    // One format: `--jsonl` says so explicitly and is also the default.
    let _ = args.jsonl;
    args.only.check(&cli.db)?;
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
    // Stdout is line-buffered: a killed import has printed exactly the runs it
    // committed, or fewer.
    let mut landed = |e: &Entry, fate: &Fate| {
        if !cli.json {
            println!("{}", e.landed(fate));
        }
    };
    let summary = store.import_all(&cli.runs_dir, &entries, &mut landed)?;
    print(
        cli.json,
        &summary,
        format!("{summary} into {}", cli.db.display()),
    )?;
    Ok(if summary.conflicts.is_empty() {
        exit::SUCCESS
    } else {
        exit::RUN_FAILED
    })
}
