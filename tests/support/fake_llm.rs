//! A scripted model server on 127.0.0.1: the Anthropic Messages API and the OpenAI
//! chat-completions API, answering from a queue and keeping every request it received.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// One scripted answer.
#[derive(Clone)]
pub enum Reply {
    /// The model answers this text (Anthropic or OpenAI shape, by the path asked).
    Text(String),
    /// An HTTP error with this status, and `retry-after: 0` for 429/5xx.
    Status(u16),
}

/// What the server received: the headers it cares about and the body.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub api_key: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct FakeLlm {
    script: Arc<Mutex<Script>>,
    pub url: String,
}

impl FakeLlm {
    /// Serves on a free port of 127.0.0.1 from the current tokio runtime.
    pub async fn start(replies: Vec<Reply>) -> FakeLlm {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            received: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/messages", post(answer))
            .route("/v1/chat/completions", post(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm { script, url }
    }

    /// Serves from a runtime of its own, for tests that run the harness binary.
    pub fn start_in_thread(replies: Vec<Reply>) -> (FakeLlm, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                let fake = FakeLlm::start(replies).await;
                tx.send(fake).expect("send");
                // Serves until the test process ends.
                std::future::pending::<()>().await;
            });
        });
        (rx.recv().expect("server started"), handle)
    }

    pub fn push(&self, reply: Reply) {
        self.script.lock().expect("lock").replies.push_back(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().expect("lock").received.clone()
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let reply = {
        let mut s = script.lock().expect("lock");
        s.received.push(Received {
            path: path.clone(),
            api_key: headers
                .get("x-api-key")
                .or(headers.get("authorization"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: String::from_utf8_lossy(&body).to_string(),
        });
        s.replies.pop_front()
    };
    match reply {
        None => (StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
        Some(Reply::Status(code)) => {
            let status = StatusCode::from_u16(code).expect("status");
            let mut r = (status, "{\"error\":{\"type\":\"scripted\"}}").into_response();
            if code == 429 || code >= 500 {
                r.headers_mut()
                    .insert("retry-after", "0".parse().expect("header"));
            }
            r
        }
        Some(Reply::Text(text)) if path.ends_with("/chat/completions") => axum::Json(
            serde_json::json!({"choices": [{"message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 22}}),
        )
        .into_response(),
        Some(Reply::Text(text)) => axum::Json(serde_json::json!({
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": 11, "output_tokens": 22}}))
        .into_response(),
    }
}
