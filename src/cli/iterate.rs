//! `harness iterate` and `harness propose`: arguments → the loop → lines, the scoreboard
//! and an exit code.

use super::args::{Cli, IterateArgs, ProposeArgs};
use super::error::ExpectedError;
use super::exit;
use super::output::{Reporter, print};
use super::run::preflight;
use crate::cycle::{
    self, Context, CycleError, IterateLock, LoopEnd, LoopOptions, Proposed, TaskFile,
};
use crate::project::Project;
use crate::score;

pub async fn iterate(cli: &Cli, args: &IterateArgs) -> Result<u8, ExpectedError> {
    let (task, run) = preflight(cli, &args.run)?;
    let graduate_to = Project::here()?.graduate_to(args.graduate_to.as_deref(), task.path());
    let options = LoopOptions {
        runs_per_version: args.runs_per_version,
        parallel: args.parallel,
        until_graduated: args.until_graduated,
        apply: args.apply,
        max_iterations: args.max_iterations,
        max_runs: args.max_runs,
        graduate_to,
        proposer: args.proposer.options(),
    };
    // A proposer that cannot be used is bad input: found before any deploy.
    options.proposer.check().map_err(CycleError::from)?;
    let selected = !args.run.steps.is_empty() || !args.run.skip.is_empty();
    options.check(selected, run.instances)?;
    // Before the engine is touched: a second loop on the task deploys nothing.
    let _lock = IterateLock::take(&cli.db, task.name()).map_err(CycleError::from)?;
    let mut ctx = Context::open(&cli.runs_dir, &cli.db, args.run.reaper.options()).await?;
    let mut task = task.register(&mut ctx.store)?;
    let mut reporter = Reporter::new(cli.json);
    let mut records = Vec::new();
    let end = cycle::iterate(
        &mut ctx,
        &mut task,
        &run,
        &options,
        &mut records,
        &mut |e| reporter.cycle(e),
    )
    .await?;
    let code = match end {
        LoopEnd::Graduated | LoopEnd::Unfinished => exit::SUCCESS,
        LoopEnd::Interrupted(code) => code,
        LoopEnd::HarnessFault => exit::USAGE,
        LoopEnd::NoProposal | LoopEnd::ProposeOnly | LoopEnd::MaxIterations | LoopEnd::MaxRuns => {
            exit::RUN_FAILED
        }
    };
    cycle::write_junit(args.run.junit.as_deref(), &records)?;
    let tallies = ctx.store.tallies(Some(task.name()), None)?;
    let rows = score::standings(&tallies, args.run.bar.min_confidence);
    let doc = serde_json::json!({"runs": records, "scoreboard": rows});
    print(cli.json, &doc, score::table(&rows))?;
    Ok(code)
}

pub async fn propose(cli: &Cli, args: &ProposeArgs) -> Result<u8, ExpectedError> {
    // The task is read first: bad input must leave no scoreboard behind.
    let project = Project::here()?;
    let path = project.task(args.task.as_deref())?;
    let task = TaskFile::load(&path, None, project.protocol.as_deref())?;
    let proposer = args.proposer.options();
    proposer.check().map_err(CycleError::from)?;
    // Proposing deploys nothing: no reaper to look after it.
    let mut ctx = Context::open(&cli.runs_dir, &cli.db, None).await?;
    let task = task.register(&mut ctx.store)?;
    let proposed = cycle::propose(&mut ctx, &task, &cli.runs_dir, &proposer).await?;
    let text = proposed.lines().join("\n");
    let Proposed::Outcome(version, outcome) = &proposed else {
        // Nothing to propose is said in words, even under --json.
        println!("{text}");
        return Ok(exit::SUCCESS);
    };
    print(cli.json, &outcome.document(&version.label()), text)?;
    Ok(if outcome.proposal.is_some() {
        exit::SUCCESS
    } else {
        exit::RUN_FAILED
    })
}
