//! One deployment outside a run: `harness init` brings a config up once exactly as a run's
//! deploy step does (same files, override, labels, wait for ready), looks at it, and takes
//! it down. Nothing is recorded; the evidence files go to the caller's scratch directory.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::context::{Deployment, StepContext};
use super::instance;
use super::runner::Plan;
use crate::compose::ComposeFile;
use crate::engine::{ComposeCli, Docker};
use crate::redact::Redactor;
use crate::run::RunDir;

/// Why the trial deployment did not come up, as a run's deploy step would say it.
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct TrialError {
    pub summary: String,
    /// The deploy step's evidence (redacted).
    pub evidence: Value,
}

/// The plan of a one-instance deployment of `candidate` labelled as run `run` of `task`;
/// its compose files and logs are written under `scratch`.
pub fn plan(
    run: Uuid,
    task: &str,
    candidate: ComposeFile,
    scratch: &Path,
    timeout: Duration,
) -> Plan {
    Plan {
        run,
        task: task.to_string(),
        run_dir: RunDir::new(scratch, run.into()),
        steps: Vec::new(),
        timeout,
        stop_timeout: Duration::from_secs(10),
        // No step runs: the caller probes what it infers.
        spec: std::sync::Arc::new(crate::spec::SpecFile {
            apps: Vec::new(),
            dependencies: Vec::new(),
            keys: Vec::new(),
            persistence: Vec::new(),
            restart: Default::default(),
            instances: 1,
            lint: Default::default(),
        }),
        default_host_ports: Vec::new(),
        candidate,
        redactor: Redactor::from_env(),
        instances: Some(1),
        dummy_key: crate::redact::dummy_key().to_string(),
        orphans: Default::default(),
        port_range: None,
    }
}

/// `up` and wait until every service is ready. On failure whatever came up is removed.
pub async fn up(
    docker: &Docker,
    compose: &ComposeCli,
    plan: &Plan,
) -> Result<Deployment, TrialError> {
    let ctx = StepContext::new(docker, compose, plan);
    match instance::deploy(&ctx, &ctx.project(0)).await {
        Ok(up) => Ok(up.deployment),
        Err(failure) => {
            down(docker, compose, plan).await;
            let summary = failure.evidence["summary"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| match failure.signature() {
                    Some(s) => format!("the deployment failed: {s}"),
                    None => "the harness could not deploy (see the evidence)".to_string(),
                });
            Err(TrialError {
                summary,
                evidence: plan.redactor.json(failure.evidence),
            })
        }
    }
}

/// `down -v`, then everything labelled with the run: nothing of the trial outlives it.
pub async fn down(docker: &Docker, compose: &ComposeCli, plan: &Plan) -> Value {
    let ctx = StepContext::new(docker, compose, plan);
    let torn = instance::teardown(&ctx, &ctx.project(0)).await;
    let swept = super::context::sweep(docker, plan, &[plan.project_name(0)]).await;
    serde_json::json!({"teardown": torn, "swept": swept})
}
