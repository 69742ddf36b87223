//! Fixtures shared by the integration tests: a throwaway redis-server on a
//! unix socket, the service started in-process, and bounded-wait helpers.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use executor::routes::Paths;
use executor::{Config, Running};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);
pub const EXECUTION_UUID: &str = "test-execution-uuid";

/// A redis-server child killed on drop, so a panicking test leaves none behind.
pub struct RedisServer {
    child: Child,
    socket: PathBuf,
}

impl RedisServer {
    pub fn start(socket: &Path) -> Self {
        let dir = socket.parent().expect("socket path has a parent");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(socket)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let server = Self {
            child,
            socket: socket.to_owned(),
        };
        server.wait_ready();
        server
    }

    pub fn url(&self) -> String {
        redis_url(&self.socket)
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let ping = redis::Client::open(self.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server never became ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

pub fn redis_url(socket: &Path) -> String {
    format!("redis+unix://{}", socket.display())
}

/// A temp dir plus a running Redis inside it.
pub struct RedisFixture {
    pub dir: TempDir,
    pub redis: RedisServer,
}

impl RedisFixture {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let redis = RedisServer::start(&dir.path().join("r.sock"));
        Self { dir, redis }
    }
}

/// A socket path nothing listens on, for "Redis is down" cases.
pub fn dead_redis_url(dir: &TempDir) -> String {
    redis_url(&dir.path().join("nobody.sock"))
}

pub fn test_config(redis_url: &str) -> Config {
    Config {
        api_port: 0,
        websocket_port: 0,
        bind_addr: [127, 0, 0, 1].into(),
        redis_url: Some(redis_url.to_owned()),
        execution_uuid: Some(EXECUTION_UUID.to_owned()),
        shutdown_grace: Duration::from_secs(3),
        ..Config::default()
    }
}

/// The settings `env` gives, served on ephemeral loopback ports.
pub fn config_from_env(env: &[(&str, &str)]) -> Config {
    let env: std::collections::HashMap<&str, &str> = env.iter().copied().collect();
    Config {
        api_port: 0,
        websocket_port: 0,
        bind_addr: [127, 0, 0, 1].into(),
        ..Config::from_lookup(|name| env.get(name).map(|v| (*v).to_owned())).unwrap()
    }
}

/// `GET url`'s body as text, whatever its status.
pub async fn get_text(url: &str) -> String {
    http().get(url).send().await.unwrap().text().await.unwrap()
}

/// The in-process service; dropping `stop` (or the whole struct) shuts it down.
pub struct Service {
    pub running: Running,
    pub stop: oneshot::Sender<()>,
    /// Where this service's endpoints live (its config's paths).
    pub paths: Paths,
}

impl Service {
    pub async fn start(config: Config) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let paths = config.paths.clone();
        let running = executor::serve(config, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
        Self {
            running,
            stop,
            paths,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.api_addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.running.ws_addr, self.paths.websocket)
    }

    /// Signals shutdown and waits (bounded) for the service to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        within(WAIT, self.running.wait()).await.unwrap();
    }
}

pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("operation did not finish in time")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

pub async fn get_json(url: &str) -> (u16, Value) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, json)
}

/// Polls the health path until `accept` holds, failing the test after [`WAIT`].
pub async fn wait_for_health(service: &Service, accept: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = get_json(&service.url(&service.paths.health)).await;
        assert_eq!(status, 200);
        if accept(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "health never matched: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn ws_connect(url: &str) -> Ws {
    within(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .0
}

pub async fn ws_send(ws: &mut Ws, text: &str) {
    within(WAIT, ws.send(Message::text(text))).await.unwrap();
}

/// Next message from the server: a JSON text frame, or `None` on close.
pub async fn ws_next(ws: &mut Ws) -> Option<Value> {
    loop {
        match within(WAIT, ws.next()).await {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(_))) | None => return None,
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("websocket error: {error}"),
        }
    }
}

pub async fn ws_expect(ws: &mut Ws) -> Value {
    ws_next(ws).await.expect("connection closed early")
}

/// Reads `chunks` output notifications and the final response of one
/// `execute`, checking order and text along the way.
pub async fn expect_execution(ws: &mut Ws, id: u64, command: &str, chunks: u64) -> Value {
    let mut execution_id = None;
    for seq in 0..chunks {
        let note = ws_expect(ws).await;
        assert_eq!(note["jsonrpc"], "2.0");
        assert_eq!(note["method"], "output", "{note}");
        assert!(note.get("id").is_none(), "{note}");
        assert_eq!(note["params"]["seq"], seq, "{note}");
        assert_eq!(
            note["params"]["data"],
            format!("chunk {seq} of {chunks}: {command}")
        );
        let this_id = note["params"]["execution_id"].clone();
        assert_eq!(*execution_id.get_or_insert(this_id.clone()), this_id);
    }
    let response = ws_expect(ws).await;
    assert_eq!(response["jsonrpc"], "2.0");
    assert_eq!(response["id"], id, "{response}");
    assert_eq!(response["result"]["status"], "completed");
    assert_eq!(response["result"]["chunks"], chunks);
    if let Some(execution_id) = execution_id {
        assert_eq!(response["result"]["execution_id"], execution_id);
    }
    response
}
