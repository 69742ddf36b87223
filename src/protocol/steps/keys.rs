//! The API key is optional: without it the stack must still come up healthy, say the key
//! is absent, and warn about it; with one it must say present. The value itself is never
//! recorded.

use serde_json::{Value, json};

use super::{StepResult, pass};
use crate::protocol::context::StepContext;
use crate::protocol::instance::{self, Blame, Failure};
use crate::protocol::probes;
use crate::run::Signature;
use crate::run::evidence::MissingKeyEvidence;

pub const KEY: &str = "ANTHROPIC_API_KEY";

pub(super) async fn missing_key(s: &StepContext<'_>) -> StepResult {
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
    let a = a.map_err(|f| blame_the_key(f, b.is_ok()));
    let side = |r: &Result<Value, Failure>| match r {
        Ok(v) => v.clone(),
        Err(f) => json!({"signature": f.signature(), "evidence": f.evidence}),
    };
    let evidence = MissingKeyEvidence {
        key_unset: Some(side(&a)),
        dummy_key_set: Some(side(&b)),
        teardown: Some(json!([ta, tb])),
    };
    let failures: Vec<&Failure> = [&a, &b]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    match instance::cause(&failures) {
        None => pass(evidence),
        Some(f) => f.ends(evidence),
    }
}

/// The key's absence is named as the cause only on evidence: the failing instance's own
/// output names the key or a missing variable, or the same config with a dummy key came
/// up healthy (the two instances differ in nothing else). Only a failure whose own
/// signature names no cause (unhealthy, crashing, not ready, rejected, unclassified, a
/// probe without an answer) is re-read this way; one that names its cause keeps it.
fn blame_the_key(f: Failure, with_key_passed: bool) -> Failure {
    let Blame::Config(signature) = f.blame else {
        return f;
    };
    let unexplained = matches!(
        signature,
        Signature::Unhealthy
            | Signature::CrashLoop
            | Signature::HealthTimeout
            | Signature::ComposeRejected
            | Signature::Unclassified
            | Signature::ApiProbe
    );
    if !unexplained || instance::is_clash(&f) {
        return f;
    }
    let text = f.evidence.to_string();
    let named = [KEY, "Missing mandatory value", "required variable"]
        .iter()
        .find(|m| text.contains(*m));
    let because = match (named, with_key_passed) {
        (Some(marker), _) => format!("the instance's output names `{marker}`"),
        (None, true) => {
            "the same config with a dummy key set came up and passed; the instances differ only in the key".to_string()
        }
        (None, false) => return f,
    };
    let mut evidence = f.evidence;
    evidence["classified_as_missing_env_fatal_because"] = json!(because);
    evidence["signature_from_own_evidence"] = json!(signature);
    Failure::new(Signature::MissingEnvFatal, evidence)
}

/// One instance with the key removed or set; healthy, and reporting what it got.
async fn variant(
    s: &StepContext<'_>,
    project: &crate::engine::Project,
    key_set: bool,
) -> Result<Value, Failure> {
    let up = instance::deploy(s, project).await?;
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
        .map_err(|e| Failure::probe(Signature::ApiProbe, &e, json!({"error": e})))?;
    let reported = health.body["api_key_present"].as_bool();
    let warning = key_warning(s, &up.up.stderr, &up.deployment).await;
    let evidence = json!({"project": project.name, "status": health.status,
        "api_key_present": reported, "warning": warning});
    if health.status != 200 {
        return Err(Failure::new(
            Signature::ApiProbe,
            json!({"evidence": evidence, "error": format!("/health answered {}", health.status)}),
        ));
    }
    if reported != Some(key_set) {
        return Err(Failure::new(
            Signature::ApiProbe,
            json!({"evidence": evidence,
            "error": format!("the service should report api_key_present={key_set}")}),
        ));
    }
    if !key_set && warning.is_null() {
        return Err(Failure::new(
            Signature::NoKeyWarning,
            json!({"evidence": evidence,
            "error": format!("without {KEY} neither Compose nor the service warned about it (the protocol promises a recorded warning)")}),
        ));
    }
    Ok(evidence)
}

/// The warning the key's absence produced: Compose's, else the service's own log line.
async fn key_warning(
    s: &StepContext<'_>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn unhealthy(evidence: Value) -> Failure {
        Failure::new(Signature::Unhealthy, evidence)
    }

    #[test]
    fn the_key_is_blamed_only_on_evidence() {
        // Nothing names the key and the keyed instance failed too: not the key's doing.
        let f = blame_the_key(
            unhealthy(json!({"logs_tail": "panic: out of memory"})),
            false,
        );
        assert_eq!(f.signature(), Some(Signature::Unhealthy));
        // The failing instance's log names the key.
        let f = blame_the_key(
            unhealthy(json!({"logs_tail": "fatal: ANTHROPIC_API_KEY must be set"})),
            false,
        );
        assert_eq!(f.signature(), Some(Signature::MissingEnvFatal));
        assert_eq!(f.evidence["signature_from_own_evidence"], "unhealthy");
        // The keyed twin passed: the key is the only difference.
        let f = blame_the_key(Failure::new(Signature::CrashLoop, json!({})), true);
        assert_eq!(f.signature(), Some(Signature::MissingEnvFatal));
        // A clash is a clash, whatever the other instance did.
        let f = blame_the_key(Failure::new(Signature::NameConflict, json!({})), true);
        assert_eq!(f.signature(), Some(Signature::NameConflict));
        // A cause the evidence names stays, even where the app's log warns about the key.
        let f = blame_the_key(
            Failure::new(
                Signature::HealthcheckBroken,
                json!({"logs_tail": "WARN ANTHROPIC_API_KEY not set - service continues"}),
            ),
            false,
        );
        assert_eq!(f.signature(), Some(Signature::HealthcheckBroken));
    }
}
