//! What the steps of one run share: the engine, the run's files, the deployed instances.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::{ComposeCli, ContainerInfo, Docker, LABEL_RUN, Project, override_yaml};
use crate::redact::Redactor;

use super::Plan;
use super::instance::Failure;
use super::ports::PortHold;
use super::runner::LEFT_FOR_LATER;
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

/// An instance a step works on: the main one (index 0), or an extra instance that
/// multi_instance checked and handed on, so that restart and persistence need not wait
/// for each other on the main one.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub index: usize,
    pub deployment: Deployment,
}

impl Instance {
    pub fn is_main(&self) -> bool {
        self.index == 0
    }
}

/// The context each step of a run is given (a "session" elsewhere means the harness's
/// reaper session, see `owner`). Steps of a run may run at once, so what they change is
/// behind locks, each held only between awaits.
pub(crate) struct StepContext<'a> {
    pub docker: &'a Docker,
    pub compose: &'a ComposeCli,
    pub plan: &'a Plan,
    /// The main instance as it is now (restart and persistence replace it).
    deployment: Mutex<Option<Deployment>>,
    /// The main instance as deploy first brought it up: what the run record reports.
    first_deployment: OnceLock<Deployment>,
    /// The main instance's deploy failure, kept for the steps that explain it further.
    deploy_failure: OnceLock<Failure>,
    /// Listeners on the seed's default ports, held from before deploy to port_discovery.
    held_ports: Mutex<Option<PortHold>>,
    /// Whether a step of this run has failed or erred: a later skip then follows a failure.
    failed_before: AtomicBool,
    /// Instances deployed with the main one for the steps that check them later.
    pub ahead: super::ahead::Ahead,
    /// Extra instances multi_instance checked and handed on to restart and persistence.
    spares: Mutex<Vec<Instance>>,
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
            deployment: Mutex::new(None),
            first_deployment: OnceLock::new(),
            deploy_failure: OnceLock::new(),
            held_ports: Mutex::new(None),
            failed_before: AtomicBool::new(false),
            ahead: Default::default(),
            spares: Mutex::new(Vec::new()),
            compose_files: OnceLock::new(),
            touched: Mutex::new(BTreeSet::new()),
        }
    }

    /// The main instance as it is now.
    pub fn main(&self) -> Option<Deployment> {
        self.deployment.lock().ok()?.clone()
    }

    /// The main instance after a step changed it (restart, persistence): new ports, new
    /// ids; `None` once it is down for good.
    pub fn set_main(&self, d: Option<Deployment>) {
        if let Ok(mut main) = self.deployment.lock() {
            *main = d;
        }
    }

    /// What deploy found: the main instance as it first came up, or why it did not.
    pub fn deployed(&self, up: Result<&Deployment, &Failure>) {
        match up {
            Ok(d) => {
                let _ = self.first_deployment.set(d.clone());
                self.set_main(Some(d.clone()));
            }
            Err(f) => {
                let _ = self.deploy_failure.set(f.clone());
            }
        }
    }

    pub fn first_deployment(&self) -> Option<Deployment> {
        self.first_deployment.get().cloned()
    }

    pub fn deploy_failure(&self) -> Option<&Failure> {
        self.deploy_failure.get()
    }

    pub fn hold_ports(&self, hold: PortHold) {
        if let Ok(mut held) = self.held_ports.lock() {
            *held = Some(hold);
        }
    }

    /// The held ports, taken: released when the caller drops them.
    pub fn take_held_ports(&self) -> Option<PortHold> {
        self.held_ports.lock().ok()?.take()
    }

    pub fn failed_before(&self) -> bool {
        self.failed_before.load(Ordering::SeqCst)
    }

    pub fn mark_failed(&self) {
        self.failed_before.store(true, Ordering::SeqCst);
    }

    pub fn hand_on(&self, spare: Instance) {
        if let Ok(mut spares) = self.spares.lock() {
            spares.push(spare);
        }
    }

    /// An extra instance to work on instead of the main one, if multi_instance left one.
    pub fn take_spare(&self) -> Option<Instance> {
        self.spares.lock().ok()?.pop()
    }

    /// The instance a step that changes its instance works on: a spare, else the main one.
    pub fn instance_for(&self, spare: Option<Instance>) -> Option<Instance> {
        spare.or_else(|| {
            self.main().map(|deployment| Instance {
                index: 0,
                deployment,
            })
        })
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

    /// Removes what is left of every instance but the main one (whose end is shutdown's
    /// to check).
    pub async fn sweep_others(&self) {
        let main = self.plan.project_name(0);
        for project in self.touched().iter().filter(|p| **p != main) {
            if let Err(e) = self.docker.remove_project(project).await {
                tracing::warn!(%project, error = %e, "could not remove an instance's leftovers");
            }
        }
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
                tracing::warn!(%project, error = %e, "{LEFT_FOR_LATER}")
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
    let orphans = plan.orphans.all();
    if !orphans.is_empty() {
        match docker.remove_volumes(&orphans).await {
            Ok(()) => removed.push(serde_json::json!({"anonymous_volumes": orphans})),
            Err(e) => tracing::warn!(error = %e, "could not remove the run's orphaned volumes"),
        }
    }
    Value::Array(removed)
}

/// The last `n` lines of a text, for evidence that points at the full file.
pub(crate) fn tail(text: &str, n: usize) -> Value {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    Value::from(lines[start..].join("\n"))
}
