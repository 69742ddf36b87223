//! A crash of each service the task says restart must recover: its restart policy must
//! bring it back healthy, and the probes must pass again.
//!
//! Docker's own kill API marks a container as stopped by hand, and a restart policy then
//! leaves it down — that is not a crash. So the harness SIGKILLs the container's main
//! process on the engine's host, as the OOM killer or a segfault would.

use std::time::Duration;

use super::probe::api_and_ws;
use serde_json::json;

use super::{StepResult, error, fail, not_declared, pass, skip_not_run};
use crate::engine::{ContainerInfo, Verdict, WaitFailure, will_restart};
use crate::protocol::context::{Deployment, Instance, StepContext};
use crate::protocol::instance;
use crate::run::evidence::{KilledEvidence, RestartEvidence};
use crate::run::{Fault, Signature};

pub(super) async fn restart(s: &StepContext<'_>, on: &Instance) -> StepResult {
    let services = s.plan.spec.restart.recover.clone();
    if services.is_empty() {
        return not_declared("the task declares no services for restart to recover");
    }
    if !engine_is_local() {
        return skip_not_run(
            "the engine is remote (DOCKER_HOST): its processes cannot be signalled from here",
        );
    }
    let mut current = on.deployment.clone();
    let mut recovered = Vec::new();
    for service in &services {
        let (back, killed, elapsed_ms) = match crash(s, &current, service).await {
            Ok(done) => done,
            Err(ended) => return ended,
        };
        current = back;
        recovered.push((killed, elapsed_ms));
    }
    let each = (recovered.len() > 1).then(|| {
        recovered
            .iter()
            .map(|(k, ms)| json!({"killed": k, "healthy_again_ms": ms}))
            .collect()
    });
    let Some((killed, elapsed_ms)) = recovered.pop() else {
        return not_declared("the task declares no services for restart to recover");
    };
    let probes = api_and_ws(s, &current).await;
    if on.is_main() {
        s.set_main(Some(current));
    }
    let back = RestartEvidence {
        killed: Some(killed),
        healthy_again_ms: Some(elapsed_ms),
        recovered: each,
        ..Default::default()
    };
    match probes {
        Ok(p) => pass(RestartEvidence {
            probes: Some(p),
            ..back
        }),
        Err(f) => f.ends(RestartEvidence {
            probe: Some(f.evidence.clone()),
            ..back
        }),
    }
}

/// SIGKILLs `service`'s main process and waits until its restart policy brings it back
/// ready: the instance as it is then, what was killed, and how long it took.
async fn crash(
    s: &StepContext<'_>,
    d: &Deployment,
    service: &str,
) -> Result<(Deployment, KilledEvidence, u64), StepResult> {
    let Some(app) = d.service_container(service).cloned() else {
        return Err(fail(
            Signature::NoRestart,
            RestartEvidence {
                error: Some(format!(
                    "no container of service `{service}` runs to be killed"
                )),
                ..Default::default()
            },
        ));
    };
    let mut events = s.docker.subscribe(&d.project);
    if let Err(e) = kill(app.pid) {
        // The harness could not signal the process (permissions, a PID namespace it cannot
        // see): nothing was learned about the restart policy.
        return Err(error(
            Fault::ProbeUnavailable,
            RestartEvidence {
                error: Some(e.to_string()),
                pid: Some(app.pid),
                ..Default::default()
            },
        ));
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
        if d.project == s.plan.project_name(0) {
            s.set_main(None);
        }
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
            return Err(fail(
                Signature::NoRestart,
                after(RestartEvidence {
                    summary: Some(summary),
                    state: Some(container.state.clone()),
                    policy: Some(container.restart_policy.clone()),
                    exit_code: Some(container.exit_code),
                    ..Default::default()
                }),
            ));
        }
        Err(WaitFailure::Timeout {
            containers,
            waited_ms,
        }) => {
            let summary = format!(
                "not healthy again {:.0} s after SIGKILL",
                waited_ms as f64 / 1000.0
            );
            return Err(fail(
                Signature::HealthTimeout,
                after(RestartEvidence {
                    summary: Some(summary),
                    waited_ms: Some(waited_ms),
                    containers: Some(instance::summary(&containers)),
                    ..Default::default()
                }),
            ));
        }
        Err(WaitFailure::Engine(e)) => {
            return Err(error(Fault::of_engine(&e), after(failed(e.to_string()))));
        }
        Err(other) => {
            return Err(fail(
                crate::protocol::classify::wait_failure(&other, "", &Default::default()),
                after(RestartEvidence {
                    failure: Some(serde_json::to_value(&other).unwrap_or_default()),
                    ..Default::default()
                }),
            ));
        }
    };
    let containers = match s.docker.project_containers(&d.project).await {
        Ok(c) => c,
        Err(e) => {
            return Err(error(Fault::of_engine(&e), after(failed(e.to_string()))));
        }
    };
    let restarted = Deployment::new(&d.project, containers, d.startup_ms, s.plan);
    Ok((restarted, killed, elapsed_ms))
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

pub(super) fn engine_is_local() -> bool {
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
