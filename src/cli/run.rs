//! `harness run`: arguments → one run of the task's current version → lines, exit code.

use std::time::Duration;

use super::args::{Cli, RunArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::Reporter;
use crate::cycle::{self, Context, Ended, Event, RunOptions, TaskFile};
use crate::project::Project;
use crate::run::RunId;
use crate::run::record::RunStatus;

pub async fn run(cli: &Cli, args: &RunArgs) -> Result<u8, ExpectedError> {
    // The UUID exists before anything else happens, and is the first thing printed.
    let uuid = RunId::fresh(&cli.runs_dir).uuid();
    let mut reporter = Reporter::new(cli.json);
    reporter.cycle(Event::Run(uuid));
    let (task, options) = preflight(cli, args)?;
    let mut ctx = Context::open(&cli.runs_dir, &cli.db, args.reaper.options()).await?;
    let task = task.register(&mut ctx.store)?;
    let ended = cycle::execute(&mut ctx, &task, &options, uuid, &mut |e| reporter.cycle(e)).await?;
    reporter.cycle(Event::Fault(&ended.recorded.record));
    cycle::write_junit(
        args.junit.as_deref(),
        std::slice::from_ref(&ended.recorded.record),
    )?;
    if cli.json {
        print!("{}", ended.recorded.record.to_json());
    }
    Ok(exit_code(&ended))
}

/// 0 passed, 1 a step failed (or a partial run left a step unpassed), 2 the harness's
/// own fault, 130/143 interrupted.
fn exit_code(ended: &Ended) -> u8 {
    let record = &ended.recorded.record;
    match (ended.signal(), record.status()) {
        (Some(code), _) => code,
        (None, RunStatus::Success) => exit::SUCCESS,
        (None, RunStatus::Partial) if record.steps.iter().all(|s| s.held()) => exit::SUCCESS,
        (None, RunStatus::Error | RunStatus::Interrupted) => exit::USAGE,
        (None, _) => exit::RUN_FAILED,
    }
}

/// Reads and checks every input without touching the disk or the engine, so bad input
/// fails with exit 2 before anything is created.
pub(super) fn preflight(
    cli: &Cli,
    args: &RunArgs,
) -> Result<(TaskFile, RunOptions), ExpectedError> {
    let steps = cycle::select_steps(&args.steps, &args.skip)?;
    let project = Project::here()?;
    let path = project.task(args.task.as_deref())?;
    let task = TaskFile::load(&path, args.config.as_deref(), project.protocol.as_deref())?;
    task.fits(args.port_range)?;
    let options = RunOptions {
        runs_dir: cli.runs_dir.clone(),
        steps,
        timeout: Duration::from_secs(args.timeout),
        stop_timeout: Duration::from_secs(args.stop_timeout),
        instances: args.instances.map(|n| n as usize),
        port_range: args.port_range,
        min_confidence: args.bar.min_confidence,
    };
    Ok((task, options))
}
