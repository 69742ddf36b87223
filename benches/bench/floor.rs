//! The floor: what a plain script costs — `compose up -d`, wait for healthy on the engine's
//! events (nothing can be faster), one GET /health, one WebSocket round trip, `compose down`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::EventMessage;
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::proc::unix_ns;
use crate::stack;

const PROJECT_LABEL: &str = "com.docker.compose.project";

#[derive(Debug, Clone, Serialize)]
pub struct FloorRound {
    pub wall_ms: f64,
    pub up_ms: f64,
    pub wait_ms: f64,
    pub probes_ms: f64,
    pub down_ms: f64,
    /// Receipt of the last `health_status: healthy` event minus its engine timestamp.
    pub lag_ms: Option<f64>,
}

/// The exact request the harness's ws_probe sends.
pub fn ws_request() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "execute",
        "params": {"command": "harness-probe", "chunks": 5, "delay_ms": 5}})
}

pub async fn round(
    docker: &bollard::Docker,
    file: &Path,
    project: &str,
    timeout: Duration,
) -> Result<FloorRound, String> {
    let started = Instant::now();
    // Subscribe before `up`, so no transition is missed.
    let filters = HashMap::from([
        (
            "label".to_string(),
            vec![format!("{PROJECT_LABEL}={project}")],
        ),
        ("type".to_string(), vec!["container".to_string()]),
    ]);
    let mut stream = docker
        .events(Some(EventsOptions {
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .boxed();
    let (tx, mut rx) = mpsc::unbounded_channel::<(EventMessage, i64)>();
    let forward = tokio::spawn(async move {
        while let Some(Ok(e)) = stream.next().await {
            if tx.send((e, unix_ns())).is_err() {
                break;
            }
        }
    });
    let result = async {
        let up = stack::compose(project, file, &["up", "-d"], &[], timeout).await;
        if !up.success {
            return Err(format!("up failed: {}", up.stderr.trim()));
        }
        let t_up = started.elapsed();
        // Which containers still have to turn healthy.
        let list = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(HashMap::from([(
                    "label".to_string(),
                    vec![format!("{PROJECT_LABEL}={project}")],
                )])),
                ..Default::default()
            }))
            .await
            .map_err(|e| format!("list: {e}"))?;
        let mut pending: HashSet<String> = list
            .iter()
            .filter(|c| {
                c.status
                    .as_deref()
                    .is_some_and(|s| s.contains("health: starting"))
            })
            .filter_map(|c| c.id.clone())
            .collect();
        let port = |private: u16| {
            list.iter()
                .flat_map(|c| c.ports.clone().unwrap_or_default())
                .find(|p| p.private_port == private && p.public_port.is_some())
                .and_then(|p| p.public_port)
        };
        let (api, ws) = match (port(8000), port(8003)) {
            (Some(a), Some(w)) => (a, w),
            _ => return Err("no published ports".into()),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut lag_ms = None;
        while !pending.is_empty() {
            let (event, received) = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .map_err(|_| "not healthy in time".to_string())?
                .ok_or("event stream closed")?;
            if event.action.as_deref() == Some("health_status: healthy") {
                let id = event.actor.and_then(|a| a.id).unwrap_or_default();
                if pending.remove(&id)
                    && let Some(t) = event.time_nano
                {
                    lag_ms = Some((received - t) as f64 / 1e6);
                }
            }
        }
        let t_ready = started.elapsed();
        probes(api, ws).await?;
        let t_probed = started.elapsed();
        Ok((t_up, t_ready, t_probed, lag_ms))
    }
    .await;
    forward.abort();
    let down = stack::compose(project, file, &["down", "-v"], &[], timeout).await;
    let down_ms = down.ms;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (t_up, t_ready, t_probed, lag_ms) = result?;
    if !down.success {
        return Err(format!("down failed: {}", down.stderr.trim()));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(FloorRound {
        wall_ms,
        up_ms: ms(t_up),
        wait_ms: ms(t_ready - t_up),
        probes_ms: ms(t_probed - t_ready),
        down_ms,
        lag_ms,
    })
}

/// GET /health (200 with a JSON status), then one streamed execute over /ws/mcp.
async fn probes(api: u16, ws: u16) -> Result<(), String> {
    let body: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{api}/health"))
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| format!("GET /health: {e}"))?
        .json()
        .await
        .map_err(|e| format!("GET /health body: {e}"))?;
    if !body["status"].is_string() {
        return Err(format!("/health without status: {body}"));
    }
    let exchange = async {
        let (mut sock, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/ws/mcp"))
            .await
            .map_err(|e| format!("ws connect: {e}"))?;
        sock.send(Message::text(ws_request().to_string()))
            .await
            .map_err(|e| format!("ws send: {e}"))?;
        while let Some(m) = sock.next().await {
            let Message::Text(t) = m.map_err(|e| format!("ws receive: {e}"))? else {
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
            if v["id"] == 1 {
                let _ = sock.close(None).await;
                return if v.get("result").is_some() {
                    Ok(())
                } else {
                    Err(format!("execute failed: {v}"))
                };
            }
        }
        Err("ws closed without a completion".to_string())
    };
    tokio::time::timeout(Duration::from_secs(15), exchange)
        .await
        .map_err(|_| "ws: no completion in 15 s".to_string())?
}
