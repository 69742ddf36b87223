//! What the steps of one run share: the engine, the run's files, the deployed instances.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::{ComposeCli, ContainerInfo, Docker, LABEL_RUN, Project, override_yaml};
use crate::redact::Redactor;

use super::Plan;
use super::instance::Failure;
use super::ports::PortHold;
use crate::run::Fault;

/// One deployed instance of the candidate, as the steps found it.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub project: String,
    pub api_port: Option<u16>,
    pub websocket_port: Option<u16>,
    pub services_healthy: bool,
    pub startup_ms: u64,
    pub containers: Vec<ContainerInfo>,
}

impl Deployment {
    pub(crate) fn new(
        project: &str,
        containers: Vec<ContainerInfo>,
        startup_ms: u64,
        plan: &Plan,
    ) -> Deployment {
        let mut d = Deployment {
            project: project.to_string(),
            api_port: None,
            websocket_port: None,
            services_healthy: containers.iter().all(ContainerInfo::is_ready),
            startup_ms,
            containers,
        };
        let at = |e: Option<(&str, u16)>| e.and_then(|(svc, port)| d.host_port(svc, port));
        let (api, websocket) = (
            at(super::roles::primary_http(&plan.spec)),
            at(super::roles::primary_ws(&plan.spec)),
        );
        d.api_port = api;
        d.websocket_port = websocket;
        d
    }

    pub fn container_of(&self, pred: impl Fn(&ContainerInfo) -> bool) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| pred(c))
    }

    /// The container of compose service `service` (its `com.docker.compose.service` label).
    pub fn service_container(&self, service: &str) -> Option<&ContainerInfo> {
        self.container_of(|c| c.service == service)
    }

    /// The host port published for `service`'s container port `container_port`.
    pub fn host_port(&self, service: &str, container_port: u16) -> Option<u16> {
        self.containers
            .iter()
            .filter(|c| c.service == service)
            .find_map(|c| c.host_port(container_port))
            .map(|p| p.host_port)
    }
}

/// The context each step of a run is given (a "session" elsewhere means the harness's
/// reaper session, see `owner`).
pub(crate) struct StepContext<'a> {
    pub docker: &'a Docker,
    pub compose: &'a ComposeCli,
    pub plan: &'a Plan,
    /// The main instance as it is now (restart and persistence replace it).
    pub deployment: Option<Deployment>,
    /// The main instance as deploy first brought it up: what the run record reports.
    pub first_deployment: Option<Deployment>,
    /// The main instance's deploy failure, kept for the steps that explain it further.
    pub deploy_failure: Option<Failure>,
    /// Listeners on the seed's default ports, held from before deploy to port_discovery.
    pub held_ports: Option<PortHold>,
    /// Whether a step of this run has failed or erred: a later skip then follows a failure.
    pub failed_before: bool,
    compose_files: OnceLock<Result<(), Failure>>,
    /// Every project this run brought up, for cleanup whatever happens.
    touched: Mutex<BTreeSet<String>>,
}

impl<'a> StepContext<'a> {
    pub fn new(docker: &'a Docker, compose: &'a ComposeCli, plan: &'a Plan) -> StepContext<'a> {
        StepContext {
            docker,
            compose,
            plan,
            deployment: None,
            first_deployment: None,
            deploy_failure: None,
            held_ports: None,
            failed_before: false,
            compose_files: OnceLock::new(),
            touched: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.plan.redactor
    }

    /// Instance `index` of the candidate, as its own compose project.
    pub fn project(&self, index: usize) -> Project {
        self.compose.project(
            &self.plan.project_name(index),
            self.plan.compose_files(index),
        )
    }

    /// Writes the candidate and the override once; every instance deploys from them —
    /// in range mode from its own copy of the candidate, written on its first deploy with
    /// ports leased for it (a later `up` of the instance keeps them).
    pub fn ensure_compose_files(&self, project: &Project) -> Result<(), Failure> {
        self.compose_files
            .get_or_init(|| {
                let plan = self.plan;
                let override_text = override_yaml(&plan.candidate, plan.run, &plan.task);
                self.write_evidence(&plan.run_dir.candidate(), &plan.candidate.text)?;
                self.write_evidence(&plan.run_dir.override_file(), &override_text)?;
                Ok(())
            })
            .clone()?;
        let (Some(range), Some(own)) = (self.plan.port_range, project.files.first()) else {
            return Ok(());
        };
        if own.exists() {
            return Ok(());
        }
        let candidate = &self.plan.candidate;
        let ports = range
            .lease(self.plan.run, super::port_range::needed(candidate))
            .map_err(|e| Failure::fault(Fault::PortsExhausted, json!({"error": e.to_string()})))?;
        self.write_evidence(own, &super::port_range::pin(candidate, &ports))?;
        Ok(())
    }

    pub fn touch(&self, project: &str) {
        if let Ok(mut touched) = self.touched.lock() {
            touched.insert(project.to_string());
        }
    }

    pub fn touched(&self) -> Vec<String> {
        self.touched
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes a text file of evidence at `path`, one of the run directory's paths; returns
    /// its path. A file that cannot be written is the harness's fault (a full disk, a
    /// read-only directory).
    pub fn write_evidence(&self, path: &Path, text: &str) -> Result<PathBuf, Failure> {
        let path = path.to_path_buf();
        let fault = |at: &Path, e: std::io::Error| {
            Failure::fault(
                Fault::of_io(&e),
                json!({"error": format!("cannot write the run's evidence `{}`: {e}", at.display())}),
            )
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fault(dir, e))?;
        }
        std::fs::write(&path, self.redactor().text(text)).map_err(|e| fault(&path, e))?;
        Ok(path)
    }

    /// Removes whatever of this run the engine still holds: every touched project, and
    /// anything labelled with the run. Returns what it found.
    pub async fn sweep(&self) -> Value {
        sweep(self.docker, self.plan, &self.touched()).await
    }
}

pub(crate) async fn sweep(docker: &Docker, plan: &Plan, touched: &[String]) -> Value {
    if plan.port_range.is_some()
        && let Err(e) = super::PortRange::release(plan.run)
    {
        tracing::warn!(error = %e, "the run's port leases stay until its process is gone");
    }
    let mut removed = Vec::new();
    let projects: BTreeSet<String> = touched
        .iter()
        .cloned()
        .chain(plan.project_names())
        .collect();
    for project in &projects {
        match docker.remove_project(project).await {
            Ok(l) if !l.is_empty() => {
                removed.push(serde_json::json!({"project": project, "removed": l}))
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(%project, error = %e, "sweep failed; `harness gc` removes what is left")
            }
        }
    }
    match docker
        .remove_labelled(LABEL_RUN, &plan.run.to_string())
        .await
    {
        Ok(l) if !l.is_empty() => {
            removed.push(serde_json::json!({"label": LABEL_RUN, "removed": l}))
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sweep by run label failed"),
    }
    Value::Array(removed)
}

/// The last `n` lines of a text, for evidence that points at the full file.
pub(crate) fn tail(text: &str, n: usize) -> Value {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    Value::from(lines[start..].join("\n"))
}
