//! `harness run` and `harness iterate`: task → version → deploy → steps → record → score.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use uuid::Uuid;

use super::args::{Cli, RunArgs};
use super::exit;
use super::output::{Reporter, format_ms};
use super::signals::Interrupt;
use crate::compose::ComposeFile;
use crate::engine::{ComposeCli, Docker};
use crate::protocol::{self, Event, Plan, ProbeSpec, Report};
use crate::reaper::{self, Guard};
use crate::redact::Redactor;
use crate::run::record::RunStatus;
use crate::run::recorder::{self, Origin, Recorded};
use crate::run::{RunDir, RunId, StepKind};
use crate::store::{NewVersion, Store, VersionRow};
use crate::task::Prompt;

/// What a run needs that outlives it: one engine connection, one scoreboard.
pub(super) struct Session {
    pub docker: Docker,
    pub compose: ComposeCli,
    pub store: Store,
    /// Removes this process's runs if it is killed; `None` with --no-reaper.
    pub reaper: Option<Guard>,
    pub interrupt: Interrupt,
}

impl Session {
    pub(super) async fn open(
        cli: &Cli,
        reaper: Option<reaper::Options>,
    ) -> anyhow::Result<Session> {
        let interrupt = Interrupt::listen();
        // Everything that can be checked is checked before anything is written or
        // deployed, so bad input or a missing engine never costs a deploy, and is never
        // recorded as the config's failure.
        let docker = Docker::connect().await?;
        let compose = ComposeCli::detect().await?;
        writable_dir(&cli.runs_dir)?;
        let store = Store::open_writable(&cli.db)?;
        // What a killed harness left would hold ports and names: collect it first.
        match crate::gc::collect(&docker, false).await {
            Ok(c) => {
                if !c.collected.is_empty() {
                    tracing::warn!(
                        runs = c.collected.len(),
                        "removed the leftovers of dead harness runs"
                    );
                }
                if !c.not_ours.is_empty() {
                    tracing::info!(
                        runs = c.not_ours.len(),
                        "left alone runs whose owner this harness cannot judge (see `harness gc --dry-run`)"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not collect leftovers of dead runs"),
        }
        let reaper = match reaper {
            Some(options) => guard(&docker, &options).await,
            None => None,
        };
        Ok(Session {
            docker,
            compose,
            store,
            reaper,
            interrupt,
        })
    }
}

/// Without a reaper the run still goes ahead: the next run's gc is the fallback.
async fn guard(docker: &Docker, options: &reaper::Options) -> Option<Guard> {
    match Guard::start(docker, options).await {
        Ok(guard) => {
            tracing::debug!(addr = %guard.addr, "the reaper looks after this harness");
            Some(guard)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no reaper: if this harness is killed, its containers stay until the next run or `harness gc`");
            None
        }
    }
}

/// How one run ended: recorded always, and the signal's exit code if one cut it short.
pub(super) struct Ended {
    pub recorded: Recorded,
    pub interrupted: Option<u8>,
}

impl Ended {
    /// 0 passed, 1 a step failed (or a partial run left a step unpassed), 2 the harness's
    /// own fault, 130/143 interrupted.
    pub fn exit_code(&self) -> u8 {
        let record = &self.recorded.record;
        match (self.interrupted, record.status()) {
            (Some(code), _) => code,
            (None, RunStatus::Success) => exit::SUCCESS,
            (None, RunStatus::Partial) if record.steps.iter().all(|s| s.passed()) => exit::SUCCESS,
            (None, RunStatus::Error | RunStatus::Interrupted) => exit::USAGE,
            (None, _) => exit::RUN_FAILED,
        }
    }
}

pub async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<u8> {
    // The UUID exists before anything else happens, and is the first thing printed.
    let uuid = RunId::fresh(&cli.runs_dir).uuid();
    announce(cli, uuid);
    preflight(args)?;
    let mut ctx = Session::open(cli, args.reaper.options()).await?;
    let mut reporter = Reporter::new(cli.json);
    let ended = execute(cli, args, uuid, &mut ctx, &mut reporter).await?;
    report_fault(&ended.recorded.record);
    write_junit(args, std::slice::from_ref(&ended.recorded.record))?;
    if cli.json {
        print!("{}", ended.recorded.record.to_json());
    }
    Ok(ended.exit_code())
}

pub(super) fn announce(cli: &Cli, uuid: Uuid) {
    if cli.json {
        eprintln!("run {uuid}");
    } else {
        println!("run {uuid}");
    }
}

pub(super) async fn execute(
    cli: &Cli,
    args: &RunArgs,
    uuid: Uuid,
    ctx: &mut Session,
    reporter: &mut Reporter,
) -> anyhow::Result<Ended> {
    let started = Utc::now();
    let prompt = Prompt::load(&args.task)?;
    let steps = select_steps(&args.steps, &args.skip)?;
    let task_id = ctx
        .store
        .task_id(prompt.name(), &args.task.to_string_lossy())?;
    let (candidate, version) =
        resolve_version(&mut ctx.store, task_id, &prompt, args.config.as_deref())?;
    reporter.line(&format!(
        "  task {}   {}   {}",
        prompt.name(),
        version.label(),
        candidate.origin
    ));
    let dummy_key = crate::redact::dummy_key().to_string();
    let plan = Plan {
        run: uuid,
        task: prompt.name().to_string(),
        candidate,
        run_dir: RunDir::new(&cli.runs_dir, uuid.into()),
        steps,
        timeout: Duration::from_secs(args.timeout),
        stop_timeout: Duration::from_secs(args.stop_timeout),
        probes: ProbeSpec::default(),
        redactor: Redactor::from_env(),
        instances: args.instances as usize,
        dummy_key,
        port_range: args.port_range,
    };
    if let Some(reaper) = &ctx.reaper {
        // Registered before the first `compose up`, so nothing of the run is ever unwatched.
        if let Err(e) = reaper.watch(uuid).await {
            tracing::warn!(error = %e, "the reaper does not watch this run");
        }
    }
    let (report, interrupted) = run_interruptible(ctx, &plan, reporter).await;
    let (s_before, f_before) = ctx.store.version_tally(version.id)?;
    let change = if s_before + f_before == 0 {
        history_change(&version.reason)
    } else {
        format!("run {} of {}", s_before + f_before + 1, version.label())
    };
    let origin = Origin {
        uuid,
        started,
        task_id,
        task: prompt.name(),
        version: &version,
        change: &change,
    };
    let built = recorder::build_record(&origin, &report, &ctx.docker, &ctx.compose, interrupted);
    let recorded = recorder::record(&origin, built, &cli.runs_dir, &mut ctx.store, &prompt)
        .map_err(|e| unrecorded(e, &origin))?;
    summarise(reporter, &recorded, args.min_confidence);
    Ok(Ended {
        recorded,
        interrupted,
    })
}

/// Runs the protocol; on SIGINT or SIGTERM removes the run's containers and returns the
/// steps finished so far plus one that says the run was interrupted.
async fn run_interruptible(
    ctx: &Session,
    plan: &Plan,
    reporter: &mut Reporter,
) -> (Report, Option<u8>) {
    let mut finished = Vec::new();
    let outcome = {
        let mut on_event = |event: Event<'_>| {
            reporter.event(&event);
            if let Event::Finished(step) = event {
                finished.push(step.clone());
            }
        };
        tokio::select! {
            report = protocol::run(&ctx.docker, &ctx.compose, plan, &mut on_event) => Ok(report),
            code = ctx.interrupt.wait() => Err(code),
        }
    };
    match outcome {
        Ok(report) => (report, None),
        Err(code) => {
            protocol::cleanup(&ctx.docker, plan).await;
            let next = plan
                .steps
                .get(finished.len())
                .map(|k| k.name())
                .unwrap_or("shutdown");
            finished.push(protocol::interrupted_step(next));
            let report = Report {
                steps: finished,
                deployment: None,
                project: plan.project_name(0),
                partial: plan.partial_reasons(),
            };
            (report, Some(code))
        }
    }
}

/// The config to deploy and its version. The task's own candidate is always registered
/// first, so version numbers follow the task's history even when `--config` is used.
pub(super) fn resolve_version(
    store: &mut Store,
    task_id: i64,
    prompt: &Prompt,
    config: Option<&Path>,
) -> anyhow::Result<(ComposeFile, VersionRow)> {
    let own = ComposeFile::parse(
        &prompt.path().to_string_lossy(),
        prompt.config_yaml(),
        prompt.config_line(),
    )?;
    let seed_reason = prompt
        .history()
        .first()
        .map(|r| r.change.clone())
        .unwrap_or_else(|| "the task's candidate config".into());
    // Versions are recorded, and addressed, as the redactor writes them.
    let redactor = Redactor::from_env();
    let recorded = redactor.config(&own);
    let own_version = store.version(
        task_id,
        &NewVersion {
            hash: &recorded.hash,
            config: &recorded.text,
            parent: None,
            mutation: "seed",
            reason: &seed_reason,
        },
    )?;
    let Some(path) = config else {
        return Ok((own, own_version));
    };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the config `{}` — check the path given to --config",
            path.display()
        )
    })?;
    let file = ComposeFile::parse(&path.to_string_lossy(), &text, 1)?;
    let recorded = redactor.config(&file);
    let version = store.version(
        task_id,
        &NewVersion {
            hash: &recorded.hash,
            config: &recorded.text,
            parent: Some(own_version.id),
            mutation: "external",
            reason: &format!("config from {}", path.display()),
        },
    )?;
    Ok((file, version))
}

fn select_steps(only: &[String], skip: &[String]) -> anyhow::Result<Vec<StepKind>> {
    let names: Vec<&str> = StepKind::ALL.iter().map(|k| k.name()).collect();
    for name in only.iter().chain(skip) {
        if StepKind::from_name(name).is_none() {
            bail!(
                "unknown step `{name}` in --steps/--skip — the steps are: {}",
                names.join(", ")
            );
        }
    }
    Ok(StepKind::ALL
        .into_iter()
        .filter(|k| only.is_empty() || only.iter().any(|n| n == k.name()))
        .filter(|k| !skip.iter().any(|n| n == k.name()))
        .collect())
}

fn summarise(reporter: &Reporter, r: &Recorded, min_confidence: Option<f64>) {
    let rec = &r.record;
    let passed = rec.steps.iter().filter(|s| s.passed()).count();
    let status = match rec.status() {
        RunStatus::Success => "passed",
        RunStatus::Failure => "FAILED",
        RunStatus::Partial => "partial (not counted)",
        RunStatus::Error => "NOT JUDGED: harness fault (not counted)",
        RunStatus::Interrupted => "interrupted (not counted)",
    };
    let verdict = crate::score::Verdict::judge(r.tally.0, r.tally.1, min_confidence);
    reporter.line(&format!(
        "  {} {status}: {passed}/{} steps ✓ in {}   {} now {verdict}   → {}",
        rec.version,
        rec.steps.len(),
        format_ms(rec.metrics.duration_ms),
        rec.version,
        r.file.display()
    ));
    for reason in &rec.partial {
        reporter.line(&format!("    partial: {reason}"));
    }
}

/// A harness fault ends the command with exit 2; say on stderr what it was and the fix.
pub(super) fn report_fault(record: &crate::run::record::RunRecord) {
    if record.status() == RunStatus::Error
        && let Some(error) = &record.error
    {
        eprintln!("error: run {}: {error}", record.execution_uuid);
    }
}

/// A run whose record cannot be written (a full disk, an unwritable runs dir) is not
/// charged to anything: say so, and what to do.
fn unrecorded(e: recorder::RecordingError, origin: &Origin<'_>) -> anyhow::Error {
    let fault = match &e {
        recorder::RecordingError::File(f) => crate::run::Fault::of_io(&f.source),
        _ => crate::run::Fault::EvidenceUnwritable,
    };
    anyhow::anyhow!(
        "run {} could not be recorded ({fault}: {e}); nothing was charged to {} — {}",
        origin.uuid,
        origin.version.label(),
        fault.fix()
    )
}

/// The evolution table's "Change & Reason": the first run of a version tells its whole
/// first sentence and what it answers; the full reason stays in the scoreboard.
fn history_change(reason: &str) -> String {
    let answers = reason
        .rfind(" (answers ")
        .map(|i| &reason[i..])
        .unwrap_or("");
    let body = &reason[..reason.len() - answers.len()];
    let first = match body.find(". ") {
        Some(end) => &body[..=end],
        None => body,
    };
    let first = if first.chars().count() > 200 {
        format!("{}…", first.chars().take(200).collect::<String>())
    } else {
        first.to_string()
    };
    format!("{}{answers}", first.trim_end())
}

/// The runs directory takes a file, or can be made. Nothing is created here: bad input
/// must leave the disk as it was, and harnesses starting at once must never remove a
/// directory another one is about to write into (making and removing a probe directory
/// raced exactly so). A missing directory is judged by the nearest one that exists.
pub(super) fn writable_dir(dir: &Path) -> anyhow::Result<()> {
    let fix = "make it writable or choose another with --runs-dir / HARNESS_RUNS_DIR";
    let unwritable = |e: std::io::Error| {
        anyhow::Error::from(e).context(format!(
            "cannot write into the runs directory `{}` — {fix}",
            dir.display()
        ))
    };
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .filter(|a| !a.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(unwritable(std::io::Error::from(
            std::io::ErrorKind::NotADirectory,
        )));
    }
    if existing != dir {
        use nix::unistd::{AccessFlags, access};
        return access(existing, AccessFlags::W_OK | AccessFlags::X_OK)
            .map_err(|e| unwritable(std::io::Error::from(e)));
    }
    let probe = dir.join(format!(".harness-write-test-{}", std::process::id()));
    let written = std::fs::write(&probe, b"");
    let _ = std::fs::remove_file(&probe);
    written.map_err(unwritable)
}

/// Reads and checks every input without touching the disk or the engine, so bad input
/// fails with exit 2 before anything is created.
/// Checks what can be checked without the engine; returns the config that will deploy.
pub(super) fn preflight(args: &RunArgs) -> anyhow::Result<ComposeFile> {
    select_steps(&args.steps, &args.skip)?;
    let prompt = Prompt::load(&args.task)?;
    let own = ComposeFile::parse(
        &prompt.path().to_string_lossy(),
        prompt.config_yaml(),
        prompt.config_line(),
    )?;
    let candidate = match &args.config {
        None => own,
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the config `{}` — check the path given to --config",
                    path.display()
                )
            })?;
            ComposeFile::parse(&path.to_string_lossy(), &text, 1)?
        }
    };
    if let Some(range) = args.port_range {
        let needed = crate::protocol::port_range::needed(&candidate);
        let free = range.free()?;
        if free < needed {
            return Err(crate::protocol::port_range::RangeError::Exhausted {
                range,
                needed,
                free,
            }
            .into());
        }
    }
    Ok(candidate)
}

/// `--junit FILE`: the runs as JUnit XML, for CI servers.
pub(super) fn write_junit(
    args: &RunArgs,
    runs: &[crate::run::record::RunRecord],
) -> anyhow::Result<()> {
    let Some(path) = &args.junit else {
        return Ok(());
    };
    let xml = crate::report::junit(runs)?;
    std::fs::write(path, xml)
        .with_context(|| format!("cannot write the JUnit file `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::history_change;

    #[test]
    fn the_history_keeps_the_first_sentence_and_what_it_answers() {
        let reason = "drop-container-name: Remove the fixed names. A container name is global. (answers missing_key name_conflict)";
        assert_eq!(
            history_change(reason),
            "drop-container-name: Remove the fixed names. (answers missing_key name_conflict)"
        );
        assert_eq!(
            history_change("Initial implementation"),
            "Initial implementation"
        );
    }
}
