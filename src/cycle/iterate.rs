//! The loop: run a version, learn from its failure, write the next version, until one
//! graduates — and `propose`, the learning step alone.

use std::cell::RefCell;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use uuid::Uuid;

use super::execute::{self, Ended, Finished};
use super::stop::{Stop, StopSignal, Stopper};
use super::{Context, CycleError, Event, LoopOptions, RunOptions, Runner, Task, Version};
use crate::propose::{
    self, CatalogProposer, Gates, HistoryEntry, Outcome, Proposal, ProposerContext,
    ProposerOptions, Sources,
};
use crate::redact::Redactor;
use crate::run::record::{RunRecord, RunStatus};
use crate::run::recorder::Cut;
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

/// Runs the task's current version until it graduates, fails, or used its runs: up to
/// `parallel` runs at once. Each is recorded the moment it ends, by this one task, so the
/// scoreboard's chain and the prompt's history take the runs one at a time, in the order
/// they ended; each is judged as it is recorded, and the first run that decides the
/// version stops the others.
async fn run_version(
    ctx: &mut Context,
    task: &Task,
    run: &RunOptions,
    options: &LoopOptions,
    records: &mut Vec<RunRecord>,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<VersionEnd, CycleError> {
    let (runner, store) = ctx.split();
    let parallel = options.parallel.max(1) as usize;
    let wanted = options.runs_per_version.max(1) as usize;
    let on = RefCell::new(on);
    let stopper = Stopper::new();
    let mut in_flight = FuturesUnordered::new();
    let mut launched = 0;
    let mut judging = Judging::default();
    loop {
        while judging.launches() && in_flight.len() < parallel && launched < wanted {
            if let Some(code) = runner.interrupt.received() {
                judging.settle(VersionEnd::Interrupted(code));
                break;
            }
            // --max-runs counts the runs made, the ones still going included.
            if records.len() + in_flight.len() >= options.max_runs as usize {
                judging.exhausted = true;
                break;
            }
            let uuid = RunId::fresh(&run.runs_dir).uuid();
            tell(&on, None, Event::Run(uuid));
            let tag = (parallel > 1).then_some(RunId::from(uuid));
            in_flight.push(one_run(runner, task, run, uuid, stopper.signal(), tag, &on));
            launched += 1;
        }
        let Some(finished) = in_flight.next().await else {
            break;
        };
        let uuid = finished.uuid();
        let tag = (parallel > 1).then_some(RunId::from(uuid));
        let on_record = &mut |e: Event<'_>| tell(&on, tag, e);
        let ended = match execute::record(runner, store, task, run, finished, on_record) {
            Ok(ended) => ended,
            Err(e) => {
                stopper.stop(stop_by(uuid, task, "could not be recorded"));
                judging.fail(e);
                continue;
            }
        };
        let record = &ended.recorded.record;
        records.push(record.clone());
        if record.status() == RunStatus::Error {
            tell(&on, None, Event::Fault(record));
        }
        let Some(verdict) = judge(&ended, run.min_confidence) else {
            continue;
        };
        if let Some(why) = judging.settle(verdict) {
            stopper.stop(stop_by(uuid, task, why));
        }
    }
    // Every run of the task this harness started is over now.
    crate::protocol::sweep_finished(runner.docker, task.name()).await;
    judging.end()
}

/// One run's protocol, its events told as its own when several runs go on at once.
async fn one_run(
    runner: Runner<'_>,
    task: &Task,
    run: &RunOptions,
    uuid: Uuid,
    stop: StopSignal,
    tag: Option<RunId>,
    on: &RefCell<&mut dyn FnMut(Event<'_>)>,
) -> Finished {
    let mut said = |e: Event<'_>| tell(on, tag, e);
    execute::protocol(runner, task, run, uuid, stop, &mut said).await
}

/// Tells the caller an event, as run `tag`'s when several runs go on at once. The
/// runs share one caller: each borrows it only while it tells, never across an await.
fn tell(on: &RefCell<&mut dyn FnMut(Event<'_>)>, tag: Option<RunId>, event: Event<'_>) {
    let mut on = on.borrow_mut();
    match tag {
        Some(run) => on(Event::Of(run, &event)),
        None => on(event),
    }
}

fn stop_by(by: Uuid, task: &Task, what: &str) -> Stop {
    Stop {
        by,
        why: format!("run {by} of {} {what}", task.current().label()),
    }
}

/// What one recorded run says about its version, if anything: judged after every run, a
/// failure included, so 20:1 then 20:2 still stands.
fn judge(ended: &Ended, min_confidence: Option<f64>) -> Option<VersionEnd> {
    match &ended.cut {
        Some(Cut::Signal(code)) => return Some(VersionEnd::Interrupted(*code)),
        // Stopped by the run that decided the version: it says nothing more.
        Some(Cut::Stopped { .. }) => return None,
        None => {}
    }
    let record = &ended.recorded.record;
    if record.status() == RunStatus::Error {
        return Some(VersionEnd::HarnessFault);
    }
    let (s, f) = ended.recorded.tally;
    if score::Verdict::judge(s, f, min_confidence).graduated {
        return Some(VersionEnd::Graduated);
    }
    record
        .steps
        .iter()
        .any(|s| s.failed())
        .then(|| VersionEnd::Failed(Box::new(record.clone())))
}

/// The version's end as its runs are recorded: the first run that decides it decides it,
/// and the runs still going when it did only end in being recorded.
#[derive(Default)]
struct Judging {
    end: Option<VersionEnd>,
    /// --max-runs left no run to launch.
    exhausted: bool,
    /// A run that could not be recorded: the loop ends in this error once the others have.
    error: Option<CycleError>,
}

impl Judging {
    fn launches(&self) -> bool {
        self.end.is_none() && !self.exhausted && self.error.is_none()
    }

    /// Takes a run's verdict; returns how it decided the version when it is the first to,
    /// so the runs still going are stopped.
    fn settle(&mut self, verdict: VersionEnd) -> Option<&'static str> {
        let why = match &verdict {
            VersionEnd::Failed(_) => "failed first",
            VersionEnd::Graduated => "graduated the version",
            VersionEnd::HarnessFault => "hit a harness fault",
            _ => "",
        };
        let Some(end) = &self.end else {
            self.end = Some(verdict);
            return (!why.is_empty()).then_some(why);
        };
        let replace = match (end, &verdict) {
            (VersionEnd::Interrupted(_), _) => false,
            // A run that was going when the version graduated failed after all, and the
            // version's tally no longer graduates.
            (VersionEnd::Graduated, VersionEnd::Failed(_)) => true,
            (VersionEnd::Graduated, _) => false,
            (_, VersionEnd::Interrupted(_)) => true,
            _ => false,
        };
        if replace {
            self.end = Some(verdict);
        }
        None
    }

    fn fail(&mut self, error: CycleError) {
        self.error.get_or_insert(error);
    }

    fn end(self) -> Result<VersionEnd, CycleError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        Ok(match self.end {
            Some(end) => end,
            None if self.exhausted => VersionEnd::MaxRuns,
            None => VersionEnd::Unfinished,
        })
    }
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
        task.spec().file().gate(),
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

#[cfg(test)]
mod tests {
    use super::{Judging, VersionEnd};

    #[test]
    fn the_first_run_that_decides_the_version_decides_it() {
        let mut judging = Judging::default();
        assert_eq!(
            judging.settle(VersionEnd::HarnessFault),
            Some("hit a harness fault")
        );
        assert!(!judging.launches());
        // A run still going then graduates nothing and stops nothing more.
        assert_eq!(judging.settle(VersionEnd::Graduated), None);
        assert!(matches!(judging.end(), Ok(VersionEnd::HarnessFault)));
    }

    #[test]
    fn a_signal_ends_the_version_unless_it_graduated() {
        let mut judging = Judging::default();
        judging.settle(VersionEnd::HarnessFault);
        assert_eq!(judging.settle(VersionEnd::Interrupted(130)), None);
        assert!(matches!(judging.end(), Ok(VersionEnd::Interrupted(130))));

        let mut judging = Judging::default();
        assert_eq!(
            judging.settle(VersionEnd::Graduated),
            Some("graduated the version")
        );
        judging.settle(VersionEnd::Interrupted(143));
        assert!(matches!(judging.end(), Ok(VersionEnd::Graduated)));
    }

    #[test]
    fn runs_used_up_without_a_verdict_end_in_max_runs_or_unfinished() {
        let judging = Judging {
            exhausted: true,
            ..Judging::default()
        };
        assert!(!judging.launches());
        assert!(matches!(judging.end(), Ok(VersionEnd::MaxRuns)));
        assert!(matches!(
            Judging::default().end(),
            Ok(VersionEnd::Unfinished)
        ));
    }
}
