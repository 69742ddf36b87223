//! Binds both listeners, runs them until shutdown, then drains in-flight
//! work for a bounded time.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::{JoinError, JoinHandle};

use crate::config::Config;
use crate::shutdown::{self, SessionTracker, ShutdownSignal, Signals, Trigger};
use crate::state::{AppState, ServiceInfo};
use crate::store::{Store, StoreError};
use crate::{api, ws};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr} for the {listener} listener: {source}")]
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("the {listener} listener stopped unexpectedly: {reason}")]
    ListenerStopped {
        listener: &'static str,
        reason: String,
    },
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
    #[error("server task failed: {0}")]
    Task(#[from] JoinError),
}

/// A started service. Dropping it leaves the service running; await
/// [`Running::wait`] to learn how it ended.
#[derive(Debug)]
pub struct Running {
    pub api_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub handle: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    pub async fn wait(self) -> Result<(), ServeError> {
        self.handle.await?
    }
}

/// Binds both listeners before returning, so the addresses are ready to
/// use; the service stops when `shutdown` completes.
pub async fn serve<F>(config: Config, shutdown: F) -> Result<Running, ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let store = config
        .redis_url
        .as_deref()
        .map(Store::connect_lazy)
        .transpose()?;
    let (api_addr, api_listener) = bind("api", config.bind_addr, config.api_port).await?;
    let (ws_addr, ws_listener) = bind("websocket", config.bind_addr, config.websocket_port).await?;
    log_startup(&config, api_addr, ws_addr);

    let (trigger, signal) = shutdown::channel();
    let state = AppState {
        store,
        service: Arc::new(ServiceInfo::from_config(&config)),
        shutdown: signal.clone(),
        sessions: SessionTracker::default(),
    };
    let servers = Servers {
        api: spawn_server(
            api_listener,
            api::router(state.clone(), &config.paths),
            signal.clone(),
        ),
        ws: spawn_server(
            ws_listener,
            ws::router(state.clone(), &config.paths.websocket),
            signal,
        ),
        sessions: state.sessions,
    };
    let handle = tokio::spawn(supervise(servers, shutdown, trigger, config.shutdown_grace));
    Ok(Running {
        api_addr,
        ws_addr,
        handle,
    })
}

/// The binary's service mode: serve until SIGTERM or SIGINT.
pub async fn run_until_signal(config: Config) -> Result<(), ServeError> {
    let signals = Signals::install().map_err(ServeError::Signals)?;
    serve(config, signals.recv()).await?.wait().await
}

async fn bind(
    listener: &'static str,
    ip: IpAddr,
    port: u16,
) -> Result<(SocketAddr, TcpListener), ServeError> {
    let addr = SocketAddr::new(ip, port);
    let bind_error = |source| ServeError::Bind {
        listener,
        addr,
        source,
    };
    let socket = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = socket.local_addr().map_err(bind_error)?;
    Ok((local, socket))
}

fn log_startup(config: &Config, api_addr: SocketAddr, ws_addr: SocketAddr) {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        execution_uuid = config.execution_uuid.as_deref().unwrap_or("<unset>"),
        api_key_present = config.api_key_present,
        redis = %config.redis_url.as_deref().map_or_else(|| "<none>".to_owned(), redact_url),
        "executor starting"
    );
    if config.redis_url.is_none() {
        tracing::info!("REDIS_URL not set - running without a store; /kv answers 503");
    }
    if !config.api_key_present {
        tracing::warn!(
            "{} not set - features that need it are limited; service continues",
            config.api_key_env
        );
    }
    tracing::info!(
        api = %api_addr,
        websocket = %ws_addr,
        health = %config.paths.health,
        path = %config.paths.websocket,
        kv = %config.paths.kv,
        "listening"
    );
}

/// Redis URLs may carry a password in the userinfo or the query string.
pub(crate) fn redact_url(url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or_default();
    match (without_query.find("://"), without_query.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!(
            "{}://***{}",
            &without_query[..scheme_end],
            &without_query[at..]
        ),
        _ => without_query.to_owned(),
    }
}

type ServerHandle = JoinHandle<io::Result<()>>;

struct Servers {
    api: ServerHandle,
    ws: ServerHandle,
    sessions: SessionTracker,
}

fn spawn_server(listener: TcpListener, router: Router, signal: ShutdownSignal) -> ServerHandle {
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(signal.wait_owned())
            .await
    })
}

async fn supervise<F>(
    mut servers: Servers,
    shutdown: F,
    trigger: Trigger,
    grace: Duration,
) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send,
{
    let stopped = tokio::select! {
        () = shutdown => None,
        result = &mut servers.api => Some(("api", result)),
        result = &mut servers.ws => Some(("websocket", result)),
    };
    trigger.fire();
    if let Some((listener, result)) = stopped {
        servers.api.abort();
        servers.ws.abort();
        return Err(listener_stopped(listener, result));
    }
    tracing::info!("shutting down");
    drain(servers, grace).await;
    tracing::info!("stopped");
    Ok(())
}

fn listener_stopped(
    listener: &'static str,
    result: Result<io::Result<()>, JoinError>,
) -> ServeError {
    let reason = match result {
        Ok(Ok(())) => "exited without an error".to_owned(),
        Ok(Err(error)) => error.to_string(),
        Err(error) => error.to_string(),
    };
    ServeError::ListenerStopped { listener, reason }
}

/// Waits for open requests and WebSocket sessions, but never longer than
/// `grace`: an orchestrator will SIGKILL us soon anyway.
async fn drain(servers: Servers, grace: Duration) {
    let aborts = [servers.api.abort_handle(), servers.ws.abort_handle()];
    let sessions = servers.sessions.clone();
    let everything = async move {
        let _ = servers.api.await;
        let _ = servers.ws.await;
        servers.sessions.wait_idle().await;
    };
    if tokio::time::timeout(grace, everything).await.is_err() {
        tracing::warn!(
            open_sessions = sessions.active(),
            grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
            "grace period elapsed; dropping remaining connections"
        );
        aborts.iter().for_each(|handle| handle.abort());
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("redis://user:pw@redis:6379/0"),
            "redis://***@redis:6379/0"
        );
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock?pass=pw"),
            "redis+unix:///tmp/r.sock"
        );
        assert_eq!(redact_url("redis://redis:6379"), "redis://redis:6379");
    }
}
