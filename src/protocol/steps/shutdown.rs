//! `down`: every container stops on SIGTERM within its stop timeout, and nothing of the
//! run is left — checked through the API, not assumed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{StepResult, error, fail, pass};
use crate::engine::{ContainerInfo, Events, LABEL_RUN};
use crate::protocol::context::{StepContext, tail};
use crate::protocol::{classify, instance};
use crate::run::evidence::ShutdownEvidence;
use crate::run::{Fault, Signature, StepKind};

/// The exit code of a process the engine had to SIGKILL after the stop timeout.
const KILLED: i64 = 137;

/// What the main instance's `down` showed, kept until the run's other instances are gone
/// and shutdown can check that nothing of the run is left.
pub(crate) struct Stopped {
    evidence: ShutdownEvidence,
    anonymous: Vec<String>,
    killed: bool,
}

impl Stopped {
    /// Records how long shutdown waited for the other instances before its check.
    pub fn waited(mut self, waited: Duration) -> Stopped {
        self.evidence.waited_ms = Some(waited.as_millis() as u64);
        self
    }
}

/// Shutdown in one go: the main instance's `down`, then the check that nothing is left.
pub(super) async fn shutdown(s: &StepContext<'_>) -> StepResult {
    match stop(s).await {
        Ok(stopped) => check(s, stopped).await,
        Err(ended) => ended,
    }
}

/// The main instance's `down`, and how each of its containers ended. It may run while
/// other instances of the run are still worked on, when they share no network or volume
/// with the main one; [`check`] runs only once they are gone.
pub(crate) async fn stop(s: &StepContext<'_>) -> Result<Stopped, StepResult> {
    let project = s.project(0);
    // An engine that cannot list the project's containers proves nothing about them: an
    // empty list here must not let the step pass.
    let before = match s.docker.project_containers(&project.name).await {
        Ok(before) => before,
        Err(e) => return Err(error(Fault::of_engine(&e), failed(e.to_string()))),
    };
    let logs = match instance::capture_logs(s, &before).await {
        Ok(logs) => logs,
        Err(f) => return Err(f.into_step(StepKind::Shutdown)),
    };
    let running: Vec<ContainerInfo> = before
        .iter()
        .filter(|c| c.state == "running")
        .cloned()
        .collect();
    // One `down` stops (SIGTERM, SIGKILL after the stop timeout) and removes: a separate
    // `stop` would cost a second Compose CLI start. The containers are gone afterwards, so
    // how each one ended is read from the engine's `die` events.
    let mut events = s.docker.subscribe(&project.name);
    let started = Instant::now();
    let down = match project.down(true, s.plan.stop_timeout).await {
        Ok(down) if !down.success && classify::engine_gone(&down.stderr) => {
            return Err(error(
                Fault::EngineUnavailable,
                ShutdownEvidence {
                    logs: Some(logs),
                    down: Some(tail(&s.redactor().text(&down.stderr), 20)),
                    ..Default::default()
                },
            ));
        }
        Ok(down) => down,
        Err(e) => {
            return Err(error(
                Fault::ComposeCli,
                ShutdownEvidence {
                    logs: Some(logs),
                    ..failed(e.to_string())
                },
            ));
        }
    };
    let (stopped, stop_ms) = stopped(&mut events, &running, started).await;
    drop(events);
    s.set_main(None);
    // Named volumes are the project's (labelled, checked by project) or external: the
    // user's, meant to outlive every run.
    let anonymous: Vec<String> = before
        .iter()
        .flat_map(|c| c.volumes.iter())
        .filter(|v| crate::engine::is_anonymous_volume(&v.name))
        .map(|v| v.name.clone())
        .collect();
    let killed = stopped.iter().any(|c| c["exit_code"] == KILLED);
    let evidence = ShutdownEvidence {
        logs: Some(logs),
        stop_ms: Some(stop_ms),
        stopped: Some(json!(stopped)),
        stop_ok: Some(down.success),
        down: Some(
            json!({"success": down.success, "duration_ms": down.duration_ms,
            "stderr": tail(&s.redactor().text(&down.stderr), 20)}),
        ),
        ..Default::default()
    };
    Ok(Stopped {
        evidence,
        anonymous,
        killed,
    })
}

/// Nothing of the run is left: the main project, anything labelled with the run, the
/// anonymous volumes the main instance had. Run once every other instance is gone.
pub(crate) async fn check(s: &StepContext<'_>, stopped: Stopped) -> StepResult {
    let Stopped {
        evidence,
        anonymous,
        killed,
    } = stopped;
    let project = s.project(0);
    let evidence = |leftovers: Value| ShutdownEvidence {
        leftovers: Some(leftovers),
        ..evidence.clone()
    };
    let leftovers = (
        s.docker.project_leftovers(&project.name).await,
        s.docker.leftovers(LABEL_RUN, &s.plan.run.to_string()).await,
        s.docker.existing_volumes(&anonymous).await,
    );
    let (by_project, by_run, volumes) = match leftovers {
        (Ok(p), Ok(r), Ok(v)) => (p, r, v),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return error(
                Fault::of_engine(&e),
                evidence(json!({"error": e.to_string()})),
            );
        }
    };
    let left = json!({"by_project": by_project, "by_run_label": by_run, "volumes": volumes});
    // Judged by what the engine still holds: a `down` that failed on a project that was
    // never created (a config Compose rejects) leaves nothing behind.
    if !(by_project.is_empty() && by_run.is_empty() && volumes.is_empty()) {
        return fail(Signature::Leftovers, evidence(left));
    }
    if killed {
        return fail(Signature::Timeout, evidence(left));
    }
    pass(evidence(left))
}

/// How each running container ended, from its `die` event (exit code) — waited for a
/// bounded time, since `down` has returned by then. Also the ms from `down` to the last exit.
async fn stopped(
    events: &mut Events,
    before: &[ContainerInfo],
    started: Instant,
) -> (Vec<Value>, u64) {
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .saturating_sub(started.elapsed().as_millis() as u64);
    let mut exits: HashMap<String, (i64, u64)> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while before.iter().any(|c| !exits.contains_key(&c.id)) {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await else {
            break;
        };
        if event.action.as_deref() != Some("die") {
            continue;
        }
        let actor = event.actor.unwrap_or_default();
        let code = actor
            .attributes
            .unwrap_or_default()
            .get("exitCode")
            .and_then(|c| c.parse().ok())
            .unwrap_or(-1);
        // The engine's own time of the exit: the events are read only after `down` returned.
        let at = event
            .time_nano
            .and_then(|ns| u64::try_from(ns / 1_000_000).ok())
            .map(|ms| ms.saturating_sub(started_ms))
            .unwrap_or_else(|| started.elapsed().as_millis() as u64);
        exits.insert(actor.id.unwrap_or_default(), (code, at));
    }
    let stop_ms = exits.values().map(|(_, at)| *at).max().unwrap_or(0);
    let out = before
        .iter()
        .map(|c| match exits.get(&c.id) {
            Some((code, _)) => json!({"container": c.name, "state": "exited", "exit_code": code,
                "honoured_sigterm": *code != KILLED}),
            None => json!({"container": c.name, "exit_code": null,
                "error": "no die event seen within 5 s of down"}),
        })
        .collect();
    (out, stop_ms)
}

/// The engine or Compose could not be asked: what it said.
fn failed(error: String) -> ShutdownEvidence {
    ShutdownEvidence {
        error: Some(error),
        ..Default::default()
    }
}
