//! Probes talk to the stack the way its users do: HTTP and WebSocket on 127.0.0.1.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// What `GET /health` answered.
#[derive(Debug, Clone)]
pub struct Health {
    pub status: u16,
    pub body: Value,
}

impl Health {
    pub fn redis_connected(&self) -> bool {
        self.body["redis"]["connected"].as_bool() == Some(true)
    }

    /// Where the service looks for Redis (credentials removed by the service).
    pub fn redis_target(&self) -> String {
        self.body["redis"]["target"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn redis_error(&self) -> String {
        self.body["redis"]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Why a probe got no answer: the service's doing, or the harness could not make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The service refused, timed out or answered something unusable.
    Service(String),
    /// The harness's own client could not be set up: nothing was asked of the service.
    Harness(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Service(m) | ProbeError::Harness(m) => f.write_str(m),
        }
    }
}

impl serde::Serialize for ProbeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A client with the probe's timeout; failing to build one is the harness's fault.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, ProbeError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ProbeError::Harness(format!("the harness's HTTP client: {e}")))
}

pub async fn health(port: u16, timeout: Duration) -> Result<Health, ProbeError> {
    let url = format!("http://127.0.0.1:{port}/health");
    let client = http_client(timeout)?;
    let service = ProbeError::Service;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| service(format!("GET {url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| service(format!("GET {url}: reading body: {e}")))?;
    let body = serde_json::from_str(&text).map_err(|e| {
        service(format!(
            "GET {url}: {status} with a body that is not JSON ({e}): {text:.200}"
        ))
    })?;
    Ok(Health { status, body })
}

/// The result of one streamed JSON-RPC execution over the WebSocket.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stream {
    pub url: String,
    pub chunks_expected: u64,
    pub chunks_received: u64,
    pub completion: Value,
    pub elapsed_ms: u64,
}

/// Why the WebSocket exchange did not pass; its text is the step's evidence.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("connect {url}: {source}")]
    Connect {
        url: String,
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    #[error("send: {0}")]
    Send(Box<tokio_tungstenite::tungstenite::Error>),
    #[error("receive: {0}")]
    Receive(Box<tokio_tungstenite::tungstenite::Error>),
    #[error("not JSON-RPC ({error}): {text:.200}")]
    NotJsonRpc {
        error: serde_json::Error,
        text: String,
    },
    #[error("chunk out of order: expected seq {expected}, got {got:?}")]
    OutOfOrder { expected: u64, got: Option<u64> },
    #[error("connection closed after {received} chunks without a completion")]
    Closed { received: u64 },
    #[error("no completion within {ms} ms")]
    Timeout { ms: u128 },
    #[error("execute failed: {completion}")]
    Failed { completion: Value },
    #[error("expected {expected} chunks, received {received}")]
    Count { expected: u64, received: u64 },
}

/// Sends `execute` and checks that every chunk arrives in order before the completion.
pub async fn ws_execute(
    port: u16,
    path: &str,
    chunks: u64,
    timeout: Duration,
) -> Result<Stream, WsError> {
    let url = format!("ws://127.0.0.1:{port}{path}");
    let started = std::time::Instant::now();
    let exchange = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|source| WsError::Connect {
                url: url.clone(),
                source: Box::new(source),
            })?;
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "execute",
            "params": {"command": "harness-probe", "chunks": chunks, "delay_ms": 5}});
        ws.send(Message::text(request.to_string()))
            .await
            .map_err(|e| WsError::Send(Box::new(e)))?;
        let mut received = 0u64;
        while let Some(message) = ws.next().await {
            let message = message.map_err(|e| WsError::Receive(Box::new(e)))?;
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value =
                serde_json::from_str(text.as_str()).map_err(|error| WsError::NotJsonRpc {
                    error,
                    text: text.as_str().to_string(),
                })?;
            if value["method"] == "output" {
                let seq = value["params"]["seq"].as_u64();
                if seq != Some(received) {
                    return Err(WsError::OutOfOrder {
                        expected: received,
                        got: seq,
                    });
                }
                received += 1;
            } else if value["id"] == 1 {
                let _ = ws.close(None).await;
                return Ok((received, value));
            }
        }
        Err(WsError::Closed { received })
    };
    let (received, completion) =
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| WsError::Timeout {
                ms: timeout.as_millis(),
            })??;
    if completion.get("result").is_none() {
        return Err(WsError::Failed { completion });
    }
    if received != chunks {
        return Err(WsError::Count {
            expected: chunks,
            received,
        });
    }
    Ok(Stream {
        url,
        chunks_expected: chunks,
        chunks_received: received,
        completion,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
