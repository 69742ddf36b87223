//! The probes against one instance: the apps' HTTP and WebSocket endpoints, and what the
//! apps report about what they need.

use serde_json::{Value, json};

use super::{StepResult, fail, not_declared, pass};
use crate::protocol::context::{Deployment, StepContext};
use crate::protocol::instance::Failure;
use crate::protocol::{classify, probes, roles};
use crate::run::evidence::{ApiProbeEvidence, RedisEvidence, WsProbeEvidence};
use crate::run::{Evidence, Fault, Signature, StepKind};
use crate::spec::{HttpEndpoint, Reported, WsEndpoint};

pub(super) async fn api_probe(s: &StepContext<'_>, d: &Deployment) -> StepResult {
    into_step(StepKind::ApiProbe, api(s, d).await)
}

pub(super) async fn ws_probe(s: &StepContext<'_>, d: &Deployment) -> StepResult {
    if !roles::has_websocket(&s.plan.spec) {
        return not_declared("the task declares no WebSocket endpoint");
    }
    into_step(StepKind::WsProbe, ws(s, d).await)
}

fn into_step<E: Into<Evidence>>(kind: StepKind, result: Result<E, Failure>) -> StepResult {
    match result {
        Ok(evidence) => pass(evidence),
        Err(f) => f.into_step(kind),
    }
}

/// Every app's HTTP endpoints: the declared status, and the JSON checks on the body.
pub(crate) async fn api(s: &StepContext<'_>, d: &Deployment) -> Result<ApiProbeEvidence, Failure> {
    let mut checked = Vec::new();
    for app in &s.plan.spec.apps {
        for endpoint in &app.http {
            checked.push(http(s, d, &app.service, endpoint).await?);
        }
    }
    let mut first = checked.first().cloned().unwrap_or_default();
    if checked.len() > 1 {
        let each = checked
            .iter()
            .map(|e| json!({"url": e.url, "status": e.status}));
        first.endpoints = Some(each.collect());
    }
    Ok(first)
}

async fn http(
    s: &StepContext<'_>,
    d: &Deployment,
    service: &str,
    e: &HttpEndpoint,
) -> Result<ApiProbeEvidence, Failure> {
    let Some(port) = d.host_port(service, e.port) else {
        let error = format!(
            "no host port is published for `{service}`'s container port {}",
            e.port
        );
        return Err(Failure::new(Signature::ApiProbe, json!({"error": error})));
    };
    let url = format!("http://127.0.0.1:{port}{}", e.path);
    let answer = match probes::get(port, &e.path, s.plan.probe_timeout()).await {
        Ok(a) => a,
        Err(err) => {
            let evidence = json!({"port": port, "error": err, "url": url});
            return Err(Failure::probe(Signature::ApiProbe, &err, evidence));
        }
    };
    let problem = if answer.status != e.status {
        Some(format!(
            "GET {}: expected status {}, got {}",
            e.path, e.status, answer.status
        ))
    } else if !e.json.is_empty() && !answer.json {
        Some(format!("GET {}: the body is not JSON", e.path))
    } else {
        probes::json_checks(&e.json, &answer.body)
            .err()
            .map(|p| format!("GET {}: {p}", e.path))
    };
    match problem {
        None => Ok(ApiProbeEvidence {
            url: Some(url),
            status: Some(answer.status),
            body: Some(answer.body),
            ..Default::default()
        }),
        Some(error) => Err(Failure::new(
            Signature::ApiProbe,
            json!({"port": port, "status": answer.status, "body": answer.body,
                "error": error, "url": url}),
        )),
    }
}

/// Every app's WebSocket endpoints: the upgrade, and the declared exchange if any.
pub(crate) async fn ws(s: &StepContext<'_>, d: &Deployment) -> Result<WsProbeEvidence, Failure> {
    let mut checked = Vec::new();
    for app in &s.plan.spec.apps {
        for endpoint in &app.websocket {
            checked.push(websocket(s, d, &app.service, endpoint).await?);
        }
    }
    let mut first = checked.first().cloned().unwrap_or_default();
    if checked.len() > 1 {
        let each = checked
            .iter()
            .map(|e| json!({"url": e.url, "chunks_received": e.chunks_received}));
        first.endpoints = Some(each.collect());
    }
    Ok(first)
}

async fn websocket(
    s: &StepContext<'_>,
    d: &Deployment,
    service: &str,
    e: &WsEndpoint,
) -> Result<WsProbeEvidence, Failure> {
    let Some(port) = d.host_port(service, e.port) else {
        let error = format!(
            "no host port is published for `{service}`'s WebSocket container port {}",
            e.port
        );
        return Err(Failure::new(Signature::WsProtocol, json!({"error": error})));
    };
    probes::ws_exchange(port, e, s.plan.probe_timeout())
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
    // Without a declared WebSocket endpoint there is no stream to check again.
    let ws = match roles::has_websocket(&s.plan.spec) {
        true => ws(s, d).await?.chunks_received,
        false => None,
    };
    Ok(json!({"api": api.status, "ws_chunks": ws,
        "ports": {"api": d.api_port, "websocket": d.websocket_port}}))
}

/// What an app reports at `r`, asked on the host port of the app that publishes `r.port`.
/// An app that does not answer is the API probe's failure.
pub(crate) async fn reported(
    s: &StepContext<'_>,
    d: &Deployment,
    r: &Reported,
) -> Result<probes::Reported, Failure> {
    let port = s
        .plan
        .spec
        .apps
        .iter()
        .find_map(|a| d.host_port(&a.service, r.port));
    let Some(port) = port else {
        let error = format!(
            "no app publishes container port {} to ask `{}`",
            r.port, r.path
        );
        return Err(Failure::new(Signature::ApiProbe, json!({"error": error})));
    };
    match probes::get(port, &r.path, s.plan.probe_timeout()).await {
        Ok(answer) if answer.json => Ok(answer.reported(&r.pointer)),
        Ok(answer) => Err(Failure::new(
            Signature::ApiProbe,
            json!({"port": port, "status": answer.status, "body": answer.body,
                "error": format!("GET {}: the body is not JSON", r.path)}),
        )),
        Err(e) => Err(Failure::probe(
            Signature::ApiProbe,
            &e,
            json!({"port": port, "error": e}),
        )),
    }
}

/// Why an app cannot reach a dependency it reports on: looking on its own loopback, or
/// the dependency is not there.
pub(crate) fn dependency_signature(reported: &probes::Reported) -> Signature {
    if classify::targets_loopback(&reported.target) {
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
