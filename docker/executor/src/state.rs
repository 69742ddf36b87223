//! What every request handler can reach.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::shutdown::{SessionTracker, ShutdownSignal};
use crate::store::Store;

#[derive(Debug)]
pub struct ServiceInfo {
    pub api_key_present: bool,
    pub execution_uuid: Option<String>,
    /// Where Redis is expected, without credentials: a degraded `/health` names it so a
    /// caller can tell "Redis is down" from "Redis is looked for in the wrong place".
    pub redis_target: String,
    pub started: Instant,
}

impl ServiceInfo {
    pub fn from_config(config: &Config) -> Self {
        Self {
            api_key_present: config.api_key_present,
            execution_uuid: config.execution_uuid.clone(),
            redis_target: crate::server::redact_url(&config.redis_url),
            started: Instant::now(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub service: Arc<ServiceInfo>,
    pub shutdown: ShutdownSignal,
    pub sessions: SessionTracker,
}
