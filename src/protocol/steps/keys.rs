//! The task's optional API keys (`required: false`): without them the stack must still
//! come up healthy, report each key absent where the task says it does, and warn about
//! those it says it warns about; with dummy keys it must report them present. The values
//! themselves are never recorded.

use serde_json::{Value, json};

use super::probe::{api, reported};
use super::{StepResult, not_declared, pass};
use crate::engine::Project;
use crate::protocol::ahead;
use crate::protocol::context::StepContext;
use crate::protocol::instance::{self, Blame, Failure};
use crate::run::evidence::MissingKeyEvidence;
use crate::run::{Signature, StepKind};
use crate::spec::ApiKey;

pub(super) async fn missing_key(s: &StepContext<'_>) -> StepResult {
    let keys: Vec<&ApiKey> = s.plan.spec.keys.iter().filter(|k| !k.required).collect();
    let Some((absent, present)) = key_projects(s) else {
        return not_declared("the task declares no optional keys (`required: false`)");
    };
    let (a, b) = tokio::join!(
        variant(s, &absent, false, &keys),
        variant(s, &present, true, &keys)
    );
    let keep_main = async {
        if absent.name == s.plan.project_name(0) {
            return json!({"project": absent.name, "kept": "the main instance: shutdown stops it, or the run's sweep"});
        }
        instance::teardown(s, &absent).await
    };
    let (ta, tb) = tokio::join!(keep_main, instance::teardown(s, &present));
    let names: Vec<&str> = keys.iter().map(|k| k.env.as_str()).collect();
    let a = a.map_err(|f| blame_the_key(f, b.is_ok(), &names));
    let side = |r: &Result<Value, Failure>| match r {
        Ok(v) => v.clone(),
        Err(f) => json!({"signature": f.signature(), "evidence": f.evidence}),
    };
    let evidence = MissingKeyEvidence {
        key_unset: Some(side(&a)),
        dummy_key_set: Some(side(&b)),
        teardown: Some(json!([ta, tb])),
        keys: (keys.len() > 1).then(|| names.iter().map(|n| n.to_string()).collect()),
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

/// The instance without the task's optional keys and the one with a dummy value for each;
/// none when the task declares no optional key.
pub(crate) fn key_projects(s: &StepContext<'_>) -> Option<(Project, Project)> {
    let keys = s.plan.spec.keys.iter().filter(|k| !k.required);
    let (without, with) = s.plan.key_instances();
    let without = if main_is_keyless(s) { 0 } else { without };
    let mut absent = s.project(without);
    let mut present = s.project(with);
    for key in keys {
        absent.env_remove.push(key.env.clone());
        present
            .env_set
            .push((key.env.clone(), s.plan.dummy_key.clone()));
    }
    (!absent.env_remove.is_empty()).then_some((absent, present))
}

/// Whether the main instance is itself the one without the optional keys: the harness's
/// environment has none of them, so Compose deploys the main instance exactly as it would
/// the key-less copy, and that copy need not be brought up beside it. Its checks then
/// read the main instance, before restart or persistence change it.
pub(crate) fn main_is_keyless(s: &StepContext<'_>) -> bool {
    let mut keys = s.plan.spec.keys.iter().filter(|k| !k.required).peekable();
    keys.peek().is_some()
        && s.plan.steps.contains(&StepKind::Deploy)
        && keys.all(|k| std::env::var_os(&k.env).is_none())
}

/// The key's absence is named as the cause only on evidence: the failing instance's own
/// output names the key or a missing variable, or the same config with a dummy key came
/// up healthy (the two instances differ in nothing else). Only a failure whose own
/// signature names no cause (unhealthy, crashing, not ready, rejected, unclassified, a
/// probe without an answer) is re-read this way; one that names its cause keeps it.
fn blame_the_key(f: Failure, with_key_passed: bool, keys: &[&str]) -> Failure {
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
    let markers = ["Missing mandatory value", "required variable"];
    let named = keys
        .iter()
        .chain(markers.iter())
        .find(|m| text.contains(**m));
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

/// One instance with the keys removed or set: healthy (every HTTP endpoint as declared),
/// reporting each key as it got it, and warning about the absent ones that must warn.
async fn variant(
    s: &StepContext<'_>,
    project: &Project,
    key_set: bool,
    keys: &[&ApiKey],
) -> Result<Value, Failure> {
    let up = ahead::deploy(s, project).await?;
    let d = &up.deployment;
    let exposed = super::deploy::exposed_ports(&d.containers);
    if !exposed.is_empty() {
        return Err(Failure::new(
            Signature::ExposedPort,
            json!({"summary": format!("instance {} published beyond this machine: {}", project.name, exposed.join(", ")), "exposed": exposed}),
        ));
    }
    let health = api(s, d).await.map_err(|f| {
        let mut evidence = json!({"project": project.name});
        evidence["error"] = f.evidence.clone();
        Failure { evidence, ..f }
    })?;
    let mut said = Vec::new();
    for key in keys {
        if let Some(r) = &key.reported {
            said.push((key.env.as_str(), reported(s, d, r).await?.value));
        }
    }
    let warns: Vec<&str> = keys
        .iter()
        .filter(|k| k.warns)
        .map(|k| k.env.as_str())
        .collect();
    let warning = if key_set || warns.is_empty() {
        Value::Null
    } else {
        key_warning(s, &up.up.stderr, d, &warns).await
    };
    let mut evidence = json!({"project": project.name, "startup_ms": d.startup_ms, "status": health.status,
        "api_key_present": said.first().map(|(_, v)| *v), "warning": warning});
    if said.len() > 1 {
        evidence["keys_reported"] = said
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
    }
    if let Some((key, _)) = said.iter().find(|(_, v)| *v != Some(key_set)) {
        return Err(Failure::new(
            Signature::ApiProbe,
            json!({"evidence": evidence,
            "error": format!("the service should report {key} present={key_set}")}),
        ));
    }
    if !key_set && !warns.is_empty() && warning.is_null() {
        return Err(Failure::new(
            Signature::NoKeyWarning,
            json!({"evidence": evidence,
            "error": format!("without {} neither Compose nor the service warned about it (the protocol promises a recorded warning)", warns.join(", "))}),
        ));
    }
    Ok(evidence)
}

/// The warning the keys' absence produced: Compose's, else an app's own log line.
async fn key_warning(
    s: &StepContext<'_>,
    compose_stderr: &str,
    d: &crate::protocol::Deployment,
    keys: &[&str],
) -> Value {
    let from = |text: &str| {
        text.lines()
            .find(|l| keys.iter().any(|k| l.contains(k)))
            .map(str::trim)
            .map(String::from)
    };
    if let Some(line) = from(compose_stderr) {
        return json!({"source": "compose", "line": s.redactor().text(&line)});
    }
    for app in &s.plan.spec.apps {
        if let Some(c) = d.service_container(&app.service)
            && let Ok(logs) = s.docker.logs(&c.id, 200).await
            && let Some(line) = from(&logs)
        {
            return json!({"source": c.name, "line": s.redactor().text(&line)});
        }
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["ANTHROPIC_API_KEY"];

    fn unhealthy(evidence: Value) -> Failure {
        Failure::new(Signature::Unhealthy, evidence)
    }

    #[test]
    fn the_key_is_blamed_only_on_evidence() {
        // Nothing names the key and the keyed instance failed too: not the key's doing.
        let f = blame_the_key(
            unhealthy(json!({"logs_tail": "panic: out of memory"})),
            false,
            KEYS,
        );
        assert_eq!(f.signature(), Some(Signature::Unhealthy));
        // The failing instance's log names the key.
        let f = blame_the_key(
            unhealthy(json!({"logs_tail": "fatal: ANTHROPIC_API_KEY must be set"})),
            false,
            KEYS,
        );
        assert_eq!(f.signature(), Some(Signature::MissingEnvFatal));
        assert_eq!(f.evidence["signature_from_own_evidence"], "unhealthy");
        // The keyed twin passed: the key is the only difference.
        let f = blame_the_key(Failure::new(Signature::CrashLoop, json!({})), true, KEYS);
        assert_eq!(f.signature(), Some(Signature::MissingEnvFatal));
        // A clash is a clash, whatever the other instance did.
        let f = blame_the_key(Failure::new(Signature::NameConflict, json!({})), true, KEYS);
        assert_eq!(f.signature(), Some(Signature::NameConflict));
        // A cause the evidence names stays, even where the app's log warns about the key.
        let f = blame_the_key(
            Failure::new(
                Signature::HealthcheckBroken,
                json!({"logs_tail": "WARN ANTHROPIC_API_KEY not set - service continues"}),
            ),
            false,
            KEYS,
        );
        assert_eq!(f.signature(), Some(Signature::HealthcheckBroken));
    }
}
