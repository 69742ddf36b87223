//! One run of the task's current version: deploy, steps, record, tally.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::stop::StopSignal;
use super::{Context, CycleError, Event, RunOptions, Runner, Task};
use crate::protocol::{self, Plan, Report};
use crate::redact::Redactor;
use crate::run::RunDir;
use crate::run::recorder::{self, Cut, Origin, Recorded, RecordingError};
use crate::score::Verdict;
use crate::store::Store;

/// How one run ended: recorded always, and what cut it short if anything did.
pub struct Ended {
    pub recorded: Recorded,
    pub cut: Option<Cut>,
}

impl Ended {
    /// The exit code of the signal that cut the run short, if one did.
    pub fn signal(&self) -> Option<u8> {
        self.cut.as_ref().and_then(Cut::signal)
    }
}

/// A run whose protocol is over, waiting to be recorded.
pub struct Finished {
    uuid: Uuid,
    started: DateTime<Utc>,
    report: Report,
    cut: Option<Cut>,
}

impl Finished {
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }
}

/// One run, start to record: its protocol, then its record.
pub async fn execute(
    ctx: &mut Context,
    task: &Task,
    options: &RunOptions,
    uuid: Uuid,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Ended, CycleError> {
    let (runner, store) = ctx.split();
    let finished = protocol(runner, task, options, uuid, StopSignal::never(), on).await;
    record(runner, store, task, options, finished, on)
}

/// Deploys the task's current version and runs its protocol, until it ends, a signal
/// arrives or `stop` says another run of the version decided it; touches no scoreboard,
/// so several run at once.
pub async fn protocol(
    runner: Runner<'_>,
    task: &Task,
    options: &RunOptions,
    uuid: Uuid,
    stop: StopSignal,
    on: &mut dyn FnMut(Event<'_>),
) -> Finished {
    let started = Utc::now();
    let version = task.current();
    let compose = runner.compose.display_name();
    on(Event::Deploys {
        task: task.name(),
        version,
        compose: &compose,
        protocol: task.spec().from_project(),
    });
    let plan = Plan {
        run: uuid,
        task: task.name().to_string(),
        candidate: version.file.clone(),
        run_dir: RunDir::new(&options.runs_dir, uuid.into()),
        steps: options.steps.clone(),
        timeout: options.timeout,
        stop_timeout: options.stop_timeout,
        spec: Arc::new(task.spec().file().clone()),
        default_host_ports: protocol::default_host_ports(&version.file),
        redactor: Redactor::from_env(),
        instances: options.instances,
        dummy_key: crate::redact::dummy_key().to_string(),
        orphans: protocol::Orphans::of(uuid, runner.reaper.cloned()),
        port_range: options.port_range,
    };
    if let Some(reaper) = runner.reaper {
        // Registered before the first `compose up`, so nothing of the run is ever unwatched.
        if let Err(e) = reaper.watch(uuid).await {
            tracing::warn!(error = %e, "the reaper does not watch this run");
        }
    }
    let (report, cut) = run_interruptible(runner, &plan, &stop, on).await;
    Finished {
        uuid,
        started,
        report,
        cut,
    }
}

/// Files a finished run: its file, its scoreboard rows (chained), its prompt row.
pub fn record(
    runner: Runner<'_>,
    store: &mut Store,
    task: &Task,
    options: &RunOptions,
    finished: Finished,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Ended, CycleError> {
    let version = task.current();
    let (s_before, f_before) = store.version_tally(version.row.id)?;
    let change = if s_before + f_before == 0 {
        history_change(&version.row.reason)
    } else {
        format!("run {} of {}", s_before + f_before + 1, version.label())
    };
    let origin = Origin {
        uuid: finished.uuid,
        started: finished.started,
        task_id: task.id(),
        task: task.name(),
        version: &version.row,
        change: &change,
    };
    let built = recorder::build_record(
        &origin,
        &finished.report,
        runner.docker,
        runner.compose,
        finished.cut.as_ref(),
    );
    let recorded = recorder::record(&origin, built, &options.runs_dir, store, task.prompt())
        .map_err(|e| unrecorded(e, &origin))?;
    let (s, f) = recorded.tally;
    on(Event::Recorded {
        recorded: &recorded,
        verdict: Verdict::judge(s, f, options.min_confidence),
    });
    Ok(Ended {
        recorded,
        cut: finished.cut,
    })
}

/// Runs the protocol; on SIGINT or SIGTERM, or when another run of the version stops
/// this one, removes the run's containers and returns the steps finished so far plus one
/// that says why the run was cut short.
async fn run_interruptible(
    runner: Runner<'_>,
    plan: &Plan,
    stop: &StopSignal,
    on: &mut dyn FnMut(Event<'_>),
) -> (Report, Option<Cut>) {
    let mut finished = Vec::new();
    let mut started = Vec::new();
    let outcome = {
        let mut on_event = |event: protocol::Event<'_>| {
            on(Event::Step(&event));
            match event {
                protocol::Event::Started(name) => started.push(name),
                protocol::Event::Finished(step) => finished.push(step.clone()),
            }
        };
        tokio::select! {
            // A run that has ended is recorded as what it was, whatever came at once.
            biased;
            report = protocol::run(runner.docker, runner.compose, plan, &mut on_event) => Ok(report),
            code = runner.interrupt.wait() => Err(Cut::Signal(code)),
            stop = stop.wait() => Err(Cut::from(stop)),
        }
    };
    match outcome {
        Ok(report) => (report, None),
        Err(cut) => {
            protocol::cleanup(runner.docker, plan).await;
            // Steps run side by side: every one under way was cut short (else the next).
            let done = |name: &str| finished.iter().any(|s: &crate::run::Step| s.name == name);
            let mut cut_short: Vec<&str> = started.into_iter().filter(|n| !done(n)).collect();
            if cut_short.is_empty() {
                let next = plan.steps.iter().map(|k| k.name()).find(|n| !done(n));
                cut_short.push(next.unwrap_or("shutdown"));
            }
            for name in cut_short {
                finished.push(protocol::interrupted_step(name, &cut.evidence()));
            }
            let order = |s: &crate::run::Step| plan.steps.iter().position(|k| k.name() == s.name);
            finished.sort_by_key(order);
            let report = Report {
                steps: finished,
                deployment: None,
                project: plan.project_name(0),
                partial: plan.partial_reasons(),
            };
            (report, Some(cut))
        }
    }
}

/// A run whose record cannot be written (a full disk, an unwritable runs dir) is not
/// charged to anything: say so, and what to do.
fn unrecorded(cause: RecordingError, origin: &Origin<'_>) -> CycleError {
    let fault = match &cause {
        RecordingError::File(f) => crate::run::Fault::of_io(&f.source),
        _ => crate::run::Fault::EvidenceUnwritable,
    };
    CycleError::Unrecorded {
        uuid: origin.uuid,
        fault,
        cause: Box::new(cause),
        version: origin.version.label(),
    }
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
