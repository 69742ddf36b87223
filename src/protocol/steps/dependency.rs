//! The `redis` step, for every dependency the task declares: its container (found by its
//! compose service) answers the declared check, and the app reports it reached it.

use serde_json::json;

use super::probe::{dependency_signature, exec_failed, reported};
use super::{StepResult, error, fail, not_declared, pass};
use crate::protocol::context::{Deployment, StepContext};
use crate::protocol::tcp::connect_in_network;
use crate::run::evidence::{ExecEvidence, RedisEvidence};
use crate::run::{Fault, Signature};
use crate::spec::{Dependency, DependencyCheck};

pub(super) async fn dependencies(s: &StepContext<'_>, d: &Deployment) -> StepResult {
    let declared = &s.plan.spec.dependencies;
    if declared.is_empty() {
        return not_declared("the task declares no dependencies");
    }
    let mut each = Vec::new();
    for dep in declared {
        match dependency(s, d, dep).await {
            Ok(evidence) => each.push(evidence),
            Err(ended) => return ended,
        }
    }
    match <[RedisEvidence; 1]>::try_from(each) {
        Ok([one]) => pass(one),
        Err(all) => pass(RedisEvidence {
            dependencies: Some(serde_json::to_value(all).unwrap_or_default()),
            ..Default::default()
        }),
    }
}

/// One dependency: its own check, then what the app reports about it.
async fn dependency(
    s: &StepContext<'_>,
    d: &Deployment,
    dep: &Dependency,
) -> Result<RedisEvidence, StepResult> {
    let mut evidence = RedisEvidence {
        service: Some(dep.service.clone()),
        ..Default::default()
    };
    let Some(container) = d.service_container(&dep.service) else {
        evidence.error = Some(json!(format!(
            "no container of service `{}` runs in project {}",
            dep.service, d.project
        )));
        return Err(fail(Signature::RedisUnavailable, evidence));
    };
    match &dep.check {
        DependencyCheck::Exec { command, expect } => {
            let argv: Vec<&str> = command.iter().map(String::as_str).collect();
            let (code, out) = match s.docker.exec(&container.id, &argv).await {
                Ok(answer) => answer,
                Err(e) => {
                    evidence.error = Some(json!(e.to_string()));
                    return Err(exec_failed(&e, evidence));
                }
            };
            let answered = code == 0 && expect.as_ref().is_none_or(|e| out.contains(e.as_str()));
            evidence.exec = Some(ExecEvidence {
                container: Some(container.name.clone()),
                command: answered.then(|| command.join(" ")),
                exit_code: (!answered).then_some(code),
                output: Some(out.trim().into()),
            });
            if !answered {
                return Err(fail(Signature::RedisUnavailable, evidence));
            }
        }
        DependencyCheck::Tcp { port } => {
            let Some(network) = container.networks.first() else {
                evidence.error = Some(json!("the dependency's container is on no network"));
                return Err(fail(Signature::RedisUnavailable, evidence));
            };
            let run = connect_in_network(s.docker, s.plan, network, &dep.service, *port).await;
            let (code, out) = match run {
                Ok(answer) => answer,
                Err(e) => {
                    evidence.error = Some(json!(e.to_string()));
                    return Err(error(Fault::of_engine(&e), evidence));
                }
            };
            evidence.tcp = Some(
                json!({"network": network, "address": format!("{}:{port}", dep.service),
                "exit_code": code, "output": out.trim()}),
            );
            if code == 2 {
                // The harness's own image holds an older harness without the subcommand.
                evidence.error = Some(json!(
                    "the harness image cannot run `tcp-connect`: rebuild it with `harness images`"
                ));
                return Err(error(Fault::ProbeUnavailable, evidence));
            }
            if code != 0 {
                return Err(fail(Signature::RedisUnavailable, evidence));
            }
        }
    }
    let Some(r) = &dep.reported else {
        return Ok(evidence);
    };
    match reported(s, d, r).await {
        Ok(said) => {
            evidence.service_reports = Some(said.connection());
            if said.value == Some(true) {
                Ok(evidence)
            } else {
                Err(fail(dependency_signature(&said), evidence))
            }
        }
        Err(f) => {
            evidence.error = Some(f.evidence.clone());
            Err(f.ends(evidence))
        }
    }
}
