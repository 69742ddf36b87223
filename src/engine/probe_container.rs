//! A short-lived container the harness runs inside a project's network, to check from
//! there what is not published to the host (a dependency's TCP port). It carries the
//! run's labels, so gc and the reaper remove it like every other object of the run.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StartContainerOptions,
};

use super::{Docker, EngineError};

/// What to run, where, and under which labels.
pub struct ProbeContainer<'a> {
    pub image: &'a str,
    /// Overrides the image's entrypoint.
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub network: &'a str,
    pub labels: Vec<(&'static str, String)>,
    /// How long it may run before it counts as not finished.
    pub timeout: Duration,
}

impl ProbeContainer<'_> {
    /// Runs it to its end and removes it; returns its exit code (-1: did not finish in
    /// time) and output.
    pub async fn run(&self, docker: &Docker) -> Result<(i64, String), EngineError> {
        let body = ContainerCreateBody {
            image: Some(self.image.to_string()),
            entrypoint: Some(self.entrypoint.clone()),
            cmd: Some(self.cmd.clone()),
            labels: Some(
                self.labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect::<HashMap<_, _>>(),
            ),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let client = docker.client();
        let created = client
            .create_container(None::<CreateContainerOptions>, body)
            .await
            .map_err(|source| EngineError::Api {
                call: "create probe container",
                source,
            })?;
        let result = self.start_and_wait(docker, &created.id).await;
        let force = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        // What is not removed here carries the run's labels: the run's sweep removes it.
        if let Err(e) = client.remove_container(&created.id, Some(force)).await {
            tracing::warn!(error = %e, "probe container left for the run's sweep");
        }
        result
    }

    async fn start_and_wait(
        &self,
        docker: &Docker,
        id: &str,
    ) -> Result<(i64, String), EngineError> {
        docker
            .client()
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|source| EngineError::Api {
                call: "start probe container",
                source,
            })?;
        let finished = docker.wait_exit(id, self.timeout).await;
        let output = docker.logs(id, 50).await.unwrap_or_default();
        if !finished {
            return Ok((-1, output));
        }
        Ok((docker.inspect(id).await?.exit_code, output))
    }
}
