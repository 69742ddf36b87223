//! Asking a freshly deployed app what it answers: HTTP on the usual health paths, and
//! whether a path accepts a WebSocket upgrade. Only 127.0.0.1 and the engine-published
//! host port are ever contacted.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::protocol::probes::http_client;

/// The paths a service usually answers "healthy" on, in the order tried.
pub const HEALTH_PATHS: [&str; 4] = ["/health", "/healthz", "/ready", "/"];

/// The first path that answered 2xx on one host port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpAnswer {
    pub path: String,
    pub status: u16,
    /// The body, when it is JSON.
    pub json: Option<Value>,
}

/// One attempt, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    pub url: String,
    pub answer: String,
}

/// How long a port that refuses every connection is asked again: a service without a
/// healthcheck counts as ready once running, before it may listen.
const LISTEN_GRACE: Duration = Duration::from_secs(10);

/// GET each of `paths` on `host_port` until one answers 2xx. While nothing on the port
/// answers at all, the round is repeated for up to [`LISTEN_GRACE`].
pub async fn http(
    host_port: u16,
    paths: &[String],
    timeout: Duration,
    tried: &mut Vec<Tried>,
) -> Option<HttpAnswer> {
    let client = match http_client(timeout) {
        Ok(c) => c,
        Err(e) => {
            tried.push(Tried {
                url: format!("127.0.0.1:{host_port}"),
                answer: e.to_string(),
            });
            return None;
        }
    };
    let deadline = tokio::time::Instant::now() + LISTEN_GRACE;
    loop {
        let mut round = Vec::new();
        let (found, answered) = http_round(&client, host_port, paths, &mut round).await;
        if found.is_some() || answered || tokio::time::Instant::now() >= deadline {
            tried.append(&mut round);
            return found;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One GET of each path in turn: the first 2xx, and whether anything answered HTTP.
async fn http_round(
    client: &reqwest::Client,
    host_port: u16,
    paths: &[String],
    tried: &mut Vec<Tried>,
) -> (Option<HttpAnswer>, bool) {
    let mut answered = false;
    for path in paths {
        let url = format!("http://127.0.0.1:{host_port}{path}");
        let response = match client.get(&url).send().await {
            Ok(r) => r,
            Err(e) => {
                tried.push(Tried {
                    url,
                    answer: e.to_string(),
                });
                continue;
            }
        };
        answered = true;
        let status = response.status().as_u16();
        tried.push(Tried {
            url,
            answer: status.to_string(),
        });
        if !(200..300).contains(&status) {
            continue;
        }
        let json = response
            .text()
            .await
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        let answer = HttpAnswer {
            path: path.clone(),
            status,
            json,
        };
        return (Some(answer), true);
    }
    (None, answered)
}

/// Whether `path` on `host_port` accepts a WebSocket upgrade (101).
pub async fn websocket(
    host_port: u16,
    path: &str,
    timeout: Duration,
    tried: &mut Vec<Tried>,
) -> bool {
    let url = format!("ws://127.0.0.1:{host_port}{path}");
    let attempt =
        tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url.as_str())).await;
    let answer = match attempt {
        Ok(Ok((mut ws, _))) => {
            let _ = ws.close(None).await;
            tried.push(Tried {
                url,
                answer: "101 upgraded".into(),
            });
            return true;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} ms", timeout.as_millis()),
    };
    tried.push(Tried { url, answer });
    false
}
