//! `harness iterate` and `harness propose`: run a version, learn from its failure, write
//! the next version, until one graduates.

use std::path::Path;

use anyhow::Context as _;
use serde_json::json;

use super::args::{Cli, IterateArgs, ProposeArgs};
use super::exit;
use super::output::Reporter;
use super::run::{Session, announce, execute, resolve_version};
use super::scoreboard;
use crate::compose::ComposeFile;
use crate::propose::{self, Outcome};
use crate::redact::Redactor;
use crate::run::record::{RunRecord, RunStatus};
use crate::run::{RunDir, RunId};
use crate::score;
use crate::store::{NewVersion, VersionRow};
use crate::task::Prompt;

/// How one version's runs ended.
enum VersionEnd {
    Graduated,
    Failed(Box<RunRecord>),
    /// Ran its runs without failing and without graduating yet.
    Unfinished,
    Interrupted(u8),
    /// The harness could not judge a run (its own fault): stop, charge nothing.
    HarnessFault,
}

pub async fn iterate(cli: &Cli, args: &IterateArgs) -> anyhow::Result<u8> {
    super::run::preflight(&args.run)?;
    refuse_partial_graduation(args)?;
    let mut ctx = Session::open(cli, args.run.reaper.options()).await?;
    let mut reporter = Reporter::new(cli.json);
    let mut records = Vec::new();
    let mut mutations = 0;
    let code = loop {
        let end = run_version(cli, args, &mut ctx, &mut reporter, &mut records).await?;
        let failed = match end {
            VersionEnd::Interrupted(code) => break code,
            VersionEnd::HarnessFault => break exit::USAGE,
            VersionEnd::Graduated => break promote(args, &mut ctx, &reporter)?,
            VersionEnd::Unfinished if args.until_graduated => continue,
            VersionEnd::Unfinished => break exit::SUCCESS,
            VersionEnd::Failed(run) => run,
        };
        let Some(next) = next_version(cli, args, &mut ctx, &reporter, &failed).await? else {
            break exit::RUN_FAILED;
        };
        // A signal while proposing: stop before writing the next version.
        if let Some(code) = ctx.interrupt.received() {
            break code;
        }
        if !args.apply {
            reporter.line("  (propose-only: nothing written; --apply writes it into the task)");
            break exit::RUN_FAILED;
        }
        apply(args, &mut ctx, &reporter, &next)?;
        mutations += 1;
        if mutations >= args.max_iterations {
            reporter.line(&format!(
                "  stopping: --max-iterations {} reached",
                args.max_iterations
            ));
            break exit::RUN_FAILED;
        }
    };
    super::run::write_junit(&args.run, &records)?;
    let prompt = Prompt::load(&args.run.task)?;
    let tallies = ctx.store.tallies(Some(prompt.name()), None)?;
    let min = args.run.min_confidence;
    if cli.json {
        let doc = json!({"runs": records, "scoreboard": scoreboard::json_rows(&tallies, min)});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("{}", scoreboard::table(&tallies, min));
    }
    Ok(code)
}

/// Only whole-protocol runs count, so a loop that may only end in graduation cannot be
/// run on a part of the protocol: it would never end, or (before) end in a false verdict.
fn refuse_partial_graduation(args: &IterateArgs) -> anyhow::Result<()> {
    if !args.until_graduated {
        return Ok(());
    }
    let selected = !args.run.steps.is_empty() || !args.run.skip.is_empty();
    if selected {
        anyhow::bail!(
            "--until-graduated cannot be combined with --steps/--skip: only runs of the whole protocol count toward graduation — drop the step selection, or drop --until-graduated to try the steps alone"
        );
    }
    if args.run.instances < 2 {
        anyhow::bail!(
            "--until-graduated needs --instances 2 or more: a run with one instance does not check multi_instance and never counts toward graduation"
        );
    }
    Ok(())
}

/// Runs the task's current version until it graduates, fails, or used its runs.
async fn run_version(
    cli: &Cli,
    args: &IterateArgs,
    ctx: &mut Session,
    reporter: &mut Reporter,
    records: &mut Vec<RunRecord>,
) -> anyhow::Result<VersionEnd> {
    for _ in 0..args.runs_per_version.max(1) {
        if let Some(code) = ctx.interrupt.received() {
            return Ok(VersionEnd::Interrupted(code));
        }
        let uuid = RunId::fresh(&cli.runs_dir).uuid();
        announce(cli, uuid);
        let ended = execute(cli, &args.run, uuid, ctx, reporter).await?;
        let record = ended.recorded.record;
        records.push(record.clone());
        if let Some(code) = ended.interrupted {
            return Ok(VersionEnd::Interrupted(code));
        }
        if record.status() == RunStatus::Error {
            super::run::report_fault(&record);
            return Ok(VersionEnd::HarnessFault);
        }
        // Judged after every recorded run, a failure included: 20:1 then 20:2 still stands.
        let (s, f) = ended.recorded.tally;
        if score::Verdict::judge(s, f, args.run.min_confidence).graduated {
            return Ok(VersionEnd::Graduated);
        }
        if record.steps.iter().any(|s| s.failed()) {
            return Ok(VersionEnd::Failed(Box::new(record)));
        }
    }
    Ok(VersionEnd::Unfinished)
}

/// Proposes the next version from a failed run; prints the diff and every attempt.
async fn next_version(
    cli: &Cli,
    args: &IterateArgs,
    ctx: &mut Session,
    reporter: &Reporter,
    failed: &RunRecord,
) -> anyhow::Result<Option<propose::Proposal>> {
    let prompt = Prompt::load(&args.run.task)?;
    let task_id = prompt_task_id(ctx, &args.run.task, &prompt)?;
    let (current, version) =
        resolve_version(&mut ctx.store, task_id, &prompt, args.run.config.as_deref())?;
    let outcome = proposal(cli, ctx, &current, failed).await;
    for attempt in &outcome.attempts {
        ctx.store.record_attempt(
            version.id,
            &attempt.mutation,
            attempt.accepted,
            &attempt.reason,
        )?;
    }
    show(reporter, &version, &outcome);
    Ok(outcome.proposal)
}

fn prompt_task_id(ctx: &Session, path: &Path, prompt: &Prompt) -> anyhow::Result<i64> {
    Ok(ctx.store.task_id(prompt.name(), &path.to_string_lossy())?)
}

/// The next version from a failed run, with every text that will be shown or recorded
/// (reasons, Compose's stderr, the diff) redacted; the proposed file itself is the real
/// config, which the task gets.
async fn proposal(cli: &Cli, ctx: &Session, current: &ComposeFile, failed: &RunRecord) -> Outcome {
    let facts = propose::image_facts(&ctx.docker, current, Some(failed)).await;
    let scratch = RunDir::new(&cli.runs_dir, failed.id()).proposals();
    let redactor = Redactor::from_env().with_config(current);
    let mut outcome =
        propose::propose(current, failed, &facts, &ctx.compose, &scratch, &redactor).await;
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
    outcome
}

fn show(reporter: &Reporter, version: &VersionRow, outcome: &Outcome) {
    for a in outcome.attempts.iter().filter(|a| !a.accepted) {
        reporter.line(&format!("  rejected {}: {}", a.mutation, a.reason));
    }
    match &outcome.proposal {
        Some(p) => {
            reporter.line(&format!(
                "  next after {}: {} — {} (answers {})",
                version.label(),
                p.mutation.id,
                p.mutation.reason,
                p.answers
            ));
            for line in p.diff.lines() {
                reporter.line(&format!("    {line}"));
            }
        }
        None => reporter.line(&format!(
            "  no mutation in the catalog fixes what {} failed on; a human has to look",
            version.label()
        )),
    }
}

/// Registers the proposal as version N+1 and writes it into the task's yaml block.
fn apply(
    args: &IterateArgs,
    ctx: &mut Session,
    reporter: &Reporter,
    next: &propose::Proposal,
) -> anyhow::Result<()> {
    let prompt = Prompt::load(&args.run.task)?;
    let task_id = prompt_task_id(ctx, &args.run.task, &prompt)?;
    let (_, parent) = resolve_version(&mut ctx.store, task_id, &prompt, None)?;
    let redactor = Redactor::from_env().with_config(&next.file);
    let reason = redactor.text(&format!(
        "{}: {} (answers {})",
        next.mutation.id, next.mutation.reason, next.answers
    ));
    let recorded = redactor.config(&next.file);
    let version = ctx.store.version(
        task_id,
        &NewVersion {
            hash: &recorded.hash,
            config: &recorded.text,
            parent: Some(parent.id),
            mutation: next.mutation.id,
            reason: &reason,
        },
    )?;
    // The task keeps the author's config as it deploys; only records are redacted.
    let text = prompt.replace_config(&next.file.text)?;
    Prompt::save(prompt.path(), &text)?;
    reporter.line(&format!(
        "  applied: {} → {} written into {}",
        parent.label(),
        version.label(),
        prompt.path().display()
    ));
    Ok(())
}

/// Writes the graduated config where the project keeps its good one, and says so.
fn promote(args: &IterateArgs, ctx: &mut Session, reporter: &Reporter) -> anyhow::Result<u8> {
    let prompt = Prompt::load(&args.run.task)?;
    let task_id = prompt_task_id(ctx, &args.run.task, &prompt)?;
    let (file, version) =
        resolve_version(&mut ctx.store, task_id, &prompt, args.run.config.as_deref())?;
    let (s, f) = ctx.store.version_tally(version.id)?;
    let verdict = score::Verdict::judge(s, f, args.run.min_confidence);
    let header = format!(
        "# Graduated: {} of task {}: {verdict}; {} by the harness\n",
        version.label(),
        prompt.name(),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let recorded = Redactor::from_env().config(&file);
    std::fs::write(&args.graduate_to, header + &recorded.text).with_context(|| {
        format!(
            "cannot write the graduated config to `{}`",
            args.graduate_to.display()
        )
    })?;
    reporter.line(&format!(
        "{}  {verdict} → {}",
        version.label(),
        args.graduate_to.display()
    ));
    Ok(exit::SUCCESS)
}

pub async fn propose(cli: &Cli, args: &ProposeArgs) -> anyhow::Result<u8> {
    // Proposing deploys nothing: no reaper to look after it.
    let mut ctx = Session::open(cli, None).await?;
    let prompt = Prompt::load(&args.task)?;
    let task_id = prompt_task_id(&ctx, &args.task, &prompt)?;
    let (current, version) = resolve_version(&mut ctx.store, task_id, &prompt, None)?;
    let Some(json) = ctx.store.last_failed_run(version.id)? else {
        println!(
            "{} has no failed run: nothing to propose (run `harness run` first)",
            version.label()
        );
        return Ok(exit::SUCCESS);
    };
    let failed: RunRecord =
        serde_json::from_str(&json).context("the scoreboard's run JSON does not parse")?;
    let outcome = proposal(cli, &ctx, &current, &failed).await;
    if cli.json {
        let p = outcome.proposal.as_ref().map(|p| {
            json!({"mutation": p.mutation.id, "reason": p.mutation.reason,
            "answers": p.answers, "diff": p.diff,
            "yaml": Redactor::from_env().config(&p.file).text})
        });
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"version": version.label(), "proposal": p, "attempts": outcome.attempts})
            )?
        );
    } else {
        show(&Reporter::new(false), &version, &outcome);
    }
    Ok(if outcome.proposal.is_some() {
        exit::SUCCESS
    } else {
        exit::RUN_FAILED
    })
}
