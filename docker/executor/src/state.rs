//! What every request handler can reach.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::shutdown::{SessionTracker, ShutdownSignal};
use crate::store::{Store, StoreError};

#[derive(Debug)]
pub struct ServiceInfo {
    pub api_key_present: bool,
    pub execution_uuid: Option<String>,
    /// Where Redis is expected, without credentials: a degraded `/health` names it so a
    /// caller can tell "Redis is down" from "Redis is looked for in the wrong place".
    /// `None` when the service runs without a store.
    pub redis_target: Option<String>,
    pub started: Instant,
}

impl ServiceInfo {
    pub fn from_config(config: &Config) -> Self {
        Self {
            api_key_present: config.api_key_present,
            execution_uuid: config.execution_uuid.clone(),
            redis_target: config.redis_url.as_deref().map(crate::server::redact_url),
            started: Instant::now(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    /// `None` when `REDIS_URL` is unset.
    pub store: Option<Store>,
    pub service: Arc<ServiceInfo>,
    pub shutdown: ShutdownSignal,
    pub sessions: SessionTracker,
}

impl AppState {
    /// The store, or the error every store-backed endpoint answers without one (503).
    pub fn store(&self) -> Result<&Store, StoreError> {
        self.store.as_ref().ok_or(StoreError::NotConfigured)
    }
}
