//! Bringing one instance of the candidate up and down. The main instance, the extra ones
//! of multi_instance and the key variants of missing_key all go through here.

use serde_json::{Value, json};

use super::classify;
use super::context::{Deployment, StepContext, tail};
use super::probes::ProbeError;
use super::steps::StepResult;
use crate::engine::{self, CmdOutput, Project, WaitFailure};
use crate::run::{Evidence, Fault, Outcome, Signature, StepKind};

/// Whose doing a failure was: the config's (a signature), or the harness's (a fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    Config(Signature),
    Harness(Fault),
}

impl Blame {
    pub fn signature(self) -> Option<Signature> {
        match self {
            Blame::Config(s) => Some(s),
            Blame::Harness(_) => None,
        }
    }

    pub fn fault(self) -> Option<Fault> {
        match self {
            Blame::Config(_) => None,
            Blame::Harness(f) => Some(f),
        }
    }
}

/// Why an instance did not come up or a check did not pass, with the evidence.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub blame: Blame,
    pub evidence: Value,
}

impl Failure {
    pub fn new(signature: Signature, evidence: Value) -> Failure {
        Failure {
            blame: Blame::Config(signature),
            evidence,
        }
    }

    pub fn fault(fault: Fault, evidence: Value) -> Failure {
        Failure {
            blame: Blame::Harness(fault),
            evidence,
        }
    }

    /// A probe that got no answer: the config's failure `signature`, unless the harness
    /// could not make the probe at all.
    pub fn probe(signature: Signature, error: &ProbeError, evidence: Value) -> Failure {
        match error {
            ProbeError::Service(_) => Failure::new(signature, evidence),
            ProbeError::Harness(_) => Failure::fault(Fault::ProbeUnavailable, evidence),
        }
    }

    pub fn signature(&self) -> Option<Signature> {
        self.blame.signature()
    }

    /// The step this failure ends, with the step's own evidence (which carries the
    /// failure's) in place of the failure's.
    pub fn ends(&self, evidence: impl Into<Evidence>) -> StepResult {
        (self.outcome(), evidence.into())
    }

    fn outcome(&self) -> Outcome {
        match self.blame {
            Blame::Config(s) => Outcome::Fail(s),
            Blame::Harness(f) => Outcome::Error(f),
        }
    }

    /// The step of `kind` this failure ends, its evidence typed by that kind.
    pub fn into_step(self, kind: StepKind) -> StepResult {
        (self.outcome(), Evidence::of(kind, self.evidence))
    }
}

/// Instances that raced for one name, port or network: whichever lost, the clash is the
/// cause, not what another instance ran into next. Else the first failure, in order.
pub(crate) fn cause<'a>(failures: &[&'a Failure]) -> Option<&'a Failure> {
    failures
        .iter()
        .find(|f| is_clash(f))
        .or(failures.first())
        .copied()
}

pub(crate) fn is_clash(f: &Failure) -> bool {
    matches!(
        f.blame,
        Blame::Config(
            Signature::PortConflict
                | Signature::NameConflict
                | Signature::NetworkConflict
                | Signature::VolumeConflict
        )
    )
}

/// A deployed instance and what `up` and the wait showed.
#[derive(Clone)]
pub(crate) struct Up {
    pub deployment: Deployment,
    pub evidence: Value,
    pub up: CmdOutput,
}

/// `up`, then wait until every service is ready (healthy where it has a healthcheck).
pub(crate) async fn deploy(s: &StepContext<'_>, project: &Project) -> Result<Up, Failure> {
    up(s, project).await?.ready(s).await
}

/// An instance whose `up` returned: its containers are started, not yet waited for.
pub(crate) struct Started {
    project: String,
    up: CmdOutput,
    evidence: Value,
    events: engine::Events,
}

/// `up` alone: the engine's events are followed from before it, so [`Started::ready`]
/// misses nothing that happened meanwhile.
pub(crate) async fn up(s: &StepContext<'_>, project: &Project) -> Result<Started, Failure> {
    s.ensure_compose_files(project)?;
    missing_images(s).await?;
    let events = s.docker.subscribe(&project.name);
    s.touch(&project.name);
    let up = project
        .up(s.plan.timeout)
        .await
        .map_err(|e| Failure::fault(Fault::ComposeCli, json!({"error": e.to_string()})))?;
    let evidence = json!({"project": project.name, "command": up.command, "duration_ms": up.duration_ms,
        "stderr": tail(&s.redactor().text(&up.stderr), 40)});
    if !up.success {
        if classify::engine_gone(&up.stderr) {
            return Err(Failure::fault(
                Fault::EngineUnavailable,
                json!({"up": evidence}),
            ));
        }
        let signature = classify::compose_failure(&up.stderr);
        let summary = s.redactor().text(&classify::compose_summary(&up.stderr));
        return Err(Failure::new(
            signature,
            json!({"summary": summary, "up": evidence}),
        ));
    }
    Ok(Started {
        project: project.name.clone(),
        up,
        evidence,
        events,
    })
}

impl Started {
    /// How long `up` took.
    pub fn up_ms(&self) -> u64 {
        self.up.duration_ms
    }

    /// Waits until every service is ready (healthy where it has a healthcheck).
    pub async fn ready(mut self, s: &StepContext<'_>) -> Result<Up, Failure> {
        let services = s.plan.candidate.service_names();
        let waited = engine::wait_ready(
            s.docker,
            &self.project,
            &services,
            &mut self.events,
            s.plan.timeout,
        )
        .await;
        let up_evidence = self.evidence;
        match waited {
            Ok(ready) => {
                let longest = ready.ready_ms.values().max().copied().unwrap_or(0);
                let startup = self.up.duration_ms + longest;
                let deployment = Deployment::new(&self.project, ready.containers, startup, s.plan);
                let evidence = json!({"up": up_evidence, "ready_ms": ready.ready_ms,
                    "containers": summary(&deployment.containers)});
                Ok(Up {
                    deployment,
                    evidence,
                    up: self.up,
                })
            }
            Err(WaitFailure::Engine(e)) => Err(Failure::fault(
                Fault::of_engine(&e),
                json!({"up": up_evidence, "error": s.redactor().text(&e.to_string())}),
            )),
            Err(failure) => {
                let logs = failing_logs(s, &failure).await;
                let signature = classify::wait_failure(&failure, &logs, &s.plan.dependency_ports());
                let summary = s.redactor().text(&failure.summary());
                let failure = s
                    .redactor()
                    .json(serde_json::to_value(&failure).unwrap_or(Value::Null));
                Err(Failure::new(
                    signature,
                    json!({"summary": summary, "up": up_evidence, "failure": failure,
                    "logs_tail": tail(&s.redactor().text(&logs), 20)}),
                ))
            }
        }
    }
}

/// Removes an instance a step is done with, and its volumes, its logs kept first. Through
/// the API, not `down`: how an instance stops is the shutdown step's check, made on the
/// main instance; these only have to go, and a forced removal does not wait out their
/// stop. Returns the evidence.
pub(crate) async fn teardown(s: &StepContext<'_>, project: &Project) -> Value {
    let containers = s
        .docker
        .project_containers(&project.name)
        .await
        .unwrap_or_default();
    let logs = match capture_logs(s, &containers).await {
        Ok(files) => files,
        Err(f) => json!({"error": f.evidence, "fault": f.blame.fault()}),
    };
    let started = std::time::Instant::now();
    let removed = match s.docker.remove_project(&project.name).await {
        Ok(removed) => json!(removed),
        Err(e) => json!({"error": e.to_string()}),
    };
    json!({"project": project.name, "logs": logs, "removed": removed,
        "duration_ms": started.elapsed().as_millis() as u64})
}

/// A missing image cannot be pulled on a machine without a registry: say how to build it.
async fn missing_images(s: &StepContext<'_>) -> Result<(), Failure> {
    let mut missing = Vec::new();
    for (service, image) in s.plan.candidate.images() {
        match s.docker.image_exists(&image).await {
            Ok(true) => {}
            Ok(false) => missing.push(json!({"service": service, "image": image})),
            Err(e) => {
                return Err(Failure::fault(
                    Fault::of_engine(&e),
                    json!({"error": e.to_string()}),
                ));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = missing
        .iter()
        .map(|m| {
            format!(
                "services.{}.image `{}`",
                m["service"].as_str().unwrap_or("?"),
                m["image"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let summary = format!(
        "{}: {} not on this engine, and no registry is reachable to pull it — build the stack's images with `harness images`",
        s.plan.candidate.origin,
        named.join(", ")
    );
    Err(Failure::new(
        Signature::ImageMissing,
        json!({"summary": summary, "missing": missing,
        "fix": "build the stack's images with `harness images` (no registry is reachable to pull them)"}),
    ))
}

async fn failing_logs(s: &StepContext<'_>, failure: &WaitFailure) -> String {
    use WaitFailure::*;
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

pub(crate) fn summary(containers: &[engine::ContainerInfo]) -> Value {
    containers
        .iter()
        .map(|c| json!({"service": c.service, "name": c.name, "state": c.state,
            "health": c.health, "ports": c.ports, "networks": c.networks, "restart_count": c.restart_count}))
        .collect()
}

/// Saves every container's log under `runs/<uuid8>/logs/` before `down` removes them.
/// A log that cannot be written is a fault: the run would lose its evidence.
pub(crate) async fn capture_logs(
    s: &StepContext<'_>,
    containers: &[engine::ContainerInfo],
) -> Result<Value, Failure> {
    // Read at once, written in the containers' order.
    let all = futures_util::future::join_all(containers.iter().map(|c| s.docker.logs(&c.id, 5000)));
    let mut files = Vec::new();
    for (c, logs) in containers.iter().zip(all.await) {
        let logs = logs.unwrap_or_else(|e| format!("<no logs: {e}>"));
        // The engine's own record of whose container this was, so a log file proves its run
        // even when the program in it never prints the UUID (Redis does not).
        let header = format!(
            "# harness: container {} ({}) image {} label dev.harness.run={}\n",
            c.name,
            &c.id[..c.id.len().min(12)],
            c.image,
            c.run_label.as_deref().unwrap_or("<none>")
        );
        let text = header + &logs;
        files.push(json!(
            s.write_evidence(&s.plan.run_dir.log(&c.name), &text)?
        ));
    }
    Ok(Value::Array(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clash_between_instances_is_the_cause_whichever_lost() {
        let unhealthy = Failure::new(Signature::Unhealthy, json!({"i": 0}));
        let clash = Failure::new(Signature::NameConflict, json!({"i": 1}));
        let fault = Failure::fault(Fault::EngineApi, json!({"i": 2}));
        let got = cause(&[&unhealthy, &clash]).map(|f| f.evidence["i"].clone());
        assert_eq!(got, Some(json!(1)));
        let got = cause(&[&fault, &unhealthy]).map(|f| f.evidence["i"].clone());
        assert_eq!(got, Some(json!(2)), "else the first, in order");
        assert!(cause(&[]).is_none());
    }
}
