//! The health report (`GET /health` unless `HEALTH_PATH` moves it): always 200 so the
//! caller can read *why* it is degraded.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::state::AppState;
use crate::store::Store;

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
    /// Absent when the service runs without a store: there is nothing to be connected to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisHealth>,
    pub api_key_present: bool,
    pub execution_uuid: Option<String>,
    pub version: &'static str,
    pub uptime_ms: u64,
}

pub async fn handler(State(state): State<AppState>) -> Json<HealthReport> {
    Json(report(&state).await)
}

pub async fn report(state: &AppState) -> HealthReport {
    let redis = match (&state.store, &state.service.redis_target) {
        (Some(store), Some(target)) => Some(redis_health(store, target).await),
        _ => None,
    };
    let status = match &redis {
        Some(r) if !r.connected => HealthStatus::Degraded,
        _ => HealthStatus::Ok,
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

async fn redis_health(store: &Store, target: &str) -> RedisHealth {
    let error = store.ping().await.err().map(|e| e.to_string());
    RedisHealth {
        connected: error.is_none(),
        target: target.to_owned(),
        error,
    }
}
