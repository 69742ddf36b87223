//! Data written through the service survives `down` (without -v) and `up`.

use std::time::Duration;

use serde_json::{Value, json};

use super::probe::redis_signature;
use super::{StepResult, error, fail, pass};
use crate::protocol::instance::Failure;
use crate::protocol::probes::{self, ProbeError};
use crate::protocol::session::{Deployment, Session};
use crate::protocol::{classify, instance};
use crate::run::{Fault, Signature};

pub(super) async fn persistence(s: &mut Session<'_>, d: &Deployment) -> StepResult {
    let Some(port) = d.api_port else {
        return fail(
            Signature::ApiProbe,
            json!({"error": "no API port to write through"}),
        );
    };
    let key = format!("harness-{}", s.plan.id().short());
    let value = s.plan.run.to_string();
    if let Err(e) = kv(port, &key, Some(&value), s.plan.probe_timeout()).await {
        return kv_failure(s, port, &e, json!({"write": e}))
            .await
            .into_step();
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
            let evidence = json!({"down": s.redactor().text(&out.stderr)});
            if classify::engine_gone(&out.stderr) {
                return error(Fault::EngineUnavailable, evidence);
            }
            return fail(classify::compose_failure(&out.stderr), evidence);
        }
        Err(e) => return error(Fault::ComposeCli, json!({"error": e.to_string()})),
    };
    s.deployment = None;
    let up = match instance::deploy(s, &project).await {
        Ok(up) => up,
        Err(f) => {
            return f
                .with_evidence(json!({"down": down, "up_again": f.evidence}))
                .into_step();
        }
    };
    let _ = s.docker.remove_volumes(&anonymous).await;
    let port = up.deployment.api_port;
    s.deployment = Some(up.deployment);
    let Some(port) = port else {
        return fail(
            Signature::ApiProbe,
            json!({"down": down, "error": "no API port published after up"}),
        );
    };
    let read = kv(port, &key, None, s.plan.probe_timeout()).await;
    let read_back = match &read {
        Ok(v) => json!(v),
        Err(e) => json!({"error": e}),
    };
    let evidence = json!({"key": key, "written": value, "down": down, "read_back": read_back,
        "anonymous_volumes_dropped": anonymous});
    match read {
        Ok(Some(v)) if v == value => pass(evidence),
        Ok(_) => {
            let mut evidence = evidence;
            evidence["summary"] = json!(
                "the value written before `down` was gone after `up`: Redis keeps no data across a recreate"
            );
            fail(Signature::DataLost, evidence)
        }
        Err(e) => kv_failure(s, port, &e, evidence).await.into_step(),
    }
}

/// Why a write or read through the service failed, from what the service says about
/// Redis now: not connected → where it looks; connected → the service's answer is kept
/// unclassified; no answer at all → the API probe's failure.
async fn kv_failure(s: &Session<'_>, port: u16, e: &ProbeError, evidence: Value) -> Failure {
    if let ProbeError::Harness(_) = e {
        return Failure::fault(Fault::ProbeUnavailable, evidence);
    }
    match probes::health(port, s.plan.probe_timeout()).await {
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
