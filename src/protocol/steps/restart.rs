//! A crash of the app container: its restart policy must bring it back healthy, and the
//! probes must pass again.
//!
//! Docker's own kill API marks a container as stopped by hand, and a restart policy then
//! leaves it down — that is not a crash. So the harness SIGKILLs the container's main
//! process on the engine's host, as the OOM killer or a segfault would.

use std::time::Duration;

use serde_json::json;

use super::probe::api_and_ws;
use super::{StepResult, error, fail, pass, skip_not_run};
use crate::engine::{ContainerInfo, Verdict, WaitFailure, will_restart};
use crate::protocol::context::{Deployment, StepContext};
use crate::protocol::instance;
use crate::run::Fault;
use crate::run::Signature;

pub(super) async fn restart(s: &mut StepContext<'_>, d: &Deployment) -> StepResult {
    let Some(app) = d.app_container(s.plan.probes.api_port).cloned() else {
        return fail(
            Signature::ApiProbe,
            json!({"error": "no container publishes the API port"}),
        );
    };
    if !engine_is_local() {
        return skip_not_run(
            "the engine is remote (DOCKER_HOST): its processes cannot be signalled from here",
        );
    }
    let mut events = s.docker.subscribe(&d.project);
    if let Err(e) = kill(app.pid) {
        // The harness could not signal the process (permissions, a PID namespace it cannot
        // see): nothing was learned about the restart policy.
        return error(
            Fault::ProbeUnavailable,
            json!({"error": e.to_string(), "pid": app.pid}),
        );
    }
    let killed = json!({"container": app.name, "pid": app.pid, "signal": "SIGKILL",
        "restart_count_before": app.restart_count, "policy": app.restart_policy});
    let waited = crate::engine::wait_for(
        s.docker,
        &d.project,
        &mut events,
        s.plan.timeout,
        |cs, elapsed| back_up(cs, &app, elapsed),
    )
    .await;
    if waited.is_err() {
        // The main instance is down for good: later steps have nothing to check.
        s.deployment = None;
    }
    let elapsed_ms = match waited {
        Ok(ms) => ms,
        Err(WaitFailure::Exited { container }) => {
            return fail(
                Signature::NoRestart,
                json!({"summary": format!("{} stayed {} after SIGKILL: restart policy `{}` does not bring it back",
                    container.service, container.state, if container.restart_policy.is_empty() { "no" } else { &container.restart_policy }),
                "killed": killed, "state": container.state,
                "policy": container.restart_policy, "exit_code": container.exit_code}),
            );
        }
        Err(WaitFailure::Timeout {
            containers,
            waited_ms,
        }) => {
            return fail(
                Signature::HealthTimeout,
                json!({"summary": format!("not healthy again {:.0} s after SIGKILL", waited_ms as f64 / 1000.0),
                "killed": killed, "waited_ms": waited_ms,
                "containers": instance::summary(&containers)}),
            );
        }
        Err(WaitFailure::Engine(e)) => {
            return error(
                Fault::of_engine(&e),
                json!({"killed": killed, "error": e.to_string()}),
            );
        }
        Err(other) => {
            return fail(
                crate::protocol::classify::wait_failure(&other, ""),
                json!({"killed": killed, "failure": other}),
            );
        }
    };
    let containers = match s.docker.project_containers(&d.project).await {
        Ok(c) => c,
        Err(e) => {
            return error(
                Fault::of_engine(&e),
                json!({"killed": killed, "error": e.to_string()}),
            );
        }
    };
    let restarted = Deployment::new(&d.project, containers, d.startup_ms, s.plan);
    let probes = api_and_ws(s, &restarted).await;
    super::replace_deployment(s, restarted);
    match probes {
        Ok(p) => pass(json!({"killed": killed, "healthy_again_ms": elapsed_ms, "probes": p})),
        Err(f) => f
            .with_evidence(
                json!({"killed": killed, "healthy_again_ms": elapsed_ms, "probe": f.evidence}),
            )
            .into_step(),
    }
}

/// Done when the killed container has restarted and is ready again.
fn back_up(containers: &[ContainerInfo], app: &ContainerInfo, elapsed: Duration) -> Verdict<u64> {
    let Some(now) = containers.iter().find(|c| c.id == app.id) else {
        return Verdict::Pending;
    };
    if now.restart_count > app.restart_count && now.is_ready() {
        return Verdict::Done(elapsed.as_millis() as u64);
    }
    if matches!(now.state.as_str(), "exited" | "dead") && !will_restart(now) {
        return Verdict::Failed(Box::new(WaitFailure::Exited {
            container: now.clone(),
        }));
    }
    Verdict::Pending
}

fn engine_is_local() -> bool {
    std::env::var("DOCKER_HOST")
        .map(|h| h.is_empty() || h.starts_with("unix://"))
        .unwrap_or(true)
}

/// Why the app's process could not be signalled; its text is the step's evidence.
#[derive(Debug, thiserror::Error)]
enum KillError {
    #[error("no running process (pid {0})")]
    NoProcess(i64),
    #[error("kill -9 {pid}: {source}")]
    Signal { pid: i32, source: nix::Error },
}

fn kill(pid: i64) -> Result<(), KillError> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let pid = i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or(KillError::NoProcess(pid))?;
    kill(Pid::from_raw(pid), Signal::SIGKILL).map_err(|source| KillError::Signal { pid, source })
}
