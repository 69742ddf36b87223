//! Bringing one instance of the candidate up and down. The main instance, the extra ones
//! of multi_instance and the key variants of missing_key all go through here.

use serde_json::{Value, json};

use super::Signature;
use super::classify;
use super::session::{Deployment, Session, tail};
use crate::engine::{self, CmdOutput, Project, WaitFailure};

/// Why an instance did not come up, with the evidence that says so.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub signature: Signature,
    pub evidence: Value,
}

impl Failure {
    pub fn new(signature: Signature, evidence: Value) -> Failure {
        Failure {
            signature,
            evidence,
        }
    }
}

/// A deployed instance and what `up` and the wait showed.
pub(crate) struct Up {
    pub deployment: Deployment,
    pub evidence: Value,
    pub up: CmdOutput,
}

/// `up`, then wait until every service is ready (healthy where it has a healthcheck).
pub(crate) async fn deploy(s: &Session<'_>, project: &Project) -> Result<Up, Failure> {
    s.ensure_compose_files(project).map_err(|(signature, e)| {
        Failure::new(
            signature,
            json!({"error": format!("cannot prepare the compose files: {e}")}),
        )
    })?;
    missing_images(s).await?;
    let mut events = s.docker.subscribe(&project.name);
    s.touch(&project.name);
    let up = project.up(s.plan.timeout).await.map_err(|e| {
        Failure::new(
            Signature::EngineUnavailable,
            json!({"error": e.to_string()}),
        )
    })?;
    let up_evidence = json!({"project": project.name, "command": up.command, "duration_ms": up.duration_ms,
        "stderr": tail(&s.redactor().text(&up.stderr), 40)});
    if !up.success {
        let signature = classify::compose_failure(&up.stderr);
        let summary = s.redactor().text(&classify::compose_summary(&up.stderr));
        return Err(Failure::new(
            signature,
            json!({"summary": summary, "up": up_evidence}),
        ));
    }
    let services = s.plan.candidate.service_names();
    match engine::wait_ready(
        s.docker,
        &project.name,
        &services,
        &mut events,
        s.plan.timeout,
    )
    .await
    {
        Ok(ready) => {
            let startup = up.duration_ms + ready.ready_ms.values().max().copied().unwrap_or(0);
            let deployment = Deployment::new(&project.name, ready.containers, startup, s.plan);
            let evidence = json!({"up": up_evidence, "ready_ms": ready.ready_ms,
                "containers": summary(&deployment.containers)});
            Ok(Up {
                deployment,
                evidence,
                up,
            })
        }
        Err(failure) => {
            let logs = failing_logs(s, &failure).await;
            let signature = classify::wait_failure(&failure, &logs);
            let summary = s.redactor().text(&failure.summary());
            let failure = s
                .redactor()
                .json(serde_json::to_value(&failure).unwrap_or(Value::Null));
            Err(Failure::new(
                signature,
                json!({"summary": summary, "up": up_evidence, "failure": failure,
                "logs_tail": tail(&s.redactor().text(&logs), 20)}),
            ))
        }
    }
}

/// `down -v`: the instance and its volumes go, its logs kept first. What Compose could not
/// remove (a network another instance still uses, say) is removed through the API.
/// Returns the evidence.
pub(crate) async fn teardown(s: &Session<'_>, project: &Project) -> Value {
    let containers = s
        .docker
        .project_containers(&project.name)
        .await
        .unwrap_or_default();
    capture_logs(s, &containers).await;
    let down = match project.down(true, s.plan.stop_timeout).await {
        Ok(down) => json!({"success": down.success, "duration_ms": down.duration_ms,
            "stderr": tail(&s.redactor().text(&down.stderr), 10)}),
        Err(e) => json!({"error": e.to_string()}),
    };
    let swept = match s.docker.remove_project(&project.name).await {
        Ok(left) => json!(left),
        Err(e) => json!({"error": e.to_string()}),
    };
    json!({"project": project.name, "down": down, "swept": swept})
}

/// A missing image cannot be pulled on a machine without a registry: say how to build it.
async fn missing_images(s: &Session<'_>) -> Result<(), Failure> {
    let mut missing = Vec::new();
    for (service, image) in s.plan.candidate.images() {
        match s.docker.image_exists(&image).await {
            Ok(true) => {}
            Ok(false) => missing.push(json!({"service": service, "image": image})),
            Err(e) => {
                return Err(Failure::new(
                    Signature::EngineUnavailable,
                    json!({"error": e.to_string()}),
                ));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        Signature::ImageMissing,
        json!({"missing": missing,
        "fix": "build the stack's images with `harness images` (no registry is reachable to pull them)"}),
    ))
}

async fn failing_logs(s: &Session<'_>, failure: &WaitFailure) -> String {
    use WaitFailure::*;
    let id = match failure {
        HealthcheckBroken { container }
        | Unhealthy { container }
        | Exited { container }
        | CrashLoop { container } => container.id.clone(),
        Timeout { containers, .. } => match containers.iter().find(|c| !c.is_ready()) {
            Some(c) => c.id.clone(),
            None => return String::new(),
        },
        Engine(_) => return String::new(),
    };
    s.docker.logs(&id, 200).await.unwrap_or_default()
}

pub(crate) fn summary(containers: &[engine::ContainerInfo]) -> Value {
    containers
        .iter()
        .map(|c| json!({"service": c.service, "name": c.name, "state": c.state,
            "health": c.health, "ports": c.ports, "networks": c.networks, "restart_count": c.restart_count}))
        .collect()
}

/// Saves every container's log under `runs/<uuid8>/logs/` before `down` removes them.
pub(crate) async fn capture_logs(s: &Session<'_>, containers: &[engine::ContainerInfo]) -> Value {
    let mut files = Vec::new();
    for c in containers {
        let logs = s
            .docker
            .logs(&c.id, 5000)
            .await
            .unwrap_or_else(|e| format!("<no logs: {e}>"));
        // The engine's own record of whose container this was, so a log file proves its run
        // even when the program in it never prints the UUID (Redis does not).
        let header = format!(
            "# harness: container {} ({}) image {} label dev.harness.run={}\n",
            c.name,
            &c.id[..c.id.len().min(12)],
            c.image,
            c.run_label.as_deref().unwrap_or("<none>")
        );
        let text = header + &logs;
        match s.write_evidence(&format!("logs/{}.log", c.name), &text) {
            Ok(path) => files.push(json!(path)),
            Err(e) => files.push(json!({"error": e})),
        }
    }
    Value::Array(files)
}
