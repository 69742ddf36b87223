//! The reaper container: found by name, started when none runs, reached on 127.0.0.1.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};

use super::{Options, ReaperError};
use crate::engine::Docker;
use crate::images;

pub const IMAGE: &str = images::REAPER_IMAGE;
/// Marks reaper containers, so tests and users can find every one of them.
pub const LABEL: &str = "dev.harness.reaper";
/// The port the reaper listens on inside its container; the host side is the engine's pick.
pub const PORT: u16 = 7470;
/// Long enough for a first start on a loaded machine, short enough to not hold up a run.
const START_WAIT: Duration = Duration::from_secs(15);

/// The reaper's address on 127.0.0.1, starting its container when none runs. Harnesses
/// racing to start it are fine: the engine lets one name win, the others use it.
pub async fn ensure(docker: &Docker, opts: &Options) -> Result<SocketAddr, ReaperError> {
    let deadline = Instant::now() + START_WAIT;
    loop {
        match docker.find(&opts.name).await? {
            Some(c) if c.state == "running" => {
                if let Some(p) = c.host_port(PORT) {
                    return Ok(SocketAddr::from(([127, 0, 0, 1], p.host_port)));
                }
            }
            // An ended reaper not yet auto-removed: out of the way, so a new one can start.
            Some(c) if c.state == "exited" || c.state == "dead" => {
                let force = RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                };
                let _ = docker.client().remove_container(&c.id, Some(force)).await;
            }
            Some(_) => {}
            None => start(docker, opts).await?,
        }
        if Instant::now() >= deadline {
            return Err(ReaperError::Container {
                name: opts.name.clone(),
                problem: format!(
                    "was not running with a published port within {}s — see `docker logs {}`",
                    START_WAIT.as_secs(),
                    opts.name
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start(docker: &Docker, opts: &Options) -> Result<(), ReaperError> {
    let socket = engine_socket()?;
    if !docker.image_exists(IMAGE).await? {
        build_image(docker).await?;
    }
    let port = format!("{PORT}/tcp");
    let body = ContainerCreateBody {
        image: Some(IMAGE.to_string()),
        cmd: Some(vec![
            "--listen".into(),
            format!("0.0.0.0:{PORT}"),
            "--idle".into(),
            opts.idle.as_secs().to_string(),
        ]),
        env: Some(vec!["HARNESS_LOG=info".into()]),
        labels: Some(HashMap::from([(LABEL.to_string(), "1".to_string())])),
        exposed_ports: Some(vec![port.clone()]),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{socket}:/var/run/docker.sock")]),
            port_bindings: Some(HashMap::from([(
                port,
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(String::new()),
                }]),
            )])),
            auto_remove: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(opts.name.clone()),
        ..Default::default()
    };
    let problem = |e: bollard::errors::Error| ReaperError::Container {
        name: opts.name.clone(),
        problem: format!("could not be started: {e}"),
    };
    match docker.client().create_container(Some(options), body).await {
        Ok(_) => {}
        // Another harness created it first.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => return Ok(()),
        Err(e) => return Err(problem(e)),
    }
    match docker.client().start_container(&opts.name, None).await {
        Ok(()) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 409,
            ..
        }) => {}
        Err(e) => return Err(problem(e)),
    }
    tracing::info!(name = %opts.name, "started the reaper");
    Ok(())
}

/// The image is this binary; `harness images` builds it too, so this is the first-use path.
async fn build_image(docker: &Docker) -> Result<(), ReaperError> {
    let me = std::env::current_exe().map_err(|e| ReaperError::Container {
        name: IMAGE.to_string(),
        problem: format!("cannot be built: the harness binary's own path is unknown ({e})"),
    })?;
    images::build(docker, &images::reaper(&me)?).await?;
    Ok(())
}

/// The engine's unix socket on this host, to mount into the reaper.
fn engine_socket() -> Result<String, ReaperError> {
    socket_of(std::env::var("DOCKER_HOST").ok().as_deref())
}

fn socket_of(docker_host: Option<&str>) -> Result<String, ReaperError> {
    match docker_host {
        None | Some("") => Ok("/var/run/docker.sock".to_string()),
        Some(host) => host
            .strip_prefix("unix://")
            .map(str::to_string)
            .ok_or_else(|| ReaperError::NoSocket(host.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_comes_from_docker_host() {
        assert_eq!(socket_of(None).unwrap(), "/var/run/docker.sock");
        assert_eq!(
            socket_of(Some("unix:///run/user/1000/docker.sock")).unwrap(),
            "/run/user/1000/docker.sock"
        );
        let err = socket_of(Some("tcp://10.0.0.1:2375")).unwrap_err();
        assert!(err.to_string().contains("--no-reaper"), "{err}");
    }
}
