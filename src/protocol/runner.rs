//! Runs the steps of one plan in order and reports each as it finishes. The runner never
//! prints: the caller turns events into terminal lines or JSON.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use super::session::{Deployment, Session};
use super::{Outcome, Step, StepKind};
use crate::compose::ComposeFile;
use crate::engine::{ComposeCli, Docker, Project};
use crate::redact::Redactor;

/// Where the probes find the service inside its containers.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub api_port: u16,
    pub ws_port: u16,
    pub ws_path: String,
    pub ws_chunks: u64,
}

impl Default for ProbeSpec {
    fn default() -> Self {
        ProbeSpec {
            api_port: 8000,
            ws_port: 8003,
            ws_path: "/ws/mcp".into(),
            ws_chunks: 5,
        }
    }
}

/// Everything one run needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Plan {
    pub run: Uuid,
    pub task: String,
    pub candidate: ComposeFile,
    /// `runs/<uuid8>/`: candidate, override, logs.
    pub run_dir: PathBuf,
    pub steps: Vec<StepKind>,
    /// Upper bound of each step that waits on the engine.
    pub timeout: Duration,
    /// How long containers get to stop after SIGTERM.
    pub stop_timeout: Duration,
    pub probes: ProbeSpec,
    pub redactor: Redactor,
}

impl Plan {
    /// Unique per run and instance, so runs never collide with each other or a user's projects.
    pub fn project_name(&self, instance: usize) -> String {
        let task: String = self
            .task
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let uuid8 = &self.run.simple().to_string()[..8];
        format!("h-{task}-{uuid8}-{instance}")
    }

    /// The compose files live apart from the evidence, so a config's relative bind mounts
    /// (`./logs:/app/logs`) land here and never mix with the harness's own files.
    pub fn compose_dir(&self) -> PathBuf {
        self.run_dir.join("compose")
    }

    pub(crate) fn probe_timeout(&self) -> Duration {
        self.timeout.min(Duration::from_secs(15))
    }

    fn project(&self, compose: &ComposeCli, instance: usize) -> Project {
        compose.project(
            &self.project_name(instance),
            vec![
                self.compose_dir().join("candidate.yml"),
                self.compose_dir().join("override.yml"),
            ],
        )
    }
}

/// What the caller hears while a run goes on.
pub enum Event<'a> {
    Started(&'static str),
    Finished(&'a Step),
}

/// The steps of a run and the deployment they found.
#[derive(Debug, Clone)]
pub struct Report {
    pub steps: Vec<Step>,
    pub deployment: Option<Deployment>,
    pub project: String,
}

impl Report {
    pub fn success(&self) -> bool {
        !self.steps.is_empty() && !self.steps.iter().any(Step::failed)
    }
}

pub async fn run(
    docker: &Docker,
    compose: &ComposeCli,
    plan: &Plan,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Report {
    let mut session = Session {
        docker,
        plan,
        project: plan.project(compose, 0),
        deployment: None,
        touched_engine: false,
    };
    let mut steps = Vec::with_capacity(plan.steps.len());
    for kind in &plan.steps {
        on_event(Event::Started(kind.name()));
        let started = Instant::now();
        let (outcome, evidence) = kind.run(&mut session).await;
        let step = Step {
            name: kind.name().to_string(),
            outcome,
            duration_ms: started.elapsed().as_millis() as u64,
            evidence: plan.redactor.json(evidence),
        };
        on_event(Event::Finished(&step));
        steps.push(step);
    }
    // A plan without the shutdown step still leaves nothing behind.
    if session.touched_engine && !plan.steps.contains(&StepKind::Shutdown) {
        cleanup(compose, plan).await;
    }
    Report {
        steps,
        deployment: session.deployment,
        project: session.project.name,
    }
}

/// Removes everything of the run's project; used after an interrupted or partial run.
pub async fn cleanup(compose: &ComposeCli, plan: &Plan) {
    let project = plan.project(compose, 0);
    if let Err(e) = project.down(true, Duration::from_secs(5)).await {
        tracing::warn!(project = %project.name, error = %e, "cleanup failed; `harness gc` removes what is left");
    }
}

/// A step that did not run because the run was interrupted.
pub fn interrupted_step(name: &str) -> Step {
    Step {
        name: name.to_string(),
        outcome: Outcome::Fail(super::Signature::Interrupted),
        duration_ms: 0,
        evidence: json!({"reason": "the harness was interrupted (SIGINT/SIGTERM); the run's containers were removed"}),
    }
}
