//! Waiting for a project to be ready, driven by the engine's events: the harness looks at
//! the containers again only when one of them changed, never on a timer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::{ContainerInfo, Docker, EngineError, Events};

/// Restarts that mean a container is crash-looping rather than starting slowly.
const CRASH_LOOP_RESTARTS: i64 = 3;

/// Why a project did not become ready. Each carries the containers as last seen.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitFailure {
    /// The healthcheck command itself cannot run in the image (no shell, no curl, …).
    HealthcheckBroken {
        container: ContainerInfo,
    },
    Unhealthy {
        container: ContainerInfo,
    },
    Exited {
        container: ContainerInfo,
    },
    CrashLoop {
        container: ContainerInfo,
    },
    Timeout {
        waited_ms: u64,
        containers: Vec<ContainerInfo>,
    },
    #[serde(serialize_with = "as_display")]
    Engine(EngineError),
}

fn as_display<S: serde::Serializer>(e: &EngineError, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&e.to_string())
}

impl WaitFailure {
    /// One line for a human: which container, and what the engine said.
    pub fn summary(&self) -> String {
        let probe = |c: &ContainerInfo| {
            c.last_probe
                .as_ref()
                .map(|(code, out)| format!(" (healthcheck exit {code}: {})", out.trim()))
                .unwrap_or_default()
        };
        match self {
            WaitFailure::HealthcheckBroken { container: c } => {
                format!(
                    "the healthcheck of {} cannot run in its image{}",
                    c.service,
                    probe(c)
                )
            }
            WaitFailure::Unhealthy { container: c } => {
                format!("{} is unhealthy{}", c.service, probe(c))
            }
            WaitFailure::Exited { container: c } => {
                format!(
                    "{} exited with code {} and its restart policy will not restart it",
                    c.service, c.exit_code
                )
            }
            WaitFailure::CrashLoop { container: c } => {
                format!(
                    "{} keeps crashing ({} restarts, last exit code {})",
                    c.service, c.restart_count, c.exit_code
                )
            }
            WaitFailure::Timeout {
                waited_ms,
                containers,
            } => {
                let waiting: Vec<String> = containers
                    .iter()
                    .filter(|c| !c.is_ready())
                    .map(|c| format!("{} ({}/{})", c.service, c.state, c.health))
                    .collect();
                format!(
                    "not ready after {:.0} s: {}",
                    *waited_ms as f64 / 1000.0,
                    waiting.join(", ")
                )
            }
            WaitFailure::Engine(e) => e.to_string(),
        }
    }
}

impl From<EngineError> for WaitFailure {
    fn from(e: EngineError) -> Self {
        WaitFailure::Engine(e)
    }
}

/// A project whose every container is ready.
#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    pub containers: Vec<ContainerInfo>,
    /// Per service, when the harness first saw it ready, in ms after the wait began.
    pub ready_ms: BTreeMap<String, u64>,
}

/// What a look at the project's containers decided.
pub enum Verdict<T> {
    Done(T),
    Failed(Box<WaitFailure>),
    Pending,
}

/// Looks at the project's containers now and after every event, until `decide` is done
/// or fails, or the timeout passes.
pub async fn wait_for<T>(
    docker: &Docker,
    project: &str,
    events: &mut Events,
    timeout: Duration,
    mut decide: impl FnMut(&[ContainerInfo], Duration) -> Verdict<T>,
) -> Result<T, WaitFailure> {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        let containers = docker.project_containers(project).await?;
        match decide(&containers, started.elapsed()) {
            Verdict::Done(t) => return Ok(t),
            Verdict::Failed(f) => return Err(*f),
            Verdict::Pending => {}
        }
        // Sleep until the engine reports a change; a closed stream means re-check at the deadline.
        let woke = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(_)) => Instant::now() < deadline,
            Ok(None) => {
                tokio::time::sleep_until(deadline).await;
                false
            }
            Err(_) => false,
        };
        if !woke {
            return Err(WaitFailure::Timeout {
                waited_ms: started.elapsed().as_millis() as u64,
                containers: docker.project_containers(project).await?,
            });
        }
    }
}

/// Waits until every service in `services` has containers and all of them are ready.
pub async fn wait_ready(
    docker: &Docker,
    project: &str,
    services: &[String],
    events: &mut Events,
    timeout: Duration,
) -> Result<Ready, WaitFailure> {
    let mut ready_ms = BTreeMap::new();
    let ready = wait_for(docker, project, events, timeout, |containers, elapsed| {
        if let Some(failure) = failure_of(containers) {
            return Verdict::Failed(Box::new(failure));
        }
        for c in containers.iter().filter(|c| c.is_ready()) {
            ready_ms
                .entry(c.service.clone())
                .or_insert(elapsed.as_millis() as u64);
        }
        let all_present = services
            .iter()
            .all(|s| containers.iter().any(|c| &c.service == s));
        if all_present && containers.iter().all(ContainerInfo::is_ready) {
            return Verdict::Done(Ready {
                containers: containers.to_vec(),
                ready_ms: ready_ms.clone(),
            });
        }
        Verdict::Pending
    })
    .await?;
    // The moment the harness acts on "ready", on the engine's clock (scripts/bench compares
    // it with the timestamp of the engine's `health_status: healthy` event).
    let ready_unix_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    tracing::debug!(project, ready_unix_ns, "every service is ready");
    Ok(ready)
}

pub fn failure_of(containers: &[ContainerInfo]) -> Option<WaitFailure> {
    for c in containers {
        if probe_cannot_run(c) {
            return Some(WaitFailure::HealthcheckBroken {
                container: c.clone(),
            });
        }
        if c.health == "unhealthy" {
            return Some(WaitFailure::Unhealthy {
                container: c.clone(),
            });
        }
        if c.restart_count >= CRASH_LOOP_RESTARTS {
            return Some(WaitFailure::CrashLoop {
                container: c.clone(),
            });
        }
        if matches!(c.state.as_str(), "exited" | "dead") && !will_restart(c) {
            return Some(WaitFailure::Exited {
                container: c.clone(),
            });
        }
    }
    None
}

pub fn will_restart(c: &ContainerInfo) -> bool {
    match c.restart_policy.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => c.exit_code != 0,
        _ => false,
    }
}

/// The runtime's own words when a healthcheck's program does not exist in the image.
pub(crate) fn probe_cannot_run(c: &ContainerInfo) -> bool {
    const MARKERS: [&str; 4] = [
        "OCI runtime exec failed",
        "executable file not found",
        "no such file or directory",
        "exec format error",
    ];
    match &c.last_probe {
        Some((code, output)) if *code != 0 => MARKERS.iter().any(|m| output.contains(m)),
        _ => false,
    }
}
