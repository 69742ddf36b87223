//! The checks themselves. Each returns how it ended and the evidence that shows it.

use serde_json::{Value, json};

use super::classify;
use super::probes;
use super::session::{Deployment, Session, tail};
use super::{Outcome, Signature};
use crate::engine::{self, LABEL_RUN, override_yaml};

/// The steps of the protocol, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Deploy,
    ApiProbe,
    WsProbe,
    Redis,
    Shutdown,
}

pub(crate) type StepResult = (Outcome, Value);

impl StepKind {
    pub const ALL: [StepKind; 5] = [
        StepKind::Deploy,
        StepKind::ApiProbe,
        StepKind::WsProbe,
        StepKind::Redis,
        StepKind::Shutdown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StepKind::Deploy => "deploy",
            StepKind::ApiProbe => "api_probe",
            StepKind::WsProbe => "ws_probe",
            StepKind::Redis => "redis",
            StepKind::Shutdown => "shutdown",
        }
    }

    pub fn from_name(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub(crate) async fn run(self, s: &mut Session<'_>) -> StepResult {
        match self {
            StepKind::Deploy => return deploy(s).await,
            StepKind::Shutdown => return shutdown(s).await,
            _ => {}
        }
        // The probes need a deployed instance; without one they have nothing to check.
        let Some(d) = s.deployment.clone() else {
            return (
                Outcome::Skip,
                json!({"reason": "no deployment to probe: deploy did not pass"}),
            );
        };
        match self {
            StepKind::ApiProbe => api_probe(s, &d).await,
            StepKind::WsProbe => ws_probe(s, &d).await,
            _ => redis(s, &d).await,
        }
    }
}

fn fail(sig: Signature, evidence: Value) -> StepResult {
    (Outcome::Fail(sig), evidence)
}

async fn deploy(s: &mut Session<'_>) -> StepResult {
    let plan = s.plan;
    let override_text = override_yaml(&plan.candidate, plan.run, &plan.task);
    let files = [
        ("compose/candidate.yml", plan.candidate.text.as_str()),
        ("compose/override.yml", &override_text),
    ];
    for (name, text) in files {
        if let Err(e) = s.write_evidence(name, text) {
            return fail(
                Signature::Timeout,
                json!({"error": format!("cannot write {name}: {e}")}),
            );
        }
    }
    if let Some(missing) = missing_images(s).await {
        return missing;
    }
    let mut events = s.docker.subscribe(&s.project.name);
    s.touched_engine = true;
    let up = match s.project.up(plan.timeout).await {
        Ok(up) => up,
        Err(e) => {
            return fail(
                Signature::EngineUnavailable,
                json!({"error": e.to_string()}),
            );
        }
    };
    let up_evidence = json!({"command": up.command, "duration_ms": up.duration_ms,
        "stderr": tail(&s.redactor().text(&up.stderr), 40)});
    if !up.success {
        let sig = classify::compose_failure(&up.stderr);
        return fail(sig, json!({"up": up_evidence}));
    }
    let services = plan.candidate.service_names();
    let waited = engine::wait_ready(
        s.docker,
        &s.project.name,
        &services,
        &mut events,
        plan.timeout,
    )
    .await;
    match waited {
        Ok(ready) => {
            let deployment = Deployment {
                project: s.project.name.clone(),
                api_port: None,
                websocket_port: None,
                services_healthy: true,
                startup_ms: up.duration_ms + ready.ready_ms.values().max().copied().unwrap_or(0),
                containers: ready.containers,
            };
            let deployment = Deployment {
                api_port: deployment.host_port(plan.probes.api_port),
                websocket_port: deployment.host_port(plan.probes.ws_port),
                ..deployment
            };
            let evidence = json!({"up": up_evidence, "ready_ms": ready.ready_ms,
                "containers": summary(&deployment.containers)});
            s.deployment = Some(deployment);
            (Outcome::Pass, evidence)
        }
        Err(failure) => {
            let logs = failing_logs(s, &failure).await;
            let sig = classify::wait_failure(&failure, &logs);
            let failure = s
                .redactor()
                .json(serde_json::to_value(&failure).unwrap_or(Value::Null));
            fail(
                sig,
                json!({"up": up_evidence, "failure": failure,
                "logs_tail": tail(&s.redactor().text(&logs), 20)}),
            )
        }
    }
}

/// A missing image cannot be pulled on a machine without a registry: say how to build it.
async fn missing_images(s: &Session<'_>) -> Option<StepResult> {
    let mut missing = Vec::new();
    for (service, image) in s.plan.candidate.images() {
        match s.docker.image_exists(&image).await {
            Ok(true) => {}
            Ok(false) => missing.push(json!({"service": service, "image": image})),
            Err(e) => {
                return Some(fail(
                    Signature::EngineUnavailable,
                    json!({"error": e.to_string()}),
                ));
            }
        }
    }
    (!missing.is_empty()).then(|| {
        fail(Signature::ImageMissing, json!({"missing": missing,
            "fix": "build the stack's images with `harness images` (no registry is reachable to pull them)"}))
    })
}

async fn failing_logs(s: &Session<'_>, failure: &engine::WaitFailure) -> String {
    use engine::WaitFailure::*;
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

fn summary(containers: &[engine::ContainerInfo]) -> Value {
    containers
        .iter()
        .map(|c| {
            json!({"service": c.service, "name": c.name, "state": c.state,
            "health": c.health, "ports": c.ports, "restart_count": c.restart_count})
        })
        .collect()
}

async fn api_probe(s: &Session<'_>, d: &Deployment) -> StepResult {
    let Some(port) = d.api_port else {
        return fail(
            Signature::ApiProbe,
            json!({"error": format!(
            "no host port is published for the API's container port {}", s.plan.probes.api_port)}),
        );
    };
    match probes::health(port, s.plan.probe_timeout()).await {
        Ok(h) if h.status == 200 && h.body["status"].is_string() => (
            Outcome::Pass,
            json!({"url": format!("http://127.0.0.1:{port}/health"), "status": h.status, "body": h.body}),
        ),
        Ok(h) => fail(
            Signature::ApiProbe,
            json!({"port": port, "status": h.status, "body": h.body,
            "error": "expected 200 with a JSON `status`"}),
        ),
        Err(e) => fail(Signature::ApiProbe, json!({"port": port, "error": e})),
    }
}

async fn ws_probe(s: &Session<'_>, d: &Deployment) -> StepResult {
    let spec = &s.plan.probes;
    let Some(port) = d.websocket_port else {
        return fail(
            Signature::WsProtocol,
            json!({"error": format!(
            "no host port is published for the WebSocket's container port {}", spec.ws_port)}),
        );
    };
    match probes::ws_execute(port, &spec.ws_path, spec.ws_chunks, s.plan.probe_timeout()).await {
        Ok(stream) => (Outcome::Pass, json!(stream)),
        Err(e) => fail(Signature::WsProtocol, json!({"port": port, "error": e})),
    }
}

async fn redis(s: &Session<'_>, d: &Deployment) -> StepResult {
    let Some(port) = d.api_port else {
        return fail(
            Signature::ApiProbe,
            json!({"error": "no API port to ask about Redis"}),
        );
    };
    let health = match probes::health(port, s.plan.probe_timeout()).await {
        Ok(h) => h,
        Err(e) => return fail(Signature::ApiProbe, json!({"error": e})),
    };
    let reported = json!({"connected": health.redis_connected(),
        "target": health.redis_target(), "error": health.redis_error()});
    if !health.redis_connected() {
        let sig = if classify::redis_on_localhost(&health.redis_target()) {
            Signature::RedisLocalhost
        } else {
            Signature::RedisUnavailable
        };
        return fail(sig, json!({"service_reports": reported}));
    }
    let Some(redis) = d.container_of(|c| c.image.contains("redis")) else {
        return fail(
            Signature::RedisUnavailable,
            json!({"service_reports": reported,
            "error": "no container of the project runs a redis image"}),
        );
    };
    match s.docker.exec(&redis.id, &["redis-cli", "ping"]).await {
        Ok((0, out)) if out.trim() == "PONG" => (
            Outcome::Pass,
            json!({"service_reports": reported,
            "exec": {"container": redis.name, "command": "redis-cli ping", "output": out.trim()}}),
        ),
        Ok((code, out)) => fail(
            Signature::RedisUnavailable,
            json!({"service_reports": reported,
            "exec": {"container": redis.name, "exit_code": code, "output": out.trim()}}),
        ),
        Err(e) => fail(
            Signature::RedisUnavailable,
            json!({"service_reports": reported, "error": e.to_string()}),
        ),
    }
}

async fn shutdown(s: &mut Session<'_>) -> StepResult {
    let logs = capture_logs(s).await;
    let down = match s.project.down(true, s.plan.stop_timeout).await {
        Ok(down) => down,
        Err(e) => {
            return fail(
                Signature::EngineUnavailable,
                json!({"logs": logs, "error": e.to_string()}),
            );
        }
    };
    let down_evidence = json!({"command": down.command, "success": down.success,
        "duration_ms": down.duration_ms, "stderr": tail(&s.redactor().text(&down.stderr), 20)});
    let by_project = s.docker.project_leftovers(&s.project.name).await;
    let by_run = s.docker.leftovers(LABEL_RUN, &s.plan.run.to_string()).await;
    match (by_project, by_run) {
        (Ok(p), Ok(r)) if p.is_empty() && r.is_empty() && down.success => (
            Outcome::Pass,
            json!({"logs": logs, "down": down_evidence, "leftovers": p}),
        ),
        (Ok(p), Ok(r)) => fail(
            Signature::Leftovers,
            json!({"logs": logs, "down": down_evidence,
            "leftovers": {"by_project": p, "by_run_label": r}}),
        ),
        (Err(e), _) | (_, Err(e)) => fail(
            Signature::EngineUnavailable,
            json!({"logs": logs, "down": down_evidence, "error": e.to_string()}),
        ),
    }
}

/// Saves every container's log under `runs/<uuid8>/logs/` before `down` removes them.
async fn capture_logs(s: &Session<'_>) -> Value {
    let containers = s
        .docker
        .project_containers(&s.project.name)
        .await
        .unwrap_or_default();
    let mut files = Vec::new();
    for c in containers {
        let text = s
            .docker
            .logs(&c.id, 5000)
            .await
            .unwrap_or_else(|e| format!("<no logs: {e}>"));
        match s.write_evidence(&format!("logs/{}.log", c.name), &text) {
            Ok(path) => files.push(json!(path)),
            Err(e) => files.push(json!({"error": e})),
        }
    }
    Value::Array(files)
}
