//! The HTTP API listener: health, a key-value probe for persistence checks,
//! and read access to execution records.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::execution::ExecutionRecord;
use crate::health;
use crate::routes::{EXECUTIONS_PATH, Paths};
use crate::state::AppState;
use crate::store::StoreError;

pub fn router(state: AppState, paths: &Paths) -> Router {
    Router::new()
        .route(&paths.health, get(health::handler))
        .route(&paths.kv_route(), get(kv_get).put(kv_put))
        .route(&format!("{EXECUTIONS_PATH}/{{id}}"), get(execution))
        .with_state(state)
}

#[derive(Debug)]
enum ApiError {
    NotFound(String),
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Self::Store(error) if error.is_unavailable() => {
                (StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
            Self::Store(error) => {
                tracing::error!(%error, "store error");
                (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

async fn kv_get(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<String, ApiError> {
    state
        .store()?
        .kv_get(&key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no value for key {key:?}")))
}

async fn kv_put(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: String,
) -> Result<StatusCode, ApiError> {
    state.store()?.kv_set(&key, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ExecutionRecord>, ApiError> {
    state
        .store()?
        .execution(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no execution {id:?}")))
}
