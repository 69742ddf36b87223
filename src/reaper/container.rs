//! The reaper container: found by name, started when none runs, reached on 127.0.0.1. It
//! sits alone on a network of its own, and it is started with a fresh secret that this
//! user's harnesses read from a 0600 file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, UploadToContainerOptions,
};

use super::auth::Secret;
use super::wire::PROTOCOL;
use super::{Options, ReaperError};
use crate::engine::Docker;
use crate::images;

pub const IMAGE: &str = images::REAPER_IMAGE;
/// Marks reaper containers and networks, so tests and users can find every one of them.
pub const LABEL: &str = "dev.harness.reaper";
/// The port the reaper listens on inside its container; the host side is the engine's pick.
pub const PORT: u16 = 7470;
/// Where the secret is copied inside the container: in no command line, no environment.
const SECRET_IN_CONTAINER: &str = "/harness-reaper.key";
/// Long enough for a first start on a loaded machine, short enough to not hold up a run.
const START_WAIT: Duration = Duration::from_secs(15);

/// A running reaper: where it listens and the secret it asks for.
pub struct Reached {
    pub addr: SocketAddr,
    pub secret: Secret,
}

/// One reaper per user and wire protocol: another user's reaper, or one an older harness
/// started, is never found, asked or replaced.
pub fn default_name() -> String {
    format!(
        "harness-reaper-v{PROTOCOL}-{}",
        nix::unistd::getuid().as_raw()
    )
}

/// The reaper's address on 127.0.0.1 and its secret, starting it when none runs. This
/// user's harnesses take turns under a lock, so a secret is never replaced under a reaper
/// that is starting.
pub async fn ensure(docker: &Docker, opts: &Options) -> Result<Reached, ReaperError> {
    let file = lock_file(opts)?;
    let mut lock = fd_lock::RwLock::new(file);
    let _turn = take_turn(&mut lock, opts).await?;
    let mut deadline = Instant::now() + START_WAIT;
    loop {
        match docker.find(&opts.name).await? {
            Some(c) if c.state == "running" => {
                if let Some(p) = c.host_port(PORT) {
                    return Ok(Reached {
                        addr: SocketAddr::from(([127, 0, 0, 1], p.host_port)),
                        secret: Secret::read(&secret_file(opts))?,
                    });
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
            None => {
                start(docker, opts).await?;
                // Checking (or building) the image is not the reaper's start: on a loaded
                // machine it alone can take most of the wait.
                deadline = Instant::now() + START_WAIT;
            }
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

pub fn secret_file(opts: &Options) -> PathBuf {
    opts.secret_dir.join(format!("{}.key", opts.name))
}

fn lock_file(opts: &Options) -> Result<std::fs::File, ReaperError> {
    let path = opts.secret_dir.join(format!("{}.lock", opts.name));
    let problem = |e: std::io::Error| ReaperError::Secret {
        path: path.clone(),
        problem: format!("cannot be locked: {e}"),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&opts.secret_dir)
        .map_err(problem)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(problem)
}

/// The lock, waited for without blocking the runtime and no longer than a start may take.
async fn take_turn<'a>(
    lock: &'a mut fd_lock::RwLock<std::fs::File>,
    opts: &Options,
) -> Result<fd_lock::RwLockWriteGuard<'a, std::fs::File>, ReaperError> {
    let deadline = Instant::now() + START_WAIT * 2;
    while lock.try_write().is_err() {
        if Instant::now() >= deadline {
            return Err(ReaperError::Container {
                name: opts.name.clone(),
                problem: "is being started by another harness that does not finish".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lock.try_write().map_err(|e| ReaperError::Secret {
        path: opts.secret_dir.clone(),
        problem: format!("lock lost: {e}"),
    })
}

async fn start(docker: &Docker, opts: &Options) -> Result<(), ReaperError> {
    let socket = engine_socket()?;
    // Checking an existing image means hashing the whole binary (seconds for a debug build,
    // under every start); its tag names the wire protocol, which is what must match.
    if !docker.image_exists(IMAGE).await? {
        build_image(docker).await?;
    }
    own_network(docker, &opts.name).await?;
    let secret = Secret::generate()?;
    let options = CreateContainerOptions {
        name: Some(opts.name.clone()),
        ..Default::default()
    };
    let problem = |e: bollard::errors::Error| ReaperError::Container {
        name: opts.name.clone(),
        problem: format!("could not be started: {e}"),
    };
    match docker
        .client()
        .create_container(Some(options), body(opts, &socket))
        .await
    {
        Ok(_) => {}
        // Someone else's start won: its secret stays as it is.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => return Ok(()),
        // The network went with a reaper that was ending (see `leave_own_network`); the
        // caller finds no reaper and starts again, making the network anew.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        }) if message.contains("network") => {
            tracing::debug!(%message, "the reaper's network went away under its start");
            return Ok(());
        }
        Err(e) => return Err(problem(e)),
    }
    if let Err(e) = hand_over(docker, opts, &secret).await {
        let force = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        let _ = docker
            .client()
            .remove_container(&opts.name, Some(force))
            .await;
        return Err(e);
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

fn body(opts: &Options, socket: &str) -> ContainerCreateBody {
    let port = format!("{PORT}/tcp");
    ContainerCreateBody {
        image: Some(IMAGE.to_string()),
        cmd: Some(vec![
            "--listen".into(),
            format!("0.0.0.0:{PORT}"),
            "--idle".into(),
            opts.idle.as_secs().to_string(),
            "--secret-file".into(),
            SECRET_IN_CONTAINER.into(),
        ]),
        env: Some(vec!["HARNESS_LOG=info".into()]),
        labels: Some(HashMap::from([(LABEL.to_string(), "1".to_string())])),
        exposed_ports: Some(vec![port.clone()]),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{socket}:/var/run/docker.sock")]),
            network_mode: Some(opts.name.clone()),
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
    }
}

/// Copies the secret into the created container (before it starts), then into this
/// user's 0600 file: a secret the reaper was never given is never written.
async fn hand_over(docker: &Docker, opts: &Options, secret: &Secret) -> Result<(), ReaperError> {
    let problem = |problem: String| ReaperError::Secret {
        path: PathBuf::from(SECRET_IN_CONTAINER),
        problem,
    };
    let text = secret.to_hex();
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o400);
    header.set_cksum();
    let mut archive = tar::Builder::new(Vec::new());
    let name = SECRET_IN_CONTAINER.trim_start_matches('/');
    archive
        .append_data(&mut header, name, text.as_bytes())
        .map_err(|e| problem(e.to_string()))?;
    let tar = archive.into_inner().map_err(|e| problem(e.to_string()))?;
    let upload = UploadToContainerOptions {
        path: "/".into(),
        ..Default::default()
    };
    docker
        .client()
        .upload_to_container(&opts.name, Some(upload), bollard::body_full(tar.into()))
        .await
        .map_err(|e| problem(format!("could not be copied into the container: {e}")))?;
    secret.write(&secret_file(opts))
}

/// The reaper's own bridge network, so no other container shares one with it.
async fn own_network(docker: &Docker, name: &str) -> Result<(), ReaperError> {
    let problem = |e: bollard::errors::Error| ReaperError::Container {
        name: name.to_string(),
        problem: format!("has no network of its own: {e}"),
    };
    match docker.client().inspect_network(name, None).await {
        Ok(_) => return Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => return Err(problem(e)),
    }
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".into()),
        labels: Some(HashMap::from([(LABEL.to_string(), "1".to_string())])),
        ..Default::default()
    };
    docker
        .client()
        .create_network(request)
        .await
        .map_err(problem)?;
    Ok(())
}

/// On its way out, the reaper removes its own network, so an idle machine keeps nothing of
/// the harness. Best effort: anything unexpected (not in a container, not a reaper's
/// network, an engine error) leaves the network to the next reaper, which reuses it.
pub async fn leave_own_network(docker: &Docker) {
    // Docker sets a container's hostname to its short id unless told otherwise.
    let Ok(me) = std::env::var("HOSTNAME") else {
        return;
    };
    let Ok(own) = docker.client().inspect_container(&me, None).await else {
        return;
    };
    let labelled =
        |labels: Option<&HashMap<String, String>>| labels.is_some_and(|l| l.contains_key(LABEL));
    if !labelled(own.config.as_ref().and_then(|c| c.labels.as_ref())) {
        return;
    }
    let Some(network) = own.host_config.and_then(|h| h.network_mode) else {
        return;
    };
    match docker.client().inspect_network(&network, None).await {
        Ok(n) if labelled(n.labels.as_ref()) => {}
        _ => return,
    }
    let request = bollard::models::NetworkDisconnectRequest {
        container: me,
        force: Some(true),
    };
    let left = docker.client().disconnect_network(&network, request).await;
    match left.and(Ok(docker.client().remove_network(&network).await)) {
        Ok(Ok(())) => tracing::info!(%network, "removed the reaper's network"),
        Ok(Err(e)) | Err(e) => tracing::debug!(%network, error = %e, "the network stays"),
    }
}

/// The image is this binary; `harness images` builds it too (and refreshes it), so this is
/// the first-use path.
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

    #[test]
    fn the_image_tag_names_the_wire_protocol() {
        assert!(IMAGE.ends_with(&format!(":v{PROTOCOL}")), "{IMAGE}");
        assert!(default_name().starts_with(&format!("harness-reaper-v{PROTOCOL}-")));
    }
}
