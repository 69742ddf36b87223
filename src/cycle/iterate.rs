//! The loop: run a version, learn from its failure, write the next version, until one
//! graduates — and `propose`, the learning step alone.

use super::{Context, CycleError, Event, LoopOptions, RunOptions, Task, Version, execute};
use crate::propose::{
    self, CatalogProposer, Gates, HistoryEntry, Outcome, Proposal, ProposerContext,
    ProposerOptions, Sources,
};
use crate::redact::Redactor;
use crate::run::record::{RunRecord, RunStatus};
use crate::run::{RunDir, RunId};
use crate::score;

/// Why the loop stopped; the CLI gives each its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// A version graduated and was written to `graduate_to`.
    Graduated,
    /// Its runs ran without a failure and without graduating yet.
    Unfinished,
    Interrupted(u8),
    /// The harness could not judge a run (its own fault): stopped, charged nothing.
    HarnessFault,
    /// A version failed and no mutation answers it.
    NoProposal,
    /// A version failed; its successor was proposed but not written (no `--apply`).
    ProposeOnly,
    MaxIterations,
    /// `--max-runs` runs were made without a version graduating.
    MaxRuns,
}

/// How one version's runs ended.
enum VersionEnd {
    Graduated,
    Failed(Box<RunRecord>),
    Unfinished,
    Interrupted(u8),
    HarnessFault,
    MaxRuns,
}

/// Runs the task until a version graduates or the loop has to stop; every run's record
/// is pushed onto `records`, also when an error ends the loop.
pub async fn iterate(
    ctx: &mut Context,
    task: &mut Task,
    run: &RunOptions,
    options: &LoopOptions,
    records: &mut Vec<RunRecord>,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<LoopEnd, CycleError> {
    let mut mutations = 0;
    // Bounded: each pass either ends the loop or applies one mutation, and mutations
    // stop at --max-iterations; --until-graduated re-runs an unfinished version, and
    // every run counts against --max-runs.
    loop {
        let failed = match run_version(ctx, task, run, options, records, on).await? {
            VersionEnd::Interrupted(code) => return Ok(LoopEnd::Interrupted(code)),
            VersionEnd::MaxRuns => {
                on(Event::MaxRuns(options.max_runs));
                return Ok(LoopEnd::MaxRuns);
            }
            VersionEnd::HarnessFault => return Ok(LoopEnd::HarnessFault),
            VersionEnd::Graduated => {
                promote(ctx, task, run, options, on)?;
                return Ok(LoopEnd::Graduated);
            }
            VersionEnd::Unfinished if options.until_graduated => continue,
            VersionEnd::Unfinished => return Ok(LoopEnd::Unfinished),
            VersionEnd::Failed(run) => run,
        };
        let outcome = next_version(ctx, task, &run.runs_dir, &failed, &options.proposer).await?;
        on(Event::Proposed {
            version: task.current(),
            outcome: &outcome,
        });
        let Some(next) = outcome.proposal else {
            return Ok(LoopEnd::NoProposal);
        };
        // A signal while proposing: stop before writing the next version.
        if let Some(code) = ctx.interrupt.received() {
            return Ok(LoopEnd::Interrupted(code));
        }
        if !options.apply {
            on(Event::ProposeOnly);
            return Ok(LoopEnd::ProposeOnly);
        }
        apply(ctx, task, &next, on)?;
        mutations += 1;
        if mutations >= options.max_iterations {
            on(Event::MaxIterations(options.max_iterations));
            return Ok(LoopEnd::MaxIterations);
        }
    }
}

/// Runs the task's current version until it graduates, fails, or used its runs.
async fn run_version(
    ctx: &mut Context,
    task: &Task,
    run: &RunOptions,
    options: &LoopOptions,
    records: &mut Vec<RunRecord>,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<VersionEnd, CycleError> {
    for _ in 0..options.runs_per_version.max(1) {
        if let Some(code) = ctx.interrupt.received() {
            return Ok(VersionEnd::Interrupted(code));
        }
        if records.len() >= options.max_runs as usize {
            return Ok(VersionEnd::MaxRuns);
        }
        let uuid = RunId::fresh(&run.runs_dir).uuid();
        on(Event::Run(uuid));
        let ended = execute(ctx, task, run, uuid, on).await?;
        let record = ended.recorded.record;
        records.push(record.clone());
        if let Some(code) = ended.interrupted {
            return Ok(VersionEnd::Interrupted(code));
        }
        if record.status() == RunStatus::Error {
            on(Event::Fault(&record));
            return Ok(VersionEnd::HarnessFault);
        }
        // Judged after every recorded run, a failure included: 20:1 then 20:2 still stands.
        let (s, f) = ended.recorded.tally;
        if score::Verdict::judge(s, f, run.min_confidence).graduated {
            return Ok(VersionEnd::Graduated);
        }
        if record.steps.iter().any(|s| s.failed()) {
            return Ok(VersionEnd::Failed(Box::new(record)));
        }
    }
    Ok(VersionEnd::Unfinished)
}

/// Proposes the next version from a failed run and records every attempt against the
/// version that failed.
async fn next_version(
    ctx: &mut Context,
    task: &Task,
    runs_dir: &std::path::Path,
    failed: &RunRecord,
    options: &ProposerOptions,
) -> Result<Outcome, CycleError> {
    let version = task.current();
    let outcome = proposal(ctx, task, runs_dir, failed, options).await?;
    for attempt in &outcome.attempts {
        ctx.store.record_attempt(
            version.row.id,
            &attempt.mutation,
            attempt.accepted,
            &attempt.reason,
        )?;
    }
    Ok(outcome)
}

/// The next version from a failed run, with every text that will be shown or recorded
/// (reasons, Compose's stderr, the diff) redacted; the proposed file itself is the real
/// config, which the task gets.
async fn proposal(
    ctx: &Context,
    task: &Task,
    runs_dir: &std::path::Path,
    failed: &RunRecord,
    options: &ProposerOptions,
) -> Result<Outcome, CycleError> {
    let version = task.current();
    let current = &version.file;
    let facts = propose::facts(&ctx.docker, current, Some(failed), task.spec().file()).await;
    let scratch = RunDir::new(runs_dir, failed.id()).proposals();
    let redactor = Redactor::from_env().with_config(current);
    // Only what the failing steps found may justify dropping something the author wrote.
    let failing: Vec<_> = failed
        .steps
        .iter()
        .filter(|s| s.failed())
        .map(|s| &s.evidence)
        .collect();
    let evidence = serde_json::to_string(&failing).unwrap_or_default();
    let gates = Gates::new(
        current,
        &ctx.compose,
        &scratch,
        &redactor,
        ctx.store.ran_hashes(task.id())?,
        evidence,
    );
    let wanted = propose::wanted(failed, gates.findings());
    let catalog = CatalogProposer::new(current.clone(), facts, wanted);
    let (lineup, left_out) = options.lineup(catalog);
    let mut context = ProposerContext::build(&context_sources(task, failed), &redactor);
    let mut outcome = propose::propose(&lineup, &mut context, &gates, options.attempts).await;
    outcome.tried.extend(left_out);
    for attempt in &mut outcome.attempts {
        attempt.reason = redactor.text(&attempt.reason);
    }
    if let Some(p) = &mut outcome.proposal {
        p.mutation.reason = redactor.text(&p.mutation.reason);
        p.diff = crate::mutate::diff(
            &redactor.config(current).text,
            &redactor.config(&p.file).text,
            "current",
            "proposed",
        );
    }
    Ok(outcome)
}

/// Where a proposer's context comes from: the prompt, the version, its failed run.
fn context_sources<'a>(task: &'a Task, failed: &'a RunRecord) -> Sources<'a> {
    let version = task.current();
    Sources {
        task: task.name(),
        prompt_text: task.prompt().text(),
        version: version.label(),
        current: &version.file,
        failed,
        history: task
            .prompt()
            .history()
            .iter()
            .map(|h| HistoryEntry {
                version: h.version.clone(),
                change: h.change.clone(),
                result: h.result.clone(),
            })
            .collect(),
    }
}

/// Registers the proposal as version N+1 and writes it into the task's yaml block.
fn apply(
    ctx: &mut Context,
    task: &mut Task,
    next: &Proposal,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<(), CycleError> {
    let parent = task.own().clone();
    let redactor = Redactor::from_env().with_config(&next.file);
    let reason = redactor.text(&format!(
        "{}: {} (answers {})",
        next.mutation.id, next.mutation.reason, next.answers
    ));
    let version = super::task::register(
        &mut ctx.store,
        task.id(),
        &redactor,
        next.file.clone(),
        Some(parent.row.id),
        next.mutation.id,
        &reason,
    )?;
    let provenance = serde_json::to_string(&next.provenance).unwrap_or_default();
    ctx.store.record_provenance(
        version.row.id,
        &next.provenance.proposer,
        &redactor.text(&provenance),
    )?;
    // The task keeps the author's config as it deploys; only records are redacted.
    task.replace_config(&mut ctx.store, &next.file.text)?;
    on(Event::Applied {
        parent: &parent,
        version: &version.row,
        task: task.path(),
    });
    Ok(())
}

/// Writes the graduated config where the project keeps its good one, and says so.
fn promote(
    ctx: &Context,
    task: &Task,
    run: &RunOptions,
    options: &LoopOptions,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<(), CycleError> {
    let version = task.current();
    let (s, f) = ctx.store.version_tally(version.row.id)?;
    let verdict = score::Verdict::judge(s, f, run.min_confidence);
    let header = format!(
        "# Graduated: {} of task {}: {verdict}; {} by the harness\n",
        version.label(),
        task.name(),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let recorded = Redactor::from_env().config(&version.file);
    std::fs::write(&options.graduate_to, header + &recorded.text).map_err(|source| {
        CycleError::Graduate {
            path: options.graduate_to.clone(),
            source,
        }
    })?;
    on(Event::Graduated {
        version,
        verdict: &verdict,
        to: &options.graduate_to,
    });
    Ok(())
}

/// What `harness propose` found for the task's current version.
pub enum Proposed {
    /// The version has no failed run to learn from.
    NothingFailed(Version),
    Outcome(Version, Box<Outcome>),
}

/// Proposes the next version from the current version's last failed run, as recorded.
pub async fn propose(
    ctx: &mut Context,
    task: &Task,
    runs_dir: &std::path::Path,
    options: &ProposerOptions,
) -> Result<Proposed, CycleError> {
    let version = task.current().clone();
    let Some(json) = ctx.store.last_failed_run(version.row.id)? else {
        return Ok(Proposed::NothingFailed(version));
    };
    let failed: RunRecord = serde_json::from_str(&json).map_err(CycleError::RunJson)?;
    let outcome = next_version(ctx, task, runs_dir, &failed, options).await?;
    Ok(Proposed::Outcome(version, Box::new(outcome)))
}
