//! One bollard client per harness process, with the API version negotiated with the daemon.

use std::collections::HashMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerInspectResponse, EventMessage, HealthStatusEnum};
use bollard::query_parameters::{
    EventsOptions, InspectContainerOptions, KillContainerOptions, ListContainersOptions,
    ListNetworksOptions, ListVolumesOptions, LogsOptions,
};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use super::EngineError;

/// Compose v1 and v2 both label what they create with the project name.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
const SERVICE_LABEL: &str = "com.docker.compose.service";
/// How long a sweep waits for a removal the engine already has under way.
const REMOVAL_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Docker {
    client: bollard::Docker,
    /// What the daemon said it is, recorded in every run.
    pub server_version: String,
    /// The API version both sides agreed on.
    pub api_version: String,
}

/// A host port the engine published for a container port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublishedPort {
    pub container_port: u16,
    pub host_ip: String,
    pub host_port: u16,
}

/// What the harness needs to know about one container of a project.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub service: String,
    /// The `dev.harness.run` label the engine holds for the container, if any.
    pub run_label: Option<String>,
    pub image: String,
    /// created, running, restarting, exited, …
    pub state: String,
    /// healthy, unhealthy, starting, or none when the container has no healthcheck.
    pub health: String,
    pub exit_code: i64,
    pub restart_count: i64,
    pub restart_policy: String,
    pub oom_killed: bool,
    /// The newest healthcheck result: exit code and output.
    pub last_probe: Option<(i64, String)>,
    pub ports: Vec<PublishedPort>,
    pub networks: Vec<String>,
    /// The volumes mounted (named and anonymous).
    pub volumes: Vec<VolumeMount>,
    /// The main process on the engine's host, 0 when not running.
    pub pid: i64,
    pub started_at: String,
    pub finished_at: String,
}

impl ContainerInfo {
    /// Ready means healthy when there is a healthcheck, running otherwise.
    pub fn is_ready(&self) -> bool {
        match self.health.as_str() {
            "none" => self.state == "running",
            h => h == "healthy" && self.state == "running",
        }
    }

    pub fn host_port(&self, container_port: u16) -> Option<&PublishedPort> {
        self.ports
            .iter()
            .find(|p| p.container_port == container_port)
    }
}

/// What the harness reads from an image's config.
#[derive(Debug, Clone, Default)]
pub struct ImageInfo {
    pub healthcheck: Option<Vec<String>>,
    pub labels: HashMap<String, String>,
    /// The `VOLUME` directories, sorted.
    pub volumes: Vec<String>,
}

/// A volume as one container mounts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    pub name: String,
    /// Mounted read-write (`:ro` makes it false).
    pub writable: bool,
}

/// Everything of a project still known to the engine.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Leftovers {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

/// Container events of one project, forwarded by a background task so the daemon's stream
/// is drained even while the harness waits on the Compose CLI.
pub struct Events {
    rx: mpsc::UnboundedReceiver<EventMessage>,
    task: tokio::task::JoinHandle<()>,
}

impl Events {
    pub async fn next(&mut self) -> Option<EventMessage> {
        self.rx.recv().await
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn api(call: &'static str) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    move |source| EngineError::Api { call, source }
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    labels_filter(&[(key, value)])
}

/// The engine names a volume nobody named with 64 hex digits: no label marks it (before
/// Engine 23), so a `down` without -v orphans it where no label filter finds it.
pub fn is_anonymous_volume(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The names of the volumes among a container's mounts (named and anonymous).
fn volume_mounts(
    mounts: Option<Vec<bollard::models::MountPoint>>,
) -> impl Iterator<Item = VolumeMount> {
    mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| {
            Some(VolumeMount {
                writable: m.rw.unwrap_or(true),
                name: m.name?,
            })
        })
}

/// The engine ANDs the entries of one `label` filter: objects carrying every pair.
fn labels_filter(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let pairs = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    HashMap::from([("label".to_string(), pairs)])
}

impl Docker {
    /// Connects through DOCKER_HOST or the local socket and negotiates the API version.
    pub async fn connect() -> Result<Docker, EngineError> {
        // DOCKER_HOST as the Compose CLI reads it (unix://, tcp://, http://): both must
        // talk to the same engine, or an unreachable one is noticed only mid-run.
        let client = bollard::Docker::connect_with_defaults()
            .map_err(EngineError::Unreachable)?
            .negotiate_version()
            .await
            .map_err(EngineError::Unreachable)?;
        let version = client.version().await.map_err(EngineError::Unreachable)?;
        let api_version = client.client_version().to_string();
        tracing::debug!(server = ?version.version, %api_version, "connected to the Docker engine");
        Ok(Docker {
            client,
            server_version: version.version.unwrap_or_else(|| "unknown".into()),
            api_version,
        })
    }

    pub async fn image_exists(&self, image: &str) -> Result<bool, EngineError> {
        match self.client.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(api("inspect image")(e)),
        }
    }

    /// An image's own healthcheck test and labels, if the image exists.
    pub async fn image_info(&self, image: &str) -> Result<Option<ImageInfo>, EngineError> {
        match self.client.inspect_image(image).await {
            Ok(i) => {
                let config = i.config.unwrap_or_default();
                Ok(Some(ImageInfo {
                    healthcheck: config
                        .healthcheck
                        .and_then(|h| h.test)
                        .filter(|t| !t.is_empty()),
                    labels: config.labels.unwrap_or_default(),
                    volumes: sorted(config.volumes.unwrap_or_default()),
                }))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(api("inspect image")(e)),
        }
    }

    /// Every value of label `key` on containers, networks and volumes that carry it,
    /// with the value of `other` beside it (empty when absent).
    pub async fn label_values(
        &self,
        key: &str,
        other: &str,
    ) -> Result<Vec<(String, String)>, EngineError> {
        self.label_values_where(&[], key, other).await
    }

    /// [`Docker::label_values`] among the objects that also carry every pair of `labels`.
    pub async fn label_values_where(
        &self,
        labels: &[(&str, &str)],
        key: &str,
        other: &str,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let mut filters = labels_filter(labels);
        filters
            .entry("label".into())
            .or_default()
            .push(key.to_string());
        let mut found = Vec::new();
        let mut push = |labels: Option<HashMap<String, String>>| {
            let labels = labels.unwrap_or_default();
            if let Some(v) = labels.get(key) {
                found.push((v.clone(), labels.get(other).cloned().unwrap_or_default()));
            }
        };
        let containers = self.all_containers(filters.clone()).await?;
        containers.into_iter().for_each(|c| push(c.labels));
        let networks = self
            .client
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .map_err(api("list networks"))?;
        networks.into_iter().for_each(|n| push(n.labels));
        let volumes = self
            .client
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(api("list volumes"))?;
        volumes
            .volumes
            .unwrap_or_default()
            .into_iter()
            .for_each(|v| push(Some(v.labels)));
        found.sort();
        found.dedup();
        Ok(found)
    }

    pub fn client(&self) -> &bollard::Docker {
        &self.client
    }

    /// Subscribes to the container events of one project. Call before `up`, so no
    /// transition can happen between the subscription and the first look.
    pub fn subscribe(&self, project: &str) -> Events {
        let mut filters = label_filter(PROJECT_LABEL, project);
        filters.insert("type".into(), vec!["container".into()]);
        let options = EventsOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let mut stream = self.client.events(Some(options)).boxed();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Events { rx, task }
    }

    /// Every container of a project, running or not.
    pub async fn project_containers(
        &self,
        project: &str,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        self.containers_labelled(PROJECT_LABEL, project).await
    }

    pub async fn containers_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let summaries = self.all_containers(label_filter(key, value)).await?;
        let mut infos = Vec::with_capacity(summaries.len());
        for id in summaries.into_iter().filter_map(|s| s.id) {
            infos.push(self.inspect(&id).await?);
        }
        infos.sort_by(|a, b| a.service.cmp(&b.service).then(a.name.cmp(&b.name)));
        Ok(infos)
    }

    pub async fn inspect(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let response = self
            .client
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(api("inspect container"))?;
        Ok(container_info(response))
    }

    /// A container by name or id, if the engine knows it.
    pub async fn find(&self, name: &str) -> Result<Option<ContainerInfo>, EngineError> {
        match self
            .client
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(response) => Ok(Some(container_info(response))),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(api("inspect container")(e)),
        }
    }

    /// Runs a command inside a container; returns its exit code and combined output.
    pub async fn exec(&self, container: &str, cmd: &[&str]) -> Result<(i64, String), EngineError> {
        let options = CreateExecOptions {
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self
            .client
            .create_exec(container, options)
            .await
            .map_err(api("create exec"))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut out, ..
        } = self
            .client
            .start_exec(&exec.id, None)
            .await
            .map_err(api("start exec"))?
        {
            while let Some(Ok(chunk)) = out.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let inspect = self
            .client
            .inspect_exec(&exec.id)
            .await
            .map_err(api("inspect exec"))?;
        Ok((inspect.exit_code.unwrap_or(-1), output))
    }

    pub async fn kill(&self, container: &str, signal: &str) -> Result<(), EngineError> {
        let options = KillContainerOptions {
            signal: signal.to_string(),
        };
        self.client
            .kill_container(container, Some(options))
            .await
            .map_err(api("kill container"))
    }

    /// The container's stdout and stderr, timestamped, at most `tail` lines.
    pub async fn logs(&self, container: &str, tail: usize) -> Result<String, EngineError> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            timestamps: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let mut stream = self.client.logs(container, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.map_err(api("container logs"))?.to_string());
        }
        Ok(text)
    }

    /// Every container matching `filters`, running or not.
    async fn all_containers(
        &self,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<bollard::models::ContainerSummary>, EngineError> {
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        self.client
            .list_containers(Some(options))
            .await
            .map_err(api("list containers"))
    }

    /// The names of the volumes that containers carrying every pair of `labels` mount.
    pub async fn volumes_mounted_where(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<std::collections::BTreeSet<String>, EngineError> {
        Ok(self
            .all_containers(labels_filter(labels))
            .await?
            .into_iter()
            .flat_map(|c| volume_mounts(c.mounts).map(|m| m.name))
            .collect())
    }

    /// Containers, networks and volumes that still carry the label `key=value`.
    pub async fn leftovers(&self, key: &str, value: &str) -> Result<Leftovers, EngineError> {
        self.leftovers_where(&[(key, value)]).await
    }

    /// Containers, networks and volumes that carry every pair of `labels`.
    pub async fn leftovers_where(&self, labels: &[(&str, &str)]) -> Result<Leftovers, EngineError> {
        let filters = labels_filter(labels);
        let containers = self
            .all_containers(filters.clone())
            .await?
            .into_iter()
            .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
            .map(|n| n.trim_start_matches('/').to_string())
            .collect();
        let networks = self
            .client
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .map_err(api("list networks"))?
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        let volumes = self
            .client
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(api("list volumes"))?
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        Ok(Leftovers {
            containers,
            networks,
            volumes,
        })
    }

    async fn network_ids_where(&self, labels: &[(&str, &str)]) -> Result<Vec<String>, EngineError> {
        let options = ListNetworksOptions {
            filters: Some(labels_filter(labels)),
        };
        let networks = self.client.list_networks(Some(options)).await;
        Ok(networks
            .map_err(api("list networks"))?
            .into_iter()
            .filter_map(|n| n.id)
            .collect())
    }

    /// Force-removes every container, network and volume labelled `key=value`; returns what
    /// it removed. Used after an interrupted run and by `harness gc`.
    pub async fn remove_labelled(&self, key: &str, value: &str) -> Result<Leftovers, EngineError> {
        self.remove_where(&[(key, value)]).await
    }

    /// Force-removes every container, network and volume carrying every pair of `labels`.
    /// Tries every object even when one cannot go (a network another run's container still
    /// holds); then fails with the first thing that stayed.
    pub async fn remove_where(&self, labels: &[(&str, &str)]) -> Result<Leftovers, EngineError> {
        let found = self.leftovers_where(labels).await?;
        // At once: each force-removal waits for its container to die.
        let removals = found
            .containers
            .iter()
            .map(|name| self.remove_container(name));
        let mut results = futures_util::future::join_all(removals).await;
        // By id: networks created at the same moment under one fixed name share it, and
        // the engine refuses a name that is ambiguous.
        for id in self.network_ids_where(labels).await? {
            let removed = self.client.remove_network(&id).await;
            results.push(ignore_missing(removed).map_err(api("remove network")));
        }
        results.push(self.remove_volumes(&found.volumes).await);
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(found)
    }

    /// Force-removes one container. When the engine is already removing it (the `down` of
    /// a Compose CLI killed mid-way goes on without it), waits for that removal instead.
    async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match ignore_missing(self.client.remove_container(name, Some(options)).await) {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("already in progress") => {
                let options = bollard::query_parameters::WaitContainerOptions {
                    condition: "removed".into(),
                };
                let mut wait = self.client.wait_container(name, Some(options));
                // The wait answers when the container is gone, however it ended; the
                // engine's own word decides.
                let _ = tokio::time::timeout(REMOVAL_WAIT, wait.next()).await;
                if matches!(self.find(name).await, Ok(None)) {
                    return Ok(());
                }
                let source = bollard::errors::Error::DockerResponseServerError {
                    status_code: 409,
                    message,
                };
                Err(api("remove container")(source))
            }
            other => other.map_err(api("remove container")),
        }
    }

    /// Force-removes everything of a compose project.
    pub async fn remove_project(&self, project: &str) -> Result<Leftovers, EngineError> {
        self.remove_labelled(PROJECT_LABEL, project).await
    }

    /// Removes volumes by name; already-gone ones are fine. Tries every one, then fails
    /// with the first that stayed.
    pub async fn remove_volumes(&self, names: &[String]) -> Result<(), EngineError> {
        let mut first_error = None;
        for name in names {
            let options = bollard::query_parameters::RemoveVolumeOptions { force: true };
            let removed = ignore_missing(self.client.remove_volume(name, Some(options)).await);
            if let Err(e) = removed {
                first_error.get_or_insert(api("remove volume")(e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Which of these volumes still exist.
    pub async fn existing_volumes(&self, names: &[String]) -> Result<Vec<String>, EngineError> {
        let mut existing = Vec::new();
        for name in names {
            match self.client.inspect_volume(name).await {
                Ok(_) => existing.push(name.clone()),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(api("inspect volume")(e)),
            }
        }
        Ok(existing)
    }

    /// Everything of a compose project still present, found by the project label.
    pub async fn project_leftovers(&self, project: &str) -> Result<Leftovers, EngineError> {
        self.leftovers(PROJECT_LABEL, project).await
    }

    /// Waits a bounded time for the engine to report a container's exit.
    pub async fn wait_exit(&self, id: &str, timeout: Duration) -> bool {
        let options = bollard::query_parameters::WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut wait = self.client.wait_container(id, Some(options));
        matches!(
            tokio::time::timeout(timeout, wait.next()).await,
            Ok(Some(_))
        )
    }
}

/// A 404 on removal means someone else (compose, a parallel cleanup) was first.
fn ignore_missing(
    result: Result<(), bollard::errors::Error>,
) -> Result<(), bollard::errors::Error> {
    match result {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

fn container_info(c: ContainerInspectResponse) -> ContainerInfo {
    let config = c.config.unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    let state = c.state.unwrap_or_default();
    let health = state.health.clone().unwrap_or_default();
    let last_probe = health.log.as_ref().and_then(|log| log.last()).map(|r| {
        (
            r.exit_code.unwrap_or(-1),
            r.output.clone().unwrap_or_default(),
        )
    });
    let host = c.host_config.unwrap_or_default();
    let network_settings = c.network_settings.unwrap_or_default();
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        service: labels.get(SERVICE_LABEL).cloned().unwrap_or_default(),
        run_label: labels.get(super::LABEL_RUN).cloned(),
        image: config.image.unwrap_or_default(),
        state: state
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".into()),
        health: match health.status {
            None | Some(HealthStatusEnum::EMPTY) | Some(HealthStatusEnum::NONE) => "none".into(),
            Some(s) => s.to_string(),
        },
        exit_code: state.exit_code.unwrap_or(0),
        restart_count: c.restart_count.unwrap_or(0),
        restart_policy: host
            .restart_policy
            .and_then(|p| p.name)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        oom_killed: state.oom_killed.unwrap_or(false),
        last_probe,
        ports: published_ports(network_settings.ports.unwrap_or_default()),
        networks: network_settings
            .networks
            .map(|n| n.into_keys().collect())
            .unwrap_or_default(),
        volumes: volume_mounts(c.mounts).collect(),
        pid: state.pid.unwrap_or(0),
        started_at: state.started_at.unwrap_or_default(),
        finished_at: state.finished_at.unwrap_or_default(),
    }
}

fn published_ports(
    map: HashMap<String, Option<Vec<bollard::models::PortBinding>>>,
) -> Vec<PublishedPort> {
    let mut ports: Vec<PublishedPort> = map
        .into_iter()
        .filter_map(|(key, bindings)| {
            let container_port = key.split('/').next()?.parse().ok()?;
            Some((container_port, bindings?))
        })
        .flat_map(|(container_port, bindings)| {
            bindings.into_iter().filter_map(move |b| {
                Some(PublishedPort {
                    container_port,
                    host_ip: b.host_ip.unwrap_or_default(),
                    host_port: b.host_port?.parse().ok()?,
                })
            })
        })
        .collect();
    ports.sort_by_key(|p| (p.container_port, p.host_port));
    ports.dedup_by_key(|p| (p.container_port, p.host_port));
    ports
}
