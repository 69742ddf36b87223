//! `harness scoreboard`.

use super::args::{Cli, ScoreboardArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::print;
use crate::score;
use crate::store::Store;

pub fn show(cli: &Cli, args: &ScoreboardArgs) -> Result<u8, ExpectedError> {
    args.only.check(&cli.db)?;
    let store = Store::open(&cli.db)?;
    let tallies = store.tallies(args.only.task.as_deref(), args.since.as_deref())?;
    let rows = score::standings(&tallies, args.bar.min_confidence);
    print(cli.json, &rows, score::table(&rows))?;
    Ok(exit::SUCCESS)
}
