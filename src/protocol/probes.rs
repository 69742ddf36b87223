//! Probes talk to the stack the way its users do: HTTP and WebSocket on 127.0.0.1.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::spec::{JsonCheck, WsEndpoint};

/// What a `GET` answered: its status and body, the body as JSON when it is JSON.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The JSON body, or the text (at most 200 characters) of one that is not JSON.
    pub body: Value,
    pub json: bool,
}

impl Answer {
    /// What the app says at `pointer` (a boolean: reached, present), with the `target`
    /// and `error` the object holding it may add (`/redis/connected` → `/redis/target`).
    pub fn reported(&self, pointer: &str) -> Reported {
        let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
        let text = |key: &str| {
            self.body
                .pointer(&format!("{parent}/{key}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Reported {
            value: self.body.pointer(pointer).and_then(Value::as_bool),
            target: text("target"),
            error: text("error"),
        }
    }
}

/// A boolean an app reports about something it needs, and where it looks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub value: Option<bool>,
    pub target: String,
    pub error: String,
}

impl Reported {
    /// The evidence's `{connected, target, error}`.
    pub fn connection(&self) -> Value {
        json!({"connected": self.value == Some(true), "target": self.target, "error": self.error})
    }
}

/// Whether `body` passes every check: the value at each pointer exists, has the type
/// `is` names and equals `equals`. The first that does not, in words.
pub fn json_checks(checks: &[JsonCheck], body: &Value) -> Result<(), String> {
    for check in checks {
        let Some(found) = body.pointer(&check.pointer) else {
            return Err(format!("nothing at JSON pointer `{}`", check.pointer));
        };
        if let Some(kind) = &check.is
            && type_name(found) != kind.as_str()
        {
            return Err(format!(
                "`{}` is {}, not {kind}",
                check.pointer,
                type_name(found)
            ));
        }
        if let Some(expected) = &check.equals
            && found != expected
        {
            return Err(format!("`{}` is {found}, not {expected}", check.pointer));
        }
    }
    Ok(())
}

/// The name a JSON check's `is:` uses for `v`'s type.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
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

/// `GET http://127.0.0.1:{port}{path}`: any status is an answer; only no answer at all
/// is an error.
pub async fn get(port: u16, path: &str, timeout: Duration) -> Result<Answer, ProbeError> {
    let url = format!("http://127.0.0.1:{port}{path}");
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
    Ok(match serde_json::from_str(&text) {
        Ok(body) => Answer {
            status,
            body,
            json: true,
        },
        Err(_) => Answer {
            status,
            body: Value::from(text.chars().take(200).collect::<String>()),
            json: false,
        },
    })
}

/// The result of one WebSocket exchange (`completion` is null when nothing was asked).
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
    #[error("the request failed: {completion}")]
    Failed { completion: Value },
    #[error("expected {expected} chunks, received {received}")]
    Count { expected: u64, received: u64 },
}

/// Connects to the endpoint; with a request, sends it and checks that the declared
/// notifications arrive in order (`params.seq` from 0) before the response. Without one
/// the upgrade is the whole check.
pub async fn ws_exchange(
    port: u16,
    endpoint: &WsEndpoint,
    timeout: Duration,
) -> Result<Stream, WsError> {
    let url = format!("ws://127.0.0.1:{port}{}", endpoint.path);
    let started = std::time::Instant::now();
    let chunks = endpoint.complete.chunks;
    let exchange = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|source| WsError::Connect {
                url: url.clone(),
                source: Box::new(source),
            })?;
        let Some(request) = &endpoint.request else {
            let _ = ws.close(None).await;
            return Ok((0, Value::Null));
        };
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": request.method,
            "params": request.params});
        ws.send(Message::text(request.to_string()))
            .await
            .map_err(|e| WsError::Send(Box::new(e)))?;
        let notification = endpoint.complete.notification.as_deref();
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
            if notification.is_some_and(|n| value["method"] == n) {
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
                if value.get("result").is_none() {
                    return Err(WsError::Failed { completion: value });
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pointer: &str, is: Option<&str>, equals: Option<Value>) -> JsonCheck {
        JsonCheck {
            pointer: pointer.into(),
            is: is.map(String::from),
            equals,
        }
    }

    #[test]
    fn json_checks_name_the_first_pointer_that_does_not_hold() {
        let body = json!({"status": "ok", "db": {"ok": true, "target": "pg://localhost:5432"}});
        let checks = [
            check("/status", Some("string"), None),
            check("/db/ok", None, Some(json!(true))),
        ];
        assert_eq!(json_checks(&checks, &body), Ok(()));
        let wrong = [check("/status", Some("bool"), None)];
        assert_eq!(
            json_checks(&wrong, &body),
            Err("`/status` is string, not bool".into())
        );
        let missing = [check("/version", None, None)];
        assert!(json_checks(&missing, &body).is_err_and(|e| e.contains("/version")));
        let answer = Answer {
            status: 200,
            body,
            json: true,
        };
        let said = answer.reported("/db/ok");
        assert_eq!(said.value, Some(true));
        assert_eq!(said.target, "pg://localhost:5432");
        assert_eq!(answer.reported("/nothing").value, None);
    }
}
