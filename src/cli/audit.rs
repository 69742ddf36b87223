//! `harness audit` and `harness show`.

use super::args::{AuditArgs, Cli, ShowArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::print;
use crate::audit::{self, AuditOptions};

pub fn audit(cli: &Cli, args: &AuditArgs) -> Result<u8, ExpectedError> {
    args.only.check(&cli.db)?;
    // No --prompt: the prompt file each task was recorded from.
    let options = AuditOptions {
        task: args.only.task.clone(),
        runs_dir: cli.runs_dir.clone(),
        prompts: args.prompts.clone(),
        cache: (!args.full).then(|| audit::audit_cache_path(&cli.db)),
    };
    let report = audit::audit(&cli.db, &options)?;
    print(cli.json, &report, &report)?;
    Ok(if report.is_clean() {
        exit::SUCCESS
    } else {
        exit::RUN_FAILED
    })
}

pub fn show(cli: &Cli, args: &ShowArgs) -> Result<u8, ExpectedError> {
    let view = audit::show(&cli.db, &cli.runs_dir, &args.uuid)?;
    print(cli.json, &view, &view)?;
    Ok(exit::SUCCESS)
}
