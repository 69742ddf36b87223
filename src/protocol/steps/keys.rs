//! The API key is optional: without it the stack must still come up healthy and say the
//! key is absent; with one it must say present. The value itself is never recorded.

use serde_json::{Value, json};

use super::{StepResult, fail, pass};
use crate::protocol::instance::{self, Failure};
use crate::protocol::session::Session;
use crate::protocol::{Signature, probes};

pub const KEY: &str = "ANTHROPIC_API_KEY";

pub(super) async fn missing_key(s: &Session<'_>) -> StepResult {
    let (without, with) = s.plan.key_instances();
    let mut absent = s.project(without);
    absent.env_remove.push(KEY.into());
    let mut present = s.project(with);
    present.env_set.push((KEY.into(), s.plan.dummy_key.clone()));
    let (a, b) = tokio::join!(variant(s, &absent, false), variant(s, &present, true));
    let (ta, tb) = tokio::join!(
        instance::teardown(s, &absent),
        instance::teardown(s, &present)
    );
    let evidence = |a: &Result<Value, Failure>, b: &Result<Value, Failure>| {
        let side = |r: &Result<Value, Failure>| match r {
            Ok(v) => v.clone(),
            Err(f) => json!({"signature": f.signature, "evidence": f.evidence}),
        };
        json!({"key_unset": side(a), "dummy_key_set": side(b), "teardown": [ta, tb]})
    };
    match (&a, &b) {
        (Ok(_), Ok(_)) => pass(evidence(&a, &b)),
        // Both failed: a clash between the two instances is the cause whichever lost the
        // race, so the step names it, not what the winner ran into next.
        (Err(fa), Err(fb)) if is_clash(fb.signature) && !is_clash(fa.signature) => {
            fail(fb.signature, evidence(&a, &b))
        }
        (Err(f), _) | (_, Err(f)) => fail(f.signature, evidence(&a, &b)),
    }
}

fn is_clash(signature: Signature) -> bool {
    matches!(
        signature,
        Signature::PortConflict | Signature::NameConflict | Signature::NetworkConflict
    )
}

/// One instance with the key removed or set; healthy, and reporting what it got.
async fn variant(
    s: &Session<'_>,
    project: &crate::engine::Project,
    key_set: bool,
) -> Result<Value, Failure> {
    let up = instance::deploy(s, project).await.map_err(|f| {
        // A stack that will not start without the key is the failure this step exists for.
        let signature = if key_set {
            f.signature
        } else {
            missing_env_signature(f.signature)
        };
        Failure::new(signature, f.evidence)
    })?;
    let exposed = super::deploy::exposed_ports(&up.deployment.containers);
    if !exposed.is_empty() {
        return Err(Failure::new(
            Signature::ExposedPort,
            json!({"summary": format!("instance {} published beyond this machine: {}", project.name, exposed.join(", ")), "exposed": exposed}),
        ));
    }
    let Some(port) = up.deployment.api_port else {
        return Err(Failure::new(
            Signature::ApiProbe,
            json!({"error": "no API port published"}),
        ));
    };
    let health = probes::health(port, s.plan.probe_timeout())
        .await
        .map_err(|e| Failure::new(Signature::ApiProbe, json!({"error": e})))?;
    let reported = health.body["api_key_present"].as_bool();
    let warning = key_warning(s, &up.up.stderr, &up.deployment).await;
    let evidence = json!({"project": project.name, "status": health.status,
        "api_key_present": reported, "warning": warning});
    if health.status != 200 {
        return Err(Failure::new(Signature::MissingEnvFatal, evidence));
    }
    if reported != Some(key_set) {
        return Err(Failure::new(
            Signature::ApiProbe,
            json!({"evidence": evidence,
            "error": format!("the service should report api_key_present={key_set}")}),
        ));
    }
    Ok(evidence)
}

fn missing_env_signature(sig: Signature) -> Signature {
    match sig {
        Signature::Unhealthy
        | Signature::CrashLoop
        | Signature::HealthTimeout
        | Signature::ComposeRejected => Signature::MissingEnvFatal,
        other => other,
    }
}

/// The warning the key's absence produced: Compose's, else the service's own log line.
async fn key_warning(
    s: &Session<'_>,
    compose_stderr: &str,
    d: &crate::protocol::Deployment,
) -> Value {
    let from = |text: &str| {
        text.lines()
            .find(|l| l.contains(KEY))
            .map(str::trim)
            .map(String::from)
    };
    if let Some(line) = from(compose_stderr) {
        return json!({"source": "compose", "line": s.redactor().text(&line)});
    }
    if let Some(app) = d.app_container(s.plan.probes.api_port)
        && let Ok(logs) = s.docker.logs(&app.id, 200).await
        && let Some(line) = from(&logs)
    {
        return json!({"source": app.name, "line": s.redactor().text(&line)});
    }
    Value::Null
}
