//! `down`: every container stops on SIGTERM within its stop timeout, and nothing of the
//! run is left — checked through the API, not assumed.

use std::time::Instant;

use serde_json::{Value, json};

use super::{StepResult, fail, pass};
use crate::engine::{ContainerInfo, LABEL_RUN};
use crate::protocol::session::{Session, tail};
use crate::protocol::{Signature, instance};

/// The exit code of a process the engine had to SIGKILL after the stop timeout.
const KILLED: i64 = 137;

pub(super) async fn shutdown(s: &mut Session<'_>) -> StepResult {
    let project = s.project(0);
    let before = s
        .docker
        .project_containers(&project.name)
        .await
        .unwrap_or_default();
    let logs = instance::capture_logs(s, &before).await;
    let started = Instant::now();
    let stop = project.stop(s.plan.stop_timeout).await;
    let stop_ms = started.elapsed().as_millis() as u64;
    let running: Vec<ContainerInfo> = before
        .iter()
        .filter(|c| c.state == "running")
        .cloned()
        .collect();
    let stopped = stopped(s, &running).await;
    let down = match project.down(true, s.plan.stop_timeout).await {
        Ok(down) => down,
        Err(e) => {
            return fail(
                Signature::EngineUnavailable,
                json!({"logs": logs, "error": e.to_string()}),
            );
        }
    };
    s.deployment = None;
    let anonymous: Vec<String> = before
        .iter()
        .flat_map(|c| c.volumes.iter().cloned())
        .collect();
    let evidence = |leftovers: Value| {
        json!({"logs": logs, "stop_ms": stop_ms, "stopped": stopped, "stop_ok": stop.as_ref().map(|o| o.success).unwrap_or(false),
            "down": {"success": down.success, "duration_ms": down.duration_ms,
                "stderr": tail(&s.redactor().text(&down.stderr), 20)},
            "leftovers": leftovers})
    };
    let leftovers = (
        s.docker.project_leftovers(&project.name).await,
        s.docker.leftovers(LABEL_RUN, &s.plan.run.to_string()).await,
        s.docker.existing_volumes(&anonymous).await,
    );
    let (by_project, by_run, volumes) = match leftovers {
        (Ok(p), Ok(r), Ok(v)) => (p, r, v),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return fail(
                Signature::EngineUnavailable,
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
    if stopped.iter().any(|c| c["exit_code"] == KILLED) {
        return fail(Signature::Timeout, evidence(left));
    }
    pass(evidence(left))
}

/// How each running container ended: its exit code, and whether SIGTERM was honoured.
async fn stopped(s: &Session<'_>, before: &[ContainerInfo]) -> Vec<Value> {
    let mut out = Vec::new();
    for c in before {
        if let Ok(now) = s.docker.inspect(&c.id).await {
            out.push(
                json!({"container": now.name, "state": now.state, "exit_code": now.exit_code,
                "honoured_sigterm": now.exit_code != KILLED, "finished_at": now.finished_at}),
            );
        }
    }
    out
}
