//! One run of the task's current version: deploy, steps, record, tally.

use chrono::Utc;
use uuid::Uuid;

use super::{Context, CycleError, Event, RunOptions, Task};
use std::sync::Arc;

use crate::protocol::{self, Plan, Report};
use crate::redact::Redactor;
use crate::run::RunDir;
use crate::run::recorder::{self, Origin, Recorded, RecordingError};
use crate::score::Verdict;

/// How one run ended: recorded always, and the signal's exit code if one cut it short.
pub struct Ended {
    pub recorded: Recorded,
    pub interrupted: Option<u8>,
}

pub async fn execute(
    ctx: &mut Context,
    task: &Task,
    options: &RunOptions,
    uuid: Uuid,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Ended, CycleError> {
    let started = Utc::now();
    let version = task.current();
    let compose = ctx.compose.display_name();
    on(Event::Deploys {
        task: task.name(),
        version,
        compose: &compose,
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
        port_range: options.port_range,
    };
    if let Some(reaper) = &ctx.reaper {
        // Registered before the first `compose up`, so nothing of the run is ever unwatched.
        if let Err(e) = reaper.watch(uuid).await {
            tracing::warn!(error = %e, "the reaper does not watch this run");
        }
    }
    let (report, interrupted) = run_interruptible(ctx, &plan, on).await;
    let (s_before, f_before) = ctx.store.version_tally(version.row.id)?;
    let change = if s_before + f_before == 0 {
        history_change(&version.row.reason)
    } else {
        format!("run {} of {}", s_before + f_before + 1, version.label())
    };
    let origin = Origin {
        uuid,
        started,
        task_id: task.id(),
        task: task.name(),
        version: &version.row,
        change: &change,
    };
    let built = recorder::build_record(&origin, &report, &ctx.docker, &ctx.compose, interrupted);
    let recorded = recorder::record(
        &origin,
        built,
        &options.runs_dir,
        &mut ctx.store,
        task.prompt(),
    )
    .map_err(|e| unrecorded(e, &origin))?;
    let (s, f) = recorded.tally;
    on(Event::Recorded {
        recorded: &recorded,
        verdict: Verdict::judge(s, f, options.min_confidence),
    });
    Ok(Ended {
        recorded,
        interrupted,
    })
}

/// Runs the protocol; on SIGINT or SIGTERM removes the run's containers and returns the
/// steps finished so far plus one that says the run was interrupted.
async fn run_interruptible(
    ctx: &Context,
    plan: &Plan,
    on: &mut dyn FnMut(Event<'_>),
) -> (Report, Option<u8>) {
    let mut finished = Vec::new();
    let outcome = {
        let mut on_event = |event: protocol::Event<'_>| {
            on(Event::Step(&event));
            if let protocol::Event::Finished(step) = event {
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
