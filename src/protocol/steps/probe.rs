//! The probes against one instance: HTTP health, the WebSocket stream, Redis.

use serde_json::{Value, json};

use super::{StepResult, fail, pass};
use crate::protocol::context::{Deployment, StepContext};
use crate::protocol::instance::Failure;
use crate::protocol::{classify, probes};
use crate::run::evidence::{ApiProbeEvidence, ExecEvidence, RedisEvidence, WsProbeEvidence};
use crate::run::{Evidence, Fault, Signature, StepKind};

pub(super) async fn api_probe(s: &StepContext<'_>, d: &Deployment) -> StepResult {
    into_step(StepKind::ApiProbe, api(s, d).await)
}

pub(super) async fn ws_probe(s: &StepContext<'_>, d: &Deployment) -> StepResult {
    into_step(StepKind::WsProbe, ws(s, d).await)
}

fn into_step<E: Into<Evidence>>(kind: StepKind, result: Result<E, Failure>) -> StepResult {
    match result {
        Ok(evidence) => pass(evidence),
        Err(f) => f.into_step(kind),
    }
}

/// `GET /health`: 200 with a JSON status.
pub(crate) async fn api(s: &StepContext<'_>, d: &Deployment) -> Result<ApiProbeEvidence, Failure> {
    let Some(port) = d.api_port else {
        return Err(Failure::new(
            Signature::ApiProbe,
            json!({"error": format!(
            "no host port is published for the API's container port {}", s.plan.probes.api_port)}),
        ));
    };
    match probes::health(port, s.plan.probe_timeout()).await {
        Ok(h) if h.status == 200 && h.body["status"].is_string() => Ok(ApiProbeEvidence {
            url: Some(format!("http://127.0.0.1:{port}/health")),
            status: Some(h.status),
            body: Some(h.body),
            ..Default::default()
        }),
        Ok(h) => Err(Failure::new(
            Signature::ApiProbe,
            json!({"port": port, "status": h.status,
            "body": h.body, "error": "expected 200 with a JSON `status`"}),
        )),
        Err(e) => Err(Failure::probe(
            Signature::ApiProbe,
            &e,
            json!({"port": port, "error": e}),
        )),
    }
}

/// One streamed JSON-RPC execution over the spec's WebSocket endpoint, every chunk in order.
pub(crate) async fn ws(s: &StepContext<'_>, d: &Deployment) -> Result<WsProbeEvidence, Failure> {
    let spec = &s.plan.probes;
    let Some(port) = d.websocket_port else {
        return Err(Failure::new(
            Signature::WsProtocol,
            json!({"error": format!(
            "no host port is published for the WebSocket's container port {}", spec.ws_port)}),
        ));
    };
    probes::ws_execute(port, &spec.ws_path, spec.ws_chunks, s.plan.probe_timeout())
        .await
        .map(|stream| WsProbeEvidence {
            url: Some(stream.url),
            chunks_expected: Some(stream.chunks_expected),
            chunks_received: Some(stream.chunks_received),
            completion: Some(stream.completion),
            elapsed_ms: Some(stream.elapsed_ms),
            ..Default::default()
        })
        .map_err(|e| {
            Failure::new(
                Signature::WsProtocol,
                json!({"port": port, "error": e.to_string()}),
            )
        })
}

/// Both user-facing probes, for the steps that check an instance again.
pub(crate) async fn api_and_ws(s: &StepContext<'_>, d: &Deployment) -> Result<Value, Failure> {
    let api = api(s, d).await?;
    let ws = ws(s, d).await?;
    Ok(json!({"api": api.status, "ws_chunks": ws.chunks_received,
        "ports": {"api": d.api_port, "websocket": d.websocket_port}}))
}

/// The service says Redis is connected, and Redis itself answers `PING` from inside.
pub(super) async fn redis(s: &StepContext<'_>, d: &Deployment) -> StepResult {
    let Some(port) = d.api_port else {
        return fail(
            Signature::ApiProbe,
            RedisEvidence {
                error: Some(json!("no API port to ask about Redis")),
                ..Default::default()
            },
        );
    };
    let health = match probes::health(port, s.plan.probe_timeout()).await {
        Ok(h) => h,
        Err(e) => {
            return Failure::probe(Signature::ApiProbe, &e, json!({"error": e}))
                .into_step(StepKind::Redis);
        }
    };
    let reported = json!({"connected": health.redis_connected(),
        "target": health.redis_target(), "error": health.redis_error()});
    if !health.redis_connected() {
        return fail(redis_signature(&health), reports(reported, None, None));
    }
    let Some(redis) = d.redis_container() else {
        let error = json!("no container of the project runs a redis image");
        return fail(
            Signature::RedisUnavailable,
            reports(reported, None, Some(error)),
        );
    };
    match s.docker.exec(&redis.id, &["redis-cli", "ping"]).await {
        Ok((0, out)) if out.trim() == "PONG" => {
            let exec = ExecEvidence {
                container: Some(redis.name.clone()),
                command: Some("redis-cli ping".into()),
                output: Some(out.trim().into()),
                ..Default::default()
            };
            pass(reports(reported, Some(exec), None))
        }
        Ok((code, out)) => {
            let exec = ExecEvidence {
                container: Some(redis.name.clone()),
                exit_code: Some(code),
                output: Some(out.trim().into()),
                ..Default::default()
            };
            fail(
                Signature::RedisUnavailable,
                reports(reported, Some(exec), None),
            )
        }
        Err(e) => exec_failed(&e, reports(reported, None, Some(json!(e.to_string())))),
    }
}

fn reports(service: Value, exec: Option<ExecEvidence>, error: Option<Value>) -> RedisEvidence {
    RedisEvidence {
        service_reports: Some(service),
        exec,
        error,
    }
}

/// Why the service cannot reach Redis: looking in the wrong place, or Redis is not there.
pub(crate) fn redis_signature(health: &probes::Health) -> Signature {
    if classify::redis_on_localhost(&health.redis_target()) {
        Signature::RedisLocalhost
    } else {
        Signature::RedisUnavailable
    }
}

/// An exec the engine could not carry out: an unreachable engine is the harness's fault;
/// a container that is not running or has no such program is the stack's; anything else
/// is not guessed at.
pub(super) fn exec_failed(e: &crate::engine::EngineError, evidence: RedisEvidence) -> StepResult {
    let text = e.to_string();
    if e.is_unreachable() {
        super::error(Fault::of_engine(e), evidence)
    } else if [
        "is not running",
        "executable file not found",
        "no such file",
    ]
    .iter()
    .any(|m| text.contains(m))
    {
        fail(Signature::RedisUnavailable, evidence)
    } else {
        fail(Signature::Unclassified, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineError;
    use crate::run::Outcome;

    fn api(source: bollard::errors::Error) -> EngineError {
        EngineError::Api {
            call: "start exec",
            source,
        }
    }

    #[test]
    fn an_exec_failure_is_blamed_on_evidence() {
        let server = |message: &str| {
            api(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message: message.to_string(),
            })
        };
        let outcome = |e: EngineError| exec_failed(&e, RedisEvidence::default()).0;
        assert_eq!(
            outcome(server("Container 3f1c is not running")),
            Outcome::Fail(Signature::RedisUnavailable)
        );
        assert_eq!(
            outcome(server(
                "OCI runtime exec failed: exec: \"redis-cli\": executable file not found in $PATH"
            )),
            Outcome::Fail(Signature::RedisUnavailable)
        );
        assert_eq!(
            outcome(server("something new")),
            Outcome::Fail(Signature::Unclassified)
        );
        assert_eq!(
            outcome(api(bollard::errors::Error::RequestTimeoutError)),
            Outcome::Error(Fault::EngineUnavailable),
            "an engine that does not answer is the harness's problem"
        );
    }
}
