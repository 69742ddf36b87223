//! What the steps of one run share: the engine, the run's files, the deployed instance.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::engine::{ContainerInfo, Docker, Project};
use crate::redact::Redactor;

use super::Plan;

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
    /// The first container that publishes `container_port`, and the host port it got.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.containers
            .iter()
            .find_map(|c| c.host_port(container_port))
            .map(|p| p.host_port)
    }

    pub fn container_of(&self, pred: impl Fn(&ContainerInfo) -> bool) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| pred(c))
    }
}

pub(crate) struct Session<'a> {
    pub docker: &'a Docker,
    pub plan: &'a Plan,
    pub project: Project,
    pub deployment: Option<Deployment>,
    /// Set once `up` ran, so cleanup knows there may be something to remove.
    pub touched_engine: bool,
}

impl Session<'_> {
    pub fn run_dir(&self) -> &Path {
        &self.plan.run_dir
    }

    pub fn redactor(&self) -> &Redactor {
        &self.plan.redactor
    }

    /// Writes a text file of evidence under the run's directory; returns its path.
    pub fn write_evidence(&self, name: &str, text: &str) -> Result<PathBuf, String> {
        let path = self.run_dir().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, self.redactor().text(text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

/// The last `n` lines of a text, for evidence that points at the full file.
pub(crate) fn tail(text: &str, n: usize) -> Value {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    Value::from(lines[start..].join("\n"))
}
