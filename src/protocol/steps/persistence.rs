//! Data written through the service survives `down` (without -v) and `up`.

use std::time::Duration;

use serde_json::{Value, json};

use super::probe::redis_signature;
use super::{StepResult, error, fail, pass};
use crate::protocol::context::{Deployment, StepContext};
use crate::protocol::instance::Failure;
use crate::protocol::probes::{self, ProbeError};
use crate::protocol::{classify, instance};
use crate::run::evidence::PersistenceEvidence;
use crate::run::{Fault, Signature, StepKind};

pub(super) async fn persistence(s: &mut StepContext<'_>, d: &Deployment) -> StepResult {
    let Some(port) = d.api_port else {
        return fail(
            Signature::ApiProbe,
            failed("no API port to write through".into()),
        );
    };
    let key = format!("harness-{}", s.plan.id().short());
    let value = s.plan.run.to_string();
    if let Err(e) = kv(port, &key, Some(&value), s.plan.probe_timeout()).await {
        return kv_failure(port, s.plan.probe_timeout(), &e, json!({"write": e}))
            .await
            .into_step(StepKind::Persistence);
    }
    // Volumes Compose would not reuse after `down`: anonymous ones, orphaned by the new containers.
    let anonymous: Vec<String> = d
        .containers
        .iter()
        .flat_map(|c| c.volumes.iter())
        .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
        .cloned()
        .collect();
    let project = s.project(0);
    let down = match project.down(false, s.plan.stop_timeout).await {
        Ok(out) if out.success => json!({"duration_ms": out.duration_ms}),
        Ok(out) => {
            let evidence = PersistenceEvidence {
                down: Some(json!(s.redactor().text(&out.stderr))),
                ..Default::default()
            };
            if classify::engine_gone(&out.stderr) {
                return error(Fault::EngineUnavailable, evidence);
            }
            return fail(classify::compose_failure(&out.stderr), evidence);
        }
        Err(e) => return error(Fault::ComposeCli, failed(e.to_string())),
    };
    s.deployment = None;
    let up = match instance::deploy(s, &project).await {
        Ok(up) => up,
        Err(f) => {
            return f.ends(PersistenceEvidence {
                down: Some(down),
                up_again: Some(f.evidence.clone()),
                ..Default::default()
            });
        }
    };
    let _ = s.docker.remove_volumes(&anonymous).await;
    let port = up.deployment.api_port;
    s.deployment = Some(up.deployment);
    let Some(port) = port else {
        return fail(
            Signature::ApiProbe,
            PersistenceEvidence {
                down: Some(down),
                ..failed("no API port published after up".into())
            },
        );
    };
    let read = kv(port, &key, None, s.plan.probe_timeout()).await;
    let read_back = match &read {
        Ok(v) => json!(v),
        Err(e) => json!({"error": e}),
    };
    let evidence = PersistenceEvidence {
        key: Some(key),
        written: Some(value.clone()),
        down: Some(down),
        read_back: Some(read_back),
        anonymous_volumes_dropped: Some(anonymous),
        ..Default::default()
    };
    match read {
        Ok(Some(v)) if v == value => pass(evidence),
        Ok(_) => fail(
            Signature::DataLost,
            PersistenceEvidence {
                summary: Some("the value written before `down` was gone after `up`: Redis keeps no data across a recreate".into()),
                ..evidence
            },
        ),
        Err(e) => {
            let evidence = serde_json::to_value(&evidence).unwrap_or_default();
            kv_failure(port, s.plan.probe_timeout(), &e, evidence)
                .await
                .into_step(StepKind::Persistence)
        }
    }
}

/// What stopped the check before it could read back.
fn failed(error: String) -> PersistenceEvidence {
    PersistenceEvidence {
        error: Some(error),
        ..Default::default()
    }
}

/// Why a write or read through the service failed, from what the service says about
/// Redis now: not connected → where it looks; connected → the service's answer is kept
/// unclassified; no answer at all → the API probe's failure.
async fn kv_failure(port: u16, timeout: Duration, e: &ProbeError, evidence: Value) -> Failure {
    if let ProbeError::Harness(_) = e {
        return Failure::fault(Fault::ProbeUnavailable, evidence);
    }
    match probes::health(port, timeout).await {
        Ok(h) if !h.redis_connected() => {
            let mut evidence = evidence;
            evidence["service_reports_redis"] =
                json!({"connected": false, "target": h.redis_target(), "error": h.redis_error()});
            Failure::new(redis_signature(&h), evidence)
        }
        Ok(_) => Failure::new(Signature::Unclassified, evidence),
        Err(health) => Failure::probe(
            Signature::ApiProbe,
            &health,
            json!({"kv": evidence, "health": health}),
        ),
    }
}

/// PUT (with a value) or GET `/kv/<key>`; GET of a missing key is `Ok(None)`.
async fn kv(
    port: u16,
    key: &str,
    value: Option<&str>,
    timeout: Duration,
) -> Result<Option<String>, ProbeError> {
    let url = format!("http://127.0.0.1:{port}/kv/{key}");
    let client = probes::http_client(timeout)?;
    let request = match value {
        Some(v) => client.put(&url).body(v.to_string()),
        None => client.get(&url),
    };
    let service = |e: String| ProbeError::Service(format!("{url}: {e}"));
    let response = request.send().await.map_err(|e| service(e.to_string()))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| service(e.to_string()))?;
    match status.as_u16() {
        200 if value.is_none() => Ok(Some(body)),
        200 | 204 => Ok(None),
        404 if value.is_none() => Ok(None),
        code => Err(service(format!("{code} {body}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-route server on 127.0.0.1 answering `/health` with `body`, for as many
    /// requests as the test makes (bounded), then gone with the runtime.
    async fn health_server(body: &'static str) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for _ in 0..8 {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            }
        });
        port
    }

    fn failed_write() -> ProbeError {
        ProbeError::Service("PUT /kv/x: 500 write failed".into())
    }

    #[tokio::test]
    async fn a_failed_write_is_named_by_what_the_service_says_about_redis() {
        let timeout = Duration::from_secs(5);
        let port = health_server(
            r#"{"status":"degraded","redis":{"connected":false,"target":"redis://localhost:6379"}}"#,
        )
        .await;
        let f = kv_failure(port, timeout, &failed_write(), json!({})).await;
        assert_eq!(f.signature(), Some(Signature::RedisLocalhost));
        let port = health_server(
            r#"{"status":"ok","redis":{"connected":true,"target":"redis://redis:6379"}}"#,
        )
        .await;
        let f = kv_failure(port, timeout, &failed_write(), json!({})).await;
        assert_eq!(
            f.signature(),
            Some(Signature::Unclassified),
            "Redis is connected: no guess at why the write failed"
        );
        let harness = ProbeError::Harness("no client".into());
        let f = kv_failure(port, timeout, &harness, json!({})).await;
        assert_eq!(f.blame.fault(), Some(Fault::ProbeUnavailable));
    }

    #[tokio::test]
    async fn a_service_that_no_longer_answers_is_the_api_probe() {
        // A port nothing listens on: bound, then released.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let f = kv_failure(port, Duration::from_secs(2), &failed_write(), json!({})).await;
        assert_eq!(f.signature(), Some(Signature::ApiProbe));
    }
}
