//! Data written through the service survives `down` (without -v) and `up`.

use std::time::Duration;

use serde_json::json;

use super::probe::redis_signature;
use super::{StepResult, fail, pass};
use crate::protocol::session::{Deployment, Session};
use crate::protocol::{Signature, instance, probes};

pub(super) async fn persistence(s: &mut Session<'_>, d: &Deployment) -> StepResult {
    let Some(port) = d.api_port else {
        return fail(
            Signature::ApiProbe,
            json!({"error": "no API port to write through"}),
        );
    };
    let key = format!("harness-{}", crate::record::uuid8(s.plan.run));
    let value = s.plan.run.to_string();
    if let Err(e) = kv(port, &key, Some(&value), s.plan.probe_timeout()).await {
        let signature = match probes::health(port, s.plan.probe_timeout()).await {
            Ok(h) if !h.redis_connected() => redis_signature(&h),
            _ => Signature::RedisUnavailable,
        };
        return fail(signature, json!({"write": e}));
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
            return fail(
                Signature::ComposeRejected,
                json!({"down": s.redactor().text(&out.stderr)}),
            );
        }
        Err(e) => {
            return fail(
                Signature::EngineUnavailable,
                json!({"error": e.to_string()}),
            );
        }
    };
    s.deployment = None;
    let up = match instance::deploy(s, &project).await {
        Ok(up) => up,
        Err(f) => return fail(f.signature, json!({"down": down, "up_again": f.evidence})),
    };
    let _ = s.docker.remove_volumes(&anonymous).await;
    let port = up.deployment.api_port;
    s.deployment = Some(up.deployment);
    let read = match port {
        Some(p) => kv(p, &key, None, s.plan.probe_timeout()).await,
        None => Err("no API port after up".into()),
    };
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
        Err(_) => fail(Signature::RedisUnavailable, evidence),
    }
}

/// PUT (with a value) or GET `/kv/<key>`; GET of a missing key is `Ok(None)`.
async fn kv(
    port: u16,
    key: &str,
    value: Option<&str>,
    timeout: Duration,
) -> Result<Option<String>, String> {
    let url = format!("http://127.0.0.1:{port}/kv/{key}");
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let request = match value {
        Some(v) => client.put(&url).body(v.to_string()),
        None => client.get(&url),
    };
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    match status.as_u16() {
        200 if value.is_none() => Ok(Some(body)),
        200 | 204 => Ok(None),
        404 if value.is_none() => Ok(None),
        code => Err(format!("{url}: {code} {body}")),
    }
}
