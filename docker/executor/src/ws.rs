//! The WebSocket listener: JSON-RPC over one path (`WS_PATH`, `/ws/mcp` by
//! default), one request at a time per connection.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::execution::{ExecuteParams, ExecutionRecord, ExecutionStatus, now_ms};
use crate::rpc::{self, Call, Request, RpcError};
use crate::state::AppState;

type SendResult = Result<(), axum::Error>;

pub fn router(state: AppState, path: &str) -> Router {
    Router::new().route(path, get(upgrade)).with_state(state)
}

async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    // Tracked before the upgrade completes so a shutdown that starts in
    // between still waits for this session.
    let guard = state.sessions.track();
    ws.on_upgrade(move |socket| async move {
        let _guard = guard;
        session(socket, state).await;
    })
}

async fn session(mut socket: WebSocket, state: AppState) {
    tracing::debug!("websocket session opened");
    let mut shutdown = state.shutdown.clone();
    loop {
        let message = tokio::select! {
            message = socket.recv() => message,
            () = shutdown.wait() => {
                let _ = socket.send(going_away()).await;
                break;
            }
        };
        let handled = match message {
            Some(Ok(Message::Text(text))) => handle_text(&mut socket, &state, text.as_str()).await,
            Some(Ok(Message::Binary(_))) => reject_binary(&mut socket).await,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(error)) => Err(error),
        };
        if let Err(error) = handled {
            tracing::debug!(%error, "websocket session ended by transport error");
            break;
        }
    }
    tracing::debug!("websocket session closed");
}

fn going_away() -> Message {
    Message::Close(Some(CloseFrame {
        code: close_code::AWAY,
        reason: "server shutting down".into(),
    }))
}

async fn send_json(socket: &mut WebSocket, value: &Value) -> SendResult {
    socket.send(Message::Text(value.to_string().into())).await
}

async fn reject_binary(socket: &mut WebSocket) -> SendResult {
    let error = RpcError::new(rpc::PARSE_ERROR, "binary frames are not supported");
    send_json(socket, &rpc::error_response(&Value::Null, &error)).await
}

async fn handle_text(socket: &mut WebSocket, state: &AppState, text: &str) -> SendResult {
    let request = match rpc::parse(text) {
        Ok(request) => request,
        Err(rejected) => return send_json(socket, &rejected.to_response()).await,
    };
    match request.call() {
        Ok(Call::Ping) => reply(socket, &request, json!("pong")).await,
        Ok(Call::Execute(params)) => execute(socket, state, &request, params).await,
        Err(error) => reply_error(socket, &request, &error).await,
    }
}

/// Notifications (no id) get no reply, as JSON-RPC requires.
async fn reply(socket: &mut WebSocket, request: &Request, result: Value) -> SendResult {
    match &request.id {
        Some(id) => send_json(socket, &rpc::response(id, result)).await,
        None => Ok(()),
    }
}

async fn reply_error(socket: &mut WebSocket, request: &Request, error: &RpcError) -> SendResult {
    match &request.id {
        Some(_) => send_json(socket, &rpc::error_response(&request.reply_id(), error)).await,
        None => Ok(()),
    }
}

async fn execute(
    socket: &mut WebSocket,
    state: &AppState,
    request: &Request,
    params: ExecuteParams,
) -> SendResult {
    let execution_id = Uuid::new_v4().to_string();
    let started_at = now_ms();
    tracing::info!(%execution_id, chunks = params.chunks, "execution started");
    let streamed = stream_chunks(socket, &execution_id, &params).await;
    let status = match streamed {
        Ok(()) => ExecutionStatus::Completed,
        Err(_) => ExecutionStatus::Aborted,
    };
    let record = ExecutionRecord {
        execution_id: execution_id.clone(),
        command: params.command,
        chunks: params.chunks,
        status,
        started_at,
        finished_at: now_ms(),
        execution_uuid: state.service.execution_uuid.clone(),
    };
    // Recorded even when the client left mid-stream, so the store shows it.
    let recorded = record_execution(state, &record).await;
    streamed?;
    let result = json!({
        "execution_id": execution_id,
        "status": status,
        "chunks": record.chunks,
        "recorded": recorded,
    });
    reply(socket, request, result).await
}

async fn stream_chunks(
    socket: &mut WebSocket,
    execution_id: &str,
    params: &ExecuteParams,
) -> SendResult {
    let delay = Duration::from_millis(params.delay_ms);
    for seq in 0..params.chunks {
        tokio::time::sleep(delay).await;
        let output = json!({
            "execution_id": execution_id,
            "seq": seq,
            "data": params.chunk_text(seq),
        });
        send_json(socket, &rpc::notification("output", output)).await?;
    }
    Ok(())
}

/// Without a store nothing is recorded, and the reply says so (`recorded: false`).
async fn record_execution(state: &AppState, record: &ExecutionRecord) -> bool {
    let Some(store) = &state.store else {
        return false;
    };
    match store.record_execution(record).await {
        Ok(()) => {
            tracing::info!(execution_id = %record.execution_id, status = record.status.as_str(), "execution recorded");
            true
        }
        Err(error) => {
            tracing::warn!(execution_id = %record.execution_id, %error, "execution not recorded");
            false
        }
    }
}
