//! A crash of the app container: its restart policy must bring it back healthy, and the
//! probes must pass again.
//!
//! Docker's own kill API marks a container as stopped by hand, and a restart policy then
//! leaves it down — that is not a crash. So the harness SIGKILLs the container's main
//! process on the engine's host, as the OOM killer or a segfault would.

use std::time::Duration;

use super::probe::api_and_ws;
use super::{StepResult, error, fail, pass, skip_not_run};
use crate::engine::{ContainerInfo, Verdict, WaitFailure, will_restart};
use crate::protocol::context::{Deployment, StepContext};
use crate::protocol::instance;
use crate::run::evidence::{KilledEvidence, RestartEvidence};
use crate::run::{Fault, Signature};

pub(super) async fn restart(s: &mut StepContext<'_>, d: &Deployment) -> StepResult {
    let Some(app) = d.app_container(s.plan.probes.api_port).cloned() else {
        return fail(
            Signature::ApiProbe,
            RestartEvidence {
                error: Some("no container publishes the API port".into()),
                ..Default::default()
            },
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
            RestartEvidence {
                error: Some(e.to_string()),
                pid: Some(app.pid),
                ..Default::default()
            },
        );
    }
    let killed = KilledEvidence {
        container: Some(app.name.clone()),
        pid: Some(app.pid),
        signal: Some("SIGKILL".into()),
        restart_count_before: Some(app.restart_count),
        policy: Some(app.restart_policy.clone()),
    };
    let after = |e: RestartEvidence| RestartEvidence {
        killed: Some(killed.clone()),
        ..e
    };
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
            let policy = if container.restart_policy.is_empty() {
                "no"
            } else {
                &container.restart_policy
            };
            let summary = format!(
                "{} stayed {} after SIGKILL: restart policy `{policy}` does not bring it back",
                container.service, container.state
            );
            return fail(
                Signature::NoRestart,
                after(RestartEvidence {
                    summary: Some(summary),
                    state: Some(container.state.clone()),
                    policy: Some(container.restart_policy.clone()),
                    exit_code: Some(container.exit_code),
                    ..Default::default()
                }),
            );
        }
        Err(WaitFailure::Timeout {
            containers,
            waited_ms,
        }) => {
            let summary = format!(
                "not healthy again {:.0} s after SIGKILL",
                waited_ms as f64 / 1000.0
            );
            return fail(
                Signature::HealthTimeout,
                after(RestartEvidence {
                    summary: Some(summary),
                    waited_ms: Some(waited_ms),
                    containers: Some(instance::summary(&containers)),
                    ..Default::default()
                }),
            );
        }
        Err(WaitFailure::Engine(e)) => {
            return error(Fault::of_engine(&e), after(failed(e.to_string())));
        }
        Err(other) => {
            return fail(
                crate::protocol::classify::wait_failure(&other, ""),
                after(RestartEvidence {
                    failure: Some(serde_json::to_value(&other).unwrap_or_default()),
                    ..Default::default()
                }),
            );
        }
    };
    let containers = match s.docker.project_containers(&d.project).await {
        Ok(c) => c,
        Err(e) => {
            return error(Fault::of_engine(&e), after(failed(e.to_string())));
        }
    };
    let restarted = Deployment::new(&d.project, containers, d.startup_ms, s.plan);
    let probes = api_and_ws(s, &restarted).await;
    super::replace_deployment(s, restarted);
    let back = RestartEvidence {
        healthy_again_ms: Some(elapsed_ms),
        ..Default::default()
    };
    match probes {
        Ok(p) => pass(after(RestartEvidence {
            probes: Some(p),
            ..back
        })),
        Err(f) => f.ends(after(RestartEvidence {
            probe: Some(f.evidence.clone()),
            ..back
        })),
    }
}

/// The engine could not be asked: what it said.
fn failed(error: String) -> RestartEvidence {
    RestartEvidence {
        error: Some(error),
        ..Default::default()
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
