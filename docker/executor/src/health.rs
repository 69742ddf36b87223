//! `GET /health`: always 200 so the caller can read *why* it is degraded.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::state::AppState;

pub const SERVICE_NAME: &str = "executor";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisHealth {
    pub connected: bool,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub service: &'static str,
    pub redis: RedisHealth,
    pub api_key_present: bool,
    pub execution_uuid: Option<String>,
    pub version: &'static str,
    pub uptime_ms: u64,
}

pub async fn handler(State(state): State<AppState>) -> Json<HealthReport> {
    Json(report(&state).await)
}

pub async fn report(state: &AppState) -> HealthReport {
    let redis = match state.store.ping().await {
        Ok(()) => RedisHealth {
            connected: true,
            target: state.service.redis_target.clone(),
            error: None,
        },
        Err(error) => RedisHealth {
            connected: false,
            target: state.service.redis_target.clone(),
            error: Some(error.to_string()),
        },
    };
    let status = if redis.connected {
        HealthStatus::Ok
    } else {
        HealthStatus::Degraded
    };
    HealthReport {
        status,
        service: SERVICE_NAME,
        redis,
        api_key_present: state.service.api_key_present,
        execution_uuid: state.service.execution_uuid.clone(),
        version: env!("CARGO_PKG_VERSION"),
        uptime_ms: u64::try_from(state.service.started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
